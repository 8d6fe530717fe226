//! Reading a directory from CSV (this project's format or the official "Annuaire de
//! l'éducation" export, told apart by their header) and writing it back in this project's
//! format. Owns the load errors and the report of skipped rows; the tree itself is in `tree`.

use std::collections::HashMap;
use std::path::Path;

use super::format::{Format, Header, Outcome, Row, OFFICIAL_RNE_COLUMN};
use super::{Directory, Rne, RneError};

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

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
