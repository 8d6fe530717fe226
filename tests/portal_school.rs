//! The school side of the portal over HTTP: the deposit form without JavaScript (multipart,
//! streamed), the `PUT /api/v1/deposits/{name}` the page's script uses, the listing on the page
//! and in `GET /api/v1/deposits`, versions, refusals in French (type, size, quota, kind, CSRF),
//! who may not deposit (visitors, the crisis cell), a form cut mid-file, and the login pages in
//! the portal's shell (stages, mount key, revocation).

#[path = "common/login_client.rs"]
mod login_client;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use login_client::*;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION};
use reqwest::{Client, StatusCode};
use serde_json::Value;

const RNE: &str = "0752401C";
const BOUNDARY: &str = "----ppmsTestBoundary7MA4YWxkTrZu0gW";

/// A small PDF (the content check wants `%PDF-`).
fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n").into_bytes()
}

/// A PNG signature followed by `len - 8` bytes.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len.max(8), 7);
    bytes
}

/// A school logged in through the three stages, with its cookie and CSRF token.
struct School {
    cookie: String,
    csrf: String,
}

async fn school_server(
    adjust: impl FnOnce(&mut ppms_depot::config::Config, &std::path::Path),
) -> LoginServer {
    let server = LoginServer::start(adjust).await;
    server
        .app
        .login
        .passwords
        .set(ARBRE_SEC_ACCOUNT, ARBRE_SEC_PASSWORD)
        .await
        .unwrap();
    server
}

async fn login_school(server: &LoginServer) -> School {
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    let state = server.full_login(&mut browser, "jdupont", &token).await;
    assert_eq!(state["role"], "school", "{state}");
    School {
        cookie: format!("ppms_session={}", browser.cookie.clone().expect("cookie")),
        csrf: browser.csrf.clone(),
    }
}

/// A policy file with small limits, in the server's temp dir.
fn small_policy(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("small.toml");
    std::fs::write(&path, "max_file_bytes = 1024\nschool_quota_bytes = 3000\n").unwrap();
    path
}

