//! One deposit being written: a temp file filled in bounded chunks, hashed as it is written,
//! then fsynced and renamed into place by [`Upload::commit`]. Dropped uncommitted, it leaves
//! nothing behind.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::layout::sync_dir;
use super::record::{DepositRecord, StoredFile};
use super::{Store, StoreError};
use crate::directory::Rne;

/// Bytes gathered before one write to disk: large enough to amortise a thread hop, small enough
/// that memory per upload stays bounded whatever the file size. Incoming chunks are copied into
/// this one buffer: keeping them would pin the connection's larger receive buffers.
// Limitation: hashing and writing a chunk and receiving the next one do not overlap. A second
// buffer filling while the first was written (measured: 512 MiB PUTs, five interleaved pairs)
// gained nothing visible above the noise and added ~2.5 MiB at 16 uploads (28.9 -> 31.4 MiB).
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
        // The content's fsync runs while the version is numbered and its record written.
        let content = tokio::task::spawn_blocking(move || {
            file.sync_all()?;
            file.metadata()?.modified()
        });
        let deposit = Deposit {
            store: self.store.clone(),
            rne: self.rne.clone(),
            name: self.name.clone(),
            temp: self.temp.clone(),
            bytes: self.written,
            sha256,
            provenance,
            max_versions,
        };
        // From here the commit runs to its end in a task of its own, even if the request that
        // started it goes away: it has several steps, and stopping between two of them would
        // leave a deposit visible but not durable. The task removes the temp file on failure.
        self.committed = true;
        tokio::spawn(deposit.commit(content))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
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

/// A deposit whose content is written, on its way into place.
struct Deposit {
    store: Store,
    rne: Rne,
    name: String,
    temp: PathBuf,
    bytes: u64,
    sha256: String,
    provenance: Provenance,
    max_versions: u32,
}

/// What numbering decided.
enum Numbered {
    /// The content equals the latest version's: nothing new is kept.
    Unchanged(Committed),
    /// The next version, its record written and fsynced at `record_temp`.
    Next {
        record: DepositRecord,
        /// Versions kept before this one.
        kept: u32,
    },
}

/// Folders a deposit created, removed again if it fails.
#[derive(Clone, Copy)]
struct Created {
    school: bool,
    name: bool,
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
}

