//! Search over establishment name, RNE, postal code, commune and stored file names. Text is
//! folded (accents and case ignored, see [`super::fold`]): `etienne` finds `ÉTIENNE MARCEL`.
//! Every word of the query must appear somewhere in an establishment's fields or in one of its
//! file names.
//!
//! The directory part is folded once when the index is built; file names are folded again
//! only for the schools whose files changed, which [`SearchIndex::refresh`] finds by comparing
//! (path, version) lists from the store's in-memory index.

use std::collections::HashMap;
use std::io;
use std::sync::Mutex;

use serde::Serialize;

use super::coverage::UNLISTED;
use super::{fold, Deposits};
use crate::directory::{Directory, Rne};

/// Results returned when the caller names no limit.
pub const DEFAULT_LIMIT: usize = 50;
/// Most results one query returns, whatever the caller asks: a page lists them, and a
/// broader question is a coverage report.
pub const MAX_LIMIT: usize = 500;

/// One establishment as the index keeps it.
#[derive(Debug, Clone)]
struct Doc {
    rne: Rne,
    name: String,
    postal_code: String,
    folder: String,
    commune: String,
    /// Folded `rne`, `name`, `postal_code`, `commune`.
    rne_f: String,
    name_f: String,
    postal_f: String,
    commune_f: String,
}

/// The files of one school: the (path, version) list it was folded from, and the folded paths.
#[derive(Debug, Clone, Default)]
struct SchoolFiles {
    seen: Vec<(String, u32)>,
    folded: Vec<String>,
}

/// How well a hit matches, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rank {
    /// The query is the RNE.
    Rne,
    /// The query is the postal code.
    PostalCode,
    /// The name starts with the query.
    NamePrefix,
    /// Every query word starts a word of the name.
    NameWords,
    /// Every query word is in the name, RNE, postal code or commune.
    Fields,
    /// Some words were found only in file names.
    Files,
}

/// One result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub rne: Rne,
    pub name: String,
    pub postal_code: String,
    pub folder: String,
    pub commune: String,
    pub rank: Rank,
    /// Stored names of the school that match at least one query word, in path order.
    pub files: Vec<String>,
}

/// The answer to one query.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub query: String,
    /// Number of matching establishments (the list may be shorter: see `limit`).
    pub total: usize,
    pub limit: usize,
    pub results: Vec<Hit>,
}

/// The search index. Build it once, [`SearchIndex::refresh`] it before queries.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    docs: Vec<Doc>,
    by_rne: HashMap<Rne, usize>,
    files: HashMap<Rne, SchoolFiles>,
    /// File paths per school, same order as `SchoolFiles::folded`.
    paths: HashMap<Rne, Vec<String>>,
}

impl SearchIndex {
    /// Indexes the directory and the current deposits.
    pub fn build(directory: &Directory, deposits: &Deposits<'_>) -> io::Result<SearchIndex> {
        let mut index = SearchIndex::default();
        for establishment in directory.iter() {
            let rne = &establishment.rne;
            let folder = directory.folder_name(rne).unwrap_or(rne.as_str());
            index.push(Doc {
                rne: rne.clone(),
                name: establishment.name.clone(),
                postal_code: establishment.postal_code.clone(),
                folder: folder.to_string(),
                commune: establishment.commune.clone(),
                rne_f: fold(rne.as_str()),
                name_f: fold(&establishment.name),
                postal_f: fold(&establishment.postal_code),
                commune_f: fold(&establishment.commune),
            });
        }
        index.refresh(deposits)?;
        Ok(index)
    }

    fn push(&mut self, doc: Doc) {
        self.by_rne.insert(doc.rne.clone(), self.docs.len());
        self.docs.push(doc);
    }

    /// Brings file names up to date with the store: re-folds only the schools whose (path,
    /// version) list changed, and adds establishments absent from the directory that have
    /// deposits (filed under « RNE hors annuaire »).
    // Limitation: each refresh lists every school folder (the store's index answers the
    // files, but sub-folders are looked up on disk); see the timing benchmark in
    // tests/reports.rs for its cost.
    pub fn refresh(&mut self, deposits: &Deposits<'_>) -> io::Result<()> {
        let schools = deposits.schools()?;
        for rne in &schools {
            let current = deposits.current_files(rne)?;
            let same = self.files.get(rne).is_some_and(|known| {
                known.seen.len() == current.len()
                    && known
                        .seen
                        .iter()
                        .zip(&current)
                        .all(|((path, version), f)| *path == f.path && *version == f.version)
            });
            if same {
                continue;
            }
            if !self.by_rne.contains_key(rne) {
                self.push(Doc {
                    rne: rne.clone(),
                    name: String::new(),
                    postal_code: UNLISTED.to_string(),
                    folder: rne.to_string(),
                    commune: String::new(),
                    rne_f: fold(rne.as_str()),
                    name_f: String::new(),
                    postal_f: fold(UNLISTED),
                    commune_f: String::new(),
                });
            }
            let paths: Vec<String> = current.iter().map(|f| f.path.clone()).collect();
            self.files.insert(
                rne.clone(),
                SchoolFiles {
                    seen: current
                        .iter()
                        .map(|f| (f.path.clone(), f.version))
                        .collect(),
                    folded: paths.iter().map(|p| fold(p)).collect(),
                },
            );
            self.paths.insert(rne.clone(), paths);
        }
        if self.files.len() > schools.len() {
            // Folders can only vanish under a permissive policy; forget them.
            self.files
                .retain(|rne, _| schools.binary_search(rne).is_ok());
            self.paths
                .retain(|rne, _| schools.binary_search(rne).is_ok());
        }
        Ok(())
    }

