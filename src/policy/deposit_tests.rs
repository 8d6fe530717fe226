//! Tests of `deposit`.

use super::*;

fn invalid_field(text: &str) -> String {
    match DepositPolicy::from_toml_str(text) {
        Err(err @ PolicyError::Invalid { .. }) => {
            let field = err.field().unwrap().to_string();
            assert!(err.to_string().contains(&field), "{err}");
            field
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn parse_error(text: &str) -> String {
    match DepositPolicy::from_toml_str(text) {
        Err(err @ PolicyError::Parse(_)) => err.to_string(),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn the_default_file_parses_and_is_what_embedded_default_gives() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/deposit.toml");
    let from_file = DepositPolicy::from_path(&path).unwrap();
    assert_eq!(from_file, DepositPolicy::embedded_default());
    assert_eq!(from_file, DepositPolicy::default());
}

#[test]
fn the_default_file_writes_exactly_the_code_defaults() {
    // An empty file takes every serde default: the same policy as the documented file.
    assert_eq!(
        DepositPolicy::from_toml_str("").unwrap(),
        DepositPolicy::embedded_default()
    );
    // And the file spells out every field, so each one is documented there.
    let file: toml::Table = toml::from_str(EMBEDDED_DEFAULT).unwrap();
    let fields = toml::Table::try_from(DepositPolicy::embedded_default()).unwrap();
    let mut in_file: Vec<_> = file.keys().collect();
    let mut in_struct: Vec<_> = fields.keys().collect();
    in_file.sort();
    in_struct.sort();
    assert_eq!(in_file, in_struct);
}

#[test]
fn default_values() {
    let policy = DepositPolicy::embedded_default();
    assert_eq!(policy.max_file_bytes, 100 * 1024 * 1024);
    assert_eq!(policy.school_quota_bytes, 1024 * 1024 * 1024);
    assert_eq!(policy.max_versions, 0);
    assert_eq!(policy.max_name_bytes, 200);
    assert!(!policy.school_can_read_back);
    assert!(!policy.allow_subfolders);
    assert!(!policy.allow_delete);
    assert!(!policy.allow_move_copy);
    assert!(!policy.allow_overwrite);
    assert!(!policy.allow_any_extension);
    assert!(!policy.allow_dead_properties);
    assert!(!policy.apply_client_times);
    assert_eq!(
        policy.allowed_extensions(),
        [
            "pdf", "odt", "ods", "odp", "odg", "docx", "xlsx", "pptx", "png", "jpg", "jpeg", "gif",
            "tif", "tiff", "webp", "zip"
        ]
    );
    let ids: Vec<&str> = policy.plan_kinds.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "ppms",
            "plan-locaux",
            "risques-majeurs",
            "attentat-intrusion",
            "autre"
        ]
    );
    assert_eq!(
        policy.plan_kind("plan-locaux").unwrap().label,
        "Plan des locaux"
    );
    assert!(policy.plan_kind("inconnu").is_none());
}

#[test]
fn permissive_lifts_the_discipline_and_keeps_the_limits() {
    let policy = DepositPolicy::permissive();
    let default = DepositPolicy::embedded_default();
    assert!(policy.school_can_read_back);
    assert!(policy.allow_subfolders);
    assert!(policy.allow_delete);
    assert!(policy.allow_move_copy);
    assert!(policy.allow_overwrite);
    assert!(policy.allow_any_extension);
    assert!(policy.allow_dead_properties);
    assert_eq!(policy.max_file_bytes, default.max_file_bytes);
    assert_eq!(policy.school_quota_bytes, default.school_quota_bytes);
    assert_eq!(policy.allowed_types, default.allowed_types);
    assert_eq!(policy.check_extension("res"), Ok(ContentFamily::Any));
    assert_eq!(policy.check_extension("notes.txt"), Ok(ContentFamily::Any));
    assert_eq!(policy.check_extension("plan.pdf"), Ok(ContentFamily::Pdf));
}

#[test]
fn a_partial_file_keeps_the_other_defaults() {
    let policy = DepositPolicy::from_toml_str("max_versions = 5\nallow_delete = true").unwrap();
    assert_eq!(policy.max_versions, 5);
    assert!(policy.allow_delete);
    assert_eq!(policy.max_file_bytes, DEFAULT_MAX_FILE_BYTES);
    assert_eq!(policy.junk_patterns, default_junk_patterns());
}

#[test]
fn extensions_are_lower_cased_on_load() {
    let text = "[[allowed_types]]\nextensions = [\"PDF\"]\nfamily = \"pdf\"\n";
    let policy = DepositPolicy::from_toml_str(text).unwrap();
    assert_eq!(policy.allowed_extensions(), ["pdf"]);
    assert_eq!(policy.check_extension("x.Pdf"), Ok(ContentFamily::Pdf));
}

#[test]
fn validation_errors_name_the_field() {
    assert_eq!(invalid_field("max_file_bytes = 0"), "max_file_bytes");
    assert_eq!(
        invalid_field("max_file_bytes = 2048\nschool_quota_bytes = 2047"),
        "school_quota_bytes"
    );
    assert_eq!(invalid_field("max_name_bytes = 0"), "max_name_bytes");
    assert_eq!(invalid_field("max_name_bytes = 231"), "max_name_bytes");
    assert_eq!(invalid_field("junk_patterns = [\"\"]"), "junk_patterns[0]");
    assert_eq!(
        invalid_field("junk_patterns = [\"a/b\"]"),
        "junk_patterns[0]"
    );
    assert_eq!(invalid_field("allowed_types = []"), "allowed_types");

    let types = |extensions: &str| {
        format!(
            "[[allowed_types]]\nextensions = [\"pdf\"]\nfamily = \"pdf\"\n\
             [[allowed_types]]\nextensions = {extensions}\nfamily = \"png\"\n"
        )
    };
    assert_eq!(invalid_field(&types("[]")), "allowed_types[1].extensions");
    assert_eq!(
        invalid_field(&types("[\"png\", \"\"]")),
        "allowed_types[1].extensions[1]"
    );
    assert_eq!(
        invalid_field(&types("[\".png\"]")),
        "allowed_types[1].extensions[0]"
    );
    assert_eq!(
        invalid_field(&types("[\"tar.gz\"]")),
        "allowed_types[1].extensions[0]"
    );
    assert_eq!(
        invalid_field(&types("[\"PDF\"]")),
        "allowed_types[1].extensions[0]"
    );

    assert_eq!(invalid_field("plan_kinds = []"), "plan_kinds");
    let kinds = "[[plan_kinds]]\nid = \"ppms\"\nlabel = \"PPMS\"\n\
                 [[plan_kinds]]\nid = \"ppms\"\nlabel = \"Encore\"\n";
    assert_eq!(invalid_field(kinds), "plan_kinds[1].id");
    let kinds = "[[plan_kinds]]\nid = \"Plan Locaux\"\nlabel = \"Plan\"\n";
    assert_eq!(invalid_field(kinds), "plan_kinds[0].id");
    let kinds = "[[plan_kinds]]\nid = \"ppms\"\nlabel = \" \"\n";
    assert_eq!(invalid_field(kinds), "plan_kinds[0].label");
}

#[test]
fn parse_errors_name_the_key() {
    let message = parse_error("[[allowed_types]]\nextensions = [\"exe\"]\nfamily = \"exe\"\n");
    assert!(message.contains("family"), "{message}");
    assert!(message.contains("unknown variant `exe`"), "{message}");

    let message = parse_error("max_file_byte = 10");
    assert!(
        message.contains("unknown field `max_file_byte`"),
        "{message}"
    );

    let message = parse_error("max_file_bytes = \"100M\"");
    assert!(message.contains("max_file_bytes"), "{message}");

    let message = parse_error("max_file_bytes = -1");
    assert!(message.contains("max_file_bytes"), "{message}");

    let message = parse_error("[[allowed_types]]\nextensions = [\"pdf\"]\n");
    assert!(message.contains("missing field `family`"), "{message}");

    let message = parse_error("[[plan_kinds]]\nid = \"x\"\nlabel = \"X\"\ncolor = \"red\"\n");
    assert!(message.contains("unknown field `color`"), "{message}");
}

#[test]
fn from_path_reports_the_file() {
    let missing = Path::new("/nonexistent/ppms-depot/deposit.toml");
    match DepositPolicy::from_path(missing) {
        Err(err @ PolicyError::Read { .. }) => {
            assert!(err
                .to_string()
                .contains("/nonexistent/ppms-depot/deposit.toml"))
        }
        other => panic!("expected a read error, got {other:?}"),
    }

    let path = std::env::temp_dir().join(format!(
        "ppms-depot-policy-test-{}.toml",
        std::process::id()
    ));
    std::fs::write(&path, "max_file_bytes = 0\n").unwrap();
    let result = DepositPolicy::from_path(&path);
    std::fs::remove_file(&path).unwrap();
    let err = result.unwrap_err();
    assert!(matches!(err, PolicyError::InFile { .. }), "{err:?}");
    assert_eq!(err.field(), Some("max_file_bytes"));
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("max_file_bytes"), "{message}");
}

#[test]
fn size_limit_is_inclusive() {
    let policy = DepositPolicy::embedded_default();
    let limit = policy.max_file_bytes;
    assert_eq!(policy.check_size(0), Ok(()));
    assert_eq!(policy.check_size(limit), Ok(()));
    let refusal = policy.check_size(limit + 1).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::TooLarge {
            bytes: limit + 1,
            limit
        }
    );
    assert_eq!(refusal.http_status(), 413);
}

