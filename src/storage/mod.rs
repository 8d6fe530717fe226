//! Physical storage of deposits, keyed by RNE: `<data_dir>/<RNE>/<stored name>` holds the latest
//! version, `<data_dir>/<RNE>/.versions/<stored name>/<N>` every version with its `<N>.json`
//! record. Writes go to `<data_dir>/.tmp/` first, are hashed while written, fsynced and renamed
//! into place, so a crash leaves either the old state or the new one. Knows no policy and no HTTP.

mod layout;
mod record;
mod upload;

pub use record::{DepositRecord, StoredFile};
pub use upload::Upload;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::directory::Rne;
pub(crate) use layout::Layout;
pub use layout::MAX_STORED_NAME_BYTES;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the disk is full")]
    DiskFull,
    #[error("stored name is not valid: {0}")]
    BadName(&'static str),
    #[error("the upload was shorter or longer than announced ({written} of {expected} bytes)")]
    Incomplete { written: u64, expected: u64 },
    #[error("storage i/o error: {0}")]
    Io(#[source] io::Error),
}

impl From<io::Error> for StoreError {
    fn from(err: io::Error) -> Self {
        match err.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => StoreError::DiskFull,
            _ => StoreError::Io(err),
        }
    }
}

/// The deposit store over one data directory. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    layout: Arc<Layout>,
    /// One mutex per school: version numbering and the final renames of one school's deposits
    /// happen one at a time, so concurrent deposits of one name get distinct, gapless numbers.
    school_locks: Arc<Mutex<HashMap<Rne, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Store {
    /// Opens (creating if needed) a store, removes uploads left over by a crash and repairs a
    /// latest-version link interrupted between its two steps.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let layout = Layout::new(root.to_path_buf());
        layout.prepare()?;
        let store = Store {
            layout: Arc::new(layout),
            school_locks: Arc::default(),
        };
        for rne in store.schools()? {
            store.layout.repair_school(&rne)?;
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        self.layout.root()
    }

    /// Schools that have at least one deposit, sorted.
    pub fn schools(&self) -> Result<Vec<Rne>, StoreError> {
        Ok(self.layout.schools()?)
    }

    /// Whether a school has deposited anything.
    pub fn has_deposits(&self, rne: &Rne) -> bool {
        self.layout.school_dir(rne).is_dir()
    }

    /// Latest version of every stored name of a school, sorted by name.
    pub fn list(&self, rne: &Rne) -> Result<Vec<StoredFile>, StoreError> {
        Ok(self.layout.list(rne)?)
    }

    /// Latest version of one stored name, `None` when absent.
    pub fn stat(&self, rne: &Rne, stored_name: &str) -> Result<Option<StoredFile>, StoreError> {
        layout::check_stored_name(stored_name)?;
        Ok(self.layout.stat(rne, stored_name)?)
    }

    /// Every version of one stored name, oldest first.
    pub fn versions(&self, rne: &Rne, stored_name: &str) -> Result<Vec<DepositRecord>, StoreError> {
        layout::check_stored_name(stored_name)?;
        Ok(self.layout.versions(rne, stored_name)?)
    }

    /// Opens the latest version for reading.
    pub fn open_latest(&self, rne: &Rne, stored_name: &str) -> Result<std::fs::File, StoreError> {
        layout::check_stored_name(stored_name)?;
        Ok(std::fs::File::open(
            self.layout.latest_path(rne, stored_name),
        )?)
    }

    /// Bytes used by a school, every kept version counted once.
    pub fn used_bytes(&self, rne: &Rne) -> Result<u64, StoreError> {
        Ok(self.layout.used_bytes(rne)?)
    }

    /// Starts an upload into a temp file; nothing is visible until [`Upload::commit`].
    pub async fn begin(&self, rne: &Rne, stored_name: &str) -> Result<Upload, StoreError> {
        layout::check_stored_name(stored_name)?;
        Upload::start(self.clone(), rne.clone(), stored_name.to_string()).await
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    pub(crate) fn school_lock(&self, rne: &Rne) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.school_locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(rne.clone()).or_default().clone()
    }

    pub(crate) fn temp_path(&self) -> PathBuf {
        self.layout.temp_path()
    }
}

#[cfg(test)]
mod tests;