    /// Answers a query on the index kept in `cache`: built on first use, brought up to date
    /// with the store before each query (see [`SearchIndex::refresh`]). Blocking file reads:
    /// call it off the async threads.
    pub fn query_cached(
        cache: &Mutex<Option<SearchIndex>>,
        directory: &Directory,
        deposits: &Deposits<'_>,
        text: &str,
        limit: usize,
    ) -> io::Result<Results> {
        let mut index = cache.lock().unwrap_or_else(|e| e.into_inner());
        match index.as_mut() {
            Some(index) => index.refresh(deposits)?,
            None => *index = Some(SearchIndex::build(directory, deposits)?),
        }
        let index = index.as_ref().expect("the index was just built");
        Ok(index.search(text, limit))
    }

    /// Number of establishments indexed.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Answers a query: at most `limit` hits (capped at [`MAX_LIMIT`]), best rank first, then
    /// in tree order. An empty query (or one of only punctuation) matches nothing.
    pub fn search(&self, query: &str, limit: usize) -> Results {
        let limit = limit.clamp(1, MAX_LIMIT);
        let folded = fold(query.trim());
        let words: Vec<&str> = folded
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let phrase = words.join(" ");
        let mut hits: Vec<(Rank, usize, Vec<usize>)> = Vec::new();
        if !words.is_empty() {
            for (i, doc) in self.docs.iter().enumerate() {
                if let Some((rank, files)) = self.matches(doc, &words, &phrase) {
                    hits.push((rank, i, files));
                }
            }
        }
        // Docs are in tree order already (directory first, then strangers by RNE).
        hits.sort_by_key(|(rank, i, _)| (*rank, *i));
        let total = hits.len();
        let results = hits
            .into_iter()
            .take(limit)
            .map(|(rank, i, files)| {
                let doc = &self.docs[i];
                let paths = self.paths.get(&doc.rne);
                Hit {
                    rne: doc.rne.clone(),
                    name: doc.name.clone(),
                    postal_code: doc.postal_code.clone(),
                    folder: doc.folder.clone(),
                    commune: doc.commune.clone(),
                    rank,
                    files: files
                        .into_iter()
                        .filter_map(|f| paths.and_then(|p| p.get(f)).cloned())
                        .collect(),
                }
            })
            .collect();
        Results {
            query: query.to_string(),
            total,
            limit,
            results,
        }
    }

    /// Whether a doc matches every word, with its rank and the indexes of matching files.
    fn matches(&self, doc: &Doc, words: &[&str], phrase: &str) -> Option<(Rank, Vec<usize>)> {
        let files = self.files.get(&doc.rne).map(|f| f.folded.as_slice());
        let files = files.unwrap_or(&[]);
        let in_fields = |w: &str| {
            doc.name_f.contains(w)
                || doc.rne_f.contains(w)
                || doc.postal_f.contains(w)
                || doc.commune_f.contains(w)
        };
        let mut only_in_files = false;
        for word in words {
            if !in_fields(word) {
                if !files.iter().any(|f| f.contains(word)) {
                    return None;
                }
                only_in_files = true;
            }
        }
        let matching_files: Vec<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, f)| words.iter().any(|w| f.contains(w)))
            .map(|(i, _)| i)
            .collect();
        let rank = if only_in_files {
            Rank::Files
        } else if phrase == doc.rne_f {
            Rank::Rne
        } else if phrase == doc.postal_f {
            Rank::PostalCode
        } else if doc.name_f.starts_with(phrase) {
            Rank::NamePrefix
        } else if words.iter().all(|w| {
            doc.name_f
                .split(|c: char| !c.is_alphanumeric())
                .any(|n| n.starts_with(w))
        }) {
            Rank::NameWords
        } else {
            Rank::Fields
        };
        Some((rank, matching_files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::school;
    use crate::directory::Directory;

    fn index() -> SearchIndex {
        let dir = Directory::from_establishments(vec![
            school("0752401C", "E E PU ARBRE SEC", "75001"),
            school("0750132L", "E P PR NOTRE DAME SAINT ROCH", "75001"),
            school("0754825M", "E E PU LOUVOIS", "75002"),
            school("0940176F", "ÉCOLE ÉTIENNE MARCEL", "94260"),
            school("0750136R", "E P PR SAINT SAUVEUR", "75018"),
        ]);
        let temp = tempfile::tempdir().unwrap();
        SearchIndex::build(&dir, &Deposits::read_only(temp.path())).unwrap()
    }

    #[test]
    fn accents_and_case_are_ignored() {
        let index = index();
        let found = index.search("etienne", 10);
        assert_eq!(found.total, 1);
        assert_eq!(found.results[0].rne.as_str(), "0940176F");
        assert_eq!(index.search("ÉTIENNE marcel", 10).total, 1);
        assert_eq!(index.search("Étiénne", 10).total, 1);
    }

    #[test]
    fn every_word_must_match() {
        let index = index();
        assert_eq!(index.search("saint", 10).total, 2);
        assert_eq!(index.search("saint roch", 10).total, 1);
        assert_eq!(index.search("saint 75018", 10).total, 1);
        assert_eq!(index.search("saint lyon", 10).total, 0);
        assert_eq!(index.search("  ", 10).total, 0);
    }

    #[test]
    fn exact_rne_first_then_name_prefix() {
        let index = index();
        let found = index.search("0752401c", 10);
        assert_eq!(found.results[0].rank, Rank::Rne);
        let found = index.search("e e pu", 10);
        assert!(found.results.iter().all(|h| h.rank == Rank::NamePrefix));
        let found = index.search("75001", 10);
        assert_eq!(found.total, 2);
        assert!(found.results.iter().all(|h| h.rank == Rank::PostalCode));
        let found = index.search("e", 1);
        assert_eq!((found.total, found.results.len()), (5, 1));
    }
}
