//! One deposit being written: a temp file filled in bounded chunks, hashed as it is written,
//! then fsynced and renamed into place by [`Upload::commit`]. Dropped uncommitted, it leaves
//! nothing behind.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::layout::sync_dir;
use super::record::{DepositRecord, StoredFile};
use super::{Store, StoreError};
use crate::directory::Rne;

/// Bytes gathered before one write to disk: large enough to amortise a thread hop, small enough
/// that memory per upload stays bounded whatever the file size. Incoming chunks are copied into
/// this one buffer: keeping them would pin the connection's larger receive buffers.
const WRITE_CHUNK_BYTES: usize = 128 * 1024;

/// The file and hasher move into a blocking task for each write and come back after it.
struct Sink {
    file: fs::File,
    hasher: Sha256,
}

/// What a commit did.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The latest version as listings show it.
    pub stored: StoredFile,
    /// The record of the latest version.
    pub record: DepositRecord,
    /// False when the content equalled the latest version's: nothing new was kept.
    pub new_version: bool,
}

/// A deposit in progress.
pub struct Upload {
    store: Store,
    rne: Rne,
    name: String,
    temp: PathBuf,
    sink: Option<Sink>,
    /// Bytes not yet written, at most [`WRITE_CHUNK_BYTES`]; its allocation is reused.
    pending: Vec<u8>,
    written: u64,
    committed: bool,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("rne", &self.rne)
            .field("name", &self.name)
            .field("written", &self.written)
            .finish()
    }
}

