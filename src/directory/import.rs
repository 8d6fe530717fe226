//! What changes when a new directory replaces the current one (`directory import`): schools
//! added, renamed, moved to another postal code, removed, and rows the new file skipped.
//! Storage is keyed by RNE, so none of these changes loses a deposit; the report is for the
//! operator to check the new file before it goes live.

use std::fmt;

use super::{Directory, Establishment, Rne, SkippedRow};

/// How many lines of each list [`ImportReport`]'s `Display` shows; `{:#}` shows them all.
pub const REPORT_LINES: usize = 20;

/// The difference between the current directory and an imported one, by RNE.
///
/// Lists follow the tree order of the directory they come from (the new one, except
/// `removed`). An establishment both renamed and moved is in both lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// In the new directory only.
    pub added: Vec<Establishment>,
    /// Official name changed: (RNE, old name, new name).
    pub renamed: Vec<(Rne, String, String)>,
    /// Postal code changed: (RNE, old postal code, new postal code).
    pub moved: Vec<(Rne, String, String)>,
    /// Folder name changed although the official name did not, because a namesake arrived in
    /// or left the postal code: (RNE, old folder, new folder). Mapped drives pointing at the
    /// old path stop working, which is why it is reported.
    pub refoldered: Vec<(Rne, String, String)>,
    /// In the current directory only. Their deposits stay in storage.
    pub removed: Vec<Establishment>,
    /// Rows the new file skipped on purpose (see [`Directory::skipped`]).
    pub skipped: Vec<SkippedRow>,
}

impl ImportReport {
    /// True when the import changes nothing in the tree.
    pub fn is_unchanged(&self) -> bool {
        self.added.is_empty()
            && self.renamed.is_empty()
            && self.moved.is_empty()
            && self.refoldered.is_empty()
            && self.removed.is_empty()
    }
}

/// Compares the current directory `old` with an imported `new`.
pub fn diff(old: &Directory, new: &Directory) -> ImportReport {
    let mut report = ImportReport {
        skipped: new.skipped().to_vec(),
        ..ImportReport::default()
    };
    for e in new.iter() {
        let Some(before) = old.get(&e.rne) else {
            report.added.push(e.clone());
            continue;
        };
        if before.name != e.name {
            let change = (e.rne.clone(), before.name.clone(), e.name.clone());
            report.renamed.push(change);
        } else {
            let old_folder = old.folder_name(&e.rne).unwrap_or_default();
            let new_folder = new.folder_name(&e.rne).unwrap_or_default();
            if old_folder != new_folder {
                let change = (
                    e.rne.clone(),
                    old_folder.to_string(),
                    new_folder.to_string(),
                );
                report.refoldered.push(change);
            }
        }
        if before.postal_code != e.postal_code {
            let change = (
                e.rne.clone(),
                before.postal_code.clone(),
                e.postal_code.clone(),
            );
            report.moved.push(change);
        }
    }
    report.removed = old
        .iter()
        .filter(|e| new.get(&e.rne).is_none())
        .cloned()
        .collect();
    report
}

/// Counts on the first line, then up to [`REPORT_LINES`] lines per non-empty list (all of
/// them with `{:#}`), e.g.
///
/// ```text
/// 1 added, 1 renamed, 0 moved, 0 refoldered, 2 removed, 0 skipped
/// added:
///   0940176F 94260 Ecole élémentaire Robert Doisneau
/// ...
/// ```
impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} added, {} renamed, {} moved, {} refoldered, {} removed, {} skipped",
            self.added.len(),
            self.renamed.len(),
            self.moved.len(),
            self.refoldered.len(),
            self.removed.len(),
            self.skipped.len(),
        )?;
        let limit = if f.alternate() {
            usize::MAX
        } else {
            REPORT_LINES
        };
        let place = |e: &Establishment| format!("{} {} {}", e.rne, e.postal_code, e.name);
        let change = |(rne, old, new): &(Rne, String, String)| format!("{rne} {old} -> {new}");
        let skip = |row: &SkippedRow| match &row.rne {
            Some(rne) => format!("line {} {rne}: {}", row.line, row.reason),
            None => format!("line {}: {}", row.line, row.reason),
        };
        section(f, "added", self.added.iter().map(place), limit)?;
        section(f, "renamed", self.renamed.iter().map(change), limit)?;
        section(f, "moved", self.moved.iter().map(change), limit)?;
        section(f, "refoldered", self.refoldered.iter().map(change), limit)?;
        section(f, "removed", self.removed.iter().map(place), limit)?;
        section(f, "skipped", self.skipped.iter().map(skip), limit)
    }
}

