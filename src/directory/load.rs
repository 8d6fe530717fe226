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
mod tests {
    use super::*;

    const OFFICIAL_94: &str = include_str!("../../data/annuaire-education-94-ecoles.csv");

    fn official() -> Directory {
        Directory::from_csv_text(OFFICIAL_94, "annuaire-94").unwrap()
    }

    /// The official header and one of its rows, split into fields.
    fn official_fields(row: usize) -> (Vec<String>, Vec<String>) {
        let mut lines = OFFICIAL_94.trim_start_matches('\u{feff}').lines();
        let split = |line: &str| line.split(';').map(str::to_string).collect::<Vec<_>>();
        let header = split(lines.next().unwrap());
        (header, split(lines.nth(row).unwrap()))
    }

    fn join(rows: &[Vec<String>]) -> String {
        rows.iter().map(|row| row.join(";") + "\r\n").collect()
    }

    #[test]
    fn every_paris_row_loads() {
        let dir = Directory::embedded_paris();
        assert_eq!(dir.len(), 457);
        assert!(dir.skipped().is_empty());
        assert_eq!(dir.postal_codes().count(), 20);
        let rne = Rne::parse("0750132L").unwrap();
        let school = dir.get(&rne).unwrap();
        assert_eq!(school.name, "E P PR NOTRE DAME SAINT ROCH");
        assert_eq!(school.kind, "primaire");
        assert_eq!(school.sector, "privé sous contrat");
        assert_eq!(school.postal_code, "75001");
        assert_eq!(school.commune, "PARIS 1ER ARRONDISSEMENT");
        let baudry = dir.get(&Rne::parse("0750956G").unwrap()).unwrap();
        assert_eq!(baudry.address, "10  RUE PAUL BAUDRY");
    }

    #[test]
    fn paris_namesakes_get_their_rne() {
        // Two real pairs of namesakes in the Paris file; the third FENELON is in 75017 alone.
        let dir = Directory::embedded_paris();
        let folder = |code: &str| dir.folder_name(&Rne::parse(code).unwrap()).unwrap();
        assert_eq!(folder("0750203N"), "E P PR FENELON SAINTE MARIE (0750203N)");
        assert_eq!(folder("0750229S"), "E P PR FENELON SAINTE MARIE (0750229S)");
        assert_eq!(folder("0750325W"), "E P PR FENELON SAINTE MARIE");
        assert_eq!(folder("0750847N"), "E E PU CHAMPIONNET (0750847N)");
        assert_eq!(folder("0751070F"), "E E PU CHAMPIONNET (0751070F)");
        let found = dir
            .lookup("75018", "E E PU CHAMPIONNET (0751070F)")
            .unwrap();
        assert_eq!(found.rne.as_str(), "0751070F");
    }

    #[test]
    fn every_path_of_the_tree_leads_back_to_its_school() {
        for dir in [Directory::embedded_paris(), official()] {
            let mut seen = 0;
            for code in dir.postal_codes() {
                for (folder, school) in dir.in_postal_code(code) {
                    assert_eq!(dir.lookup(code, folder), Some(school));
                    assert_eq!(dir.folder_name(&school.rne), Some(folder));
                    assert_eq!(safe_folder_name_of(folder), folder);
                    seen += 1;
                }
            }
            assert_eq!(seen, dir.len());
        }
    }

    fn safe_folder_name_of(folder: &str) -> String {
        super::super::safe_folder_name(folder)
    }

    #[test]
    fn every_official_row_loads() {
        let dir = official();
        // 613 rows, all with a valid RNE; 611 OUVERT and 2 A FERMER, none FERME.
        assert_eq!(dir.len(), 613);
        assert!(dir.skipped().is_empty());
        assert_eq!(dir.postal_codes().count(), 44);
        let school = dir.get(&Rne::parse("0940176F").unwrap()).unwrap();
        assert_eq!(
            school,
            &Establishment {
                rne: Rne::parse("0940176F").unwrap(),
                name: "Ecole élémentaire Robert Doisneau".to_string(),
                kind: "elementaire".to_string(),
                sector: "public".to_string(),
                address: "Allée du Puits".to_string(),
                postal_code: "94260".to_string(),
                commune: "Fresnes".to_string(),
            }
        );
        // A school to be closed is still open: it stays in the directory.
        let closing = dir.get(&Rne::parse("0941874B").unwrap()).unwrap();
        assert_eq!(closing.kind, "maternelle");
    }

