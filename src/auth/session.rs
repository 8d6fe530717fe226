//! Login and portal sessions: a random id (256 bits) in a cookie (`HttpOnly`,
//! `SameSite=Strict`, `Secure` over TLS), kept in the database as its SHA-256 only, with the
//! stage reached, the CSRF token every state-changing request must echo, and, once logged in,
//! the account and role.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{Row, SqlitePool};
use subtle::ConstantTimeEq;

use crate::directory::Rne;

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "ppms_session";
/// Header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
const ID_BYTES: usize = 32;

/// How far a session got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Nothing passed yet: stage 1 is next.
    Start = 0,
    /// Personal id and passcode passed: stage 2 is next.
    FirstCode = 1,
    /// The second, newer code passed: stage 3 is next.
    SecondCode = 2,
    /// Logged in.
    Done = 3,
}

impl Stage {
    fn from_i64(value: i64) -> Stage {
        match value {
            1 => Stage::FirstCode,
            2 => Stage::SecondCode,
            3 => Stage::Done,
            _ => Stage::Start,
        }
    }

    /// The stage the user is asked for next (1, 2 or 3), 0 when logged in.
    pub fn next(self) -> u8 {
        match self {
            Stage::Start => 1,
            Stage::FirstCode => 2,
            Stage::SecondCode => 3,
            Stage::Done => 0,
        }
    }
}

/// What a logged-in session acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionRole {
    School(Rne),
    CrisisCell,
    /// The helpdesk acting as itself (no mount key of its own).
    Helpdesk,
}

impl SessionRole {
    pub fn name(&self) -> &'static str {
        match self {
            SessionRole::School(_) => "school",
            SessionRole::CrisisCell => "crisis_cell",
            SessionRole::Helpdesk => "helpdesk",
        }
    }
}

/// One session's row.
#[derive(Debug, Clone)]
pub struct Session {
    id_hash: Vec<u8>,
    pub csrf: String,
    pub stage: Stage,
    /// The personal id, from stage 1 on.
    pub agent: Option<String>,
    /// Time step of the stage-1 code; stage 2 needs a later one.
    pub stage1_step: Option<i64>,
    /// When stage 1 passed: stages 2 and 3 must follow within the stage timeout.
    pub stage1_at: Option<i64>,
    /// Failures since stage 1 last started.
    pub failures: i64,
    /// After stage 3: the account (`ce.0752401C` or the personal id) and its role.
    pub account: Option<String>,
    pub role: Option<SessionRole>,
    /// The personal id is on the helpdesk list.
    pub helpdesk: bool,
    pub expires_at: i64,
}

impl Session {
    /// Back to stage 1, forgetting everything but the id and CSRF token.
    pub fn restart(&mut self) {
        self.stage = Stage::Start;
        self.agent = None;
        self.stage1_step = None;
        self.stage1_at = None;
        self.failures = 0;
        self.account = None;
        self.role = None;
        self.helpdesk = false;
    }

    /// Whether `token` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }
}

fn random_token() -> String {
    let mut raw = [0u8; ID_BYTES];
    rand::thread_rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn hash_id(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

/// The session cookie's value from a `Cookie` header, if any.
pub fn cookie_value(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE_NAME).then_some(value.trim())
    })
}

/// The `Set-Cookie` value for `id`, living `max_age` seconds.
pub fn set_cookie(id: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE_NAME}={id}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// Sessions in the state database.
#[derive(Clone)]
pub struct SessionStore {
    pool: SqlitePool,
}

impl SessionStore {
    pub fn new(pool: SqlitePool) -> SessionStore {
        SessionStore { pool }
    }

    /// A new session at stage 1; returns the cookie value (shown once) and the session.
    // Limitation: anyone may open sessions (one row each, purged once expired, i.e. after
    // twice the stage timeout); a flood of cookie-less GETs grows the table until then (rate
    // limiting anonymous requests belongs to the listener, which has none per request yet).
    pub async fn create(&self, now: i64, lifetime: i64) -> Result<(String, Session), sqlx::Error> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let id = random_token();
        let session = Session {
            id_hash: hash_id(&id),
            csrf: random_token(),
            stage: Stage::Start,
            agent: None,
            stage1_step: None,
            stage1_at: None,
            failures: 0,
            account: None,
            role: None,
            helpdesk: false,
            expires_at: now + lifetime,
        };
        sqlx::query(
            "INSERT INTO sessions (id_hash, csrf, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&session.id_hash)
        .bind(&session.csrf)
        .bind(now)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await?;
        Ok((id, session))
    }

