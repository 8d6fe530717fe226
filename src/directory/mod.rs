//! The establishment directory: RNE codes, names, postal codes, and the virtual tree
//! `/<postal code>/<folder name>/` built from them. Knows nothing of storage or HTTP.

use std::fmt;

/// A validated RNE/UAI code: 7 digits and the check letter, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rne(String);

/// Why a string is not an RNE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RneError {
    #[error("an RNE is 7 digits and a letter, got {0:?}")]
    Format(String),
    #[error("RNE {code}: check letter should be {expected}")]
    CheckLetter { code: String, expected: char },
}

impl Rne {
    /// Parses and validates an RNE, accepting a lower-case letter.
    pub fn parse(text: &str) -> Result<Rne, RneError> {
        let up = text.trim().to_ascii_uppercase();
        let b = up.as_bytes();
        if b.len() != 8 || !b[..7].iter().all(u8::is_ascii_digit) || !b[7].is_ascii_uppercase() {
            return Err(RneError::Format(text.to_string()));
        }
        Ok(Rne(up))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Rne {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One establishment as the directory gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Establishment {
    pub rne: Rne,
    /// Official name, e.g. `E E PU ARBRE SEC`.
    pub name: String,
    /// elementaire, primaire, maternelle, ...
    pub kind: String,
    /// public, privé sous contrat, ...
    pub sector: String,
    pub address: String,
    pub postal_code: String,
    pub commune: String,
}

/// The loaded directory with its virtual tree.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    establishments: Vec<Establishment>,
}

impl Directory {
    pub fn from_establishments(establishments: Vec<Establishment>) -> Directory {
        Directory { establishments }
    }
    pub fn len(&self) -> usize {
        self.establishments.len()
    }
    pub fn is_empty(&self) -> bool {
        self.establishments.is_empty()
    }
    pub fn get(&self, rne: &Rne) -> Option<&Establishment> {
        self.establishments.iter().find(|e| &e.rne == rne)
    }
    /// The folder name of an establishment in the tree (safe, NFC, unique in its postal code).
    pub fn folder_name(&self, rne: &Rne) -> Option<&str> {
        self.get(rne).map(|e| e.name.as_str())
    }
    /// The establishment behind `/<postal_code>/<folder>/`.
    pub fn lookup(&self, postal_code: &str, folder: &str) -> Option<&Establishment> {
        self.establishments
            .iter()
            .find(|e| e.postal_code == postal_code && e.name == folder)
    }
}