impl Upload {
    pub(super) async fn start(store: Store, rne: Rne, name: String) -> Result<Upload, StoreError> {
        let temp = store.temp_path();
        let path = temp.clone();
        let file = tokio::task::spawn_blocking(move || {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        Ok(Upload {
            store,
            rne,
            name,
            temp,
            sink: Some(Sink {
                file,
                hasher: Sha256::new(),
            }),
            pending: Vec::with_capacity(WRITE_CHUNK_BYTES),
            written: 0,
            committed: false,
        })
    }

    pub fn rne(&self) -> &Rne {
        &self.rne
    }

    pub fn stored_name(&self) -> &str {
        &self.name
    }

    /// Bytes accepted so far (written or waiting to be).
    pub fn len(&self) -> u64 {
        self.written + self.pending.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a chunk; it reaches the disk once enough is gathered.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        let mut rest = chunk.as_ref();
        while !rest.is_empty() {
            let room = WRITE_CHUNK_BYTES - self.pending.len();
            let (now, later) = rest.split_at(rest.len().min(room));
            self.pending.extend_from_slice(now);
            rest = later;
            if self.pending.len() >= WRITE_CHUNK_BYTES {
                self.drain().await?;
            }
        }
        Ok(())
    }

    async fn drain(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.pending);
        let count = buf.len() as u64;
        let mut sink = self
            .sink
            .take()
            .ok_or(StoreError::BadName("upload already failed"))?;
        let (sink, mut buf) = tokio::task::spawn_blocking(move || {
            sink.hasher.update(&buf);
            sink.file.write_all(&buf).map(|()| (sink, buf))
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        buf.clear();
        self.pending = buf;
        self.sink = Some(sink);
        self.written += count;
        Ok(())
    }

    /// Makes the deposit durable and visible as the next version of its name, keeping at most
    /// `max_versions` versions (0 keeps all). Returns the stored file as listings will show it.
    pub async fn commit(
        mut self,
        provenance: Provenance,
        max_versions: u32,
    ) -> Result<Committed, StoreError> {
        self.drain().await?;
        let sink = self
            .sink
            .take()
            .ok_or(StoreError::BadName("upload already failed"))?;
        let sha256 = hex::encode(sink.hasher.finalize());
        let file = sink.file;
        tokio::task::spawn_blocking(move || file.sync_all())
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;

        let lock = self.store.school_lock(&self.rne);
        let _guard = lock.lock().await;
        let store = self.store.clone();
        let (rne, name, temp) = (self.rne.clone(), self.name.clone(), self.temp.clone());
        let bytes = self.written;
        let result = tokio::task::spawn_blocking(move || {
            publish(
                &store,
                &rne,
                &name,
                &temp,
                bytes,
                sha256,
                provenance,
                max_versions,
            )
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        if result.is_ok() {
            self.committed = true;
        }
        result
    }
}

/// Who made a deposit and what they declared it to be, as its record keeps them.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// The account that deposited.
    pub principal: String,
    /// The plan kind declared with the deposit (a `plan_kinds` id), if any.
    pub kind: Option<String>,
}

impl Provenance {
    /// A deposit by `principal` with no declared kind.
    pub fn by(principal: &str) -> Provenance {
        Provenance {
            principal: principal.to_string(),
            kind: None,
        }
    }
}

/// The steps after the content is durable: record, version link, latest rename, prune.
#[allow(clippy::too_many_arguments)]
fn publish(
    store: &Store,
    rne: &Rne,
    name: &str,
    temp: &PathBuf,
    bytes: u64,
    sha256: String,
    provenance: Provenance,
    max_versions: u32,
) -> Result<Committed, StoreError> {
    let layout = store.layout();
    let versions_dir = layout.versions_dir(rne, name);
    let new_school = !layout.school_dir(rne).exists();
    let new_name = !versions_dir.exists();
    let record_temp = layout.temp_path();
    let result = fs::create_dir_all(&versions_dir)
        .map_err(StoreError::from)
        .and_then(|()| {
            if new_school {
                sync_dir(layout.root())?;
            }
            let record = (bytes, sha256, provenance);
            publish_version(store, rne, name, temp, &record_temp, record, max_versions)
        });
    if result.is_err() {
        // Leave no trace of a deposit that did not happen (a full disk can stop any step):
        // the record's temp file, and the folders this deposit created.
        let _ = fs::remove_file(&record_temp);
        if new_name {
            let _ = fs::remove_dir(&versions_dir);
            let _ = versions_dir.parent().map(fs::remove_dir);
        }
        if new_school {
            let _ = fs::remove_dir(layout.school_dir(rne));
        }
    }
    result
}

/// Numbers, records and links the new version (or finds it equal to the latest).
fn publish_version(
    store: &Store,
    rne: &Rne,
    name: &str,
    temp: &PathBuf,
    record_temp: &PathBuf,
    (bytes, sha256, provenance): (u64, String, Provenance),
    max_versions: u32,
) -> Result<Committed, StoreError> {
    let layout = store.layout();
    let versions_dir = layout.versions_dir(rne, name);
    let latest = layout
        .version_numbers(rne, name)?
        .last()
        .copied()
        .unwrap_or(0);
    if latest > 0 {
        let previous = layout.read_record(rne, name, latest)?;
        if previous.sha256 == sha256 && layout.latest_path(rne, name).is_file() {
            // The same content again (a sync tool re-sending an unchanged file): no new
            // version, which would only eat the quota.
            fs::remove_file(temp)?;
            let stored = layout
                .stat(rne, name)?
                .ok_or_else(|| std::io::Error::other("latest version vanished"))?;
            tracing::debug!(rne = %rne, name, version = latest, "unchanged re-deposit");
            return Ok(Committed {
                stored,
                record: previous,
                new_version: false,
            });
        }
    }
    let version = latest + 1;
    let record = DepositRecord {
        version,
        bytes,
        sha256,
        deposited_at: now_rfc3339(),
        principal: provenance.principal,
        kind: provenance.kind,
    };
    {
        let mut file = fs::File::create(record_temp)?;
        file.write_all(&serde_json::to_vec_pretty(&record).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
    }
    let record_path = versions_dir.join(format!("{version}.json"));
    fs::rename(record_temp, &record_path)?;
    if let Err(err) = fs::hard_link(temp, versions_dir.join(version.to_string())) {
        let _ = fs::remove_file(&record_path);
        return Err(err.into());
    }
    fs::rename(temp, layout.latest_path(rne, name))?;
    sync_dir(&versions_dir)?;
    if let Some(parent) = layout.latest_path(rne, name).parent() {
        sync_dir(parent)?;
    }
    layout.adjust_usage(rne, bytes as i64);
    if max_versions > 0 {
        prune(layout, rne, name, max_versions)?;
    }
    layout.refresh(rne, name)?;
    let stored = layout
        .stat(rne, name)?
        .ok_or_else(|| std::io::Error::other("deposit vanished after commit"))?;
    tracing::debug!(rne = %rne, name, version, "deposit committed");
    Ok(Committed {
        stored,
        record,
        new_version: true,
    })
}

fn prune(layout: &super::Layout, rne: &Rne, name: &str, keep: u32) -> std::io::Result<()> {
    let numbers = layout.version_numbers(rne, name)?;
    let excess = numbers.len().saturating_sub(keep as usize);
    let dir = layout.versions_dir(rne, name);
    for n in &numbers[..excess] {
        tracing::info!(rne = %rne, name, version = n, "pruning version beyond max_versions");
        let content = dir.join(n.to_string());
        let size = fs::metadata(&content)?.len();
        fs::remove_file(&content)?;
        layout.adjust_usage(rne, -(size as i64));
        fs::remove_file(dir.join(format!("{n}.json")))?;
    }
    Ok(())
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.committed {
            // A failed or abandoned upload leaves nothing: the temp file is its only trace.
            if let Err(err) = fs::remove_file(&self.temp) {
                if err.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(file = %self.temp.display(), error = %err,
                        "could not remove an abandoned upload");
                }
            }
        }
    }
}
