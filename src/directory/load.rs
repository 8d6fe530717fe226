//! Reading a directory from CSV (this project's format or the official "Annuaire de
//! l'éducation" export, told apart by their header) and writing it back in this project's
//! format. Owns the load errors and the report of skipped rows; the tree itself is in `tree`.

use std::collections::HashMap;
use std::path::Path;

use csv::StringRecord;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use super::{Directory, Establishment, Rne, RneError};

/// The Paris directory shipped with the binary, so a server runs with no data file at hand.
const EMBEDDED_PARIS: &str = include_str!("../../data/etablissements-paris.csv");

/// Columns of this project's CSV format, in the order [`Directory::to_csv`] writes them.
const PROJECT_COLUMNS: [&str; 7] = [
    "rne",
    "nom",
    "type",
    "secteur",
    "adresse",
    "code_postal",
    "commune",
];

/// The column that marks the official export; its presence decides the format.
const OFFICIAL_RNE_COLUMN: &str = "Identifiant_de_l_etablissement";

/// A row a loader left out on purpose. Every row of the input is either an establishment, a
/// `SkippedRow`, or an error: none disappears unexplained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// 1-based line of the input where the row starts (the header is line 1).
    pub line: usize,
    /// The row's RNE, when it had one.
    pub rne: Option<Rne>,
    /// Why, for the operator, e.g. `closed (etat FERME)`.
    pub reason: String,
}

/// Why a directory could not be loaded. Each names the input (`input`: a path or a label) and,
/// for row errors, the 1-based line, so an operator can fix the file.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{input}: cannot read")]
    Io {
        input: String,
        #[source]
        error: std::io::Error,
    },
    #[error("{input}, line {line}: not UTF-8 text (export or save the file as UTF-8)")]
    Encoding { input: String, line: usize },
    #[error("{input}: no header line")]
    Empty { input: String },
    #[error(
        "{input}: unknown format: the header has neither `rne` (this project's CSV) nor \
         `{OFFICIAL_RNE_COLUMN}` (Annuaire de l'éducation export); it starts with {header:?}"
    )]
    UnknownFormat { input: String, header: String },
    #[error("{input}: the header has no `{column}` column")]
    MissingColumn { input: String, column: String },
    #[error("{input}, line {line}: {message}")]
    Csv {
        input: String,
        line: usize,
        message: String,
    },
    #[error(
        "{input}, line {line}: {found} fields where the header has {expected} \
         (a separator or a line break inside an unquoted value?)"
    )]
    FieldCount {
        input: String,
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("{input}, line {line}: empty `{column}`")]
    MissingValue {
        input: String,
        line: usize,
        column: String,
    },
    #[error("{input}, line {line}: {error}")]
    InvalidRne {
        input: String,
        line: usize,
        #[source]
        error: RneError,
    },
    #[error("{input}, line {line}: postal code {value:?} is not 5 digits")]
    InvalidPostalCode {
        input: String,
        line: usize,
        value: String,
    },
    #[error("{input}, line {line}: RNE {rne} already given on line {first_line}")]
    DuplicateRne {
        input: String,
        rne: Rne,
        first_line: usize,
        line: usize,
    },
}

impl Directory {
    /// The real Paris directory (`data/etablissements-paris.csv`, 457 schools) compiled into
    /// the binary.
    pub fn embedded_paris() -> Directory {
        Directory::from_csv_text(EMBEDDED_PARIS, "data/etablissements-paris.csv (embedded)")
            // The text is fixed at compile time and loaded by the tests below.
            .expect("the embedded Paris directory loads")
    }

