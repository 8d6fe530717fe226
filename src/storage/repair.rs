//! Crash repair at start: the two steps of a deposit's publication (version link, latest
//! rename) that a crash can separate are completed, and records whose content never arrived
//! are dropped.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::layout::{join_rel, sync_dir, Layout};
use crate::directory::Rne;

impl Layout {
    /// Makes every latest file the same inode as its highest version, and drops records whose
    /// content never arrived: the two steps a crash can separate.
    pub fn repair_school(&self, rne: &Rne) -> io::Result<()> {
        let school = self.school_dir(rne);
        for versions in self.versions_dirs(rne)? {
            let folder = versions.parent().unwrap_or(&school);
            let dir = folder.strip_prefix(&school).unwrap_or(Path::new(""));
            let dir = dir.to_string_lossy().to_string();
            self.repair_versions(rne, &dir, &versions)?;
        }
        Ok(())
    }

    fn repair_versions(&self, rne: &Rne, dir: &str, versions: &Path) -> io::Result<()> {
        for entry in fs::read_dir(versions)? {
            let entry = entry?;
            let Some(leaf) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let name = join_rel(dir, &leaf);
            let numbers = self.version_numbers(rne, &name)?;
            for record in fs::read_dir(entry.path())? {
                let record = record?.path();
                let orphan = record.extension().is_some_and(|e| e == "json")
                    && record
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .and_then(|s| s.parse::<u32>().ok())
                        .is_some_and(|n| !numbers.contains(&n));
                if orphan {
                    tracing::warn!(file = %record.display(), "removing record without content");
                    fs::remove_file(&record)?;
                }
            }
            let Some(&latest) = numbers.last() else {
                continue;
            };
            let version_path = entry.path().join(latest.to_string());
            let latest_path = self.latest_path(rne, &name);
            let same = match fs::metadata(&latest_path) {
                Ok(meta) => meta.ino() == fs::metadata(&version_path)?.ino(),
                Err(_) => false,
            };
            if !same {
                tracing::warn!(rne = %rne, name = %name, version = latest,
                    "restoring the latest version link after an interrupted deposit");
                let temp = self.temp_path();
                fs::hard_link(&version_path, &temp)?;
                fs::rename(&temp, &latest_path)?;
                if let Some(parent) = latest_path.parent() {
                    sync_dir(parent)?;
                }
            }
        }
        Ok(())
    }
}