#[test]
fn quota_is_inclusive_and_does_not_overflow() {
    let policy = DepositPolicy::embedded_default();
    let quota = policy.school_quota_bytes;
    assert_eq!(policy.check_quota(quota - 10, 10), Ok(()));
    assert_eq!(policy.check_quota(0, quota), Ok(()));
    let refusal = policy.check_quota(quota - 10, 11).unwrap_err();
    assert_eq!(refusal.http_status(), 507);
    assert!(policy.check_quota(u64::MAX, 1).is_err());
    assert!(policy.check_quota(quota + 1, 0).is_err());
}

#[test]
fn extensions_decide_the_family() {
    let policy = DepositPolicy::embedded_default();
    assert_eq!(policy.check_extension("plan.pdf"), Ok(ContentFamily::Pdf));
    assert_eq!(policy.check_extension("PLAN.PDF"), Ok(ContentFamily::Pdf));
    assert_eq!(
        policy.check_extension("rapport.Docx"),
        Ok(ContentFamily::OfficeOpenXml)
    );
    assert_eq!(
        policy.check_extension("/75001/ecole/plan.v2.odg"),
        Ok(ContentFamily::OpenDocument)
    );
    assert_eq!(
        policy.check_extension("photo.JPEG"),
        Ok(ContentFamily::Jpeg)
    );
    assert_eq!(policy.check_extension("scan.tif"), Ok(ContentFamily::Tiff));
}

