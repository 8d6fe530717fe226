//! Attacks that once worked or could: deep XML, silent connections, immortal locks, junk as
//! storage, placeholders taking content, secrets in the audit trail, misleading statuses.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOCK_BODY: &str = "<?xml version=\"1.0\"?><D:lockinfo xmlns:D=\"DAV:\"><D:lockscope>\
    <D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>";

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_string()
}

async fn raw(server: &TestServer, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr(server)).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    let read = stream.read_to_end(&mut response);
    let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
    String::from_utf8_lossy(&response).to_string()
}

fn basic(key: &ppms_depot::auth::IssuedKey) -> String {
    use base64::Engine;
    let raw = format!("{}:{}", key.account, key.secret);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

#[tokio::test]
async fn deeply_nested_xml_is_refused_and_the_server_lives() {
    let server = TestServer::start().await;
    let body = format!(
        "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:prop>{}{}</D:prop></D:propfind>",
        "<a>".repeat(5000),
        "</a>".repeat(5000)
    );
    for method in ["PROPFIND", "PROPPATCH", "LOCK"] {
        let response = server
            .req(&server.crisis, method, ARBRE_SEC_FOLDER)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::FORBIDDEN,
            "{status}"
        );
    }
    let response = server
        .req(&server.arbre_sec, "PROPFIND", "/")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("XML"));
    let health = server
        .client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn silent_connections_are_closed_after_the_header_timeout() {
    let server = TestServer::start_with(|c| c.header_timeout_secs = 1).await;
    let mut silent = tokio::net::TcpStream::connect(addr(&server)).await.unwrap();
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(4), silent.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "still open: {closed:?}"
    );
}

