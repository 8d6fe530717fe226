//! Verified mount keys kept in memory, so a WebDAV request costs a hash and a map lookup
//! instead of a database round trip. The cache is emptied whenever the state database changes
//! on disk (size or time of the database or its write-ahead log: a `key revoke` run by another
//! process, another node's write), so a revoked key stops on the next request.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use super::principal::Principal;

/// What the database said of one key.
#[derive(Debug, Clone)]
pub struct CachedKey {
    pub principal: Principal,
    pub expires_at: Option<i64>,
}

/// Size and modification time of each database file: changes with every commit.
pub type Stamp = Vec<(u64, SystemTime)>;

#[derive(Default)]
struct State {
    stamp: Stamp,
    keys: HashMap<Vec<u8>, CachedKey>,
}

pub struct KeyCache {
    files: Vec<PathBuf>,
    state: Mutex<State>,
}

impl KeyCache {
    /// Watches the SQLite database at `db` (and its `-wal` file).
    pub fn new(db: &Path) -> KeyCache {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        KeyCache {
            files: vec![db.to_path_buf(), PathBuf::from(wal)],
            state: Mutex::default(),
        }
    }

    fn stamp(&self) -> Stamp {
        self.files
            .iter()
            .map(|f| match std::fs::metadata(f) {
                Ok(m) => (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)),
                Err(_) => (0, SystemTime::UNIX_EPOCH),
            })
            .collect()
    }

    /// The cached verdict for a key hash, and the database stamp it was read under.
    pub fn get(&self, hash: &[u8]) -> (Option<CachedKey>, Stamp) {
        let stamp = self.stamp();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.stamp != stamp {
            state.keys.clear();
            state.stamp = stamp.clone();
        }
        (state.keys.get(hash).cloned(), stamp)
    }

    /// Remembers a key read from the database, unless the database changed since `seen`.
    pub fn put(&self, hash: Vec<u8>, key: CachedKey, seen: &Stamp) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.stamp == *seen && self.stamp() == *seen {
            state.keys.insert(hash, key);
        }
    }

    pub fn clear(&self) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys
            .clear();
    }
}