#[test]
fn unlisted_or_missing_extensions_are_refused() {
    let policy = DepositPolicy::embedded_default();
    let refusal = policy.check_extension("virus.exe").unwrap_err();
    assert_eq!(refusal.http_status(), 415);
    assert!(matches!(
        &refusal,
        Refusal::TypeRefused { extension: Some(ext), allowed } if ext == "exe"
            && allowed.len() == 16
    ));
    for name in ["plan", ".pdf", "plan.", "archive.tar.gz", "photo.heic"] {
        assert!(policy.check_extension(name).is_err(), "{name}");
    }
    assert!(matches!(
        policy.check_extension("plan"),
        Err(Refusal::TypeRefused {
            extension: None,
            ..
        })
    ));
}

#[test]
fn junk_names() {
    let policy = DepositPolicy::embedded_default();
    for name in [
        "._plan.pdf",
        ".DS_Store",
        "THUMBS.DB",
        "Desktop.ini",
        "~$rapport.docx",
        ".~lock.plan.odt#",
        "/75001/ecole/._plan.pdf",
    ] {
        assert!(policy.is_junk(name), "{name}");
    }
    for name in [
        "plan.pdf",
        "DS_Store",
        "rapport~$.docx",
        "plan.tmp",
        "Thumbs.db.pdf",
    ] {
        assert!(!policy.is_junk(name), "{name}");
    }
}

#[test]
fn names_are_checked_against_the_policy_limit() {
    let policy = DepositPolicy::from_toml_str("max_name_bytes = 8").unwrap();
    assert_eq!(policy.check_name("plan.pdf"), Ok(()));
    let refusal = policy.check_name("plans.pdf").unwrap_err();
    assert_eq!(refusal.http_status(), 400);
    assert!(matches!(
        refusal,
        Refusal::BadName {
            fault: name::NameFault::TooLong { bytes: 9, limit: 8 },
            ..
        }
    ));
    assert!(policy.check_name("a:b.pdf").is_err());
}