    /// Loads a directory file in either format (see [`Directory::from_csv_text`]).
    pub fn from_path(path: &Path) -> Result<Directory, DirectoryError> {
        let input = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| DirectoryError::Io {
            input: input.clone(),
            error,
        })?;
        let text = String::from_utf8(bytes).map_err(|err| {
            let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            DirectoryError::Encoding {
                input: input.clone(),
                line,
            }
        })?;
        Directory::from_csv_text(&text, &input)
    }

    /// Loads a directory from CSV text; `source` names it in errors (a path, `stdin`, ...).
    ///
    /// The format is detected from the header, with `;` or `,` as separator (whichever the
    /// header uses more) and an optional byte-order mark:
    /// - this project's CSV (header `rne,nom,type,secteur,adresse,code_postal,commune`);
    /// - the official "Annuaire de l'éducation" export (header with
    ///   `Identifiant_de_l_etablissement`).
    ///
    /// Columns are found by name, ignoring ASCII case; their order and unknown extra columns
    /// do not matter. Mandatory columns: the RNE, the name and the postal code; the others may
    /// be missing (their values are then empty). Values are trimmed and put in Unicode NFC.
    ///
    /// Hard errors (never a silent drop): an invalid RNE, an RNE given twice, an empty name,
    /// a postal code that is not 5 digits, a row with fewer fields than the header or with
    /// non-empty extra fields. Skipped rows, reported in [`Directory::skipped`]: rows with
    /// every field empty, and official rows whose `etat` is `FERME` (closed). `A FERMER` (to
    /// be closed) is kept: the school is still open and still owes its plan.
    pub fn from_csv_text(text: &str, source: &str) -> Result<Directory, DirectoryError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let first_line = text.lines().next().unwrap_or("");
        let separator = if first_line.matches(';').count() > first_line.matches(',').count() {
            b';'
        } else {
            b','
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(separator)
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut lines = LineCounter::new(text);
        let mut records = reader.records();
        let header = match records.next() {
            Some(record) => record.map_err(|err| csv_error(source, &err, &mut lines))?,
            None => {
                return Err(DirectoryError::Empty {
                    input: source.to_string(),
                })
            }
        };
        let header = Header::new(&header, separator, source);
        let format = Format::detect(&header)?;

        let mut establishments = Vec::new();
        let mut skipped = Vec::new();
        let mut first_lines: HashMap<Rne, usize> = HashMap::new();
        for record in records {
            let record = record.map_err(|err| csv_error(source, &err, &mut lines))?;
            let line = lines.line_at(record.position());
            let row = Row {
                record: &record,
                line,
                input: source,
            };
            if record.iter().all(|field| field.trim().is_empty()) {
                skipped.push(SkippedRow {
                    line,
                    rne: None,
                    reason: "empty row".to_string(),
                });
                continue;
            }
            row.check_field_count(header.len)?;
            let rne = row.rne(format.rne_column())?;
            if let Some(&first_line) = first_lines.get(&rne) {
                return Err(DirectoryError::DuplicateRne {
                    input: source.to_string(),
                    rne,
                    first_line,
                    line,
                });
            }
            first_lines.insert(rne.clone(), line);
            match format.establishment(&row, &rne)? {
                Outcome::Keep(establishment) => establishments.push(establishment),
                Outcome::Skip(reason) => skipped.push(SkippedRow {
                    line,
                    rne: Some(rne),
                    reason,
                }),
            }
        }
        Ok(Directory::build(establishments, skipped))
    }

    /// The directory in this project's CSV format (`,`-separated, UTF-8 without byte-order
    /// mark, header `rne,nom,...`), in tree order. Loading the result gives the same
    /// establishments; skipped rows are not written.
    pub fn to_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut write = |record: [&str; 7]| {
            writer
                .write_record(record)
                // Writing to a Vec cannot fail.
                .expect("CSV into memory");
        };
        write(PROJECT_COLUMNS);
        for e in self.iter() {
            write([
                e.rne.as_str(),
                &e.name,
                &e.kind,
                &e.sector,
                &e.address,
                &e.postal_code,
                &e.commune,
            ]);
        }
        let bytes = writer.into_inner().expect("CSV into memory");
        String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8")
    }
}

fn csv_error(input: &str, err: &csv::Error, lines: &mut LineCounter<'_>) -> DirectoryError {
    DirectoryError::Csv {
        input: input.to_string(),
        line: lines.line_at(err.position()),
        message: err.to_string(),
    }
}

/// Line numbers from byte offsets. The csv crate's own line count is one short after a CRLF
/// (both data files use CRLF): it counts the `\n` of a `\r\n` as part of the next record.
/// Offsets only grow while reading, so the count resumes where it stopped: O(n) in all.
struct LineCounter<'a> {
    text: &'a [u8],
    /// Bytes before this offset are counted in `line`.
    counted: usize,
    /// 1-based line at `counted`.
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            counted: 0,
            line: 1,
        }
    }

    /// The line of the record starting at `position`, past any line terminator left before
    /// it. Without a position (never the case for records read from text), the current line.
    fn line_at(&mut self, position: Option<&csv::Position>) -> usize {
        let byte = position.map_or(self.counted, |pos| {
            usize::try_from(pos.byte()).unwrap_or(usize::MAX)
        });
        let mut start = byte.min(self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start > self.counted {
            let newlines = self.text[self.counted..start]
                .iter()
                .filter(|&&b| b == b'\n');
            self.line += newlines.count();
            self.counted = start;
        }
        self.line
    }
}

