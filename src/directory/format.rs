//! The two CSV formats of a directory: finding columns by name in a header, telling this
//! project's format from the official "Annuaire de l'éducation" export, and turning one row
//! into an establishment (or a reason to skip it).

use std::collections::HashMap;

use csv::StringRecord;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use super::load::DirectoryError;
use super::{Establishment, Rne};

/// The column that marks the official export; its presence decides the format.
pub(super) const OFFICIAL_RNE_COLUMN: &str = "Identifiant_de_l_etablissement";

/// Column positions by name.
pub(super) struct Header {
    /// Lower-case trimmed column name -> position; the first of two equal names wins.
    pub(super) columns: HashMap<String, usize>,
    /// Number of columns.
    pub(super) len: usize,
    pub(super) input: String,
    /// The header line as read, for error messages.
    pub(super) text: String,
}

impl Header {
    pub(super) fn new(record: &StringRecord, separator: u8, input: &str) -> Header {
        let mut columns = HashMap::with_capacity(record.len());
        for (i, name) in record.iter().enumerate() {
            columns.entry(name.trim().to_ascii_lowercase()).or_insert(i);
        }
        let separator = char::from(separator).to_string();
        let text: String = record.iter().collect::<Vec<_>>().join(&separator);
        Header {
            columns,
            len: record.len(),
            input: input.to_string(),
            text: text.chars().take(80).collect(),
        }
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.columns.contains_key(&name.to_ascii_lowercase())
    }

    pub(super) fn optional(&self, name: &str) -> Option<usize> {
        self.columns.get(&name.to_ascii_lowercase()).copied()
    }

    pub(super) fn required(&self, name: &str) -> Result<usize, DirectoryError> {
        self.optional(name)
            .ok_or_else(|| DirectoryError::MissingColumn {
                input: self.input.clone(),
                column: name.to_string(),
            })
    }
}

/// The two supported formats with their column positions.
pub(super) enum Format {
    Project(ProjectColumns),
    Official(OfficialColumns),
}

/// Positions in this project's CSV.
pub(super) struct ProjectColumns {
    pub(super) rne: usize,
    pub(super) name: Column,
    pub(super) postal_code: Column,
    pub(super) kind: Option<usize>,
    pub(super) sector: Option<usize>,
    pub(super) address: Option<usize>,
    pub(super) commune: Option<usize>,
}

/// Positions in the official export. Only the columns read are listed; the 60 others are
/// ignored.
pub(super) struct OfficialColumns {
    pub(super) rne: usize,
    pub(super) name: Column,
    pub(super) postal_code: Column,
    /// `Type_etablissement`: Ecole, Collège, Lycée, ...
    pub(super) kind: Option<usize>,
    /// `libelle_nature`: ECOLE MATERNELLE, ECOLE DE NIVEAU ELEMENTAIRE, ...
    pub(super) nature: Option<usize>,
    /// `Ecole_maternelle`: 1 when an elementary school also has nursery classes (primaire).
    pub(super) nursery: Option<usize>,
    /// `Statut_public_prive`: Public, Privé.
    pub(super) status: Option<usize>,
    /// `Type_contrat_prive`: SANS OBJET, CONTRAT D'ASSOCIATION ..., HORS CONTRAT.
    pub(super) contract: Option<usize>,
    pub(super) address: Option<usize>,
    pub(super) commune: Option<usize>,
    /// `etat`: OUVERT, A FERMER, FERME.
    pub(super) state: Option<usize>,
}

/// A mandatory column: its position and its name for error messages.
pub(super) struct Column {
    pub(super) index: usize,
    pub(super) name: &'static str,
}

impl Column {
    pub(super) fn find(header: &Header, name: &'static str) -> Result<Column, DirectoryError> {
        Ok(Column {
            index: header.required(name)?,
            name,
        })
    }
}

/// What becomes of a row once its RNE is known.
pub(super) enum Outcome {
    Keep(Establishment),
    /// Left out on purpose, with the reason.
    Skip(String),
}

impl Format {
    pub(super) fn detect(header: &Header) -> Result<Format, DirectoryError> {
        if header.has(OFFICIAL_RNE_COLUMN) {
            Ok(Format::Official(OfficialColumns {
                rne: header.required(OFFICIAL_RNE_COLUMN)?,
                name: Column::find(header, "Nom_etablissement")?,
                postal_code: Column::find(header, "Code_postal")?,
                kind: header.optional("Type_etablissement"),
                nature: header.optional("libelle_nature"),
                nursery: header.optional("Ecole_maternelle"),
                status: header.optional("Statut_public_prive"),
                contract: header.optional("Type_contrat_prive"),
                address: header.optional("Adresse_1"),
                commune: header.optional("Nom_commune"),
                state: header.optional("etat"),
            }))
        } else if header.has("rne") {
            Ok(Format::Project(ProjectColumns {
                rne: header.required("rne")?,
                name: Column::find(header, "nom")?,
                postal_code: Column::find(header, "code_postal")?,
                kind: header.optional("type"),
                sector: header.optional("secteur"),
                address: header.optional("adresse"),
                commune: header.optional("commune"),
            }))
        } else {
            Err(DirectoryError::UnknownFormat {
                input: header.input.clone(),
                header: header.text.clone(),
            })
        }
    }

    pub(super) fn rne_column(&self) -> Column {
        match self {
            Format::Project(c) => Column {
                index: c.rne,
                name: "rne",
            },
            Format::Official(c) => Column {
                index: c.rne,
                name: OFFICIAL_RNE_COLUMN,
            },
        }
    }

