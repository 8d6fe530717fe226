//! The audit trail: one JSON line per deposit, denial and authentication failure, appended to
//! `<state_dir>/audit.jsonl` and mirrored as a `tracing` event (target `audit`). Never holds a
//! secret: mount keys and passwords are not fields of [`AuditEvent`].

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One audited fact. Optional fields are left out of the line when empty.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditEvent {
    pub time: String,
    /// `deposit`, `denied`, `auth_failed`, `key_issued`, `key_revoked`, ...
    pub event: &'static str,
    /// `ok` or `refused`/`failed` with a `reason`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rne: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// Appends audit lines; cheap to clone. Writes are small and unbuffered so that a crash loses
/// at most the line being written.
#[derive(Clone)]
pub struct AuditLog {
    file: Option<Arc<Mutex<File>>>,
}

impl AuditLog {
    /// Opens (creating) the audit file in append mode.
    pub fn open(path: &Path) -> std::io::Result<AuditLog> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(AuditLog {
            file: Some(Arc::new(Mutex::new(file))),
        })
    }

    /// An audit log that only emits `tracing` events (for tools and tests without a file).
    pub fn tracing_only() -> AuditLog {
        AuditLog { file: None }
    }

    pub fn record(&self, mut event: AuditEvent) {
        if event.time.is_empty() {
            event.time = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
        }
        let line = match serde_json::to_string(&event) {
            Ok(line) => line,
            Err(err) => {
                tracing::error!(error = %err, "audit event not serialisable");
                return;
            }
        };
        tracing::info!(target: "audit", "{line}");
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(err) = file.write_all(format!("{line}\n").as_bytes()) {
                tracing::error!(error = %err, "could not write the audit line");
            }
        }
    }
}
