//! One path for every deposit, from a mapped drive or the browser: name the file, check it
//! against the policy (type, size, quota, content), stream it into the store, audit the result.

mod naming;

pub use naming::{nfc, stored_name, NameError};

use std::sync::Arc;

use bytes::Bytes;

use crate::audit::{AuditEvent, AuditLog};
use crate::directory::Rne;
use crate::policy::{ContentSniffer, DepositPolicy, Refusal, Sniff};
use crate::storage::Store;
use crate::storage::{Provenance, StoreError, StoredFile, Upload};

/// Who deposits, as the audit trail names them.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub account: String,
    pub role: &'static str,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Actor {
    /// An audit line about a deposit of `name` for `rne` by this actor.
    fn event(&self, outcome: &'static str, rne: &Rne, name: &str) -> AuditEvent {
        AuditEvent {
            event: "deposit",
            outcome,
            principal: Some(self.account.clone()),
            role: Some(self.role),
            rne: Some(rne.to_string()),
            stored_name: Some(name.to_string()),
            client_ip: self.client_ip.clone(),
            user_agent: self.user_agent.clone(),
            ..AuditEvent::default()
        }
    }
}

/// Why a deposit did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DepositError {
    #[error("{0}")]
    Name(#[from] NameError),
    #[error("{}", .0.message_en())]
    Refused(Refusal),
    #[error("unknown plan kind {0:?}")]
    UnknownKind(String),
    #[error("upload ended after {written} of {announced} announced bytes")]
    Incomplete { written: u64, announced: u64 },
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl DepositError {
    /// The HTTP status that says it, in one place for every face.
    pub fn status(&self) -> u16 {
        match self {
            DepositError::Name(NameError::TooLong) => 400,
            DepositError::Name(_) => 400,
            DepositError::Refused(refusal) => refusal.http_status(),
            DepositError::Incomplete { .. } => 400,
            DepositError::UnknownKind(_) => 400,
            DepositError::Store(StoreError::DiskFull) => 507,
            DepositError::Store(StoreError::BadName(_)) => 400,
            DepositError::Store(_) => 500,
        }
    }

    /// What the user reads, in French.
    pub fn message_fr(&self) -> String {
        match self {
            DepositError::Name(err) => err.message_fr().to_string(),
            DepositError::Refused(refusal) => refusal.message_fr(),
            DepositError::Incomplete { .. } => "envoi incomplet : rien n'a été déposé".into(),
            DepositError::UnknownKind(_) => "type de plan inconnu : rien n'a été déposé".into(),
            DepositError::Store(StoreError::DiskFull) => {
                "espace disque du serveur épuisé : rien n'a été déposé".into()
            }
            DepositError::Store(StoreError::BadName(_)) => "nom de fichier invalide".into(),
            DepositError::Store(_) => "erreur du serveur : rien n'a été déposé".into(),
        }
    }
}

/// The deposit service over the store, the policy and the audit trail. Cheap to clone.
#[derive(Clone)]
pub struct Depositor {
    store: Store,
    policy: Arc<DepositPolicy>,
    audit: AuditLog,
}

impl Depositor {
    pub fn new(store: Store, policy: Arc<DepositPolicy>, audit: AuditLog) -> Depositor {
        Depositor {
            store,
            policy,
            audit,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn policy(&self) -> &DepositPolicy {
        &self.policy
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Checks what can be checked before any byte arrives (name, type, announced size,
    /// quota) and opens the upload.
    pub async fn begin(
        &self,
        actor: Actor,
        rne: &Rne,
        requested_name: &str,
        announced: Option<u64>,
    ) -> Result<PendingDeposit, DepositError> {
        self.begin_in(actor, rne, "", requested_name, announced)
            .await
    }

    /// Like [`Depositor::begin`], into sub-folder `dir` of the school's folder (`""` for the
    /// folder itself; sub-folders exist only where the policy allows them).
    pub async fn begin_in(
        &self,
        actor: Actor,
        rne: &Rne,
        dir: &str,
        requested_name: &str,
        announced: Option<u64>,
    ) -> Result<PendingDeposit, DepositError> {
        let result = self
            .begin_checked(rne, dir, requested_name, announced)
            .await;
        match result {
            Ok((upload, sniffer)) => Ok(PendingDeposit {
                depositor: self.clone(),
                actor,
                upload: Some(upload),
                sniffer,
                announced,
                kind: None,
                unchanged: false,
            }),
            Err(err) => {
                self.audit_refusal(&actor, rne, requested_name, &err, None);
                Err(err)
            }
        }
    }

    async fn begin_checked(
        &self,
        rne: &Rne,
        dir: &str,
        requested_name: &str,
        announced: Option<u64>,
    ) -> Result<(Upload, ContentSniffer), DepositError> {
        let leaf = stored_name(rne, requested_name)?;
        self.policy
            .check_name(&leaf)
            .map_err(DepositError::Refused)?;
        let stored = if dir.is_empty() {
            leaf
        } else {
            format!("{dir}/{leaf}")
        };
        let family = self
            .policy
            .check_extension(&stored)
            .map_err(DepositError::Refused)?;
        if let Some(size) = announced {
            self.check_size_and_quota(rne, size)?;
        }
        let stored = self.existing_name_any_case(rne, stored);
        let upload = self.store.begin(rne, &stored).await?;
        Ok((upload, ContentSniffer::new(family)))
    }

    /// The stored name a deposit of `stored` goes to: itself when it exists or when no name
    /// differs from it only in case, else that existing name. Windows and macOS, where the
    /// crisis cell opens the tree, cannot hold `PLAN.PDF` beside `plan.pdf`, so on every face
    /// a re-deposit in another case is a new version of the name already stored.
    fn existing_name_any_case(&self, rne: &Rne, stored: String) -> String {
        if matches!(self.store.stat(rne, &stored), Ok(Some(_))) {
            return stored;
        }
        self.store.find_any_case(rne, &stored).unwrap_or(stored)
    }

    fn check_size_and_quota(&self, rne: &Rne, size: u64) -> Result<(), DepositError> {
        self.policy
            .check_size(size)
            .map_err(DepositError::Refused)?;
        let used = self.store.used_bytes(rne)?;
        self.policy
            .check_quota(used, size)
            .map_err(DepositError::Refused)
    }

    fn audit_refusal(
        &self,
        actor: &Actor,
        rne: &Rne,
        name: &str,
        err: &DepositError,
        bytes: Option<u64>,
    ) {
        tracing::warn!(rne = %rne, name, error = %err, "deposit refused");
        self.audit.record(AuditEvent {
            bytes,
            status: Some(err.status()),
            reason: Some(err.to_string()),
            ..actor.event("refused", rne, name)
        });
    }
}

/// A deposit whose bytes are arriving. Dropped before [`PendingDeposit::finish`], it stores
/// nothing and leaves an `interrupted` audit line.
pub struct PendingDeposit {
    depositor: Depositor,
    actor: Actor,
    upload: Option<Upload>,
    sniffer: ContentSniffer,
    announced: Option<u64>,
    /// The plan kind the depositor declared (checked against the policy's list).
    kind: Option<String>,
    /// Set by the commit when the content equalled the latest version's.
    unchanged: bool,
}

impl std::fmt::Debug for PendingDeposit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingDeposit")
            .field("upload", &self.upload)
            .finish()
    }
}

impl PendingDeposit {
    pub fn stored_name(&self) -> &str {
        self.upload
            .as_ref()
            .map(Upload::stored_name)
            .unwrap_or_default()
    }

    pub fn len(&self) -> u64 {
        self.upload.as_ref().map(Upload::len).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the upload without a deposit and without an audit line: for the empty bodies
    /// clients send before the real one.
    pub fn discard(mut self) {
        self.upload = None;
    }

    /// Declares the plan kind of this deposit (a `plan_kinds` id of the policy); the record
    /// keeps it. An id the policy does not list is refused before any byte is stored.
    pub fn declare_kind(&mut self, kind: &str) -> Result<(), DepositError> {
        if self.depositor.policy.plan_kind(kind).is_none() {
            let err = DepositError::UnknownKind(kind.chars().take(64).collect());
            self.fail(&err);
            return Err(err);
        }
        self.kind = Some(kind.to_string());
        Ok(())
    }

    /// Appends a chunk after the size and content checks.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), DepositError> {
        let result = self.write_checked(chunk).await;
        if let Err(err) = &result {
            self.fail(err);
        }
        result
    }

    async fn write_checked(&mut self, chunk: Bytes) -> Result<(), DepositError> {
        let total = self.len() + chunk.len() as u64;
        let policy = self.depositor.policy.clone();
        policy.check_size(total).map_err(DepositError::Refused)?;
        if self.sniffer.verdict(false) == Sniff::Undecided {
            self.sniffer.feed(&chunk);
            if let Sniff::Mismatch = self.sniffer.verdict(false) {
                return Err(DepositError::Refused(self.sniffer.refusal()));
            }
        }
        let upload = self
            .upload
            .as_mut()
            .ok_or(StoreError::BadName("upload ended"))?;
        upload.write(chunk).await?;
        Ok(())
    }

    /// Runs the final checks and commits the deposit as the next version of its name.
    pub async fn finish(self) -> Result<StoredFile, DepositError> {
        self.finish_telling().await.map(|(stored, _)| stored)
    }

    /// Like [`PendingDeposit::finish`], also telling whether a new version was stored (false
    /// when the content equalled the latest version's, which is then kept as it was).
    pub async fn finish_telling(mut self) -> Result<(StoredFile, bool), DepositError> {
        let result = self.finish_checked().await;
        match &result {
            Ok(stored) => self.audit_success(stored),
            Err(err) => self.fail(err),
        }
        let new_version = !self.unchanged;
        result.map(|stored| (stored, new_version))
    }

    async fn finish_checked(&mut self) -> Result<StoredFile, DepositError> {
        let written = self.len();
        if let Some(announced) = self.announced {
            if announced != written {
                return Err(DepositError::Incomplete { written, announced });
            }
        }
        if self.sniffer.verdict(true) != Sniff::Match {
            return Err(DepositError::Refused(self.sniffer.refusal()));
        }
        let upload = self
            .upload
            .take()
            .ok_or(StoreError::BadName("upload ended"))?;
        let rne = upload.rne().clone();
        let used = self.depositor.store.used_bytes(&rne)?;
        // Limitation: the quota is checked before the commit, not under the school lock, so
        // uploads finishing at the same instant can overshoot it by their own sizes.
        self.depositor
            .policy
            .check_quota(used, written)
            .map_err(DepositError::Refused)?;
        let policy = &self.depositor.policy;
        // Where overwriting is allowed (test profiles), a re-deposit replaces the file.
        let max_versions = if policy.allow_overwrite {
            1
        } else {
            policy.max_versions
        };
        let provenance = Provenance {
            principal: self.actor.account.clone(),
            kind: self.kind.clone(),
        };
        let committed = upload.commit(provenance, max_versions).await?;
        self.unchanged = !committed.new_version;
        Ok(committed.stored)
    }

    /// Drops the upload (and so its temp file), returning what it was.
    fn drop_upload(&mut self) -> Option<(Rne, String, u64)> {
        let upload = self.upload.take()?;
        Some((
            upload.rne().clone(),
            upload.stored_name().to_string(),
            upload.len(),
        ))
    }

    fn fail(&mut self, err: &DepositError) {
        if let Some((rne, name, len)) = self.drop_upload() {
            self.depositor
                .audit_refusal(&self.actor, &rne, &name, err, Some(len));
        }
    }

    fn audit_success(&self, stored: &StoredFile) {
        let Some(rne) = stored.name.get(..8).and_then(|r| Rne::parse(r).ok()) else {
            return;
        };
        let outcome = if self.unchanged { "unchanged" } else { "ok" };
        tracing::info!(rne = %rne, name = %stored.name, version = stored.version,
            bytes = stored.bytes, outcome, "deposit stored");
        self.depositor.audit.record(AuditEvent {
            version: Some(stored.version),
            bytes: Some(stored.bytes),
            sha256: Some(stored.sha256.clone()),
            ..self.actor.event(outcome, &rne, &stored.name)
        });
    }
}

impl Drop for PendingDeposit {
    fn drop(&mut self) {
        if let Some((rne, name, len)) = self.drop_upload() {
            tracing::warn!(rne = %rne, name, bytes = len, "upload interrupted, nothing stored");
            self.depositor.audit.record(AuditEvent {
                bytes: Some(len),
                ..self.actor.event("interrupted", &rne, &name)
            });
        }
    }
}
