//! The crisis cell's pages under `/cellule/` on the real server and the Paris directory: a
//! member logged in through the three stages browses the tree, opens a school, downloads its
//! files byte for byte, searches and reads the coverage; the same session reads the report API.
//! A school's session is refused everywhere, a visitor is sent to the login, and download paths
//! never leave the school's folder.

#[path = "common/login_client.rs"]
mod login_client;
#[path = "common/raw_http.rs"]
mod raw_http;

use std::time::{Duration, Instant};

use login_client::*;
use ppms_depot::auth::{IssuedKey, KeySubject};
use ppms_depot::directory::Rne;
use ppms_depot::report::search::SearchIndex;
use ppms_depot::report::Deposits;
use ppms_depot::storage::{Provenance, Store};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Digest;

const CELL_AGENT: &str = "jdupont";
const CELL_PASSWORD: &str = "mot-de-passe-cellule";
const ARBRE_SEC: &str = "0752401C";
const LOUVOIS: &str = "0754825M";
/// A valid RNE the Paris directory does not have.
const STRANGER: &str = "0940176F";
const PDF_NAME: &str = "PPMS Évacuation.pdf";
const PDF_STORED: &str = "0752401C-PPMS Évacuation.pdf";
const PDF_LINK: &str = "/cellule/fichier/0752401C/0752401C-PPMS%20%C3%89vacuation.pdf";
const PNG_NAME: &str = "plan rdc.png";

/// A PDF whose bytes are all different from a line to the next.
fn pdf_bytes(seed: &str) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    for i in 0..2000 {
        bytes.extend(format!("% {seed} ligne {i}\n").bytes());
    }
    bytes.extend(b"%%EOF\n");
    bytes
}

fn png_bytes() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend((0..=255u8).cycle().take(5000));
    bytes
}

/// The server, with `jdupont` in the crisis cell and ARBRE SEC's account password set.
async fn server() -> LoginServer {
    let server = LoginServer::start(|config, dir| {
        let roles = dir.join("roles.toml");
        std::fs::write(&roles, format!("crisis_cell = [\"{CELL_AGENT}\"]\n")).unwrap();
        config.roles_file = roles;
    })
    .await;
    let passwords = &server.app.login.passwords;
    passwords.set(CELL_AGENT, CELL_PASSWORD).await.unwrap();
    passwords
        .set(ARBRE_SEC_ACCOUNT, ARBRE_SEC_PASSWORD)
        .await
        .unwrap();
    server
}

/// A session cookie of `jdupont` logged in as crisis cell.
async fn cell_cookie(server: &LoginServer) -> String {
    let token = server.agent(CELL_AGENT).await;
    let mut browser = server.browser().await;
    let (s, _) = browser
        .post(
            "login/stage1",
            &stage1_body(CELL_AGENT, &server.passcode(&token)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    server.clock.advance(30);
    let (s, _) = browser
        .post("login/stage2", &passcode_body(&server.passcode(&token)))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, state) = browser
        .post("login/stage3", &stage3_body(CELL_AGENT, CELL_PASSWORD))
        .await;
    assert_eq!(s, StatusCode::OK, "{state}");
    assert_eq!(state["role"], "crisis_cell");
    browser.cookie.clone().expect("session cookie")
}

/// A session cookie of another agent logged in with ARBRE SEC's account.
async fn school_cookie(server: &LoginServer) -> String {
    let token = server.agent("mmartin").await;
    let mut browser = server.browser().await;
    let state = server.full_login(&mut browser, "mmartin", &token).await;
    assert_eq!(state["role"], "school");
    browser.cookie.clone().expect("session cookie")
}

async fn school_key(server: &LoginServer, rne: &str) -> IssuedKey {
    let subject = KeySubject::School {
        account: format!("ce.{rne}"),
        rne: Rne::parse(rne).unwrap(),
    };
    server.app.keys.issue(&subject, "test", None).await.unwrap()
}

/// A WebDAV deposit with a school's key.
async fn deposit(server: &LoginServer, key: &IssuedKey, name: &str, body: Vec<u8>) {
    let response = reqwest::Client::new()
        .put(format!("{}/dav/{}", server.base, name.replace(' ', "%20")))
        .basic_auth(&key.account, Some(&key.secret))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "deposit of {name}");
}