    #[test]
    fn official_natures_map_to_project_kinds() {
        let dir = official();
        let mut kinds: Vec<&str> = dir.iter().map(|e| e.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(
            kinds,
            [
                "elementaire",
                "elementaire (application)",
                "elementaire (specialisee)",
                "maternelle",
                "maternelle (application)",
                "primaire",
                "primaire (application)",
            ]
        );
        let count = |kind: &str| dir.iter().filter(|e| e.kind == kind).count();
        assert_eq!(count("maternelle"), 304);
        assert_eq!(count("primaire"), 36);
        assert_eq!(count("elementaire"), 264);
    }

    #[test]
    fn reordered_and_extra_columns_still_load() {
        let (header, row) = official_fields(0);
        // Reverse the columns and add one before and one after.
        let mut new_header: Vec<String> = header.iter().rev().cloned().collect();
        let mut new_row: Vec<String> = row.iter().rev().cloned().collect();
        new_header.insert(0, "Colonne_inconnue".to_string());
        new_row.insert(0, "x".to_string());
        new_header.push("Autre".to_string());
        new_row.push("y".to_string());
        let text = format!("\u{feff}{}", join(&[new_header, new_row]));
        let dir = Directory::from_csv_text(&text, "reordered").unwrap();
        let expected = official();
        let rne = Rne::parse(&row[0]).unwrap();
        assert_eq!(dir.get(&rne), expected.get(&rne));
    }

    #[test]
    fn a_missing_optional_column_leaves_the_value_empty() {
        let (header, row) = official_fields(0);
        let keep: Vec<usize> = (0..header.len())
            .filter(|&i| !matches!(header[i].as_str(), "Adresse_1" | "etat" | "Nom_commune"))
            .collect();
        let pick = |v: &[String]| keep.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
        let dir = Directory::from_csv_text(&join(&[pick(&header), pick(&row)]), "t").unwrap();
        let school = dir.iter().next().unwrap();
        assert_eq!(school.name, "Ecole élémentaire Robert Doisneau");
        assert_eq!(school.address, "");
        assert_eq!(school.commune, "");

        let text = "code_postal,rne,nom\n75001,0750132L,E P PR NOTRE DAME SAINT ROCH\n";
        let dir = Directory::from_csv_text(text, "short").unwrap();
        let school = dir.iter().next().unwrap();
        assert_eq!(school.rne.as_str(), "0750132L");
        assert_eq!(school.kind, "");
    }

    #[test]
    fn a_missing_mandatory_column_is_named() {
        for column in ["Nom_etablissement", "Code_postal"] {
            let (header, row) = official_fields(0);
            let i = header.iter().position(|h| h == column).unwrap();
            let drop = |v: &[String]| {
                let mut v = v.to_vec();
                v.remove(i);
                v
            };
            let err = Directory::from_csv_text(&join(&[drop(&header), drop(&row)]), "cut");
            let err = err.unwrap_err();
            assert!(
                matches!(&err, DirectoryError::MissingColumn { column: c, .. } if c == column),
                "{err:?}"
            );
            assert_eq!(
                err.to_string(),
                format!("cut: the header has no `{column}` column")
            );
        }
        let err = Directory::from_csv_text("rne,code_postal\n", "ours").unwrap_err();
        assert_eq!(err.to_string(), "ours: the header has no `nom` column");
    }

    #[test]
    fn a_tampered_check_letter_fails_naming_the_line() {
        let text = EMBEDDED_PARIS.replace("0750136R,", "0750136S,");
        let err = Directory::from_csv_text(&text, "paris.csv").unwrap_err();
        assert!(
            matches!(err, DirectoryError::InvalidRne { line: 3, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "paris.csv, line 3: RNE 0750136S: check letter should be R"
        );

        let text = OFFICIAL_94.replace("0940204L;", "0940204K;");
        let err = Directory::from_csv_text(&text, "94.csv").unwrap_err();
        assert_eq!(
            err.to_string(),
            "94.csv, line 4: RNE 0940204K: check letter should be L"
        );
    }

    #[test]
    fn line_numbers_count_quoted_line_breaks_and_crlf() {
        for end in ["\n", "\r\n"] {
            let text = [
                "rne,nom,code_postal",
                "0750132L,\"A",
                "B\",75001",
                "",
                "0750136S,C,75002",
            ]
            .join(end);
            let err = Directory::from_csv_text(&text, "t").unwrap_err();
            assert!(
                matches!(err, DirectoryError::InvalidRne { line: 5, .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn a_duplicate_rne_names_both_lines() {
        let text = "rne,nom,code_postal\n0750132L,A,75001\n0750136R,B,75002\n0750132l,C,75003\n";
        let err = Directory::from_csv_text(text, "dup").unwrap_err();
        assert_eq!(
            err.to_string(),
            "dup, line 4: RNE 0750132L already given on line 2"
        );
    }

    #[test]
    fn bad_rows_are_errors_with_their_line() {
        let cases = [
            (
                "rne,nom,code_postal\n0750132L,,75001\n",
                "t, line 2: empty `nom`",
            ),
            (
                "rne,nom,code_postal\n0750132L,A,7500\n",
                "t, line 2: postal code \"7500\" is not 5 digits",
            ),
            (
                "rne,nom,code_postal\n0750132L,A,../x\n",
                "t, line 2: postal code \"../x\" is not 5 digits",
            ),
            (
                "rne,nom,code_postal\n0750132L,A\n",
                "t, line 2: 2 fields where the header has 3 \
                 (a separator or a line break inside an unquoted value?)",
            ),
            (
                "rne,nom,code_postal\n0750132L,A, B,75001\n",
                "t, line 2: 4 fields where the header has 3 \
                 (a separator or a line break inside an unquoted value?)",
            ),
            ("rne,nom,code_postal\n,A,75001\n", "t, line 2: empty `rne`"),
            (
                "rne,nom,code_postal\nABC,A,75001\n",
                "t, line 2: an RNE is 7 digits and a letter, got \"ABC\"",
            ),
            ("", "t: no header line"),
        ];
        for (text, message) in cases {
            let err = Directory::from_csv_text(text, "t").unwrap_err();
            assert_eq!(err.to_string(), message, "{text:?}");
        }
        let err = Directory::from_csv_text("code;nom\n1;2\n", "t").unwrap_err();
        assert!(
            matches!(err, DirectoryError::UnknownFormat { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn closed_and_empty_rows_are_reported_as_skipped() {
        let (header, row) = official_fields(0);
        let state = header.iter().position(|h| h == "etat").unwrap();
        let mut closed = row.clone();
        closed[state] = "FERME".to_string();
        let mut other = official_fields(1).1;
        other[state] = "A FERMER".to_string();
        let blank = vec![String::new(); header.len()];
        let text = join(&[header, closed, blank, other]);
        let dir = Directory::from_csv_text(&text, "t").unwrap();
        assert_eq!(dir.len(), 1);
        assert_eq!(
            dir.skipped(),
            [
                SkippedRow {
                    line: 2,
                    rne: Some(Rne::parse("0940176F").unwrap()),
                    reason: "closed (etat FERME)".to_string(),
                },
                SkippedRow {
                    line: 3,
                    rne: None,
                    reason: "empty row".to_string(),
                },
            ]
        );
    }

    #[test]
    fn trailing_empty_fields_and_quoted_values_are_accepted() {
        let text = "rne;nom;code_postal\r\n0750132L;\"E P; Saint Roch\";75001;;\r\n";
        let dir = Directory::from_csv_text(text, "excel").unwrap();
        assert_eq!(dir.iter().next().unwrap().name, "E P; Saint Roch");
    }

    #[test]
    fn nfd_input_is_stored_in_nfc_and_found_both_ways() {
        let text = "rne,nom,code_postal\n0940176F,Ecole e\u{301}le\u{301}mentaire,94260\n";
        let dir = Directory::from_csv_text(text, "nfd").unwrap();
        let school = dir.iter().next().unwrap();
        assert_eq!(school.name, "Ecole élémentaire");
        assert!(dir.lookup("94260", "Ecole élémentaire").is_some());
        assert!(dir
            .lookup("94260", "Ecole e\u{301}le\u{301}mentaire")
            .is_some());
    }

    #[test]
    fn to_csv_round_trips() {
        for dir in [Directory::embedded_paris(), official()] {
            let text = dir.to_csv();
            assert!(text.starts_with("rne,nom,type,secteur,adresse,code_postal,commune\n"));
            let back = Directory::from_csv_text(&text, "saved").unwrap();
            assert_eq!(back.len(), dir.len());
            assert!(back.iter().eq(dir.iter()));
            assert_eq!(back.to_csv(), text);
        }
    }

    #[test]
    fn from_path_reads_files_and_names_them_in_errors() {
        let dir = Directory::from_path(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/annuaire-education-94-ecoles.csv"
        )))
        .unwrap();
        assert_eq!(dir.len(), 613);

        let missing = Path::new("/nonexistent/annuaire.csv");
        let err = Directory::from_path(missing).unwrap_err();
        assert!(matches!(err, DirectoryError::Io { .. }), "{err:?}");
        assert!(err
            .to_string()
            .starts_with("/nonexistent/annuaire.csv: cannot read"));

        let latin1 = std::env::temp_dir().join(format!("ppms-dir-{}.csv", std::process::id()));
        std::fs::write(
            &latin1,
            b"rne,nom,code_postal\n0940176F,Ecole \xe9l\xe9mentaire,94260\n",
        )
        .unwrap();
        let err = Directory::from_path(&latin1).unwrap_err();
        std::fs::remove_file(&latin1).unwrap();
        assert!(
            matches!(err, DirectoryError::Encoding { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn loading_paris_is_fast() {
        let start = std::time::Instant::now();
        let rounds = 10;
        for _ in 0..rounds {
            assert_eq!(Directory::embedded_paris().len(), 457);
        }
        let each = start.elapsed() / rounds;
        // Unoptimised test builds are several times slower than the release binary.
        let limit = if cfg!(debug_assertions) { 50 } else { 10 };
        assert!(each.as_millis() < limit, "{each:?} per load");
    }
}
