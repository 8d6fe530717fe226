//! Dead WebDAV properties of a stored file or folder, where the policy allows clients to set
//! them: a small JSON file that moves and disappears with what it describes
//! (`.versions/<name>/props.json` for a file, `.props.json` inside a folder).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::layout::{check_stored_path, Layout};
use super::{Store, StoreError};
use crate::directory::Rne;

/// Most bytes of properties kept for one file or folder.
pub const MAX_PROPS_BYTES: usize = 64 * 1024;

/// One property as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadProp {
    pub namespace: Option<String>,
    pub prefix: Option<String>,
    pub name: String,
    /// The whole property element as XML text.
    pub xml: Option<String>,
}

impl DeadProp {
    fn key(&self) -> String {
        format!(
            "{}\u{0}{}",
            self.namespace.as_deref().unwrap_or(""),
            self.name
        )
    }
}

fn props_path(layout: &Layout, rne: &Rne, rel: &str, folder: bool) -> PathBuf {
    if folder {
        layout.school_dir(rne).join(rel).join(".props.json")
    } else {
        layout.versions_dir(rne, rel).join("props.json")
    }
}

impl Store {
    /// The properties of a file (`folder` false) or folder (`rel` `""` for the school folder).
    pub fn dead_props(
        &self,
        rne: &Rne,
        rel: &str,
        folder: bool,
    ) -> Result<Vec<DeadProp>, StoreError> {
        if !rel.is_empty() {
            check_stored_path(rel)?;
        }
        let path = props_path(self.layout(), rne, rel, folder);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Io(io::Error::new(io::ErrorKind::InvalidData, e))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(err) => Err(err.into()),
        }
    }

    /// Applies sets (`true`) and removals (`false`) at once; refused whole, with
    /// [`StoreError::DiskFull`], when the result would exceed [`MAX_PROPS_BYTES`].
    pub fn patch_dead_props(
        &self,
        rne: &Rne,
        rel: &str,
        folder: bool,
        patch: Vec<(bool, DeadProp)>,
    ) -> Result<(), StoreError> {
        let mut props: BTreeMap<String, DeadProp> = self
            .dead_props(rne, rel, folder)?
            .into_iter()
            .map(|p| (p.key(), p))
            .collect();
        for (set, prop) in patch {
            if set {
                props.insert(prop.key(), prop);
            } else {
                props.remove(&prop.key());
            }
        }
        let list: Vec<DeadProp> = props.into_values().collect();
        let bytes = serde_json::to_vec(&list).map_err(|e| StoreError::Io(io::Error::other(e)))?;
        if bytes.len() > MAX_PROPS_BYTES {
            return Err(StoreError::DiskFull);
        }
        let path = props_path(self.layout(), rne, rel, folder);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let temp = self.temp_path();
        fs::write(&temp, bytes)?;
        fs::rename(&temp, &path)?;
        Ok(())
    }

    /// Copies a file's properties to another file (COPY keeps them).
    pub fn copy_dead_props(&self, rne: &Rne, from: &str, to: &str) -> Result<(), StoreError> {
        let props = self.dead_props(rne, from, false)?;
        if props.is_empty() {
            return Ok(());
        }
        self.patch_dead_props(
            rne,
            to,
            false,
            props.into_iter().map(|p| (true, p)).collect(),
        )
    }
}
