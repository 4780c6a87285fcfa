//! Password hashing with argon2id (PHC strings with their own salt and parameters). Hashing takes tens
//! of milliseconds of CPU by design, so it runs on the blocking thread pool.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use domain::account::Password;

/// The PHC string of `password`, with a fresh random salt.
pub async fn hash(password: &Password) -> Result<String, crate::Error> {
    let password = Password::parse(password.expose()).map_err(|e| anyhow::anyhow!("{e}"))?;
    tokio::task::spawn_blocking(move || hash_now(&password)).await.map_err(anyhow::Error::from)?
}

/// Whether `password` matches `phc`; a malformed stored hash never matches. With no `phc` (an unknown
/// account) it checks against a dummy hash, so that the answer takes as long as for a known one.
pub async fn verify(password: &str, phc: Option<&str>) -> bool {
    let (password, phc) = (password.to_owned(), phc.map(str::to_owned));
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_now(&password, &phc),
        None => {
            verify_now(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

fn hash_now(password: &Password) -> Result<String, crate::Error> {
    let hashed = Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot hash a password: {e}"))?;
    Ok(hashed.to_string())
}

fn verify_now(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_now(&Password::parse("an unguessable dummy password").expect("the dummy meets the policy"))
            .expect("hashing works")
    })
}
