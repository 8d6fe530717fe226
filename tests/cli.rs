//! The command line as an operator uses it: keys and directory import, through the binary.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ppms-depot");

fn run(state: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("PPMS_DEPOT_STATE_DIR", state.join("state"))
        .env("PPMS_DEPOT_DATA_DIR", state.join("deposits"))
        .env("PPMS_DEPOT_LOG", "warn")
        .output()
        .expect("run ppms-depot")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

#[test]
fn keys_are_issued_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let issued = run(
        dir.path(),
        &["key", "issue", "--school", "0752401c", "--label", "PC"],
    );
    assert!(issued.status.success(), "{issued:?}");
    let text = stdout(&issued);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    let (id, account, secret) = (field("id:"), field("account:"), field("key:"));
    assert_eq!(account, "ce.0752401C");
    assert!(secret.replace('-', "").len() >= 32);

    let list = stdout(&run(dir.path(), &["key", "list"]));
    assert!(list.contains(&id) && list.contains("active"), "{list}");
    let next_year = time::OffsetDateTime::now_utc() + time::Duration::days(365);
    assert!(
        list.contains(&next_year.date().to_string()),
        "expiry shown: {list}"
    );
    assert!(!list.contains(&secret), "the list never shows a secret");
    let cell = run(dir.path(), &["key", "issue", "--crisis-cell", "jdupont"]);
    assert!(cell.status.success());

    let revoked = run(dir.path(), &["key", "revoke", &id]);
    assert!(revoked.status.success(), "{revoked:?}");
    let list = stdout(&run(dir.path(), &["key", "list"]));
    assert!(list.contains("revoked"), "{list}");
    let again = run(dir.path(), &["key", "revoke", &id]);
    assert!(!again.status.success(), "revoking twice is an error");
}

#[test]
fn keys_for_unknown_or_invalid_schools_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let invalid = run(dir.path(), &["key", "issue", "--school", "0752401D"]);
    assert!(!invalid.status.success());
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("check letter"));
    let absent = run(dir.path(), &["key", "issue", "--school", "0940176F"]);
    assert!(
        !absent.status.success(),
        "a Val-de-Marne school is not in the Paris directory"
    );
    assert!(String::from_utf8_lossy(&absent.stderr).contains("not in the establishment"));
}

#[test]
fn official_directory_import_reports_and_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/annuaire-education-94-ecoles.csv");
    let file = file.to_str().unwrap();
    std::fs::create_dir_all(dir.path().join("deposits/0752401C")).unwrap();
    let dry = run(dir.path(), &["directory", "import", "--dry-run", file]);
    assert!(dry.status.success(), "{dry:?}");
    let report = stdout(&dry);
    assert!(report.contains("613"), "613 added: {report}");
    assert!(report.contains("457"), "457 removed: {report}");
    assert!(
        report.contains("1 removed establishments hold deposits") && report.contains("0752401C"),
        "{report}"
    );
    assert!(!dir.path().join("state/directory.csv").exists());

    let saved = run(dir.path(), &["directory", "import", file]);
    assert!(saved.status.success(), "{saved:?}");
    assert!(dir.path().join("state/directory.csv").exists());
    let key = run(dir.path(), &["key", "issue", "--school", "0940176F"]);
    assert!(
        key.status.success(),
        "the imported directory is the one in use: {key:?}"
    );
}

#[test]
fn an_invalid_directory_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "rne,nom,type,secteur,adresse,code_postal,commune\n\
         0752401C,E E PU ARBRE SEC,elementaire,public,,75001,PARIS\n\
         0752401D,E E PU FAUX,elementaire,public,,75001,PARIS\n",
    )
    .unwrap();
    let output = run(dir.path(), &["directory", "import", bad.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");
}