/// A `multipart/form-data` body: (field name, file name, content) in order.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, content) in parts {
        write!(
            body,
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\""
        )
        .unwrap();
        match file {
            Some(file) => write!(
                body,
                "; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .unwrap(),
            None => body.extend_from_slice(b"\r\n\r\n"),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{BOUNDARY}--\r\n").unwrap();
    body
}

async fn post_form(server: &LoginServer, cookie: &str, body: Vec<u8>) -> (StatusCode, String) {
    let response = Client::new()
        .post(format!("{}/depot", server.base))
        .header(COOKIE, cookie)
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// `PUT /api/v1/deposits/{name}?kind=...` as the page's script sends it.
async fn put(
    server: &LoginServer,
    school: &School,
    name: &str,
    kind: &str,
    body: Vec<u8>,
    csrf: bool,
) -> (StatusCode, Value) {
    let mut request = Client::new()
        .put(format!(
            "{}/api/v1/deposits/{name}?kind={kind}",
            server.base
        ))
        .header(COOKIE, &school.cookie)
        .header("User-Agent", "portal-test/1.0")
        .body(body);
    if csrf {
        request = request.header("X-CSRF-Token", &school.csrf);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(server: &LoginServer, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.get(format!("{}{path}", server.base));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.unwrap()
}

fn school_dir(server: &LoginServer) -> PathBuf {
    server.dir.path().join("deposits").join(RNE)
}

/// The record of version `n` of a stored name.
fn record(server: &LoginServer, name: &str, n: u32) -> Value {
    let path = school_dir(server)
        .join(".versions")
        .join(name)
        .join(format!("{n}.json"));
    serde_json::from_slice(&std::fs::read(&path).expect("record")).expect("record JSON")
}

/// Files directly in the school folder (hidden entries left out).
fn stored_names(server: &LoginServer) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(school_dir(server)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// Files in the store's temp folder (uploads in progress or abandoned).
fn temp_files(server: &LoginServer) -> usize {
    std::fs::read_dir(server.dir.path().join("deposits/.tmp"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_form_without_javascript_deposits_two_files_with_their_kind() {
    let server = school_server(|_, _| {}).await;
    let school = login_school(&server).await;
    let page = get(&server, "/depot", Some(&school.cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for needle in [
        "enctype=\"multipart/form-data\"",
        "id=\"fichiers\"",
        "name=\"fichiers\"",
        "multiple",
        "name=\"kind\"",
        "value=\"plan-locaux\"",
        ">Déposer</button>",
        "id=\"depots\"",
        "/static/depot.js",
        &format!("data-csrf=\"{}\"", school.csrf),
    ] {
        assert!(html.contains(needle), "{needle} missing from the page");
    }

    let plan = pdf("plan des locaux, rez-de-chaussée");
    let photo = png(3000);
    let body = multipart(&[
        ("csrf", None, school.csrf.as_bytes()),
        ("kind", None, b"plan-locaux"),
        ("fichiers", Some("plan RDC.pdf"), &plan),
        ("fichiers", Some("façade.png"), &photo),
    ]);
    let (status, html) = post_form(&server, &school.cookie, body).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("0752401C-plan RDC.pdf"), "{html}");
    assert!(html.contains("déposé (version 1)"), "{html}");

    let names = stored_names(&server);
    assert_eq!(names, ["0752401C-façade.png", "0752401C-plan RDC.pdf"]);
    assert_eq!(
        std::fs::read(school_dir(&server).join("0752401C-plan RDC.pdf")).unwrap(),
        plan
    );
    assert_eq!(
        std::fs::read(school_dir(&server).join("0752401C-façade.png")).unwrap(),
        photo
    );
    for name in &names {
        let record = record(&server, name, 1);
        assert_eq!(record["kind"], "plan-locaux", "{record}");
        assert_eq!(record["principal"], ARBRE_SEC_ACCOUNT);
    }
    // The same audit lines as a WebDAV deposit, naming the school, the address and the role.
    let deposits: Vec<Value> = server
        .audit_lines()
        .into_iter()
        .filter(|l| l["event"] == "deposit" && l["outcome"] == "ok")
        .collect();
    assert_eq!(deposits.len(), 2, "{deposits:?}");
    for line in &deposits {
        assert_eq!(line["role"], "school");
        assert_eq!(line["rne"], RNE);
        assert_eq!(line["client_ip"], "127.0.0.1");
        assert!(line["sha256"].as_str().is_some_and(|h| h.len() == 64));
    }

    // The listing on the page shows them with their kind.
    let html = get(&server, "/depot", Some(&school.cookie))
        .await
        .text()
        .await
        .unwrap();
    let table = &html[html.find("id=\"depots\"").unwrap()..];
    assert!(table.contains("0752401C-plan RDC.pdf") && table.contains("Plan des locaux"));
}

#[tokio::test]
async fn the_api_deposits_lists_and_keeps_versions() {
    let server = school_server(|_, _| {}).await;
    let school = login_school(&server).await;
    let first = pdf("PPMS version 1");
    let (status, stored) = put(
        &server,
        &school,
        "PPMS%202030.pdf",
        "ppms",
        first.clone(),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!(stored["stored_name"], "0752401C-PPMS 2030.pdf");
    assert_eq!(stored["version"], 1);
    assert_eq!(stored["bytes"], first.len());
    assert_eq!(stored["kind"], "ppms");
    assert_eq!(stored["new_version"], true);
    let sha = stored["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    let audit = server.audit_lines();
    let line = audit
        .iter()
        .find(|l| l["event"] == "deposit" && l["outcome"] == "ok")
        .expect("a deposit audit line");
    assert_eq!(line["user_agent"], "portal-test/1.0");
    assert_eq!(line["role"], "school");

    // The same content again: nothing new (200); other content: version 2, version 1 kept.
    let (status, again) = put(
        &server,
        &school,
        "PPMS%202030.pdf",
        "ppms",
        first.clone(),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["new_version"], false);
    assert_eq!(again["version"], 1);
    let second = pdf("PPMS version 2, mise à jour");
    let (status, v2) = put(
        &server,
        &school,
        "PPMS%202030.pdf",
        "ppms",
        second.clone(),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["version"], 2);
    let name = "0752401C-PPMS 2030.pdf";
    assert_eq!(
        std::fs::read(school_dir(&server).join(name)).unwrap(),
        second
    );
    let kept = school_dir(&server).join(".versions").join(name).join("1");
    assert_eq!(
        std::fs::read(kept).unwrap(),
        first,
        "the old version is kept"
    );
    assert_eq!(record(&server, name, 2)["kind"], "ppms");

    let response = get(&server, "/api/v1/deposits", Some(&school.cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let rows = list["deposits"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["stored_name"], name);
    assert_eq!(rows[0]["bytes"], second.len());
    assert_eq!(rows[0]["version"], 2);
    assert_eq!(rows[0]["versions"], 2);
    assert_eq!(rows[0]["kind"], "ppms");
    assert_eq!(rows[0]["kind_label"], "PPMS");
    assert_eq!(rows[0]["sha256"], v2["sha256"]);
    assert!(rows[0]["deposited_at"].as_str().unwrap().starts_with("20"));

    let html = get(&server, "/depot", Some(&school.cookie))
        .await
        .text()
        .await
        .unwrap();
    let table = &html[html.find("id=\"depots\"").unwrap()..];
    let short = &v2["sha256"].as_str().unwrap()[..12];
    assert!(table.contains(name) && table.contains(short), "{table}");
}

#[tokio::test]
async fn names_differing_only_in_case_are_versions_of_one_stored_name() {
    let server = school_server(|_, _| {}).await;
    let school = login_school(&server).await;
    for (n, name) in ["PLAN.PDF", "plan.pdf", "Plan.pdf"].into_iter().enumerate() {
        let body = pdf(&format!("plan, version {}", n + 1));
        let (status, json) = put(&server, &school, name, "ppms", body.clone(), true).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {json}");
        assert_eq!(json["version"], n + 1, "{name}: {json}");
        assert_eq!(
            std::fs::read(school_dir(&server).join("0752401C-PLAN.PDF")).unwrap(),
            body
        );
    }
    assert_eq!(stored_names(&server), ["0752401C-PLAN.PDF"]);
    let response = get(&server, "/api/v1/deposits", Some(&school.cookie)).await;
    let list: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let rows = list["deposits"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["stored_name"], "0752401C-PLAN.PDF");
    assert_eq!(rows[0]["versions"], 3);
}

#[tokio::test]
async fn refusals_say_why_in_french_and_store_nothing() {
    let server = school_server(|config, dir| config.policy_file = small_policy(dir)).await;
    let school = login_school(&server).await;

    let (status, body) = put(
        &server,
        &school,
        "virus.exe",
        "ppms",
        b"MZ\x90\0".to_vec(),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert!(body["error"].as_str().unwrap().contains("exe"), "{body}");

    let (status, body) = put(&server, &school, "faux.pdf", "ppms", png(200), true).await;
    assert_eq!(
        status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "content check: {body}"
    );

    let (status, body) = put(&server, &school, "gros.png", "ppms", png(2000), true).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));

    let (status, body) = put(&server, &school, "plan.pdf", "inconnu", pdf("x"), true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("type de plan"),
        "{body}"
    );

    let (status, body) = put(&server, &school, "plan.pdf", "ppms", pdf("x"), false).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("CSRF"), "{body}");
    assert!(
        stored_names(&server).is_empty(),
        "nothing stored by refusals"
    );

    // The quota (3000 bytes): three files of 1000 bytes fit, a fourth does not.
    for n in 1..=3 {
        let (status, body) = put(
            &server,
            &school,
            &format!("p{n}.png"),
            "autre",
            png(1000),
            true,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = put(&server, &school, "p4.png", "autre", png(1000), true).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert_eq!(stored_names(&server).len(), 3);

    // The form reports each file's own outcome next to its name.
    let body = multipart(&[
        ("csrf", None, school.csrf.as_bytes()),
        ("kind", None, b"ppms"),
        ("fichiers", Some("notes.exe"), b"MZ"),
    ]);
    let (status, html) = post_form(&server, &school.cookie, body).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{html}");
    let results = &html[html.find("id=\"resultats\"").expect("results")..];
    assert!(
        results.contains("notes.exe") && results.contains("erreur 415"),
        "{results}"
    );

    let body = multipart(&[
        ("csrf", None, b"forged-token"),
        ("kind", None, b"ppms"),
        ("fichiers", Some("plan.pdf"), &pdf("forged")),
    ]);
    let (status, _) = post_form(&server, &school.cookie, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body = multipart(&[("fichiers", Some("plan.pdf"), &pdf("no token"))]);
    let (status, _) = post_form(&server, &school.cookie, body).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a file before the token is refused"
    );
    assert_eq!(stored_names(&server).len(), 3, "nothing more stored");
    assert_eq!(temp_files(&server), 0, "no upload left behind");
}

#[tokio::test]
async fn visitors_and_the_crisis_cell_do_not_deposit() {
    let server = school_server(|config, dir| {
        let roles = dir.join("roles.toml");
        std::fs::write(&roles, "crisis_cell = [\"mcellule\"]\n").unwrap();
        config.roles_file = roles;
    })
    .await;
    let page = get(&server, "/depot", None).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[LOCATION], "/connexion");
    // A page that does not exist is a portal page, not a bare line of text.
    let missing = get(&server, "/plans-perdus", None).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(missing.text().await.unwrap().contains("Page introuvable"));
    let list = get(&server, "/api/v1/deposits", None).await;
    assert_eq!(list.status(), StatusCode::UNAUTHORIZED);
    let put = Client::new()
        .put(format!(
            "{}/api/v1/deposits/plan.pdf?kind=ppms",
            server.base
        ))
        .body(pdf("anonyme"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::UNAUTHORIZED);

    // A session half-way through the stages is not logged in.
    let token = server.agent("jdupont").await;
    let mut half = server.browser().await;
    let (s, _) = half
        .post(
            "login/stage1",
            &stage1_body("jdupont", &server.passcode(&token)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let cookie = format!("ppms_session={}", half.cookie.clone().unwrap());
    assert_eq!(
        get(&server, "/depot", Some(&cookie)).await.status(),
        StatusCode::SEE_OTHER
    );

    // A crisis-cell member, logged in, is told this page is for establishments.
    server
        .app
        .login
        .passwords
        .set("mcellule", "mot-de-passe-cellule")
        .await
        .unwrap();
    let cell_token = server.agent("mcellule").await;
    let mut cell = server.browser().await;
    let (s, _) = cell
        .post(
            "login/stage1",
            &stage1_body("mcellule", &server.passcode(&cell_token)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    server.clock.advance(30);
    let (s, _) = cell
        .post(
            "login/stage2",
            &passcode_body(&server.passcode(&cell_token)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, state) = cell
        .post(
            "login/stage3",
            &stage3_body("mcellule", "mot-de-passe-cellule"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{state}");
    assert_eq!(state["role"], "crisis_cell");
    let cookie = format!("ppms_session={}", cell.cookie.clone().unwrap());
    let page = get(&server, "/depot", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("réservé aux établissements"));
    assert_eq!(
        get(&server, "/api/v1/deposits", Some(&cookie))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let put = Client::new()
        .put(format!(
            "{}/api/v1/deposits/plan.pdf?kind=ppms",
            server.base
        ))
        .header(COOKIE, &cookie)
        .header("X-CSRF-Token", &cell.csrf)
        .body(pdf("cellule"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::FORBIDDEN);
    assert!(stored_names(&server).is_empty());
}

#[tokio::test]
async fn a_form_cut_mid_file_stores_nothing() {
    use tokio::io::AsyncWriteExt;

    let server = school_server(|config, _| config.body_timeout_secs = 2).await;
    let school = login_school(&server).await;
    let big = pdf(&"plan ".repeat(20_000));
    let body = multipart(&[
        ("csrf", None, school.csrf.as_bytes()),
        ("kind", None, b"ppms"),
        ("fichiers", Some("coupé.pdf"), &big),
    ]);
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /depot HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        school.cookie,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..body.len() / 2]).await.unwrap();
    stream.flush().await.unwrap();
    // The client goes away half-way through the file.
    drop(stream);

    let mut interrupted = false;
    for _ in 0..50 {
        interrupted = server
            .audit_lines()
            .iter()
            .any(|l| l["event"] == "deposit" && l["outcome"] == "interrupted");
        if interrupted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(interrupted, "{}", server.audit_text());
    assert!(stored_names(&server).is_empty(), "nothing stored");
    assert_eq!(temp_files(&server), 0, "the partial upload is removed");
    assert!(!server
        .audit_lines()
        .iter()
        .any(|l| l["event"] == "deposit" && l["outcome"] == "ok"));
}

#[tokio::test]
async fn a_part_header_of_100_mib_is_refused_early_and_a_normal_form_still_works() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = school_server(|_, _| {}).await;
    let school = login_school(&server).await;
    // One header line of 100 MiB in the CSRF part: the parser would keep it all in memory.
    const PAD: usize = 100 << 20;
    let head = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\nX-Pad: ");
    let tail = format!("\r\n\r\n{}\r\n--{BOUNDARY}--\r\n", school.csrf);
    let addr = server.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let request = format!(
        "POST /depot HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        school.cookie,
        head.len() + PAD + tail.len()
    );
    let started = std::time::Instant::now();
    // The body goes out as fast as the server reads it; once refused, writes may fail.
    let sender = tokio::spawn(async move {
        writer.write_all(request.as_bytes()).await?;
        writer.write_all(head.as_bytes()).await?;
        let pad = vec![b'a'; 64 * 1024];
        for _ in 0..PAD / pad.len() {
            writer.write_all(&pad).await?;
        }
        writer.write_all(tail.as_bytes()).await?;
        writer.flush().await
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if String::from_utf8_lossy(&answer).contains("</html>") {
                break;
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    sender.abort();
    assert!(read.is_ok(), "no answer within 20 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("en-têtes de partie trop longs")
            && answer.contains("rien n&#39;a été déposé"),
        "{answer}"
    );
    assert!(
        elapsed < Duration::from_secs(10),
        "refused after {elapsed:?}"
    );
    assert!(stored_names(&server).is_empty(), "nothing stored");
    assert_eq!(temp_files(&server), 0, "no upload left behind");

    // A browser's form, with long lines in its files, goes through as before.
    let mut text = vec![b'x'; 200_000];
    text.extend_from_slice(b"\r\n\r\n\r\n");
    text.extend(std::iter::repeat_n(b'y', 50_000));
    let plan = pdf(std::str::from_utf8(&text).unwrap());
    let photo = png(3000);
    let body = multipart(&[
        ("csrf", None, school.csrf.as_bytes()),
        ("kind", None, b"plan-locaux"),
        ("fichiers", Some("plan.pdf"), &plan),
        ("fichiers", Some("photo.png"), &photo),
    ]);
    let (status, html) = post_form(&server, &school.cookie, body).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        stored_names(&server),
        ["0752401C-photo.png", "0752401C-plan.pdf"]
    );
    assert_eq!(
        std::fs::read(school_dir(&server).join("0752401C-plan.pdf")).unwrap(),
        plan
    );
}

#[tokio::test]
async fn the_login_pages_live_in_the_portal_and_manage_keys() {
    let server = school_server(|config, _| {
        config.helpdesk_contact = "Assistance : 01 23 45 67 89 (8 h – 18 h)".into();
    })
    .await;
    let home = get(&server, "/", None).await.text().await.unwrap();
    assert!(
        home.contains("Marche à suivre") && home.contains("RNE-"),
        "{home}"
    );
    assert!(
        home.contains("01 23 45 67 89"),
        "the configured helpdesk contact"
    );

    let client = Client::new();
    let response = get(&server, "/connexion", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    let mut cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = response.text().await.unwrap();
    assert!(page.contains("/static/portal.css") && page.contains("Étape 1 sur 3"));
    for name in ["personal_id", "passcode"] {
        assert!(page.contains(&format!("name=\"{name}\"")), "{name}");
    }
    let mut csrf = field_value(&page, "csrf");
    let token = server.agent("jdupont").await;
    let submit = |path: &'static str, cookie: String, fields: String| {
        let request = client
            .post(format!("{}{path}", server.base))
            .header(COOKIE, cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(fields);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let set = response
                .headers()
                .get("set-cookie")
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
            (status, set, response.text().await.unwrap())
        }
    };
    let fields = format!(
        "stage=1&personal_id=jdupont&passcode={}&csrf={csrf}",
        server.passcode(&token)
    );
    let (s, _, page) = submit("/connexion", cookie.clone(), fields).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("Étape 2 sur 3"));
    server.clock.advance(30);
    let fields = format!("stage=2&passcode={}&csrf={csrf}", server.passcode(&token));
    let (s, _, page) = submit("/connexion", cookie.clone(), fields).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("name=\"account\"") && page.contains("name=\"password\""));
    let fields =
        format!("stage=3&account={ARBRE_SEC_ACCOUNT}&password={ARBRE_SEC_PASSWORD}&csrf={csrf}");
    let (s, set, page) = submit("/connexion", cookie.clone(), fields).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    cookie = set.expect("a new session at login");
    csrf = field_value(&page, "csrf");
    assert!(
        page.contains("href=\"/depot\"") && page.contains("PPMS et plans"),
        "after stage 3 a school is offered PPMS et plans"
    );
    assert!(page.contains("Connecter un lecteur réseau") && page.contains("name=\"label\""));

    let (s, _, page) = submit(
        "/connexion/cle",
        cookie.clone(),
        format!("label=PC+direction&csrf={csrf}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let start = page.find("Clé : <code>").expect("the key") + "Clé : <code>".len();
    let key = page[start..].split('<').next().unwrap().to_string();
    for system in ["Windows", "macOS", "davfs2", "rclone", "/dav/"] {
        assert!(page.contains(system), "{system} instructions");
    }
    assert!(page.contains("PC direction"), "the key is listed");
    assert_eq!(
        server
            .dav("PROPFIND", "/", ARBRE_SEC_ACCOUNT, &key)
            .await
            .as_u16(),
        207
    );
    let id = field_value(&page[page.find("id=\"cles\"").unwrap()..], "id");
    let (s, _, page) = submit(
        "/connexion/revoquer",
        cookie.clone(),
        format!("id={id}&csrf={csrf}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("Clé révoquée") && page.contains("révoquée le"));
    assert_eq!(
        server.dav("PROPFIND", "/", ARBRE_SEC_ACCOUNT, &key).await,
        StatusCode::UNAUTHORIZED
    );
    let (s, _, _) = submit(
        "/connexion/revoquer",
        cookie.clone(),
        format!("id={id}&csrf=forged"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "revocation needs the CSRF field");

    let (s, set, page) = submit(
        "/connexion/deconnexion",
        cookie.clone(),
        format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("déconnecté"));
    assert_eq!(
        set.as_deref(),
        Some("ppms_session="),
        "the cookie is cleared"
    );
    let after = get(&server, "/depot", Some(&cookie)).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "the session is over");

    let script = get(&server, "/static/depot.js", None).await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("X-CSRF-Token"));
}

/// The value of the first hidden field `name` in a page.
fn field_value(page: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} field"))
        + needle.len();
    page[start..].split('"').next().unwrap().to_string()
}
