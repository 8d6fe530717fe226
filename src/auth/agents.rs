//! Agents: the people who log in, by personal academic id, with a PIN (argon2id) and a TOTP
//! token (secret sealed under the server key). Keeps, per agent, the last time step ever
//! accepted, so that a code is never accepted twice, across restarts and across nodes sharing
//! the database.

use sqlx::{Row, SqlitePool};

use super::otp::{OtpAlgorithm, OtpError, OtpParams, SecretSealer, Token};
use super::password::{hash_secret, PasswordError};
use super::server_key::ServerKey;

/// Longest personal id.
const MAX_ID_CHARS: usize = 64;
/// Shortest PIN.
pub const MIN_PIN_CHARS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("state database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Otp(#[from] OtpError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("personal id {0:?}: letters, digits, '.', '-' and '_' only, at most 64")]
    BadId(String),
    #[error("the PIN needs {MIN_PIN_CHARS} to 16 characters without spaces")]
    BadPin,
    #[error("agent {0} already exists")]
    Exists(String),
    #[error("stored agent {0} is inconsistent: {1}")]
    Corrupt(String, String),
}

/// An agent as the login reads it.
pub struct Agent {
    pub id: String,
    pub pin_hash: String,
    pub token: Token,
    /// Last accepted time step; -1 before the first login.
    pub last_step: i64,
}

/// Whether `id` has the shape of a personal id (also used before any lookup).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The agents table.
#[derive(Clone)]
pub struct AgentStore {
    pool: SqlitePool,
    sealer: SecretSealer,
}

impl AgentStore {
    pub fn new(pool: SqlitePool, server_key: &ServerKey) -> AgentStore {
        AgentStore {
            pool,
            sealer: SecretSealer::new(server_key),
        }
    }

    /// Adds an agent with a fresh token; returns the token (its URI is shown once).
    pub async fn add(&self, id: &str, pin: &str, params: OtpParams) -> Result<Token, AgentError> {
        let id = id.trim().to_lowercase();
        if !valid_id(&id) {
            return Err(AgentError::BadId(id));
        }
        let pin_len = pin.chars().count();
        if !(MIN_PIN_CHARS..=16).contains(&pin_len) || pin.chars().any(char::is_whitespace) {
            return Err(AgentError::BadPin);
        }
        let token = Token::generate(params, &id)?;
        let owned = pin.to_string();
        let pin_hash = tokio::task::spawn_blocking(move || hash_secret(&owned))
            .await
            .map_err(|e| PasswordError::Hash(e.to_string()))??;
        let sealed = self.sealer.seal(&id, token.secret());
        let inserted = sqlx::query(
            "INSERT INTO agents (id, pin_hash, totp_sealed, totp_digits, totp_period, \
             totp_algorithm, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&id)
        .bind(pin_hash)
        .bind(sealed)
        .bind(params.digits as i64)
        .bind(params.period as i64)
        .bind(params.algorithm.as_str())
        .bind(time::OffsetDateTime::now_utc().unix_timestamp())
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(AgentError::Exists(id));
        }
        Ok(token)
    }

    /// The agent `id`, with its token unsealed; `None` if unknown.
    pub async fn load(&self, id: &str) -> Result<Option<Agent>, AgentError> {
        let id = id.trim().to_lowercase();
        let row = sqlx::query(
            "SELECT pin_hash, totp_sealed, totp_digits, totp_period, totp_algorithm, last_step \
             FROM agents WHERE id = ?",
        )
        .bind(&id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let algorithm: String = row.get("totp_algorithm");
        let params = OtpParams {
            digits: row.get::<i64, _>("totp_digits") as u32,
            period: row.get::<i64, _>("totp_period") as u64,
            algorithm: OtpAlgorithm::parse(&algorithm)
                .ok_or_else(|| AgentError::Corrupt(id.clone(), algorithm.clone()))?,
        };
        let sealed: Vec<u8> = row.get("totp_sealed");
        let secret = self.sealer.open(&id, &sealed)?;
        let token = Token::new(secret, params, &id)?;
        Ok(Some(Agent {
            pin_hash: row.get("pin_hash"),
            last_step: row.get("last_step"),
            token,
            id,
        }))
    }

    /// Records `step` as accepted if it is later than every step accepted before; `false`
    /// means a replay (or a race lost to another request with the same or a later code). One
    /// conditional UPDATE, so two nodes cannot both accept the same step.
    pub async fn accept_step(&self, id: &str, step: u64) -> Result<bool, AgentError> {
        let done = sqlx::query("UPDATE agents SET last_step = ? WHERE id = ? AND last_step < ?")
            .bind(step as i64)
            .bind(id)
            .bind(step as i64)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes an agent; `false` if there was none.
    pub async fn remove(&self, id: &str) -> Result<bool, AgentError> {
        let done = sqlx::query("DELETE FROM agents WHERE id = ?")
            .bind(id.trim().to_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every personal id, sorted.
    pub async fn list(&self) -> Result<Vec<String>, AgentError> {
        let rows = sqlx::query("SELECT id FROM agents ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| r.get("id")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn agent_round_trip_and_steps_only_go_up() {
        let dir = tempfile::tempdir().unwrap();
        let pool = crate::state::open(&dir.path().join("s.db")).await.unwrap();
        let store = AgentStore::new(pool, &ServerKey([5; 32]));
        let token = store
            .add("JDupont", "4321", OtpParams::default())
            .await
            .unwrap();
        assert!(matches!(
            store.add("jdupont", "4321", OtpParams::default()).await,
            Err(AgentError::Exists(_))
        ));
        assert!(store
            .add("a b", "4321", OtpParams::default())
            .await
            .is_err());
        assert!(store.add("x", "12", OtpParams::default()).await.is_err());
        let agent = store.load("jdupont").await.unwrap().unwrap();
        assert_eq!(agent.token.secret(), token.secret());
        assert_eq!(agent.last_step, -1);
        assert!(store.accept_step("jdupont", 10).await.unwrap());
        assert!(!store.accept_step("jdupont", 10).await.unwrap());
        assert!(!store.accept_step("jdupont", 9).await.unwrap());
        assert!(store.accept_step("jdupont", 11).await.unwrap());
        assert!(store.load("nobody").await.unwrap().is_none());
        // Neither the raw secret nor its base32 form is anywhere in the database files.
        let base32 = token.secret_base32();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let content = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!content
                .windows(token.secret().len())
                .any(|w| w == token.secret()));
            assert!(!content
                .windows(base32.len())
                .any(|w| w == base32.as_bytes()));
        }
    }
}