#[tokio::test]
async fn connections_per_address_are_bounded() {
    let server = TestServer::start_with(|c| {
        c.max_connections_per_ip = 3;
        c.header_timeout_secs = 30;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(addr(&server)).await.unwrap());
    }
    let mut extra = tokio::net::TcpStream::connect(addr(&server)).await.unwrap();
    let mut buf = [0u8; 16];
    let refused = tokio::time::timeout(Duration::from_secs(3), extra.read(&mut buf)).await;
    assert!(
        matches!(refused, Ok(Ok(0)) | Ok(Err(_))),
        "fourth accepted: {refused:?}"
    );
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = server
        .client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn locks_expire() {
    let server = TestServer::start().await;
    let lock = server
        .req(&server.arbre_sec, "LOCK", "/expire.pdf")
        .header("Timeout", "Second-1")
        .body(LOCK_BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(lock.status(), StatusCode::CREATED);
    let (status, body) = server
        .put(&server.arbre_sec, "/expire.pdf", &pdf("x"))
        .await;
    assert_eq!(status, StatusCode::LOCKED, "{body}");
    assert!(!body.trim().is_empty(), "423 carries a reason");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = server
        .put(&server.arbre_sec, "/expire.pdf", &pdf("x"))
        .await;
    assert!(status.is_success(), "{status} {body}");
}

#[tokio::test]
async fn placeholders_take_no_content_and_junk_is_bounded() {
    let server = TestServer::start().await;
    let lock = server
        .req(&server.arbre_sec, "LOCK", "/outil.exe")
        .body(LOCK_BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(lock.status(), StatusCode::CREATED);
    let token = lock.headers()["lock-token"].to_str().unwrap().to_string();
    let patch = server
        .req(&server.arbre_sec, "PATCH", "/outil.exe")
        .header("If", format!("({token})"))
        .header("Content-Type", "application/x-sabredav-partialupdate")
        .header("X-Update-Range", "append")
        .body(b"MZ\x90\0payload".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::FORBIDDEN);
    let ranged = server
        .req(&server.arbre_sec, "PUT", "/partiel.pdf")
        .header("Content-Range", "bytes 0-16/17")
        .body(pdf("x")[..17].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        ranged.status(),
        StatusCode::FORBIDDEN,
        "a ranged PUT is no deposit"
    );

    let big = vec![7u8; 100 * 1024];
    let (status, _) = server.put(&server.arbre_sec, "/._grand", &big).await;
    assert!(status.is_success());
    let back = server
        .req(&server.arbre_sec, "GET", "/._grand")
        .send()
        .await
        .unwrap();
    assert!(
        back.bytes().await.unwrap().len() <= 16 * 1024,
        "junk content is bounded"
    );
    assert!(
        server.stored_files().is_empty(),
        "{:?}",
        server.stored_files()
    );
}

#[tokio::test]
async fn the_crisis_cell_asking_for_finder_junk_gets_404() {
    let server = TestServer::start().await;
    server.put(&server.arbre_sec, "/plan.pdf", &pdf("x")).await;
    for name in [".DS_Store", "._plan.pdf", ".versions", &"a".repeat(300)] {
        let path = format!("{ARBRE_SEC_FOLDER}{name}");
        let (status, _) = server.list(&server.crisis, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}");
    }
}

#[tokio::test]
async fn a_key_typed_as_the_account_never_reaches_the_audit_trail() {
    let server = TestServer::start().await;
    let secret = server.arbre_sec.secret.clone();
    let response = server
        .client
        .put(format!("{}/plan.pdf", server.dav))
        .basic_auth(&secret, Some("ce.0752401C"))
        .body(pdf("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let long = "É".repeat(300);
    let response = server
        .client
        .put(format!("{}/plan.pdf", server.dav))
        .basic_auth(&long, Some("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let audit = std::fs::read_to_string(server.dir.path().join("state/audit.jsonl")).unwrap();
    assert!(!audit.contains(&secret));
    assert!(audit.lines().all(|l| l.len() < 1000), "{audit}");
}

#[tokio::test]
async fn lying_and_slow_bodies_get_clear_statuses() {
    let server = TestServer::start_with(|c| c.body_timeout_secs = 1).await;
    let auth = basic(&server.arbre_sec);
    let longer = format!(
        "PUT /dav/long.pdf HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\
         Transfer-Encoding: chunked\r\nX-Expected-Entity-Length: 9\r\nConnection: close\r\n\r\n\
         9\r\n%PDF-1.4 \r\n9\r\n123456789\r\n0\r\n\r\n"
    );
    let text = raw(&server, longer.as_bytes()).await;
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("plus long"), "{text}");

    let slow = format!(
        "PUT /dav/lent.pdf HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\
         Content-Length: 100\r\n\r\n%PDF-1.4"
    );
    let mut stream = tokio::net::TcpStream::connect(addr(&server)).await.unwrap();
    stream.write_all(slow.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(server.stored_files().is_empty());
}

#[tokio::test]
async fn refusals_always_say_why() {
    let server = TestServer::start().await;
    server.put(&server.arbre_sec, "/plan.pdf", &pdf("x")).await;
    let destination = format!("{}{LOUVOIS_FOLDER}0754825M-x.pdf", server.dav);
    let copy = server
        .req(&server.arbre_sec, "COPY", "/plan.pdf")
        .header("Destination", destination)
        .send()
        .await
        .unwrap();
    assert_eq!(copy.status(), StatusCode::FORBIDDEN);
    assert!(copy.text().await.unwrap().contains("copie"));
    let folder_put = server
        .put(&server.arbre_sec, ARBRE_SEC_FOLDER, &pdf("x"))
        .await;
    assert!(folder_put.0.is_client_error());
    assert!(!folder_put.1.trim().is_empty(), "{folder_put:?}");
    let unlock = server
        .req(&server.arbre_sec, "UNLOCK", "/plan.pdf")
        .header(
            "Lock-Token",
            "<urn:uuid:00000000-0000-0000-0000-000000000000>",
        )
        .send()
        .await
        .unwrap();
    assert!(unlock.status().is_client_error());
    assert!(!unlock.text().await.unwrap().trim().is_empty());
}

#[tokio::test]
async fn invisible_characters_in_names_are_refused() {
    let server = TestServer::start().await;
    for name in ["plan%E2%80%AEfdp.exe.pdf", "pl%E2%80%8Ban.pdf"] {
        let (status, body) = server
            .put(&server.arbre_sec, &format!("/{name}"), &pdf("x"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert!(body.contains("invisible"), "{body}");
    }
    assert!(server.stored_files().is_empty());
}

#[tokio::test]
async fn a_trickling_body_is_cut_off_by_the_minimum_rate() {
    let server = TestServer::start_with(|c| c.body_timeout_secs = 1).await;
    let head = format!(
        "PUT /dav/goutte.pdf HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\
         Content-Length: 100\r\n\r\n",
        basic(&server.arbre_sec)
    );
    let mut stream = tokio::net::TcpStream::connect(addr(&server)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut response = Vec::new();
    for byte in b"%PDF-1.4 trickle".iter().cycle().take(20) {
        // Never silent for a whole second, far below the minimum rate.
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        let mut buf = [0u8; 512];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(10), stream.read(&mut buf)).await
        {
            response.extend_from_slice(&buf[..n]);
            if n == 0 || response.starts_with(b"HTTP/1.1 408") {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(server.stored_files().is_empty());
}