/// ARBRE SEC deposits a PDF and a PNG, LOUVOIS one PDF, an RNE outside the directory one PDF.
async fn with_deposits(server: &LoginServer) {
    let arbre_sec = school_key(server, ARBRE_SEC).await;
    deposit(server, &arbre_sec, PDF_NAME, pdf_bytes("arbre sec")).await;
    deposit(server, &arbre_sec, PNG_NAME, png_bytes()).await;
    let louvois = school_key(server, LOUVOIS).await;
    deposit(server, &louvois, "secret.pdf", pdf_bytes("louvois")).await;
    // The WebDAV face refuses a school outside the directory: its deposit is one made before
    // the directory changed, written straight into the store (a second handle on its folder,
    // which the server has not read yet).
    let store = Store::open(&server.dir.path().join("deposits")).unwrap();
    let rne = Rne::parse(STRANGER).unwrap();
    let mut upload = store
        .begin(&rne, &format!("{STRANGER}-ppms.pdf"))
        .await
        .unwrap();
    upload
        .write(bytes::Bytes::from(pdf_bytes("hors annuaire")))
        .await
        .unwrap();
    upload
        .commit(Provenance::by("ce.0940176F"), 0)
        .await
        .unwrap();
}

/// A GET with the cookie (if any), redirects not followed.
async fn get(
    server: &LoginServer,
    cookie: Option<&str>,
    path: &str,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    get_with(server, cookie, path, &[]).await
}

