//! Metadata and directory entries the WebDAV crate asks for.

use std::time::SystemTime;

use dav_server::fs::{DavDirEntry, DavMetaData, FsFuture, FsResult};
use futures_util::FutureExt;

/// Metadata of a virtual folder, a deposit or a scratch file.
#[derive(Debug, Clone)]
pub struct Meta {
    pub len: u64,
    pub modified: SystemTime,
    pub is_dir: bool,
    /// For deposits: derived from the content hash, stable across restarts.
    pub etag: Option<String>,
}

impl Meta {
    pub fn dir(modified: SystemTime) -> Meta {
        Meta {
            len: 0,
            modified,
            is_dir: true,
            etag: None,
        }
    }
}

impl DavMetaData for Meta {
    fn len(&self) -> u64 {
        self.len
    }

    fn modified(&self) -> FsResult<SystemTime> {
        Ok(self.modified)
    }

    fn is_dir(&self) -> bool {
        self.is_dir
    }

    fn etag(&self) -> Option<String> {
        if let Some(etag) = &self.etag {
            return Some(etag.clone());
        }
        let since = self.modified.duration_since(SystemTime::UNIX_EPOCH).ok()?;
        Some(format!("{:x}-{:x}", self.len, since.as_micros()))
    }
}

/// A listed child.
pub struct Entry {
    pub name: String,
    pub meta: Meta,
    /// This server's own properties of the child (name in [`super::PROPS_NS`], value).
    pub props: Vec<(&'static str, String)>,
}

impl DavDirEntry for Entry {
    fn name(&self) -> Vec<u8> {
        self.name.as_bytes().to_vec()
    }

    fn metadata(&self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move { Ok(meta) }.boxed()
    }
}