    pub(super) fn establishment(
        &self,
        row: &Row<'_>,
        rne: &Rne,
    ) -> Result<Outcome, DirectoryError> {
        let rne = rne.clone();
        let establishment = match self {
            Format::Project(c) => Establishment {
                rne,
                name: row.required(&c.name)?,
                kind: row.text(c.kind),
                sector: row.text(c.sector),
                address: row.text(c.address),
                postal_code: row.postal_code(&c.postal_code)?,
                commune: row.text(c.commune),
            },
            Format::Official(c) => {
                let state = row.get(c.state);
                if state.eq_ignore_ascii_case("FERME") || state == "FERMÉ" {
                    return Ok(Outcome::Skip(format!("closed (etat {state})")));
                }
                Establishment {
                    rne,
                    name: row.required(&c.name)?,
                    kind: official_kind(row.get(c.nature), row.get(c.nursery), row.get(c.kind)),
                    sector: official_sector(row.get(c.status), row.get(c.contract)),
                    address: row.text(c.address),
                    postal_code: row.postal_code(&c.postal_code)?,
                    commune: row.text(c.commune),
                }
            }
        };
        Ok(Outcome::Keep(establishment))
    }
}

/// The kind in this project's words (`maternelle`, `elementaire`, `primaire`, with
/// ` (application)` or ` (specialisee)`), from the official nature. An elementary school with
/// nursery classes is a `primaire`, as in the Paris file. Natures outside the first degree
/// (collèges, lycées, ...) are kept in lower case; without a nature, the type is used.
pub(super) fn official_kind(nature: &str, nursery: &str, kind: &str) -> String {
    let upper = nature.to_uppercase();
    let base = if upper.contains("MATERNELLE") {
        "maternelle"
    } else if upper.contains("ELEMENTAIRE") || upper.contains("PRIMAIRE") {
        if nursery == "1" || upper.contains("PRIMAIRE") {
            "primaire"
        } else {
            "elementaire"
        }
    } else if nature.is_empty() {
        return nfc(&kind.to_lowercase());
    } else {
        return nfc(&nature.to_lowercase());
    };
    if upper.contains("APPLICATION") {
        format!("{base} (application)")
    } else if upper.contains("SPECIALISEE") {
        format!("{base} (specialisee)")
    } else {
        base.to_string()
    }
}

/// The sector in this project's words: `public`, `privé sous contrat`, `privé hors contrat`,
/// `privé` (no contract information); other statuses in lower case.
pub(super) fn official_sector(status: &str, contract: &str) -> String {
    let status = nfc(&status.to_lowercase());
    if !(status == "privé" || status == "prive") {
        return status;
    }
    let contract = contract.to_uppercase();
    if contract.contains("HORS CONTRAT") {
        "privé hors contrat".to_string()
    } else if contract.contains("CONTRAT") {
        "privé sous contrat".to_string()
    } else {
        "privé".to_string()
    }
}

/// One data row being read.
pub(super) struct Row<'a> {
    pub(super) record: &'a StringRecord,
    pub(super) line: usize,
    pub(super) input: &'a str,
}

impl Row<'_> {
    /// The trimmed value of an optional column, empty when the column or the field is absent.
    pub(super) fn get(&self, column: Option<usize>) -> &str {
        column
            .and_then(|i| self.record.get(i))
            .map_or("", str::trim)
    }

    /// [`Row::get`] in NFC, owned.
    pub(super) fn text(&self, column: Option<usize>) -> String {
        nfc(self.get(column))
    }

    /// A mandatory value, in NFC.
    pub(super) fn required(&self, column: &Column) -> Result<String, DirectoryError> {
        let value = self.get(Some(column.index));
        if value.is_empty() {
            return Err(DirectoryError::MissingValue {
                input: self.input.to_string(),
                line: self.line,
                column: column.name.to_string(),
            });
        }
        Ok(nfc(value))
    }

    pub(super) fn rne(&self, column: Column) -> Result<Rne, DirectoryError> {
        let value = self.required(&column)?;
        Rne::parse(&value).map_err(|error| DirectoryError::InvalidRne {
            input: self.input.to_string(),
            line: self.line,
            error,
        })
    }

    /// The postal code: 5 ASCII digits, as every French postal code, overseas included. It is
    /// a path segment of the tree, so nothing else may pass.
    pub(super) fn postal_code(&self, column: &Column) -> Result<String, DirectoryError> {
        let value = self.required(column)?;
        if value.len() == 5 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(value)
        } else {
            Err(DirectoryError::InvalidPostalCode {
                input: self.input.to_string(),
                line: self.line,
                value,
            })
        }
    }

    /// Refuses rows shorter than the header, and rows with non-empty fields past it: both
    /// mean values sit under the wrong column (an unquoted separator or line break), which
    /// would file a school under a wrong name or postal code without any error.
    pub(super) fn check_field_count(&self, expected: usize) -> Result<(), DirectoryError> {
        let found = self.record.len();
        let extra_filled = self
            .record
            .iter()
            .skip(expected)
            .any(|field| !field.trim().is_empty());
        if found < expected || extra_filled {
            return Err(DirectoryError::FieldCount {
                input: self.input.to_string(),
                line: self.line,
                expected,
                found,
            });
        }
        Ok(())
    }
}

/// `text` in Unicode NFC, without normalising text already in NFC (nearly all of it).
pub(super) fn nfc(text: &str) -> String {
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => text.to_string(),
        _ => text.nfc().collect(),
    }
}