/// One titled list, cut after `limit` lines with a count of the rest.
fn section(
    f: &mut fmt::Formatter<'_>,
    title: &str,
    lines: impl ExactSizeIterator<Item = String>,
    limit: usize,
) -> fmt::Result {
    let total = lines.len();
    if total == 0 {
        return Ok(());
    }
    writeln!(f, "{title}:")?;
    for line in lines.take(limit) {
        writeln!(f, "  {line}")?;
    }
    if total > limit {
        writeln!(f, "  ... and {} more", total - limit)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::school;

    fn before() -> Directory {
        Directory::from_establishments(vec![
            school("0750132L", "E P PR NOTRE DAME SAINT ROCH", "75001"),
            school("0750136R", "E P PR SAINT SAUVEUR", "75002"),
            school("0750847N", "E E PU CHAMPIONNET", "75018"),
            school("0750956G", "E P PU PAUL BAUDRY", "75008"),
        ])
    }

    fn after() -> Directory {
        Directory::from_establishments(vec![
            // Unchanged.
            school("0750132L", "E P PR NOTRE DAME SAINT ROCH", "75001"),
            // Renamed.
            school("0750136R", "E P PR SAINT SAUVEUR ET SAINT ROCH", "75002"),
            // Moved, and a namesake arrives: the old one's folder gains its RNE.
            school("0750847N", "E E PU CHAMPIONNET", "75017"),
            school("0751070F", "E E PU CHAMPIONNET", "75017"),
            // 0750956G removed.
        ])
    }

    #[test]
    fn diff_reports_each_kind_of_change() {
        let report = diff(&before(), &after());
        let rne = |code: &str| Rne::parse(code).unwrap();
        let added: Vec<_> = report.added.iter().map(|e| e.rne.as_str()).collect();
        assert_eq!(added, ["0751070F"]);
        assert_eq!(
            report.renamed,
            [(
                rne("0750136R"),
                "E P PR SAINT SAUVEUR".to_string(),
                "E P PR SAINT SAUVEUR ET SAINT ROCH".to_string()
            )]
        );
        assert_eq!(
            report.moved,
            [(rne("0750847N"), "75018".to_string(), "75017".to_string())]
        );
        assert_eq!(
            report.refoldered,
            [(
                rne("0750847N"),
                "E E PU CHAMPIONNET".to_string(),
                "E E PU CHAMPIONNET (0750847N)".to_string()
            )]
        );
        let removed: Vec<_> = report.removed.iter().map(|e| e.rne.as_str()).collect();
        assert_eq!(removed, ["0750956G"]);
        assert!(!report.is_unchanged());
    }

    #[test]
    fn the_same_directory_gives_an_empty_report() {
        let paris = Directory::embedded_paris();
        let report = diff(&paris, &paris);
        assert!(report.is_unchanged());
        assert_eq!(report, ImportReport::default());
        assert_eq!(
            report.to_string(),
            "0 added, 0 renamed, 0 moved, 0 refoldered, 0 removed, 0 skipped\n"
        );
    }

    #[test]
    fn display_shows_counts_then_lines() {
        let text = diff(&before(), &after()).to_string();
        let expected = "\
1 added, 1 renamed, 1 moved, 1 refoldered, 1 removed, 0 skipped
added:
  0751070F 75017 E E PU CHAMPIONNET
renamed:
  0750136R E P PR SAINT SAUVEUR -> E P PR SAINT SAUVEUR ET SAINT ROCH
moved:
  0750847N 75018 -> 75017
refoldered:
  0750847N E E PU CHAMPIONNET -> E E PU CHAMPIONNET (0750847N)
removed:
  0750956G 75008 E P PU PAUL BAUDRY
";
        assert_eq!(text, expected);
    }

    #[test]
    fn display_cuts_long_lists_unless_alternate() {
        let report = diff(&Directory::default(), &Directory::embedded_paris());
        assert_eq!(report.added.len(), 457);
        let short = report.to_string();
        assert!(short.starts_with("457 added, 0 renamed"), "{short}");
        assert!(short.contains("  ... and 437 more\n"), "{short}");
        assert_eq!(short.lines().count(), 1 + 1 + REPORT_LINES + 1);
        let full = format!("{report:#}");
        assert_eq!(full.lines().count(), 1 + 1 + 457);
    }
}
