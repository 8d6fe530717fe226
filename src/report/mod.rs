//! Crisis-cell reports over the directory and the store: the plan kind of each deposit
//! (`kind`), coverage per postal code and establishment (`coverage`), the tree's summaries
//! (`tree`), search (`search`) and streamed ZIP exports (`export`). Reads only: knows no HTTP,
//! writes nothing to the store.

pub mod coverage;
pub mod export;
pub mod kind;
pub mod search;
pub mod tree;

use std::io;
use std::path::{Path, PathBuf};

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::directory::Rne;
use crate::storage::{DepositRecord, Layout, Store, StoredFile};

/// Folds text for matching: Unicode NFD, combining marks dropped, lower case. `ÉTIENNE` and
/// `etienne` fold to the same string; `œ` and `æ` are spelt out (`oe`, `ae`) as French users
/// type them.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    if text.is_ascii() {
        out.push_str(text);
        out.make_ascii_lowercase();
        return out;
    }
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        match c {
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Orders RFC 3339 UTC times as the store writes them (`…:05Z`, `…:05.25Z`): by the second,
/// then by the fraction, so a whole second sorts before its fractions.
pub(crate) fn time_key(rfc3339: &str) -> (&str, &str) {
    let (second, rest) = rfc3339.split_at(rfc3339.len().min(19));
    (second, rest.trim_start_matches('.').trim_end_matches('Z'))
}

/// The later of two RFC 3339 times (see [`time_key`]).
pub(crate) fn later(a: Option<String>, b: &str) -> Option<String> {
    match a {
        Some(a) if time_key(&a) >= time_key(b) => Some(a),
        _ => Some(b.to_string()),
    }
}

enum Held<'a> {
    Shared(&'a Layout),
    Own(Layout),
}

/// Read-only access to the deposits a report covers: the running server's store (with its
/// in-memory index), or a data directory opened without touching it (the CLI beside a running
/// server: opening a [`Store`] would clear the uploads in progress).
pub struct Deposits<'a> {
    held: Held<'a>,
}

impl<'a> Deposits<'a> {
    /// The deposits of a running store.
    pub fn of_store(store: &'a Store) -> Deposits<'a> {
        Deposits {
            held: Held::Shared(store.layout()),
        }
    }

    /// The deposits under `data_dir`, read as they are: no repair, nothing removed.
    pub fn read_only(data_dir: &Path) -> Deposits<'static> {
        Deposits {
            held: Held::Own(Layout::new(data_dir.to_path_buf())),
        }
    }

    fn layout(&self) -> &Layout {
        match &self.held {
            Held::Shared(layout) => layout,
            Held::Own(layout) => layout,
        }
    }

    /// Establishments with at least one deposit folder, sorted (none when the data directory
    /// does not exist yet).
    pub fn schools(&self) -> io::Result<Vec<Rne>> {
        match self.layout().schools() {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            other => other,
        }
    }

    /// The latest version of every file of a school, sub-folders included, sorted by path.
    pub fn current_files(&self, rne: &Rne) -> io::Result<Vec<StoredFile>> {
        let mut files = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(dir) = pending.pop() {
            let (found, folders) = self.layout().list_dir(rne, &dir)?;
            files.extend(found);
            for folder in folders {
                pending.push(if dir.is_empty() {
                    folder
                } else {
                    format!("{dir}/{folder}")
                });
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// The record of a file's latest version; `None` when it cannot be read (a report shows
    /// what it can rather than failing on one damaged record).
    pub fn latest_record(&self, rne: &Rne, file: &StoredFile) -> Option<DepositRecord> {
        match self.layout().read_record(rne, &file.path, file.version) {
            Ok(record) => Some(record),
            Err(err) => {
                tracing::warn!(rne = %rne, name = %file.path, error = %err,
                    "deposit record unreadable");
                None
            }
        }
    }

    /// Where a file's latest content can be read: its version file first (never replaced, so
    /// a deposit arriving meanwhile cannot change it), then the latest-version name.
    pub fn content_paths(&self, rne: &Rne, file: &StoredFile) -> [PathBuf; 2] {
        let layout = self.layout();
        [
            layout
                .versions_dir(rne, &file.path)
                .join(file.version.to_string()),
            layout.latest_path(rne, &file.path),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_drops_accents_and_case() {
        assert_eq!(fold("ÉTIENNE MARCEL"), "etienne marcel");
        assert_eq!(fold("E\u{301}tienne"), "etienne");
        assert_eq!(fold("Cœur de Lœwy"), "coeur de loewy");
        assert_eq!(fold("PLAN RDC"), "plan rdc");
    }

    #[test]
    fn times_order_by_second_then_fraction() {
        assert!(time_key("2026-01-01T10:00:05Z") < time_key("2026-01-01T10:00:05.25Z"));
        assert!(time_key("2026-01-01T10:00:05.9Z") < time_key("2026-01-01T10:00:06Z"));
        assert_eq!(
            later(
                Some("2026-01-01T10:00:05.5Z".into()),
                "2026-01-01T10:00:05Z"
            )
            .unwrap(),
            "2026-01-01T10:00:05.5Z"
        );
    }
}
