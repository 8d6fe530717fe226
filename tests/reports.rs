//! The crisis cell's reports over HTTP on the real Paris directory: coverage as CSV (checked
//! byte for byte against what the store holds) and JSON, search, ZIP exports (read back entry
//! by entry), and who may ask. Also the CLI's coverage, beside the running server.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use common::{pdf, TestServer, ARBRE_SEC, LOUVOIS};
use ppms_depot::directory::{Directory, Establishment, Rne};
use ppms_depot::report::search::SearchIndex;
use ppms_depot::report::Deposits;
use ppms_depot::storage::{DepositRecord, Store};
use reqwest::StatusCode;
use sha2::Digest;

/// Deposits used by most tests: (school key holder, name sent, content, expected kind).
const ARBRE_SEC_FILES: &[(&str, &str)] = &[
    ("PPMS 2025-2026.pdf", "ppms"),
    ("Plan 1er étage.pdf", "plan-locaux"),
];
const LOUVOIS_FILES: &[(&str, &str)] = &[("Risque inondation; crue.pdf", "risques-majeurs")];
const EXPECTED: &[&str] = &[
    "ppms",
    "plan-locaux",
    "risques-majeurs",
    "attentat-intrusion",
];

async fn with_deposits() -> TestServer {
    let server = TestServer::start().await;
    for (name, _) in ARBRE_SEC_FILES {
        let (status, body) = server
            .put(&server.arbre_sec, &format!("/{name}"), &pdf(name))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A second version of the PPMS: only the latest counts.
    let (status, _) = server
        .put(
            &server.arbre_sec,
            "/PPMS 2025-2026.pdf",
            &pdf("PPMS v2, plus long"),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for (name, _) in LOUVOIS_FILES {
        let (status, body) = server
            .put(&server.louvois, &format!("/{name}"), &pdf(name))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    server
}

async fn get(
    server: &TestServer,
    key: Option<&ppms_depot::auth::IssuedKey>,
    path: &str,
) -> reqwest::Response {
    let mut request = server.client.get(format!("{}{path}", server.base));
    if let Some(key) = key {
        request = request.basic_auth(&key.account, Some(&key.secret));
    }
    request.send().await.unwrap()
}

/// The kind a test file was deposited as, by its stored name.
fn expected_kind(stored: &str) -> &'static str {
    ARBRE_SEC_FILES
        .iter()
        .chain(LOUVOIS_FILES)
        .find(|(name, _)| stored.ends_with(name))
        .map(|(_, kind)| *kind)
        .unwrap_or_else(|| panic!("unexpected file {stored}"))
}

/// The latest record of a stored file, read from the data directory as it lies.
fn latest_record(data: &Path, rne: &str, name: &str) -> DepositRecord {
    let versions = data.join(rne).join(".versions").join(name);
    let latest = std::fs::read_dir(&versions)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.parse::<u32>().ok())
        .max()
        .unwrap();
    let text = std::fs::read(versions.join(format!("{latest}.json"))).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// Stored names of a school, read from its folder.
fn stored_names(data: &Path, rne: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(data.join(rne)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// The CSV the server should give, rebuilt from the directory and the files on disk.
fn expected_csv(directory: &Directory, data: &Path) -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(&mut out);
        writer
            .write_record(ppms_depot::report::coverage::CSV_COLUMNS)
            .unwrap();
        for school in directory.iter() {
            let rne = school.rne.as_str();
            let names = stored_names(data, rne);
            let kinds: Vec<&str> = EXPECTED
                .iter()
                .chain(["autre"].iter())
                .copied()
                .filter(|k| names.iter().any(|n| expected_kind(n) == *k))
                .collect();
            let missing: Vec<&str> = EXPECTED
                .iter()
                .copied()
                .filter(|k| !kinds.contains(k))
                .collect();
            let folder = directory.folder_name(&school.rne).unwrap();
            let head = |row: &mut Vec<String>| {
                row.extend(
                    [
                        school.postal_code.as_str(),
                        rne,
                        &school.name,
                        folder,
                        &school.commune,
                        &school.sector,
                        &school.kind,
                    ]
                    .map(String::from),
                );
                row.push(kinds.join("|"));
                row.push(missing.join("|"));
            };
            if names.is_empty() {
                let mut row = Vec::new();
                head(&mut row);
                row.extend(std::iter::repeat_n(String::new(), 7));
                writer.write_record(&row).unwrap();
            }
            for name in &names {
                let content = std::fs::read(data.join(rne).join(name)).unwrap();
                let record = latest_record(data, rne, name);
                assert_eq!(record.sha256, hex::encode(sha2::Sha256::digest(&content)));
                assert_eq!(record.bytes, content.len() as u64);
                let kept = std::fs::read_dir(data.join(rne).join(".versions").join(name))
                    .unwrap()
                    .filter(|e| {
                        let name = e.as_ref().unwrap().file_name();
                        name.to_str().unwrap().parse::<u32>().is_ok()
                    })
                    .count();
                let mut row = Vec::new();
                head(&mut row);
                row.extend([
                    name.clone(),
                    expected_kind(name).to_string(),
                    content.len().to_string(),
                    record.sha256.clone(),
                    record.version.to_string(),
                    kept.to_string(),
                    record.deposited_at.clone(),
                ]);
                writer.write_record(&row).unwrap();
            }
        }
        writer.flush().unwrap();
    }
    out
}

#[tokio::test]
async fn coverage_csv_matches_the_store_byte_for_byte() {
    let server = with_deposits().await;
    let response = get(&server, Some(&server.crisis), "/api/v1/coverage.csv").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let body = response.bytes().await.unwrap();
    let directory = server.app.fs.directory();
    let expected = expected_csv(directory, &server.data_dir());
    assert_eq!(
        String::from_utf8_lossy(&body),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(body.as_ref(), expected.as_slice());
    // One row per establishment without deposits, one per current file otherwise.
    let rows = body.iter().filter(|b| **b == b'\n').count();
    assert_eq!(rows, 1 + directory.len() - 2 + 3);
    assert!(String::from_utf8_lossy(&body).contains(";\"0754825M-Risque inondation; crue.pdf\";"));

    // The CLI gives the same bytes, reading the data directory beside the running server.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ppms-depot"))
        .args(["report", "coverage", "--csv"])
        .env("PPMS_DEPOT_STATE_DIR", server.dir.path().join("cli-state"))
        .env("PPMS_DEPOT_DATA_DIR", server.data_dir())
        .env("PPMS_DEPOT_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(output.stdout, expected);
}

#[tokio::test]
async fn coverage_json_counts_kinds_and_missing() {
    let server = with_deposits().await;
    let response = get(&server, Some(&server.crisis), "/api/v1/coverage").await;
    assert_eq!(response.status(), StatusCode::OK);
    let report = json(response).await;
    let totals = &report["totals"];
    let establishments = server.app.fs.directory().len() as u64;
    assert_eq!(totals["establishments"], establishments);
    assert_eq!(totals["with_deposits"], 2);
    assert_eq!(totals["deposits"], 3);
    assert_eq!(totals["per_kind"]["ppms"], 1);
    assert_eq!(totals["per_kind"]["plan-locaux"], 1);
    assert_eq!(totals["per_kind"]["risques-majeurs"], 1);
    assert_eq!(totals["missing"]["attentat-intrusion"], establishments);
    assert_eq!(totals["missing"]["ppms"], establishments - 1);
    assert_eq!(totals["complete"], 0);
    let postal = report["postal_codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["postal_code"] == "75001")
        .unwrap();
    assert_eq!(postal["with_deposits"], 1);
    let missing_ppms: Vec<&str> = postal["missing"]["ppms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(!missing_ppms.contains(&ARBRE_SEC));
    assert_eq!(
        missing_ppms.len() as u64,
        postal["establishments"].as_u64().unwrap() - 1
    );
    let school = postal["schools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["rne"] == ARBRE_SEC)
        .unwrap();
    assert_eq!(school["kinds"], serde_json::json!(["ppms", "plan-locaux"]));
    assert_eq!(
        school["missing"],
        serde_json::json!(["risques-majeurs", "attentat-intrusion"])
    );
    let ppms = school["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "ppms")
        .unwrap();
    assert_eq!(ppms["version"], 2);
    assert_eq!(ppms["versions_kept"], 2);
    assert_eq!(school["last_deposit"], ppms["deposited_at"]);
}

/// Reads a ZIP response and checks every entry against the stored file it names.
async fn check_zip(server: &TestServer, path: &str, expected: &[(&str, &str, &str)]) {
    let response = get(server, Some(&server.crisis), path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(response.headers()["content-type"], "application/zip");
    let announced: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), announced);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(body.to_vec())).unwrap();
    assert_eq!(archive.len(), expected.len(), "{path}");
    let data = server.data_dir();
    for (zip_path, rne, stored) in expected {
        let mut entry = archive.by_name(zip_path).unwrap();
        assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        let on_disk = std::fs::read(data.join(rne).join(stored)).unwrap();
        assert_eq!(content, on_disk, "{zip_path}");
    }
}

#[tokio::test]
async fn zip_exports_hold_the_stored_files_byte_for_byte() {
    let server = with_deposits().await;
    let arbre = "75001/E E PU ARBRE SEC";
    let ppms = format!("{ARBRE_SEC}-PPMS 2025-2026.pdf");
    let plan = format!("{ARBRE_SEC}-Plan 1er étage.pdf");
    let risk = format!("{LOUVOIS}-{}", LOUVOIS_FILES[0].0);
    let school = [
        (format!("{arbre}/{plan}"), plan.as_str()),
        (format!("{arbre}/{ppms}"), ppms.as_str()),
    ];
    let refs: Vec<(&str, &str, &str)> = school
        .iter()
        .map(|(zip_path, stored)| (zip_path.as_str(), ARBRE_SEC, *stored))
        .collect();
    check_zip(
        &server,
        &format!("/api/v1/export/school/{ARBRE_SEC}.zip"),
        &refs,
    )
    .await;
    check_zip(&server, "/api/v1/export/75001.zip", &refs).await;
    let louvois = format!("75002/E E PU LOUVOIS/{risk}");
    check_zip(
        &server,
        "/api/v1/export/75002.zip",
        &[(&louvois, LOUVOIS, &risk)],
    )
    .await;
    // A postal code where nobody deposited: an empty archive.
    check_zip(&server, "/api/v1/export/75003.zip", &[]).await;
    for unknown in [
        "/api/v1/export/75099.zip",
        "/api/v1/export/school/0752401D.zip",
    ] {
        let response = get(&server, Some(&server.crisis), unknown).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{unknown}");
    }
    let exports = server
        .audit_lines()
        .into_iter()
        .filter(|l| l["event"] == "export")
        .count();
    assert_eq!(exports, 4);
}

#[tokio::test]
async fn search_ignores_accents_and_case_and_sees_new_deposits() {
    let server = with_deposits().await;
    let search = |q: &str| {
        let server = &server;
        let url = format!("/api/v1/search?q={}", urlencode(q));
        async move {
            let response = get(server, Some(&server.crisis), &url).await;
            assert_eq!(response.status(), StatusCode::OK);
            json(response).await
        }
    };
    let rnes = |found: &serde_json::Value| -> Vec<String> {
        found["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["rne"].as_str().unwrap().to_string())
            .collect()
    };
    let found = search("Étienne").await;
    assert!(rnes(&found).contains(&"0752266F".to_string()), "{found}");
    let found = search("étienne MARCEL").await;
    assert_eq!(rnes(&found), ["0752266F"]);
    let found = search("0752401c").await;
    assert_eq!(rnes(&found)[0], ARBRE_SEC);
    assert_eq!(found["results"][0]["rank"], "rne");
    // File names are searched too, accents ignored.
    let found = search("ETAGE").await;
    assert_eq!(rnes(&found), [ARBRE_SEC]);
    assert_eq!(
        found["results"][0]["files"],
        serde_json::json!([format!("{ARBRE_SEC}-Plan 1er étage.pdf")])
    );
    assert_eq!(search("attentat").await["total"], 0);
    let (status, _) = server
        .put(&server.louvois, "/Fiche attentat.pdf", &pdf("ai"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(rnes(&search("attentat").await), [LOUVOIS]);
    let response = get(&server, Some(&server.crisis), "/api/v1/search?q=").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let found = search("e").await;
    assert_eq!(found["results"].as_array().unwrap().len(), 50);
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test]
async fn only_the_crisis_cell_reads_reports() {
    let server = with_deposits().await;
    let paths = [
        "/api/v1/coverage",
        "/api/v1/coverage.csv",
        "/api/v1/search?q=arbre",
        "/api/v1/export/75001.zip",
        "/api/v1/export/school/0752401C.zip",
    ];
    for path in paths {
        let response = get(&server, None, path).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(response.headers().contains_key("www-authenticate"));
        let body = json(response).await;
        assert_eq!(body["error"], "identifiant et clé de montage requis");

        let response = get(&server, Some(&server.arbre_sec), path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let body = json(response).await;
        assert_eq!(body["error"], "réservé à la cellule de crise");

        let response = server
            .client
            .get(format!("{}{path}", server.base))
            .basic_auth(&server.crisis.account, Some("pas-la-bonne-cle"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let response = server
        .client
        .post(format!("{}/api/v1/coverage", server.base))
        .basic_auth(&server.crisis.account, Some(&server.crisis.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let denied = server
        .audit_lines()
        .into_iter()
        .filter(|l| l["event"] == "denied" && l["principal"] == "ce.0752401C")
        .count();
    assert_eq!(denied, paths.len());
}

/// Timing of search over the real Paris directory with five deposits per establishment, and
/// over a synthetic directory of 20,000 establishments. Prints; asserts nothing on time.
#[tokio::test]
#[ignore]
async fn search_timing_benchmark() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("deposits")).unwrap();
    let paris = Directory::embedded_paris();
    let names = [
        "PPMS 2025",
        "Plan des locaux RDC",
        "Plan étage 1",
        "Risques majeurs",
        "Fiche AI",
    ];
    for school in paris.iter() {
        for name in names {
            let stored = format!("{}-{name}.pdf", school.rne);
            let mut upload = store.begin(&school.rne, &stored).await.unwrap();
            upload.write(pdf(&stored).into()).await.unwrap();
            upload
                .commit(ppms_depot::storage::Provenance::by("bench"), 0)
                .await
                .unwrap();
        }
    }
    let synthetic: Vec<Establishment> = (0..20_000u32)
        .map(|i| {
            let digits = format!("{:07}", 9_000_000 + i);
            let n: u64 = digits.parse().unwrap();
            let letter = b"ABCDEFGHJKLMNPRSTUVWXYZ"[(n % 23) as usize] as char;
            Establishment {
                rne: Rne::parse(&format!("{digits}{letter}")).unwrap(),
                name: format!("ÉCOLE ÉLÉMENTAIRE SAINT-ÉTIENNE {i}"),
                kind: "elementaire".into(),
                sector: "public".into(),
                address: String::new(),
                postal_code: format!("{:05}", 1000 + i % 900),
                commune: format!("COMMUNE {}", i % 900),
            }
        })
        .collect();
    let large = Directory::from_establishments(paris.iter().cloned().chain(synthetic).collect());
    for (label, directory) in [("Paris", &paris), ("Paris + 20000", &large)] {
        let deposits = Deposits::of_store(&store);
        let started = Instant::now();
        let mut index = SearchIndex::build(directory, &deposits).unwrap();
        let built = started.elapsed();
        let mut worst = std::time::Duration::ZERO;
        let queries = [
            "etienne",
            "0752401C",
            "plan etage",
            "75001",
            "zzz introuvable",
            "e",
        ];
        let mut totals = BTreeMap::new();
        for q in queries {
            let started = Instant::now();
            index.refresh(&deposits).unwrap();
            let found = index.search(q, 50);
            let took = started.elapsed();
            worst = worst.max(took);
            totals.insert(q, (found.total, took));
        }
        println!(
            "SEARCH {label}: {} establishments, {} deposits; build {built:?}; \
             worst refresh+query {worst:?}; {totals:?}",
            index.len(),
            paris.len() * names.len()
        );
    }
}

/// Peak resident memory of this process so far, in bytes (Linux).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// A 48 MiB deposit is exported with memory bounded by the chunks in flight, not by its size:
/// the process's peak memory grows by far less than the archive.
#[tokio::test]
async fn a_large_export_streams_in_bounded_memory() {
    const SIZE: usize = 48 << 20;
    let server = TestServer::start().await;
    let rne = Rne::parse(ARBRE_SEC).unwrap();
    let stored = format!("{ARBRE_SEC}-gros plan.pdf");
    {
        // Deposited through a second store on the same data directory, 1 MiB at a time, so
        // that the test itself never holds the file.
        let store = Store::open(&server.data_dir()).unwrap();
        let chunk: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let mut upload = store.begin(&rne, &stored).await.unwrap();
        for _ in 0..SIZE >> 20 {
            upload.write(chunk.clone().into()).await.unwrap();
        }
        upload
            .commit(ppms_depot::storage::Provenance::by("test"), 0)
            .await
            .unwrap();
    }
    let before = peak_rss();
    let path = format!("/api/v1/export/school/{ARBRE_SEC}.zip");
    let mut response = get(&server, Some(&server.crisis), &path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let announced: u64 = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let data_start = (30 + format!("75001/E E PU ARBRE SEC/{stored}").len()) as u64;
    let mut offset = 0u64;
    while let Some(chunk) = response.chunk().await.unwrap() {
        for (i, byte) in chunk.iter().enumerate() {
            let at = offset + i as u64;
            if at >= data_start && at < data_start + SIZE as u64 {
                let expected = (((at - data_start) % (1 << 20)) % 251) as u8;
                assert_eq!(*byte, expected, "byte {at}");
            }
        }
        offset += chunk.len() as u64;
    }
    assert_eq!(offset, announced);
    assert!(announced > SIZE as u64);
    let grown = peak_rss().saturating_sub(before);
    println!("export of {announced} bytes: peak memory grew by {grown} bytes");
    assert!(
        grown < (SIZE / 3) as u64,
        "peak memory grew by {grown} bytes"
    );
}
