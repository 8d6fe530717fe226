//! Bad input: each gets a clear status and message, and nothing partial is stored.

mod common;

use common::*;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends raw request bytes (so paths are not normalised by a client library) and returns the
/// status code and the whole response text.
async fn raw(server: &TestServer, request: &[u8]) -> (u16, String) {
    let addr = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut response),
    )
    .await;
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn auth(key: &ppms_depot::auth::IssuedKey) -> String {
    use base64::Engine;
    let raw = format!("{}:{}", key.account, key.secret);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

#[tokio::test]
async fn traversal_in_every_encoding_is_refused() {
    let server = TestServer::start().await;
    server
        .put(&server.louvois, "/secret.pdf", &pdf("louvois"))
        .await;
    let paths = [
        "/dav/../state/state.db",
        "/dav/%2e%2e/%2e%2e/etc/passwd",
        "/dav/75002/E%20E%20PU%20LOUVOIS%2f0754825M-secret.pdf",
        "/dav/..%5c..%5cetc%5cpasswd",
        "/dav/a\\..\\b.pdf",
        "/dav/plan%00.pdf",
        "/dav/%c0%ae%c0%ae/x.pdf",
        "/dav/%ff%fe.pdf",
    ];
    for path in paths {
        for method in ["GET", "PUT", "PROPFIND"] {
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\
                 Content-Length: 5\r\nConnection: close\r\n\r\n%PDF-",
                auth(&server.arbre_sec)
            );
            let (status, text) = raw(&server, request.as_bytes()).await;
            assert_eq!(status, 400, "{method} {path}: {text}");
            assert!(text.contains("chemin invalide"), "{method} {path}: {text}");
        }
    }
    let files = server.stored_files();
    assert!(
        files.iter().all(|f| f.starts_with("0754825M/")),
        "{files:?}"
    );
}

