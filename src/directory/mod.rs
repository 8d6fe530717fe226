//! The establishment directory: RNE codes, names, postal codes, and the virtual tree
//! `/<postal code>/<folder name>/` built from them. Knows nothing of storage or HTTP.
//!
//! - `rne`: the validated RNE (UAI) code and account names that carry one;
//! - `folder`: safe folder names and how namesakes are told apart;
//! - `tree`: the [`Directory`] with its indexes and listings;
//! - `load`: reading both CSV formats (with the report of skipped rows) and writing ours;
//! - `import`: the difference between the current directory and an imported one.

mod folder;
mod format;
mod import;
mod load;
mod rne;
mod tree;

pub use folder::{is_invisible, safe_folder_name, EMPTY_NAME, MAX_FOLDER_BYTES, REPLACEMENT};
pub use import::{diff, ImportReport, REPORT_LINES};
pub use load::{DirectoryError, SkippedRow};
pub use rne::{account_rne, Rne, RneError};
pub use tree::Directory;

/// One establishment as the directory gives it. Text fields are trimmed and in Unicode NFC
/// when they come from a loader; the folder name shown in the tree is derived from `name`
/// (see [`Directory::folder_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Establishment {
    pub rne: Rne,
    /// Official name, e.g. `E E PU ARBRE SEC`.
    pub name: String,
    /// elementaire, primaire, maternelle, ... (empty when the source does not say).
    pub kind: String,
    /// public, privé sous contrat, ... (empty when the source does not say).
    pub sector: String,
    /// Street address, often empty.
    pub address: String,
    /// 5 digits when loaded from CSV; the first level of the tree.
    pub postal_code: String,
    pub commune: String,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A public elementary school in Paris, for tests that only care about the tree.
    pub(crate) fn school(rne: &str, name: &str, postal_code: &str) -> Establishment {
        Establishment {
            rne: Rne::parse(rne).unwrap(),
            name: name.to_string(),
            kind: "elementaire".to_string(),
            sector: "public".to_string(),
            address: String::new(),
            postal_code: postal_code.to_string(),
            commune: "PARIS".to_string(),
        }
    }
}
