//! Password hashing with argon2id (PHC strings with their own salt and parameters).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use domain::account::Password;

/// The PHC string of `password`, with a fresh random salt.
pub fn hash(password: &Password) -> Result<String, crate::Error> {
    let hashed = Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot hash a password: {e}"))?;
    Ok(hashed.to_string())
}

/// Whether `password` matches `phc`; a malformed stored hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Verifies against a fixed hash, so that an unknown account costs as much time as a known one.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        hash(&Password::parse("an unguessable dummy password").expect("the dummy meets the policy"))
            .expect("hashing works")
    });
    verify(password, dummy);
}
