//! The loaded directory and its virtual tree `/<postal code>/<folder name>/`: indexes by RNE
//! and by path, and the sorted listings the WebDAV and portal faces show. Reading and writing
//! CSV lives in `load`; comparing two directories in `import`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use unicode_normalization::{is_nfc, UnicodeNormalization};

use super::folder::assign_folder_names;
use super::load::SkippedRow;
use super::{Establishment, Rne};

/// One establishment with its place in the tree.
#[derive(Debug, Clone)]
struct Entry {
    establishment: Establishment,
    /// Safe, NFC, unique (ignoring case) within the postal code; see `folder`.
    folder: String,
}

/// The establishment directory, immutable once built.
///
/// Invariants: `entries` is sorted by postal code then folder name (byte order) and holds each
/// RNE once; `by_rne` maps every RNE to its index in `entries`; `postal_codes` lists each
/// postal code once, sorted, with the range of `entries` it covers. A rebuilt directory (after
/// an import) is a new value: callers swap it whole, so readers never see a half-built tree.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    entries: Vec<Entry>,
    by_rne: HashMap<Rne, usize>,
    postal_codes: Vec<(String, Range<usize>)>,
    /// Rows the loader left out on purpose (closed establishments, empty rows, repeated
    /// establishments given to [`Directory::from_establishments`]).
    skipped: Vec<SkippedRow>,
}

impl Directory {
    /// Builds the tree from establishments already validated (RNEs are valid by type).
    ///
    /// An RNE given twice keeps its first establishment; the later ones are listed in
    /// [`Directory::skipped`] with their 1-based position in `establishments` as the line. The
    /// CSV loaders refuse duplicates outright before calling this. Postal codes are taken as
    /// given: the loaders check them (5 digits).
    pub fn from_establishments(establishments: Vec<Establishment>) -> Directory {
        let mut seen: HashMap<Rne, usize> = HashMap::with_capacity(establishments.len());
        let mut skipped = Vec::new();
        let mut kept = Vec::with_capacity(establishments.len());
        for (i, establishment) in establishments.into_iter().enumerate() {
            if let Some(first) = seen.get(&establishment.rne) {
                skipped.push(SkippedRow {
                    line: i + 1,
                    rne: Some(establishment.rne.clone()),
                    reason: format!("same RNE as entry {first}, the first one is kept"),
                });
                continue;
            }
            seen.insert(establishment.rne.clone(), i + 1);
            kept.push(establishment);
        }
        Directory::build(kept, skipped)
    }

