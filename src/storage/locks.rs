//! Who waits for whom when deposits are stored: per school, a tree lock (moves and deletions
//! alone, commits together), a short lock on the creation and removal of deposit folders, one
//! lock per stored name (its versions are numbered one at a time), and directory fsyncs shared
//! by the commits that changed the same folder meanwhile (group commit).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::layout::sync_dir;

/// The locks of one school.
#[derive(Default)]
pub struct SchoolLocks {
    /// Held shared by commits, alone by tree changes (folders, deletion, moves).
    pub tree: tokio::sync::RwLock<()>,
    /// Held while a deposit's folders are created, or removed after a failure.
    pub dirs: Mutex<()>,
    names: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The data directory's change that created this school's folder, until it is durable
    /// (0 then): every commit of the school waits for it.
    pub created: AtomicU64,
}

impl SchoolLocks {
    /// The lock of one stored name; give it back with [`SchoolLocks::release_name`].
    pub fn name(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.entry(name.to_string()).or_default().clone()
    }

    /// Forgets a name's lock once no commit holds or waits for it.
    pub fn release_name(&self, name: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        // Ours and the map's: nobody else can take it without this mutex.
        if Arc::strong_count(&lock) == 2 {
            names.remove(name);
        }
    }
}

/// The fsyncs of one directory. A commit notes its change after its rename, then asks for a
/// sync: if one that started after the change has finished, it is durable already; otherwise
/// one fsync is made for every change noted so far, and the commits that queued behind it
/// while it ran share the next one.
#[derive(Default)]
pub struct DirSync {
    changes: AtomicU64,
    synced: tokio::sync::Mutex<u64>,
}

impl DirSync {
    /// Counts a change of the directory's entries (call once it is made).
    pub fn note_change(&self) -> u64 {
        self.changes.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Returns once change `ticket` is durable.
    pub async fn sync(&self, dir: PathBuf, ticket: u64) -> io::Result<()> {
        let mut synced = self.synced.lock().await;
        if *synced >= ticket {
            return Ok(());
        }
        let upto = self.changes.load(Ordering::SeqCst);
        tokio::task::spawn_blocking(move || sync_dir(&dir))
            .await
            .map_err(io::Error::other)??;
        *synced = upto;
        Ok(())
    }
}

/// Every school's locks and every directory's shared fsync, for one store.
#[derive(Default)]
pub struct StoreLocks {
    schools: Mutex<HashMap<crate::directory::Rne, Arc<SchoolLocks>>>,
    dirs: Mutex<HashMap<PathBuf, Arc<DirSync>>>,
}

impl StoreLocks {
    pub fn school(&self, rne: &crate::directory::Rne) -> Arc<SchoolLocks> {
        let mut schools = self.schools.lock().unwrap_or_else(|e| e.into_inner());
        schools.entry(rne.clone()).or_default().clone()
    }

    /// The shared fsync of a directory (one per folder that holds deposits).
    pub fn dir(&self, dir: &Path) -> Arc<DirSync> {
        let mut dirs = self.dirs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = dirs.get(dir) {
            return found.clone();
        }
        dirs.entry(dir.to_path_buf()).or_default().clone()
    }
}
