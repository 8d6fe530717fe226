//! The use of mount keys, audited without flooding the trail: a key's first use after the
//! server starts, then at most once per `key_use_audit_secs` per key, is one audit line (client
//! address, user agent) and one write of the key's last use (`key list`). The write runs beside
//! the request, never before its answer; a bounded number of them may wait at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::SqlitePool;
use tokio::sync::Semaphore;

use super::principal::{Principal, Role};
use crate::audit::{AuditEvent, AuditLog};

/// Use records waiting for the database at once; beyond, a use is recorded on a later request
/// (a stalled database must not pile up tasks, one per request).
const MAX_PENDING: usize = 64;
/// Longest user agent kept.
const MAX_USER_AGENT_CHARS: usize = 200;

/// Who presented a key.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyUse<'a> {
    pub client_ip: &'a str,
    pub user_agent: Option<&'a str>,
}

/// When each key's use was last recorded by this process, and where records go.
pub struct KeyUseAudit {
    audit: AuditLog,
    every: Duration,
    last: Mutex<HashMap<String, Instant>>,
    pending: Arc<Semaphore>,
}

impl KeyUseAudit {
    /// Records into `audit` at most once per `every` per key.
    pub fn new(audit: AuditLog, every: Duration) -> KeyUseAudit {
        KeyUseAudit {
            audit,
            every,
            last: Mutex::default(),
            pending: Arc::new(Semaphore::new(MAX_PENDING)),
        }
    }

    /// Records the use of `principal`'s key when it is due; never waits for the record.
    pub fn note(&self, pool: &SqlitePool, principal: &Principal, used: &KeyUse<'_>) {
        let id = &principal.key_id;
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.get(id).is_some_and(|t| t.elapsed() < self.every) {
            return;
        }
        let Ok(permit) = self.pending.clone().try_acquire_owned() else {
            tracing::debug!(key_id = %id, "key use not recorded now: too many records pending");
            return;
        };
        last.insert(id.clone(), Instant::now());
        drop(last);
        let event = AuditEvent {
            event: "key_used",
            outcome: "ok",
            principal: Some(principal.account.clone()),
            role: Some(principal.role_name()),
            rne: match &principal.role {
                Role::School(rne) => Some(rne.to_string()),
                Role::CrisisCell => None,
            },
            reason: Some(format!("key {id}")),
            client_ip: Some(used.client_ip.to_string()),
            user_agent: used
                .user_agent
                .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
            ..AuditEvent::default()
        };
        let audit = self.audit.clone();
        let pool = pool.clone();
        let id = id.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let written = sqlx::query(
                "UPDATE mount_keys SET last_used_at = ?, last_used_ip = ?, \
                 last_used_user_agent = ? WHERE id = ?",
            )
            .bind(now)
            .bind(&event.client_ip)
            .bind(&event.user_agent)
            .bind(&id)
            .execute(&pool)
            .await;
            if let Err(err) = written {
                tracing::warn!(key_id = %id, error = %err, "could not record the key's last use");
            }
            audit.record(event);
        });
    }
}