    /// Builds the indexes from establishments with distinct RNEs.
    pub(super) fn build(mut establishments: Vec<Establishment>, skipped: Vec<SkippedRow>) -> Self {
        // Folder names are chosen per postal code, so group by postal code first.
        establishments.sort_by(|a, b| (&a.postal_code, &a.rne).cmp(&(&b.postal_code, &b.rne)));
        let mut folders = Vec::with_capacity(establishments.len());
        for group in establishments.chunk_by(|a, b| a.postal_code == b.postal_code) {
            let members: Vec<(&str, &Rne)> =
                group.iter().map(|e| (e.name.as_str(), &e.rne)).collect();
            folders.extend(assign_folder_names(&members));
        }
        let mut entries: Vec<Entry> = establishments
            .into_iter()
            .zip(folders)
            .map(|(establishment, folder)| Entry {
                establishment,
                folder,
            })
            .collect();
        // Tree order; folder names are unique within a postal code, so the order is total.
        entries.sort_by(|a, b| {
            (&a.establishment.postal_code, &a.folder)
                .cmp(&(&b.establishment.postal_code, &b.folder))
        });

        let by_rne = entries
            .iter()
            .enumerate()
            .map(|(i, entry)| (entry.establishment.rne.clone(), i))
            .collect();
        let mut postal_codes: Vec<(String, Range<usize>)> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let code = &entry.establishment.postal_code;
            match postal_codes.last_mut() {
                Some((last, range)) if last == code => range.end = i + 1,
                _ => postal_codes.push((code.clone(), i..i + 1)),
            }
        }
        Directory {
            entries,
            by_rne,
            postal_codes,
            skipped,
        }
    }

    /// Number of establishments.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The establishment with this RNE (hash lookup).
    pub fn get(&self, rne: &Rne) -> Option<&Establishment> {
        self.by_rne
            .get(rne)
            .map(|&i| &self.entries[i].establishment)
    }

    /// The folder name of an establishment in the tree (safe, NFC, unique in its postal code).
    pub fn folder_name(&self, rne: &Rne) -> Option<&str> {
        self.by_rne
            .get(rne)
            .map(|&i| self.entries[i].folder.as_str())
    }

    /// The establishment behind `/<postal_code>/<folder>/`, in O(log n).
    ///
    /// The folder is compared in Unicode NFC (macOS clients send NFD) and otherwise exactly:
    /// case matters, as in the listings the clients were given.
    pub fn lookup(&self, postal_code: &str, folder: &str) -> Option<&Establishment> {
        let range = self.postal_code_range(postal_code)?;
        let folder: Cow<'_, str> = if is_nfc(folder) {
            Cow::Borrowed(folder)
        } else {
            Cow::Owned(folder.nfc().collect())
        };
        let group = &self.entries[range];
        group
            .binary_search_by(|entry| entry.folder.as_str().cmp(&folder))
            .ok()
            .map(|i| &group[i].establishment)
    }

    /// All establishments, sorted by postal code then folder name.
    pub fn iter(&self) -> impl Iterator<Item = &Establishment> + '_ {
        self.entries.iter().map(|entry| &entry.establishment)
    }

    /// The postal codes that hold at least one establishment, sorted, each once.
    pub fn postal_codes(&self) -> impl Iterator<Item = &str> + '_ {
        self.postal_codes.iter().map(|(code, _)| code.as_str())
    }

    /// The folders of one postal code as (folder name, establishment), sorted by folder name
    /// (byte order); empty for an unknown postal code.
    pub fn in_postal_code<'a>(
        &'a self,
        postal_code: &str,
    ) -> impl Iterator<Item = (&'a str, &'a Establishment)> + 'a {
        let range = self.postal_code_range(postal_code).unwrap_or(0..0);
        self.entries[range]
            .iter()
            .map(|entry| (entry.folder.as_str(), &entry.establishment))
    }

    /// Rows the loader left out on purpose, with the line and the reason; empty when nothing
    /// was skipped. This is the load report: a loader never drops a row without a line here.
    pub fn skipped(&self) -> &[SkippedRow] {
        &self.skipped
    }

    fn postal_code_range(&self, postal_code: &str) -> Option<Range<usize>> {
        self.postal_codes
            .binary_search_by(|(code, _)| code.as_str().cmp(postal_code))
            .ok()
            .map(|i| self.postal_codes[i].1.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::school;

    fn sample() -> Directory {
        Directory::from_establishments(vec![
            school("0750847N", "E E PU CHAMPIONNET", "75018"),
            school("0750132L", "E P PR NOTRE DAME SAINT ROCH", "75001"),
            school("0751070F", "E E PU CHAMPIONNET", "75018"),
            school("0940176F", "Ecole élémentaire Robert Doisneau", "94260"),
            school("0750136R", "E P PR SAINT SAUVEUR", "75018"),
        ])
    }

    #[test]
    fn get_and_folder_name() {
        let dir = sample();
        assert_eq!(dir.len(), 5);
        assert!(!dir.is_empty());
        let rne = Rne::parse("0750132L").unwrap();
        assert_eq!(dir.get(&rne).unwrap().name, "E P PR NOTRE DAME SAINT ROCH");
        assert_eq!(dir.folder_name(&rne), Some("E P PR NOTRE DAME SAINT ROCH"));
        let unknown = Rne::parse("0752401C").unwrap();
        assert!(dir.get(&unknown).is_none());
        assert!(dir.folder_name(&unknown).is_none());
    }

    #[test]
    fn namesakes_in_one_postal_code_get_the_rne() {
        let dir = sample();
        let a = Rne::parse("0750847N").unwrap();
        assert_eq!(dir.folder_name(&a), Some("E E PU CHAMPIONNET (0750847N)"));
        let found = dir
            .lookup("75018", "E E PU CHAMPIONNET (0751070F)")
            .unwrap();
        assert_eq!(found.rne.as_str(), "0751070F");
        assert!(dir.lookup("75018", "E E PU CHAMPIONNET").is_none());
    }

    #[test]
    fn nfd_lookup_finds_the_nfc_folder() {
        let dir = sample();
        let nfd = "Ecole e\u{301}le\u{301}mentaire Robert Doisneau";
        assert_eq!(dir.lookup("94260", nfd).unwrap().rne.as_str(), "0940176F");
        assert!(dir
            .lookup("94260", "ecole élémentaire robert doisneau")
            .is_none());
        assert!(dir
            .lookup("94261", "Ecole élémentaire Robert Doisneau")
            .is_none());
    }

    #[test]
    fn listings_are_sorted() {
        let dir = sample();
        let codes: Vec<_> = dir.postal_codes().collect();
        assert_eq!(codes, ["75001", "75018", "94260"]);
        let folders: Vec<_> = dir.in_postal_code("75018").map(|(f, _)| f).collect();
        assert_eq!(
            folders,
            [
                "E E PU CHAMPIONNET (0750847N)",
                "E E PU CHAMPIONNET (0751070F)",
                "E P PR SAINT SAUVEUR"
            ]
        );
        assert_eq!(dir.in_postal_code("75099").count(), 0);
        let order: Vec<_> = dir.iter().map(|e| e.rne.as_str()).collect();
        assert_eq!(
            order,
            ["0750132L", "0750847N", "0751070F", "0750136R", "0940176F"]
        );
    }

    #[test]
    fn the_tree_does_not_depend_on_input_order() {
        let dir = sample();
        let mut shuffled: Vec<Establishment> = dir.iter().cloned().collect();
        shuffled.reverse();
        let again = Directory::from_establishments(shuffled);
        let paths = |d: &Directory| -> Vec<(String, String)> {
            d.iter()
                .map(|e| {
                    (
                        e.postal_code.clone(),
                        d.folder_name(&e.rne).unwrap().to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(paths(&dir), paths(&again));
    }

    #[test]
    fn a_repeated_rne_is_reported_not_lost_silently() {
        let dir = Directory::from_establishments(vec![
            school("0750132L", "FIRST", "75001"),
            school("0750132L", "SECOND", "75002"),
        ]);
        assert_eq!(dir.len(), 1);
        assert_eq!(dir.iter().next().unwrap().name, "FIRST");
        assert_eq!(dir.skipped().len(), 1);
        assert_eq!(dir.skipped()[0].line, 2);
    }

    #[test]
    fn an_empty_directory_answers_nothing() {
        let dir = Directory::default();
        assert!(dir.is_empty());
        assert_eq!(dir.postal_codes().count(), 0);
        assert!(dir.lookup("75001", "X").is_none());
    }
}
