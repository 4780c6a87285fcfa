//! Signed session tokens: JWTs with HS256 only (a fixed allow-list), a key id (`kid`) in the header
//! so that keys can be rotated (the first key signs, every configured key verifies), and an expiry.
//! The token names the session; it never carries the cart.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::session::{Role, Session, SessionId};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use moka::sync::Cache;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub struct TokenKey {
    pub kid: String,
    pub secret: SecretString,
}

pub struct TokenSettings {
    /// The first key signs; all verify.
    pub keys: Vec<TokenKey>,
    pub lifetime: Duration,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the session token is malformed")]
    Malformed,
    #[error("the session token is signed with an algorithm that is not allowed")]
    Algorithm,
    #[error("the session token names an unknown key")]
    UnknownKey,
    #[error("the session token's signature is invalid")]
    Signature,
    #[error("the session token has expired")]
    Expired,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sid: String,
    iat: u64,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<ClaimRole>,
    /// The subject's session generation; absent for guests.
    #[serde(default, skip_serializing_if = "is_zero")]
    generation: u64,
}

fn is_zero(generation: &u64) -> bool {
    *generation == 0
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ClaimRole {
    Customer,
    Admin,
}

const ALGORITHM: Algorithm = Algorithm::HS256;

/// Seconds a token is still taken after its expiry, for clocks that disagree.
const LEEWAY_SECONDS: u64 = 5;
/// Tokens remembered as verified: the sessions active in the last moments of a busy instance.
const REMEMBERED_TOKENS: u64 = 10_000;

pub struct Tokens {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    lifetime: Duration,
    /// Tokens that verified, by their whole text, with their session and expiry. A session presents
    /// the same token on every request, and finding it here costs far less than decoding it again
    /// (two base64 parts, two JSON texts and an HMAC). The keys do not change while the process
    /// runs, so a token found here would verify again until it expires.
    verified: Cache<Box<str>, (Session, u64)>,
}

impl Tokens {
    pub fn new(settings: &TokenSettings) -> Self {
        let signing = settings.keys.first().expect("configuration requires at least one key");
        Self {
            signing_kid: signing.kid.clone(),
            signing: EncodingKey::from_secret(signing.secret.expose_secret().as_bytes()),
            verifying: settings
                .keys
                .iter()
                .map(|k| (k.kid.clone(), DecodingKey::from_secret(k.secret.expose_secret().as_bytes())))
                .collect(),
            lifetime: settings.lifetime,
            verified: Cache::new(REMEMBERED_TOKENS),
        }
    }

    /// A fresh guest session with a random id.
    pub fn new_session() -> Session {
        Session { id: SessionId::from_random(rand::random()), subject: None, role: None, generation: 0 }
    }

    /// A signed token for `session`, valid for the configured lifetime from now.
    pub fn issue(&self, session: &Session) -> Result<String, crate::Error> {
        let iat = unix_seconds().map_err(anyhow::Error::from)?;
        let claims = Claims {
            sid: session.id.to_string(),
            iat,
            exp: iat + self.lifetime.as_secs(),
            sub: session.subject.clone(),
            role: session.role.map(|role| match role {
                Role::Customer => ClaimRole::Customer,
                Role::Admin => ClaimRole::Admin,
            }),
            generation: session.generation,
        };
        let header = Header { kid: Some(self.signing_kid.clone()), ..Header::new(ALGORITHM) };
        jsonwebtoken::encode(&header, &claims, &self.signing)
            .map_err(|e| anyhow::anyhow!("cannot sign: {e}").into())
    }

    /// The session `token` names, if its algorithm, key, signature and expiry are all good.
    pub fn verify(&self, token: &str) -> Result<Session, TokenError> {
        if let Some(session) = self.remembered(token, unix_seconds().unwrap_or(0)) {
            return Ok(session);
        }
        let (session, expiry) = self.decode(token)?;
        self.verified.insert(token.into(), (session.clone(), expiry));
        Ok(session)
    }

    /// The session of `token` if it verified before and has not expired by `now` (in seconds).
    fn remembered(&self, token: &str, now: u64) -> Option<Session> {
        let (session, expiry) = self.verified.get(token)?;
        (now <= expiry + LEEWAY_SECONDS).then_some(session)
    }

    /// The session `token` names and its expiry, checked in full.
    fn decode(&self, token: &str) -> Result<(Session, u64), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != ALGORITHM {
            return Err(TokenError::Algorithm);
        }
        let key =
            header.kid.as_ref().and_then(|kid| self.verifying.get(kid)).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_required_spec_claims(&["exp", "iat"]);
        validation.leeway = LEEWAY_SECONDS;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => TokenError::Signature,
                ErrorKind::InvalidAlgorithm => TokenError::Algorithm,
                _ => TokenError::Malformed,
            })?
            .claims;
        let session = Session {
            id: SessionId::parse(&claims.sid).map_err(|_| TokenError::Malformed)?,
            subject: claims.sub,
            role: claims.role.map(|role| match role {
                ClaimRole::Customer => Role::Customer,
                ClaimRole::Admin => Role::Admin,
            }),
            generation: claims.generation,
        };
        Ok((session, claims.exp))
    }
}