impl Deposit {
    async fn commit(
        self,
        content: tokio::task::JoinHandle<std::io::Result<std::time::SystemTime>>,
    ) -> Result<Committed, StoreError> {
        let school = self.store.school_locks(&self.rne);
        let tree = school.tree.read().await;
        let name_lock = school.name(&self.name);
        let name_guard = name_lock.lock().await;
        let (name, temp) = (self.name.clone(), self.temp.clone());
        let result = self.publish(content).await;
        drop(name_guard);
        school.release_name(&name, name_lock);
        drop(tree);
        if result.is_err() {
            if let Err(err) = fs::remove_file(&temp) {
                if err.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(file = %temp.display(), error = %err,
                        "could not remove a failed upload");
                }
            }
        }
        result
    }

    /// Record, version link, latest rename, folder fsyncs, prune. The content's fsync
    /// (`content`, which gives its modification time) and the record's run side by side; the
    /// renames wait for both; then the folders are fsynced, the school's folder (and its
    /// `.versions`) shared with the commits that changed it meanwhile.
    async fn publish(
        self,
        content: tokio::task::JoinHandle<std::io::Result<std::time::SystemTime>>,
    ) -> Result<Committed, StoreError> {
        let store = self.store.clone();
        let layout = store.layout();
        let versions_dir = layout.versions_dir(&self.rne, &self.name);
        let record_temp = layout.temp_path();
        let school = store.school_locks(&self.rne);
        let created = {
            let _dirs = school.dirs.lock().unwrap_or_else(|e| e.into_inner());
            let created = Created {
                school: !layout.school_dir(&self.rne).exists(),
                name: !versions_dir.exists(),
            };
            fs::create_dir_all(&versions_dir)?;
            if created.school {
                let ticket = store.dir_sync(layout.root()).note_change();
                school.created.store(ticket, Ordering::SeqCst);
            }
            created
        };
        let rne = self.rne.clone();
        let result = Arc::new(self)
            .publish_in(content, record_temp.clone(), created)
            .await;
        if result.is_err() {
            // Leave no trace of a deposit that did not happen (a full disk can stop any step):
            // the record's temp file, and the folders this deposit created.
            let _ = fs::remove_file(&record_temp);
            let _dirs = school.dirs.lock().unwrap_or_else(|e| e.into_inner());
            if created.name {
                let _ = fs::remove_dir(&versions_dir);
                let _ = versions_dir.parent().map(fs::remove_dir);
            }
            if created.school {
                let _ = fs::remove_dir(layout.school_dir(&rne));
            }
        }
        result
    }

    async fn publish_in(
        self: Arc<Self>,
        content: tokio::task::JoinHandle<std::io::Result<std::time::SystemTime>>,
        record_temp: PathBuf,
        created: Created,
    ) -> Result<Committed, StoreError> {
        let this = self.clone();
        let temp = record_temp.clone();
        let numbered = blocking(move || this.number(&temp)).await?;
        let (record, kept) = match numbered {
            Numbered::Unchanged(committed) => return Ok(committed),
            Numbered::Next { record, kept } => (record, kept),
        };
        let modified = content
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        let this = self.clone();
        let version = record.version;
        blocking(move || this.link(&record_temp, version)).await?;
        self.sync_dirs(created).await?;

        let layout = self.store.layout();
        layout.adjust_usage(&self.rne, self.bytes as i64);
        let mut versions_kept = kept + 1;
        if self.max_versions > 0 && versions_kept > self.max_versions {
            let this = self.clone();
            versions_kept = blocking(move || {
                Ok(prune(
                    this.store.layout(),
                    &this.rne,
                    &this.name,
                    this.max_versions,
                )?)
            })
            .await?;
        }
        let stored = StoredFile {
            name: super::layout::split_rel(&self.name).1.to_string(),
            path: self.name.clone(),
            bytes: self.bytes,
            modified,
            sha256: record.sha256.clone(),
            version,
            versions_kept,
        };
        layout.put(&self.rne, stored.clone())?;
        tracing::debug!(rne = %self.rne, name = self.name, version, "deposit committed");
        Ok(Committed {
            stored,
            record,
            new_version: true,
        })
    }

    /// Numbers the new version (or finds it equal to the latest) and writes its record.
    fn number(&self, record_temp: &PathBuf) -> Result<Numbered, StoreError> {
        let (rne, name) = (&self.rne, self.name.as_str());
        let layout = self.store.layout();
        let numbers = layout.version_numbers(rne, name)?;
        let latest = numbers.last().copied().unwrap_or(0);
        if latest > 0 {
            // The index knows the latest hash; the record is read only when it matches.
            let known = layout.stat(rne, name)?.filter(|f| f.version == latest);
            let same = match &known {
                Some(file) => file.sha256 == self.sha256,
                None => layout.read_record(rne, name, latest)?.sha256 == self.sha256,
            };
            if same && layout.latest_path(rne, name).is_file() {
                // The same content again (a sync tool re-sending an unchanged file): no new
                // version, which would only eat the quota.
                let previous = layout.read_record(rne, name, latest)?;
                fs::remove_file(&self.temp)?;
                let stored = layout
                    .stat(rne, name)?
                    .ok_or_else(|| std::io::Error::other("latest version vanished"))?;
                tracing::debug!(rne = %rne, name, version = latest, "unchanged re-deposit");
                return Ok(Numbered::Unchanged(Committed {
                    stored,
                    record: previous,
                    new_version: false,
                }));
            }
        }
        let record = DepositRecord {
            version: latest + 1,
            bytes: self.bytes,
            sha256: self.sha256.clone(),
            deposited_at: now_rfc3339(),
            principal: self.provenance.principal.clone(),
            kind: self.provenance.kind.clone(),
        };
        let mut file = fs::File::create(record_temp)?;
        file.write_all(&serde_json::to_vec_pretty(&record).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        Ok(Numbered::Next {
            record,
            kept: numbers.len() as u32,
        })
    }

    /// Moves the record, the version and the latest link into place (both files are durable).
    fn link(&self, record_temp: &PathBuf, version: u32) -> Result<(), StoreError> {
        let layout = self.store.layout();
        let versions_dir = layout.versions_dir(&self.rne, &self.name);
        let record_path = versions_dir.join(format!("{version}.json"));
        fs::rename(record_temp, &record_path)?;
        if let Err(err) = fs::hard_link(&self.temp, versions_dir.join(version.to_string())) {
            let _ = fs::remove_file(&record_path);
            return Err(err.into());
        }
        fs::rename(&self.temp, layout.latest_path(&self.rne, &self.name))?;
        Ok(())
    }

    /// Makes the renames durable: the name's version folder, the folder of the latest link
    /// and, for a new name or school, the folders that gained it. The shared ones are synced
    /// once for all the commits that changed them meanwhile.
    async fn sync_dirs(&self, created: Created) -> Result<(), StoreError> {
        let layout = self.store.layout();
        let versions_dir = layout.versions_dir(&self.rne, &self.name);
        let latest = layout.latest_path(&self.rne, &self.name);
        let mut shared = Vec::new();
        if let Some(parent) = latest.parent() {
            shared.push(parent.to_path_buf());
        }
        if created.name {
            if let Some(parent) = versions_dir.parent() {
                shared.push(parent.to_path_buf());
            }
        }
        let mut tickets: Vec<_> = shared
            .into_iter()
            .map(|dir| {
                let sync = self.store.dir_sync(&dir);
                let ticket = sync.note_change();
                (sync, dir, ticket)
            })
            .collect();
        // A new school's folder is durable in the data directory before any of its deposits
        // is answered, whichever of them created it.
        let school = self.store.school_locks(&self.rne);
        let creation = school.created.load(Ordering::SeqCst);
        if creation > 0 {
            let root = layout.root().to_path_buf();
            tickets.push((self.store.dir_sync(&root), root, creation));
        }
        let own = blocking(move || Ok(sync_dir(&versions_dir)?));
        let shared = futures_util::future::try_join_all(
            tickets
                .iter()
                .map(|(sync, dir, ticket)| sync.sync(dir.clone(), *ticket)),
        );
        let (own, shared) = tokio::join!(own, shared);
        own?;
        shared?;
        if creation > 0 {
            let _ =
                school
                    .created
                    .compare_exchange(creation, 0, Ordering::SeqCst, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// Deletes the oldest versions beyond `keep`; returns how many are kept.
fn prune(layout: &super::Layout, rne: &Rne, name: &str, keep: u32) -> std::io::Result<u32> {
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
    Ok((numbers.len() - excess) as u32)
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
