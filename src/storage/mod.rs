//! Physical storage of deposits, keyed by RNE: `<data_dir>/<RNE>/<stored name>` holds the latest
//! version, `<data_dir>/<RNE>/.versions/<stored name>/<N>` every version with its `<N>.json`
//! record (with sub-folders, where a permissive policy allows them, each folder has its own
//! `.versions`). Writes go to `<data_dir>/.tmp/` first, are hashed while written, fsynced and
//! renamed
//! into place, so a crash leaves either the old state or the new one. Knows no policy and no HTTP.

mod layout;
mod locks;
mod props;
mod record;
mod repair;
mod upload;

pub use props::{DeadProp, MAX_PROPS_BYTES};
pub use record::{DepositRecord, StoredFile};
pub use upload::{Committed, Provenance, Upload};

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Per school: deposits of one name are numbered one at a time (distinct, gapless
    /// versions), deposits of different names commit side by side, tree changes alone.
    locks: Arc<locks::StoreLocks>,
}

impl Store {
    /// Opens (creating if needed) a store, removes uploads left over by a crash and repairs a
    /// latest-version link interrupted between its two steps.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let layout = Layout::new(root.to_path_buf());
        layout.prepare()?;
        let store = Store {
            layout: Arc::new(layout),
            locks: Arc::default(),
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

    /// Latest version of every file directly in a school's folder, sorted by name.
    pub fn list(&self, rne: &Rne) -> Result<Vec<StoredFile>, StoreError> {
        Ok(self.layout.list_dir(rne, "")?.0)
    }

    /// Files and sub-folders directly in `dir` (relative to the school folder, `""` for it).
    pub fn list_dir(
        &self,
        rne: &Rne,
        dir: &str,
    ) -> Result<(Vec<StoredFile>, Vec<String>), StoreError> {
        if !dir.is_empty() {
            layout::check_stored_path(dir)?;
        }
        Ok(self.layout.list_dir(rne, dir)?)
    }

    /// The stored path equal to `rel` but for case, if any (`PLAN.PDF` for `plan.pdf`).
    pub fn find_any_case(&self, rne: &Rne, rel: &str) -> Option<String> {
        self.layout.find_any_case(rne, rel).ok().flatten()
    }

    /// Whether `rel` is a sub-folder of the school's folder.
    pub fn is_dir(&self, rne: &Rne, rel: &str) -> bool {
        layout::check_stored_path(rel).is_ok() && self.layout.latest_path(rne, rel).is_dir()
    }

    /// Latest version of one stored name, `None` when absent.
    pub fn stat(&self, rne: &Rne, stored_name: &str) -> Result<Option<StoredFile>, StoreError> {
        layout::check_stored_path(stored_name)?;
        Ok(self.layout.stat(rne, stored_name)?)
    }

    /// Every version of one stored name, oldest first.
    pub fn versions(&self, rne: &Rne, stored_name: &str) -> Result<Vec<DepositRecord>, StoreError> {
        layout::check_stored_path(stored_name)?;
        Ok(self.layout.versions(rne, stored_name)?)
    }

    /// Opens the latest version for reading.
    pub fn open_latest(&self, rne: &Rne, stored_name: &str) -> Result<std::fs::File, StoreError> {
        layout::check_stored_path(stored_name)?;
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
        layout::check_stored_path(stored_name)?;
        Upload::start(self.clone(), rne.clone(), stored_name.to_string()).await
    }

    /// Creates a sub-folder (permissive policies only); its parent must exist.
    pub async fn create_dir(&self, rne: &Rne, rel: &str) -> Result<(), StoreError> {
        layout::check_stored_path(rel)?;
        let locks = self.school_locks(rne);
        let _alone = locks.tree.write().await;
        let (parent, _) = layout::split_rel(rel);
        if !parent.is_empty() && !self.is_dir(rne, parent) {
            return Err(StoreError::Io(std::io::ErrorKind::NotFound.into()));
        }
        std::fs::create_dir_all(self.layout.school_dir(rne))?;
        std::fs::create_dir(self.layout.latest_path(rne, rel))?;
        Ok(())
    }

    /// Removes a stored file with all its versions (permissive policies only).
    pub async fn remove_file(&self, rne: &Rne, rel: &str) -> Result<(), StoreError> {
        layout::check_stored_path(rel)?;
        let locks = self.school_locks(rne);
        let _alone = locks.tree.write().await;
        std::fs::remove_file(self.layout.latest_path(rne, rel))?;
        match std::fs::remove_dir_all(self.layout.versions_dir(rne, rel)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err.into()),
            _ => {}
        }
        self.layout.invalidate(rne);
        Ok(())
    }

    /// Removes an empty sub-folder (its hidden version folder included).
    pub async fn remove_dir(&self, rne: &Rne, rel: &str) -> Result<(), StoreError> {
        layout::check_stored_path(rel)?;
        let locks = self.school_locks(rne);
        let _alone = locks.tree.write().await;
        let (files, folders) = self.layout.list_dir(rne, rel)?;
        if !files.is_empty() || !folders.is_empty() {
            return Err(StoreError::Io(std::io::ErrorKind::DirectoryNotEmpty.into()));
        }
        std::fs::remove_dir_all(self.layout.latest_path(rne, rel))?;
        self.layout.invalidate(rne);
        Ok(())
    }

    /// Moves a file (with its versions) or a folder within a school (permissive policies only).
    pub async fn rename(&self, rne: &Rne, from: &str, to: &str) -> Result<(), StoreError> {
        layout::check_stored_path(from)?;
        layout::check_stored_path(to)?;
        let locks = self.school_locks(rne);
        let _alone = locks.tree.write().await;
        let source = self.layout.latest_path(rne, from);
        let target = self.layout.latest_path(rne, to);
        if source.is_file() {
            let versions = self.layout.versions_dir(rne, to);
            if let Some(parent) = versions.parent() {
                std::fs::create_dir_all(parent)?;
            }
            match std::fs::remove_dir_all(&versions) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err.into()),
                _ => {}
            }
            std::fs::rename(self.layout.versions_dir(rne, from), versions)?;
        }
        std::fs::rename(source, target)?;
        self.layout.invalidate(rne);
        Ok(())
    }

    /// Sets the modification time of the latest version (the time listings show).
    pub fn set_modified(
        &self,
        rne: &Rne,
        rel: &str,
        time: std::time::SystemTime,
    ) -> Result<(), StoreError> {
        layout::check_stored_path(rel)?;
        let file = std::fs::File::options()
            .write(true)
            .open(self.layout.latest_path(rne, rel))?;
        file.set_modified(time)?;
        self.layout.refresh(rne, rel)?;
        Ok(())
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    pub(crate) fn school_locks(&self, rne: &Rne) -> Arc<locks::SchoolLocks> {
        self.locks.school(rne)
    }

    /// The shared fsync of one directory of the store.
    pub(crate) fn dir_sync(&self, dir: &Path) -> Arc<locks::DirSync> {
        self.locks.dir(dir)
    }

    pub(crate) fn temp_path(&self) -> PathBuf {
        self.layout.temp_path()
    }
}

#[cfg(test)]
mod tests;
