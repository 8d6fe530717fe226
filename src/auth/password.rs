//! Argon2id for PINs and for the embedded password store of accounts (school accounts when no
//! LDAP server is configured, and crisis-cell members' own passwords then). Hashes are PHC
//! strings (algorithm, parameters and salt inside), so stronger parameters later still verify
//! the old ones. Verification compares in constant time (the `password-hash` crate's output
//! comparison) and runs on a blocking thread: one check costs tens of milliseconds of CPU.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sqlx::{Row, SqlitePool};

/// Longest PIN, password or passcode looked at: argon2 takes any length, a request must not.
pub const MAX_SECRET_CHARS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("state database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("hashing: {0}")]
    Hash(String),
    #[error("a password needs at least {0} characters")]
    TooShort(usize),
}

/// The argon2id PHC string of `secret` (argon2 crate defaults: argon2id v19, 19 MiB, t=2,
/// p=1, the OWASP baseline).
pub fn hash_secret(secret: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `candidate` matches the PHC string `hash`; a malformed hash matches nothing.
pub fn verify_secret(hash: &str, candidate: &str) -> bool {
    if candidate.chars().count() > MAX_SECRET_CHARS {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(candidate.as_bytes(), &parsed)
        .is_ok()
}

/// A hash nobody's secret matches, checked when the account is unknown so that an unknown
/// account costs the same time as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_secret("decoy: no account has this").expect("argon2 with defaults"))
}

/// [`verify_secret`] on a blocking thread; `None` hash checks the decoy and fails.
pub async fn verify_blocking(hash: Option<String>, candidate: String) -> bool {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| decoy_hash().to_string());
    let matched = tokio::task::spawn_blocking(move || verify_secret(&hash, &candidate))
        .await
        .unwrap_or(false);
    known && matched
}

/// Passwords of accounts (`ce.0752401C`, or a personal id) kept here when no LDAP server is
/// configured.
#[derive(Clone)]
pub struct PasswordStore {
    pool: SqlitePool,
}

/// Shortest password `set` accepts.
pub const MIN_PASSWORD_CHARS: usize = 8;

impl PasswordStore {
    pub fn new(pool: SqlitePool) -> PasswordStore {
        PasswordStore { pool }
    }

    /// Sets (or replaces) the password of `account` (case-insensitive name).
    pub async fn set(&self, account: &str, password: &str) -> Result<(), PasswordError> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort(MIN_PASSWORD_CHARS));
        }
        let owned = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_secret(&owned))
            .await
            .map_err(|e| PasswordError::Hash(e.to_string()))??;
        sqlx::query(
            "INSERT INTO account_passwords (account, password_hash, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (account) DO UPDATE SET password_hash = excluded.password_hash, \
             updated_at = excluded.updated_at",
        )
        .bind(account.trim().to_lowercase())
        .bind(hash)
        .bind(time::OffsetDateTime::now_utc().unix_timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether `password` is the password of `account`; unknown accounts cost the same.
    pub async fn verify(&self, account: &str, password: &str) -> Result<bool, PasswordError> {
        let hash: Option<String> =
            sqlx::query("SELECT password_hash FROM account_passwords WHERE account = ?")
                .bind(account.trim().to_lowercase())
                .fetch_optional(&self.pool)
                .await?
                .map(|row| row.get("password_hash"));
        Ok(verify_blocking(hash, password.to_string()).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hash_verifies_only_the_secret() {
        let hash = hash_secret("1234").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_secret(&hash, "1234"));
        assert!(!verify_secret(&hash, "1235"));
        assert!(!verify_secret("not a hash", "1234"));
        assert_ne!(hash, hash_secret("1234").unwrap(), "salted");
    }

    #[tokio::test]
    async fn store_sets_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let pool = crate::state::open(&dir.path().join("s.db")).await.unwrap();
        let store = PasswordStore::new(pool);
        assert!(store.set("ce.0752401C", "short").await.is_err());
        store.set("ce.0752401C", "Motdepasse-école").await.unwrap();
        assert!(store
            .verify("CE.0752401c", "Motdepasse-école")
            .await
            .unwrap());
        assert!(!store
            .verify("ce.0752401C", "motdepasse-école")
            .await
            .unwrap());
        assert!(!store
            .verify("ce.0754825M", "Motdepasse-école")
            .await
            .unwrap());
    }
}