    /// The live session whose cookie value is `id`.
    pub async fn find(&self, id: &str, now: i64) -> Result<Option<Session>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id_hash, csrf, stage, agent, stage1_step, stage1_at, failures, account, \
             role, rne, helpdesk, expires_at FROM sessions WHERE id_hash = ? AND expires_at > ?",
        )
        .bind(hash_id(id))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let rne: Option<String> = row.get("rne");
        let role = match row.get::<Option<String>, _>("role").as_deref() {
            Some("school") => rne
                .as_deref()
                .and_then(|r| Rne::parse(r).ok())
                .map(SessionRole::School),
            Some("crisis_cell") => Some(SessionRole::CrisisCell),
            Some("helpdesk") => Some(SessionRole::Helpdesk),
            _ => None,
        };
        Ok(Some(Session {
            id_hash: row.get("id_hash"),
            csrf: row.get("csrf"),
            stage: Stage::from_i64(row.get("stage")),
            agent: row.get("agent"),
            stage1_step: row.get("stage1_step"),
            stage1_at: row.get("stage1_at"),
            failures: row.get("failures"),
            account: row.get("account"),
            role,
            helpdesk: row.get::<i64, _>("helpdesk") != 0,
            expires_at: row.get("expires_at"),
        }))
    }

    /// Writes the session back.
    pub async fn save(&self, session: &Session) -> Result<(), sqlx::Error> {
        let rne = match &session.role {
            Some(SessionRole::School(rne)) => Some(rne.to_string()),
            _ => None,
        };
        sqlx::query(
            "UPDATE sessions SET csrf = ?, stage = ?, agent = ?, stage1_step = ?, stage1_at = ?, \
             failures = ?, account = ?, role = ?, rne = ?, helpdesk = ?, expires_at = ? \
             WHERE id_hash = ?",
        )
        .bind(&session.csrf)
        .bind(session.stage as i64)
        .bind(&session.agent)
        .bind(session.stage1_step)
        .bind(session.stage1_at)
        .bind(session.failures)
        .bind(&session.account)
        .bind(session.role.as_ref().map(SessionRole::name))
        .bind(rne)
        .bind(session.helpdesk as i64)
        .bind(session.expires_at)
        .bind(&session.id_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives the session a new id and CSRF token (at login, against session fixation);
    /// returns the new cookie value.
    pub async fn rotate(&self, session: &mut Session) -> Result<String, sqlx::Error> {
        let id = random_token();
        let new_hash = hash_id(&id);
        let csrf = random_token();
        sqlx::query("UPDATE sessions SET id_hash = ?, csrf = ? WHERE id_hash = ?")
            .bind(&new_hash)
            .bind(&csrf)
            .bind(&session.id_hash)
            .execute(&self.pool)
            .await?;
        session.id_hash = new_hash;
        session.csrf = csrf;
        Ok(id)
    }

    pub async fn delete(&self, session: &Session) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(&session.id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_parsed_and_flagged() {
        assert_eq!(cookie_value("a=b; ppms_session=xyz; c=d"), Some("xyz"));
        assert_eq!(cookie_value("ppms_sessionx=1"), None);
        let cookie = set_cookie("xyz", 60, true);
        for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(cookie.contains(flag), "{cookie}");
        }
        assert!(!set_cookie("xyz", 60, false).contains("Secure"));
    }

    #[tokio::test]
    async fn sessions_round_trip_rotate_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let pool = crate::state::open(&dir.path().join("s.db")).await.unwrap();
        let store = SessionStore::new(pool);
        let (id, mut session) = store.create(1000, 60).await.unwrap();
        session.stage = Stage::FirstCode;
        session.agent = Some("jdupont".into());
        store.save(&session).await.unwrap();
        let found = store.find(&id, 1001).await.unwrap().unwrap();
        assert_eq!(found.stage, Stage::FirstCode);
        assert!(found.csrf_matches(&session.csrf));
        assert!(!found.csrf_matches("nope"));
        let new_id = store.rotate(&mut session).await.unwrap();
        assert!(store.find(&id, 1001).await.unwrap().is_none());
        assert!(store.find(&new_id, 1001).await.unwrap().is_some());
        assert!(store.find(&new_id, 1060).await.unwrap().is_none());
    }
}
