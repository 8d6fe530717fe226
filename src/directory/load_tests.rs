//! Tests of `load`.

use super::*;
use crate::directory::Establishment;

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
