//! Brute-force lockout: failed login attempts counted per agent, per account and per client
//! address in a window; past the limit the key is locked for a while, correct credentials or
//! not. Counters live in the state database rather than in memory (`governor`): a lockout
//! then survives a restart and holds across nodes sharing the database, and what is needed is
//! a failure counter with a lock and a reset on success, not a rate limiter of every request.

use sqlx::{Row, SqlitePool};

/// The limits, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    /// Failures of one agent or account before it is locked.
    pub account_failures: u32,
    /// Failures from one client address before it is locked.
    pub ip_failures: u32,
    /// Seconds over which failures add up.
    pub window_secs: u64,
    /// Seconds a lock lasts.
    pub lockout_secs: u64,
}

/// What a throttled key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A personal id or an account name.
    Account,
    /// A client address.
    Ip,
}

/// Failure counters over the state database.
// Limitation: a lock per client address also locks the honest agents behind the same NAT (a
// school network); `lockout_ip_failures` is set high for that reason, not removed.
#[derive(Clone)]
pub struct Throttle {
    pool: SqlitePool,
    limits: ThrottleLimits,
}

impl Throttle {
    pub fn new(pool: SqlitePool, limits: ThrottleLimits) -> Throttle {
        Throttle { pool, limits }
    }

    /// Whether any of `keys` is locked at `now`.
    pub async fn locked(&self, keys: &[String], now: u64) -> Result<bool, sqlx::Error> {
        for key in keys {
            let until: Option<i64> =
                sqlx::query("SELECT locked_until FROM login_failures WHERE key = ?")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| r.get("locked_until"));
            if until.is_some_and(|t| t > now as i64) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Counts one failure of `key`; `true` when this failure locks it.
    pub async fn fail(&self, key: &str, kind: KeyKind, now: u64) -> Result<bool, sqlx::Error> {
        let limit = match kind {
            KeyKind::Account => self.limits.account_failures,
            KeyKind::Ip => self.limits.ip_failures,
        }
        .max(1) as i64;
        let now = now as i64;
        let window_start = now - self.limits.window_secs as i64;
        // A window that ended starts again at this failure.
        let row = sqlx::query(
            "INSERT INTO login_failures (key, failures, window_start) VALUES (?, 1, ?) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN window_start < ? THEN 1 ELSE failures + 1 END, \
               window_start = CASE WHEN window_start < ? THEN ? ELSE window_start END \
             RETURNING failures, locked_until",
        )
        .bind(key)
        .bind(now)
        .bind(window_start)
        .bind(window_start)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let failures: i64 = row.get("failures");
        let locked_until: i64 = row.get("locked_until");
        if failures >= limit && locked_until <= now {
            sqlx::query(
                "UPDATE login_failures SET locked_until = ?, failures = 0, window_start = ? \
                 WHERE key = ?",
            )
            .bind(now + self.limits.lockout_secs as i64)
            .bind(now)
            .bind(key)
            .execute(&self.pool)
            .await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Forgets the failures of `key` (after a complete login).
    pub async fn clear(&self, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_failures WHERE key = ? AND locked_until = 0")
            .bind(key)
            .execute(&self.pool)
            .await?;
        sqlx::query("UPDATE login_failures SET failures = 0 WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn locks_after_the_limit_for_the_lockout_time() {
        let dir = tempfile::tempdir().unwrap();
        let pool = crate::state::open(&dir.path().join("s.db")).await.unwrap();
        let throttle = Throttle::new(
            pool,
            ThrottleLimits {
                account_failures: 3,
                ip_failures: 10,
                window_secs: 100,
                lockout_secs: 50,
            },
        );
        let key = "agent:jdupont".to_string();
        let keys = [key.clone()];
        let t = 1_000;
        assert!(!throttle.fail(&key, KeyKind::Account, t).await.unwrap());
        assert!(!throttle.fail(&key, KeyKind::Account, t + 1).await.unwrap());
        assert!(!throttle.locked(&keys, t + 1).await.unwrap());
        assert!(throttle.fail(&key, KeyKind::Account, t + 2).await.unwrap());
        assert!(throttle.locked(&keys, t + 3).await.unwrap());
        assert!(!throttle.locked(&keys, t + 60).await.unwrap());
        // Failures older than the window are forgotten.
        assert!(!throttle
            .fail(&key, KeyKind::Account, t + 300)
            .await
            .unwrap());
        assert!(!throttle
            .fail(&key, KeyKind::Account, t + 500)
            .await
            .unwrap());
        throttle.clear(&key).await.unwrap();
        assert!(!throttle
            .fail(&key, KeyKind::Account, t + 501)
            .await
            .unwrap());
        assert!(!throttle
            .fail(&key, KeyKind::Account, t + 502)
            .await
            .unwrap());
    }
}