#[tokio::test]
async fn names_too_long_once_prefixed_are_refused() {
    let server = TestServer::start().await;
    let name = format!("{}.pdf", "a".repeat(250));
    let (status, body) = server
        .put(&server.arbre_sec, &format!("/{name}"), &pdf("x"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("trop long"), "{body}");
    assert!(server.stored_files().is_empty());
}

#[tokio::test]
async fn unknown_revoked_and_wrong_credentials_get_401() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/plan.pdf", server.dav);
    let cases = [
        (
            "ce.0752401C",
            "aaaa-bbbb-cccc-dddd-eeee-ffff-gggg-hhhh".to_string(),
        ),
        ("ce.0754825M", server.arbre_sec.secret.clone()),
        ("ce.0752401C", String::new()),
    ];
    for (account, secret) in cases {
        let response = client
            .put(&url)
            .basic_auth(account, Some(secret))
            .body(pdf("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key("www-authenticate"));
    }
    assert!(server.app.keys.revoke(&server.arbre_sec.id).await.unwrap());
    let (status, _) = server.put(&server.arbre_sec, "/plan.pdf", &pdf("x")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked key stops on the next request"
    );
    assert!(server.stored_files().is_empty());
    let failures = server
        .audit_lines()
        .into_iter()
        .filter(|l| l["event"] == "auth_failed")
        .count();
    assert_eq!(failures, 4);
    // A client retrying a wrong key forever writes a few lines a minute, not one per try.
    for _ in 0..20 {
        let response = client
            .put(&url)
            .basic_auth("ce.0752401C", Some("wrong"))
            .body(pdf("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let failures = server
        .audit_lines()
        .into_iter()
        .filter(|l| l["event"] == "auth_failed")
        .count();
    assert_eq!(failures, 5, "five lines per address and minute");
}

fn small_policy(max_file: u64, quota: u64) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let text = format!("max_file_bytes = {max_file}\nschool_quota_bytes = {quota}\n");
    std::fs::write(file.path(), text).unwrap();
    file
}

#[tokio::test]
async fn too_large_bodies_get_413_and_leave_nothing() {
    let policy = small_policy(1000, 5000);
    let server = TestServer::start_with(|c| c.policy_file = policy.path().to_path_buf()).await;
    let mut big = pdf("big");
    big.resize(1001, b' ');
    let (status, body) = server.put(&server.arbre_sec, "/big.pdf", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(!body.trim().is_empty());

    // Chunked, no length announced: refused while streaming.
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = (0..4)
        .map(|_| Ok(bytes::Bytes::from(big.clone())))
        .collect();
    let stream = futures_util::stream::iter(chunks);
    let response = server
        .req(&server.arbre_sec, "PUT", "/big2.pdf")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert!(
        server.stored_files().is_empty(),
        "{:?}",
        server.stored_files()
    );
    assert_eq!(
        std::fs::read_dir(server.data_dir().join(".tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn quota_is_enforced_with_507() {
    let policy = small_policy(1000, 1500);
    let server = TestServer::start_with(|c| c.policy_file = policy.path().to_path_buf()).await;
    let mut file = pdf("q");
    file.resize(800, b' ');
    let (status, _) = server.put(&server.arbre_sec, "/a.pdf", &file).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = server.put(&server.arbre_sec, "/b.pdf", &file).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert_eq!(
        server.stored_files().len(),
        3,
        "{:?}",
        server.stored_files()
    );
}

#[tokio::test]
async fn forbidden_types_and_mismatched_content_get_415() {
    let server = TestServer::start().await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let cases: [(&str, &[u8]); 3] = [
        ("/virus.exe", b"MZ\x90\0"),
        ("/plan.pdf", &png),
        ("/sans-extension", b"%PDF-1.4"),
    ];
    for (path, content) in cases {
        let (status, body) = server.put(&server.arbre_sec, path, content).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{path}: {body}");
        assert!(!body.trim().is_empty());
    }
    assert!(
        server.stored_files().is_empty(),
        "{:?}",
        server.stored_files()
    );
    let refused = server
        .audit_lines()
        .into_iter()
        .filter(|l| l["event"] == "deposit" && l["outcome"] == "refused")
        .count();
    assert_eq!(refused, 3);
}

#[tokio::test]
async fn a_client_that_disconnects_mid_upload_stores_nothing() {
    let server = TestServer::start().await;
    let request = format!(
        "PUT /dav/coupe.pdf HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\
         Content-Length: 1000000\r\n\r\n%PDF-1.4 partial content",
        auth(&server.arbre_sec)
    );
    {
        let addr = server.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        stream.write_all(&vec![b'x'; 300_000]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let mut interrupted = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        interrupted = server
            .audit_lines()
            .iter()
            .any(|l| l["event"] == "deposit" && l["outcome"] == "interrupted");
        if interrupted {
            break;
        }
    }
    assert!(interrupted, "audit: {:?}", server.audit_lines());
    assert!(
        server.stored_files().is_empty(),
        "{:?}",
        server.stored_files()
    );
    assert_eq!(
        std::fs::read_dir(server.data_dir().join(".tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn a_body_shorter_than_announced_is_not_stored() {
    let server = TestServer::start().await;
    let request = format!(
        "PUT /dav/court.pdf HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\
         Transfer-Encoding: chunked\r\nX-Expected-Entity-Length: 500\r\nConnection: close\r\n\r\n\
         9\r\n%PDF-1.4 \r\n0\r\n\r\n",
        auth(&server.arbre_sec)
    );
    let (status, text) = raw(&server, request.as_bytes()).await;
    assert_eq!(status, 400, "{text}");
    assert!(server.stored_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_by_another_process_stops_on_the_next_request() {
    let server = TestServer::start().await;
    for _ in 0..3 {
        let (status, _) = server.list(&server.arbre_sec, "/").await;
        assert_eq!(status.as_u16(), 207, "the key works and is cached");
    }
    let state = server.dir.path().join("state");
    let id = server.arbre_sec.id.clone();
    let revoked = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ppms-depot"))
            .args(["key", "revoke", &id])
            .env("PPMS_DEPOT_STATE_DIR", state)
            .env("PPMS_DEPOT_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(revoked.status.success(), "{revoked:?}");
    let (status, _) = server.list(&server.arbre_sec, "/").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server.list(&server.louvois, "/").await;
    assert_eq!(status.as_u16(), 207, "other keys still work");
}