/// Now, in seconds since the Unix epoch: the unit of a token's `iat` and `exp`.
fn unix_seconds() -> Result<u64, std::time::SystemTimeError> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn tokens(keys: &[(&str, &str)], lifetime: Duration) -> Tokens {
        Tokens::new(&TokenSettings {
            keys: keys
                .iter()
                .map(|(kid, secret)| TokenKey { kid: kid.to_string(), secret: SecretString::from(*secret) })
                .collect(),
            lifetime,
        })
    }

    const OLD: (&str, &str) = ("old", "an-old-secret-of-at-least-32-bytes!!");
    const NEW: (&str, &str) = ("new", "a-new-secret-of-at-least-32-bytes!!!");

    #[test]
    fn a_token_round_trips_its_session() {
        let tokens = tokens(&[NEW], Duration::from_secs(60));
        let session = Session {
            subject: Some("staff:1".into()),
            role: Some(Role::Admin),
            generation: 3,
            ..Tokens::new_session()
        };
        assert_eq!(tokens.verify(&tokens.issue(&session).unwrap()), Ok(session));
    }

    /// A token verified once is known by its whole text, and only until it expires.
    #[test]
    fn a_remembered_token_is_known_by_its_whole_text_until_it_expires() {
        let tokens = tokens(&[NEW], Duration::from_secs(60));
        let session = Session { subject: Some("customer:1".into()), ..Tokens::new_session() };
        let token = tokens.issue(&session).unwrap();
        assert_eq!(tokens.verify(&token), Ok(session.clone()));

        let (_, expiry) = tokens.decode(&token).unwrap();
        assert_eq!(tokens.remembered(&token, expiry + LEEWAY_SECONDS), Some(session));
        assert_eq!(tokens.remembered(&token, expiry + LEEWAY_SECONDS + 1), None, "expired");
        let (unsigned, _) = token.rsplit_once('.').unwrap();
        let flipped = format!("{unsigned}.{}", "A".repeat(43));
        assert_eq!(tokens.verify(&flipped), Err(TokenError::Signature), "another signature");
        assert!(tokens.verify(&format!("{token}A")).is_err(), "a longer one");
    }

    #[test]
    fn a_rotated_out_signing_key_still_verifies_until_removed() {
        let before = tokens(&[OLD], Duration::from_secs(60));
        let token = before.issue(&Tokens::new_session()).unwrap();
        assert!(tokens(&[NEW, OLD], Duration::from_secs(60)).verify(&token).is_ok());
        assert_eq!(tokens(&[NEW], Duration::from_secs(60)).verify(&token), Err(TokenError::UnknownKey));
    }

    #[test]
    fn tampered_expired_and_unsigned_tokens_are_refused() {
        let tokens_ = tokens(&[NEW], Duration::from_secs(60));
        let token = tokens_.issue(&Tokens::new_session()).unwrap();
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged_claims = URL_SAFE_NO_PAD
            .encode(r#"{"sid":"00000000000000000000000000000000","iat":1,"exp":99999999999,"role":"admin"}"#);
        assert_eq!(
            tokens_.verify(&format!("{head}.{forged_claims}.{signature}")),
            Err(TokenError::Signature)
        );

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"new"}"#);
        assert!(tokens_.verify(&format!("{none_header}.{forged_claims}.")).is_err());
        let hs512 = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512","typ":"JWT","kid":"new"}"#);
        assert_eq!(
            tokens_.verify(&format!("{hs512}.{forged_claims}.{signature}")),
            Err(TokenError::Algorithm)
        );

        let now = unix_seconds().unwrap();
        let stale = Claims {
            sid: "ab".repeat(16),
            iat: now - 120,
            exp: now - 60,
            sub: None,
            role: None,
            generation: 0,
        };
        let header = Header { kid: Some("new".into()), ..Header::new(ALGORITHM) };
        let expired =
            jsonwebtoken::encode(&header, &stale, &EncodingKey::from_secret(NEW.1.as_bytes())).unwrap();
        assert_eq!(tokens_.verify(&expired), Err(TokenError::Expired));
        assert_eq!(tokens_.verify("not.a.token"), Err(TokenError::Malformed));
        assert_eq!(tokens_.verify(""), Err(TokenError::Malformed));
    }
}