async fn get_with(
    server: &LoginServer,
    cookie: Option<&str>,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.get(format!("{}{path}", server.base));
    if let Some(cookie) = cookie {
        request = request.header("Cookie", format!("ppms_session={cookie}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

async fn page(server: &LoginServer, cookie: &str, path: &str) -> String {
    let (status, headers, body) = get(server, Some(cookie), path).await;
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {text}");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    text
}

async fn api(server: &LoginServer, cookie: &str, path: &str) -> Value {
    let (status, _, body) = get(server, Some(cookie), path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    serde_json::from_slice(&body).unwrap()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn the_tree_leads_to_a_school_and_its_files_byte_for_byte() {
    let server = server().await;
    with_deposits(&server).await;
    let cookie = cell_cookie(&server).await;

    let root = page(&server, &cookie, "/cellule/").await;
    assert!(
        root.contains("<a href=\"/cellule/cp/75001\">75001</a>"),
        "{root}"
    );
    assert!(root.contains("<a href=\"/cellule/cp/75020\">75020</a>"));
    assert!(root.contains("RNE hors annuaire"));
    assert!(root.contains(&format!("/cellule/etablissement/{STRANGER}")));
    let cp = page(&server, &cookie, "/cellule/cp/75001").await;
    let row = cp
        .split("<tr>")
        .find(|row| row.contains("E E PU ARBRE SEC"))
        .expect("ARBRE SEC is listed");
    assert!(row.contains("<code>0752401C</code>"), "{row}");
    assert!(
        row.contains("<td class=\"num\">2</td>"),
        "two deposits: {row}"
    );
    assert!(row.contains("/cellule/etablissement/0752401C"));

    let school = page(&server, &cookie, "/cellule/etablissement/0752401c").await;
    assert!(school.contains("id=\"fichiers\""));
    assert!(school.contains(&format!("href=\"{PDF_LINK}\"")), "{school}");
    assert!(school.contains("0752401C-plan%20rdc.png"));
    assert!(school.contains("/api/v1/export/school/0752401C.zip"));
    let sha = hex::encode(sha2::Sha256::digest(pdf_bytes("arbre sec")));
    assert!(school.contains(&sha[..12]), "short sha256 shown");
    let stranger = page(
        &server,
        &cookie,
        &format!("/cellule/etablissement/{STRANGER}"),
    )
    .await;
    assert!(stranger.contains(&format!("/cellule/fichier/{STRANGER}/{STRANGER}-ppms.pdf")));

    let (status, headers, body) = get(&server, Some(&cookie), PDF_LINK).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, pdf_bytes("arbre sec"), "the exact stored bytes");
    assert_eq!(header(&headers, "content-type"), "application/pdf");
    assert_eq!(
        header(&headers, "content-disposition"),
        "inline; filename=\"0752401C-PPMS _vacuation.pdf\"; \
         filename*=UTF-8''0752401C-PPMS%20%C3%89vacuation.pdf"
    );
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&headers, "content-security-policy"), "sandbox");
    let (status, headers, body) =
        get_with(&server, Some(&cookie), PDF_LINK, &[("Range", "bytes=0-8")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT, "viewers read ranges");
    assert_eq!(body, b"%PDF-1.4\n");
    assert!(header(&headers, "content-range").starts_with("bytes 0-8/"));
    let png = "/cellule/fichier/0752401C/0752401C-plan%20rdc.png";
    let (status, headers, body) = get(&server, Some(&cookie), png).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, png_bytes());
    assert_eq!(header(&headers, "content-type"), "image/png");
    assert!(header(&headers, "content-disposition").starts_with("attachment; "));
    assert_eq!(header(&headers, "content-security-policy"), "sandbox");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");

    let audit = server.audit_lines();
    let download = audit
        .iter()
        .find(|l| l["event"] == "download" && l["stored_name"] == PDF_STORED)
        .expect("the download is audited");
    assert_eq!(download["principal"], CELL_AGENT);
    assert_eq!(download["rne"], ARBRE_SEC);
    assert_eq!(download["sha256"], sha.as_str());

    // The same session reads the JSON of the tree and the other reports.
    let tree = api(&server, &cookie, "/api/v1/tree").await;
    let paris1 = tree["postal_codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["postal_code"] == "75001")
        .unwrap();
    assert_eq!(paris1["deposits"], 2);
    assert_eq!(tree["unlisted"][0]["rne"], STRANGER);
    let cp = api(&server, &cookie, "/api/v1/tree/75001").await;
    let arbre_sec = cp["schools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["rne"] == ARBRE_SEC)
        .unwrap();
    assert_eq!(arbre_sec["deposits"], 2);
    assert!(arbre_sec["last_deposit"].is_string());
    let files = api(&server, &cookie, "/api/v1/schools/0752401C").await;
    assert_eq!(files["files"].as_array().unwrap().len(), 2);
    assert_eq!(files["files"][0]["sha256"], sha.as_str());
    let (status, headers, _) = get(&server, Some(&cookie), "/api/v1/coverage.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(header(&headers, "content-type").starts_with("text/csv"));
    let found = api(&server, &cookie, "/api/v1/search?q=evacuation").await;
    assert_eq!(found["results"][0]["rne"], ARBRE_SEC);
}

#[tokio::test]
async fn search_ignores_accents_and_finds_file_names() {
    let server = server().await;
    with_deposits(&server).await;
    let cookie = cell_cookie(&server).await;

    let empty = page(&server, &cookie, "/cellule/recherche").await;
    assert!(empty.contains("<label for=\"recherche\">Entrer le texte à rechercher</label>"));
    assert!(empty.contains("name=\"q\" id=\"recherche\""));
    for query in ["etienne", "%C3%89TIENNE+marcel", "Etienne"] {
        let found = page(&server, &cookie, &format!("/cellule/recherche?q={query}")).await;
        let results = found
            .split("id=\"resultats\"")
            .nth(1)
            .expect("results list");
        assert!(
            results.contains("E E PU ETIENNE MARCEL"),
            "{query}: {found}"
        );
        assert!(results.contains("/cellule/etablissement/0752266F"));
    }
    let found = page(&server, &cookie, "/cellule/recherche?q=%C3%A9vacuation").await;
    let results = found.split("id=\"resultats\"").nth(1).unwrap();
    assert!(
        results.contains("/cellule/etablissement/0752401C"),
        "{found}"
    );
    assert!(results.contains(PDF_LINK), "the matching file is linked");
    let none = page(&server, &cookie, "/cellule/recherche?q=zzzzqqq").await;
    assert!(none.contains("Aucun établissement trouvé"));
    let escaped = page(&server, &cookie, "/cellule/recherche?q=%3Cscript%3E").await;
    assert!(!escaped.contains("<script>"), "the query is escaped");

    // The time of one query over the full directory: in-process, then over HTTP.
    let directory = server.app.fs.directory();
    let deposits = Deposits::read_only(&server.dir.path().join("deposits"));
    let index = SearchIndex::build(directory, &deposits).unwrap();
    let queries = [
        "etienne",
        "arbre sec",
        "75011",
        "0752401c",
        "evacuation",
        "saint",
    ];
    let started = Instant::now();
    let rounds = 200;
    for _ in 0..rounds {
        for query in queries {
            std::hint::black_box(index.search(query, 50));
        }
    }
    let per_query = started.elapsed() / (rounds * queries.len() as u32);
    let mut slowest = Duration::ZERO;
    for query in queries {
        let started = Instant::now();
        page(&server, &cookie, &format!("/cellule/recherche?q={query}")).await;
        slowest = slowest.max(started.elapsed());
    }
    eprintln!(
        "search over {} establishments: {:.3} ms per query in the index, slowest page over \
         HTTP {:.1} ms",
        index.len(),
        per_query.as_secs_f64() * 1000.0,
        slowest.as_secs_f64() * 1000.0,
    );
}

#[tokio::test]
async fn coverage_lists_what_is_missing_with_a_chart_and_the_csv() {
    let server = server().await;
    with_deposits(&server).await;
    let cookie = cell_cookie(&server).await;
    let coverage = page(&server, &cookie, "/cellule/couverture").await;
    assert!(coverage.contains("href=\"/api/v1/coverage.csv\""));
    let table = coverage.split("id=\"couverture\"").nth(1).expect("table");
    assert!(table.contains("<a href=\"/cellule/cp/75001\">75001</a>"));
    assert!(coverage.contains("<svg"), "the chart");
    assert!(
        !coverage.contains("style="),
        "no inline style under the CSP"
    );
    let missing = coverage
        .split("id=\"manquants\"")
        .nth(1)
        .expect("missing list");
    let louvois = missing
        .split("<li>")
        .find(|li| li.contains("E E PU LOUVOIS"))
        .expect("LOUVOIS misses plans");
    assert!(louvois.contains("/cellule/etablissement/0754825M"));
    assert!(louvois.contains("tag missing"));
    assert!(louvois.contains("Plan des locaux"));
}

const PAGES: &[&str] = &[
    "/cellule/",
    "/cellule",
    "/cellule/cp/75001",
    "/cellule/etablissement/0752401C",
    "/cellule/fichier/0752401C/0752401C-plan%20rdc.png",
    "/cellule/recherche?q=etienne",
    "/cellule/couverture",
];
const APIS: &[&str] = &[
    "/api/v1/tree",
    "/api/v1/tree/75001",
    "/api/v1/schools/0752401C",
    "/api/v1/coverage",
    "/api/v1/coverage.csv",
    "/api/v1/search?q=arbre",
    "/api/v1/export/75001.zip",
    "/api/v1/export/school/0752401C.zip",
];

#[tokio::test]
async fn only_the_crisis_cell_gets_in() {
    let server = server().await;
    with_deposits(&server).await;
    let school = school_cookie(&server).await;
    for path in PAGES {
        let (status, _, body) = get(&server, Some(&school), path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.contains("réservées à la cellule de crise"),
            "{path}: {text}"
        );
        assert!(!text.contains("%PDF"));
    }
    for path in APIS {
        let (status, _, body) = get(&server, Some(&school), path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"], "réservé à la cellule de crise");
    }
    assert!(server
        .audit_lines()
        .iter()
        .any(|l| l["event"] == "denied" && l["path"] == "/cellule/couverture"));

    // A visitor, and a session stopped after stage 1, are sent to the login.
    let token = server.agent("halfway").await;
    let mut halfway = server.browser().await;
    let (s, _) = halfway
        .post(
            "login/stage1",
            &stage1_body("halfway", &server.passcode(&token)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let halfway = halfway.cookie.clone().unwrap();
    for cookie in [None, Some(halfway.as_str())] {
        for path in PAGES {
            let (status, headers, _) = get(&server, cookie, path).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(header(&headers, "location"), "/connexion");
        }
        for path in APIS {
            let (status, headers, _) = get(&server, cookie, path).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
            assert!(header(&headers, "www-authenticate").starts_with("Basic"));
        }
    }
}

#[tokio::test]
async fn downloads_never_leave_the_school_folder() {
    let server = server().await;
    with_deposits(&server).await;
    let cookie = cell_cookie(&server).await;
    // Files outside ARBRE SEC's folder that a path could try to reach.
    let data = server.dir.path().join("deposits");
    std::fs::write(data.join("outside.pdf"), b"%PDF-1.4 outside").unwrap();
    let louvois = format!("{LOUVOIS}-secret.pdf");
    let addr = server.base.trim_start_matches("http://").to_string();
    let attempts = [
        format!("/cellule/fichier/{ARBRE_SEC}/../outside.pdf"),
        format!("/cellule/fichier/{ARBRE_SEC}/%2e%2e/outside.pdf"),
        format!("/cellule/fichier/{ARBRE_SEC}/%2E%2E%2Foutside.pdf"),
        format!("/cellule/fichier/{ARBRE_SEC}/..%2F{LOUVOIS}%2F{louvois}"),
        format!("/cellule/fichier/{ARBRE_SEC}/../{LOUVOIS}/{louvois}"),
        format!("/cellule/fichier/{ARBRE_SEC}/..%5C{LOUVOIS}%5C{louvois}"),
        format!("/cellule/fichier/{ARBRE_SEC}/%2Fetc%2Fpasswd"),
        format!("/cellule/fichier/{ARBRE_SEC}//etc/passwd"),
        format!("/cellule/fichier/{ARBRE_SEC}/.versions"),
        format!("/cellule/fichier/{ARBRE_SEC}/%00"),
        format!("/cellule/fichier/{ARBRE_SEC}/%FF"),
        format!("/cellule/fichier/{ARBRE_SEC}/"),
        format!("/cellule/fichier/{ARBRE_SEC}/{louvois}"),
        format!("/cellule/fichier/{LOUVOIS}/{ARBRE_SEC}-plan%20rdc.png"),
        format!("/cellule/fichier/../{LOUVOIS}/{louvois}"),
        format!("/cellule/fichier/0752401D/{ARBRE_SEC}-plan%20rdc.png"),
        format!("/cellule/fichier/{ARBRE_SEC}"),
        "/cellule/fichier/".to_string(),
    ];
    for target in &attempts {
        let mut conn = raw_http::Conn::connect(&addr).await;
        let request = raw_http::Request::new("GET", target)
            .header("Host", &addr)
            .header("Cookie", &format!("ppms_session={cookie}"))
            .header("Connection", "close");
        let response = conn.exchange(&request).await;
        let status = response.status();
        assert!(status == 400 || status == 404, "{target}: {response:?}");
        let text = response.text();
        assert!(!text.contains("%PDF"), "{target}: no file content");
        assert!(text.contains("<!doctype html>"), "{target}: a French page");
    }
    // The legitimate path to LOUVOIS's file works, under LOUVOIS's RNE.
    let (status, _, body) = get(
        &server,
        Some(&cookie),
        &format!("/cellule/fichier/{LOUVOIS}/{louvois}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, pdf_bytes("louvois"));
}

#[tokio::test]
async fn a_thousand_ranges_get_the_whole_file_once_on_both_faces() {
    let server = server().await;
    with_deposits(&server).await;
    let cookie = cell_cookie(&server).await;
    let file = pdf_bytes("arbre sec");
    let many = format!("bytes={}", vec!["0-"; 1000].join(","));
    let (status, headers, body) =
        get_with(&server, Some(&cookie), PDF_LINK, &[("Range", &many)]).await;
    assert_eq!(status, StatusCode::OK, "the Range is ignored");
    assert_eq!(body.len(), file.len());
    assert_eq!(body, file);
    assert!(header(&headers, "content-range").is_empty());
    let (status, _, body) =
        get_with(&server, Some(&cookie), PDF_LINK, &[("Range", "bytes=0-8")]).await;
    assert_eq!(
        status,
        StatusCode::PARTIAL_CONTENT,
        "one range still served"
    );
    assert_eq!(body, b"%PDF-1.4\n");

    // The same over WebDAV, with a crisis cell's mount key.
    let subject = KeySubject::CrisisCell {
        account: CELL_AGENT.into(),
    };
    let key = server.app.keys.issue(&subject, "test", None).await.unwrap();
    let url = format!(
        "{}/dav/75001/E%20E%20PU%20ARBRE%20SEC/0752401C-PPMS%20%C3%89vacuation.pdf",
        server.base
    );
    let dav_get = |range: String| {
        reqwest::Client::new()
            .get(&url)
            .basic_auth(&key.account, Some(&key.secret))
            .header("Range", range)
            .send()
    };
    let response = dav_get(many.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the Range is ignored");
    assert_eq!(response.bytes().await.unwrap().len(), file.len());
    let response = dav_get("bytes=0-8".into()).await.unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"%PDF-1.4\n");
}