/// Column positions by name.
struct Header {
    /// Lower-case trimmed column name -> position; the first of two equal names wins.
    columns: HashMap<String, usize>,
    /// Number of columns.
    len: usize,
    input: String,
    /// The header line as read, for error messages.
    text: String,
}

impl Header {
    fn new(record: &StringRecord, separator: u8, input: &str) -> Header {
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

    fn has(&self, name: &str) -> bool {
        self.columns.contains_key(&name.to_ascii_lowercase())
    }

    fn optional(&self, name: &str) -> Option<usize> {
        self.columns.get(&name.to_ascii_lowercase()).copied()
    }

    fn required(&self, name: &str) -> Result<usize, DirectoryError> {
        self.optional(name)
            .ok_or_else(|| DirectoryError::MissingColumn {
                input: self.input.clone(),
                column: name.to_string(),
            })
    }
}

/// The two supported formats with their column positions.
enum Format {
    Project(ProjectColumns),
    Official(OfficialColumns),
}

/// Positions in this project's CSV.
struct ProjectColumns {
    rne: usize,
    name: Column,
    postal_code: Column,
    kind: Option<usize>,
    sector: Option<usize>,
    address: Option<usize>,
    commune: Option<usize>,
}

/// Positions in the official export. Only the columns read are listed; the 60 others are
/// ignored.
struct OfficialColumns {
    rne: usize,
    name: Column,
    postal_code: Column,
    /// `Type_etablissement`: Ecole, Collège, Lycée, ...
    kind: Option<usize>,
    /// `libelle_nature`: ECOLE MATERNELLE, ECOLE DE NIVEAU ELEMENTAIRE, ...
    nature: Option<usize>,
    /// `Ecole_maternelle`: 1 when an elementary school also has nursery classes (primaire).
    nursery: Option<usize>,
    /// `Statut_public_prive`: Public, Privé.
    status: Option<usize>,
    /// `Type_contrat_prive`: SANS OBJET, CONTRAT D'ASSOCIATION ..., HORS CONTRAT.
    contract: Option<usize>,
    address: Option<usize>,
    commune: Option<usize>,
    /// `etat`: OUVERT, A FERMER, FERME.
    state: Option<usize>,
}

/// A mandatory column: its position and its name for error messages.
struct Column {
    index: usize,
    name: &'static str,
}

impl Column {
    fn find(header: &Header, name: &'static str) -> Result<Column, DirectoryError> {
        Ok(Column {
            index: header.required(name)?,
            name,
        })
    }
}

/// What becomes of a row once its RNE is known.
enum Outcome {
    Keep(Establishment),
    /// Left out on purpose, with the reason.
    Skip(String),
}

impl Format {
    fn detect(header: &Header) -> Result<Format, DirectoryError> {
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

    fn rne_column(&self) -> Column {
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

    fn establishment(&self, row: &Row<'_>, rne: &Rne) -> Result<Outcome, DirectoryError> {
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
fn official_kind(nature: &str, nursery: &str, kind: &str) -> String {
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
fn official_sector(status: &str, contract: &str) -> String {
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
struct Row<'a> {
    record: &'a StringRecord,
    line: usize,
    input: &'a str,
}

impl Row<'_> {
    /// The trimmed value of an optional column, empty when the column or the field is absent.
    fn get(&self, column: Option<usize>) -> &str {
        column
            .and_then(|i| self.record.get(i))
            .map_or("", str::trim)
    }

    /// [`Row::get`] in NFC, owned.
    fn text(&self, column: Option<usize>) -> String {
        nfc(self.get(column))
    }

    /// A mandatory value, in NFC.
    fn required(&self, column: &Column) -> Result<String, DirectoryError> {
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

    fn rne(&self, column: Column) -> Result<Rne, DirectoryError> {
        let value = self.required(&column)?;
        Rne::parse(&value).map_err(|error| DirectoryError::InvalidRne {
            input: self.input.to_string(),
            line: self.line,
            error,
        })
    }

    /// The postal code: 5 ASCII digits, as every French postal code, overseas included. It is
    /// a path segment of the tree, so nothing else may pass.
    fn postal_code(&self, column: &Column) -> Result<String, DirectoryError> {
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
    fn check_field_count(&self, expected: usize) -> Result<(), DirectoryError> {
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
fn nfc(text: &str) -> String {
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => text.to_string(),
        _ => text.nfc().collect(),
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
