//! The use of mount keys in the audit trail: the first WebDAV request with a key after the
//! server starts is one `key_used` line (client address, user agent), later ones are not until
//! `key_use_audit_secs` has passed; the last use shows in the API listing and in `key list`.

#[path = "common/login_client.rs"]
mod login_client;

use std::time::{Duration, Instant};

use login_client::*;
use ppms_depot::auth::KeySubject;
use ppms_depot::directory::Rne;
use reqwest::StatusCode;
use serde_json::Value;

const USER_AGENT: &str = "Microsoft-WebDAV-MiniRedir/10.0.19045";

/// A PROPFIND Depth 0 of the school's view with `key` and [`USER_AGENT`].
async fn propfind(server: &LoginServer, key: &str) -> StatusCode {
    reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
            format!("{}/dav/", server.base),
        )
        .basic_auth(ARBRE_SEC_ACCOUNT, Some(key))
        .header("Depth", "0")
        .header("User-Agent", USER_AGENT)
        .send()
        .await
        .unwrap()
        .status()
}

fn key_used(server: &LoginServer) -> Vec<Value> {
    server
        .audit_lines()
        .into_iter()
        .filter(|l| l["event"] == "key_used")
        .collect()
}

/// The `key_used` lines once there are `count` of them (the record is written beside the
/// request, so it may land just after the answer).
async fn wait_for_lines(server: &LoginServer, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines = key_used(server);
        if lines.len() >= count || Instant::now() > deadline {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_key_use_is_audited_once_per_interval_with_address_and_agent() {
    assert_eq!(
        ppms_depot::config::Config::load(None)
            .unwrap()
            .key_use_audit_secs,
        3600,
        "documented default"
    );
    let server = LoginServer::start(|config, _| config.key_use_audit_secs = 2).await;
    let school = KeySubject::School {
        account: ARBRE_SEC_ACCOUNT.into(),
        rne: Rne::parse("0752401C").unwrap(),
    };
    let key = server.app.keys.issue(&school, "PC", None).await.unwrap();
    let listed = server.app.keys.list().await.unwrap();
    assert_eq!(listed[0].last_used_at, None, "never used yet");

    for _ in 0..5 {
        assert_eq!(propfind(&server, &key.secret).await.as_u16(), 207);
    }
    let lines = wait_for_lines(&server, 1).await;
    // Give a wrongly spawned second record the time to land too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lines_after = key_used(&server);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(
        lines_after.len(),
        1,
        "five requests, one line: {lines_after:?}"
    );
    let line = &lines[0];
    assert_eq!(line["principal"], ARBRE_SEC_ACCOUNT);
    assert_eq!(line["role"], "school");
    assert_eq!(line["rne"], "0752401C");
    assert_eq!(line["client_ip"], "127.0.0.1");
    assert_eq!(line["user_agent"], USER_AGENT);
    assert_eq!(line["reason"], format!("key {}", key.id));
    assert!(!server.audit_text().contains(&key.secret));

    let record = server.app.keys.list().await.unwrap().remove(0);
    let used_at = record.last_used_at.expect("last use written");
    assert!((used_at - time::OffsetDateTime::now_utc().unix_timestamp()).abs() < 60);
    assert_eq!(record.last_used_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(record.last_used_user_agent.as_deref(), Some(USER_AGENT));

    // A refused key is no use.
    assert_eq!(
        propfind(&server, "aaaa-bbbb-cccc-dddd").await,
        StatusCode::UNAUTHORIZED
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(propfind(&server, &key.secret).await.as_u16(), 207);
    let lines = wait_for_lines(&server, 2).await;
    assert_eq!(lines.len(), 2, "one more line once the interval passed");

    // `key list` shows the last use and where from.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ppms-depot"))
        .args(["key", "list"])
        .env("PPMS_DEPOT_STATE_DIR", server.dir.path().join("state"))
        .env("PPMS_DEPOT_DATA_DIR", server.dir.path().join("deposits"))
        .env("PPMS_DEPOT_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let row = text
        .lines()
        .find(|l| l.starts_with(&key.id))
        .unwrap_or_else(|| panic!("{text}"));
    let day = time::OffsetDateTime::from_unix_timestamp(used_at)
        .unwrap()
        .date()
        .to_string();
    assert!(row.contains("127.0.0.1"), "{row}");
    assert!(
        row.matches(&day).count() >= 2,
        "issued and last used today: {row}"
    );
    assert!(text.contains("last used"), "{text}");
}
