//! The deposit rules over HTTP: where a school's PUT lands, who sees it, what is refused.

mod common;

use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn school_deposit_lands_prefixed_and_crisis_cell_sees_it() {
    let server = TestServer::start().await;
    let put = server
        .req(&server.arbre_sec, "PUT", "/plan.pdf")
        .body(pdf("a"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(
        put.headers()["content-location"],
        "/dav/75001/E%20E%20PU%20ARBRE%20SEC/0752401C%2Dplan%2Epdf"
    );
    assert!(server
        .stored_files()
        .contains(&"0752401C/0752401C-plan.pdf".to_string()));

    let (status, body) = server.list(&server.crisis, ARBRE_SEC_FOLDER).await;
    assert_eq!(status.as_u16(), 207);
    assert!(
        body.contains("/dav/75001/E%20E%20PU%20ARBRE%20SEC/0752401C-plan.pdf"),
        "{body}"
    );
    let (_, root) = server.list(&server.crisis, "/").await;
    assert!(root.contains("/dav/75001/"), "{root}");
    assert!(
        !root.contains("/dav/75002/"),
        "no deposit in 75002 yet: {root}"
    );

    let get = server
        .req(
            &server.crisis,
            "GET",
            &format!("{ARBRE_SEC_FOLDER}0752401C-plan.pdf"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.bytes().await.unwrap().to_vec(), pdf("a"));

    let (status, _) = server.list(&server.louvois, ARBRE_SEC_FOLDER).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, louvois_root) = server.list(&server.louvois, "/").await;
    assert!(!louvois_root.contains("75001"), "{louvois_root}");
    let get = server
        .req(
            &server.louvois,
            "GET",
            &format!("{ARBRE_SEC_FOLDER}0752401C-plan.pdf"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn school_sees_only_its_own_branch() {
    let server = TestServer::start().await;
    let (_, root) = server.list(&server.arbre_sec, "/").await;
    assert!(root.contains("<D:href>/dav/75001/</D:href>"), "{root}");
    assert_eq!(root.matches("<D:response>").count(), 2, "{root}");
    let (_, cp) = server.list(&server.arbre_sec, "/75001/").await;
    assert!(cp.contains(ARBRE_SEC_FOLDER), "{cp}");
    assert_eq!(
        cp.matches("<D:response>").count(),
        2,
        "only its folder: {cp}"
    );
    let (status, _) = server.list(&server.arbre_sec, "/75002/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unprefixed_and_prefixed_names_reach_one_file() {
    let server = TestServer::start().await;
    for path in ["/a/b/c.pdf", &format!("{ARBRE_SEC_FOLDER}0752401C-c.pdf")] {
        let (status, body) = server.put(&server.arbre_sec, path, &pdf(path)).await;
        assert!(status.is_success(), "{path}: {status} {body}");
    }
    let (status, body) = server.list(&server.arbre_sec, "/c.pdf").await;
    assert_eq!(status.as_u16(), 207);
    assert!(
        body.contains("<P:version xmlns:P=\"urn:x-ppms-depot:\">2</P:version>"),
        "{body}"
    );
    assert_eq!(
        server
            .stored_files()
            .iter()
            .filter(|f| !f.contains(".versions"))
            .count(),
        1,
        "{:?}",
        server.stored_files()
    );
}

#[tokio::test]
async fn redeposit_keeps_the_old_version() {
    let server = TestServer::start().await;
    server
        .put(&server.arbre_sec, "/plan.pdf", &pdf("one"))
        .await;
    let (status, _) = server
        .put(&server.arbre_sec, "/plan.pdf", &pdf("two"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let v1 = server
        .data_dir()
        .join("0752401C/.versions/0752401C-plan.pdf/1");
    let v2 = server
        .data_dir()
        .join("0752401C/.versions/0752401C-plan.pdf/2");
    assert_eq!(std::fs::read(v1).unwrap(), pdf("one"));
    assert_eq!(std::fs::read(v2).unwrap(), pdf("two"));
    let latest = server.data_dir().join("0752401C/0752401C-plan.pdf");
    assert_eq!(std::fs::read(latest).unwrap(), pdf("two"));
}

#[tokio::test]
async fn school_cannot_change_the_tree() {
    let server = TestServer::start().await;
    server.put(&server.arbre_sec, "/plan.pdf", &pdf("x")).await;
    let file = format!("{ARBRE_SEC_FOLDER}0752401C-plan.pdf");
    let destination = format!("{}{ARBRE_SEC_FOLDER}0752401C-autre.pdf", server.dav);
    let attempts = [
        server.req(&server.arbre_sec, "MKCOL", "/75001/nouveau/"),
        server.req(&server.arbre_sec, "DELETE", &file),
        server
            .req(&server.arbre_sec, "MOVE", &file)
            .header("Destination", &destination),
        server
            .req(&server.arbre_sec, "COPY", &file)
            .header("Destination", &destination),
    ];
    for attempt in attempts {
        let response = attempt.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(
            !response.text().await.unwrap().trim().is_empty(),
            "403 carries a reason"
        );
    }
    assert_eq!(
        server.stored_files().len(),
        3,
        "{:?}",
        server.stored_files()
    );
}

#[tokio::test]
async fn crisis_cell_writes_nothing() {
    let server = TestServer::start().await;
    server.put(&server.arbre_sec, "/plan.pdf", &pdf("x")).await;
    let before = server.stored_files();
    for method in [
        "PUT",
        "MKCOL",
        "DELETE",
        "LOCK",
        "PROPPATCH",
        "MOVE",
        "COPY",
    ] {
        let response = server
            .req(
                &server.crisis,
                method,
                &format!("{ARBRE_SEC_FOLDER}0752401C-plan.pdf"),
            )
            .body(pdf("cell"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method}");
    }
    assert_eq!(server.stored_files(), before);
}

#[tokio::test]
async fn school_reads_back_only_when_the_policy_allows() {
    let server = TestServer::start().await;
    server.put(&server.arbre_sec, "/plan.pdf", &pdf("x")).await;
    let get = server
        .req(&server.arbre_sec, "GET", "/plan.pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::FORBIDDEN);
    let head = server
        .req(&server.arbre_sec, "HEAD", "/plan.pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.status(),
        StatusCode::OK,
        "HEAD stays open for Windows' copy sequence"
    );
    let (_, listing) = server.list(&server.arbre_sec, ARBRE_SEC_FOLDER).await;
    let sha = <sha2::Sha256 as sha2::Digest>::digest(pdf("x"));
    assert!(
        listing.contains(&hex::encode(sha)),
        "sha256 listed: {listing}"
    );

    let policy = tempfile::NamedTempFile::new().unwrap();
    let text = std::fs::read_to_string(policy_path("deposit.toml")).unwrap();
    let text = text.replace(
        "school_can_read_back = false",
        "school_can_read_back = true",
    );
    std::fs::write(policy.path(), text).unwrap();
    let open = TestServer::start_with(|c| c.policy_file = policy.path().to_path_buf()).await;
    open.put(&open.arbre_sec, "/plan.pdf", &pdf("y")).await;
    let get = open
        .req(&open.arbre_sec, "GET", "/plan.pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.bytes().await.unwrap().to_vec(), pdf("y"));
}

#[tokio::test]
async fn desktop_junk_is_accepted_and_never_stored() {
    let server = TestServer::start().await;
    for name in [
        "._plan.pdf",
        ".DS_Store",
        "Thumbs.db",
        "desktop.ini",
        "~$rapport.docx",
    ] {
        let path = format!("{ARBRE_SEC_FOLDER}{name}");
        let (status, body) = server.put(&server.arbre_sec, &path, b"junk bytes").await;
        assert!(status.is_success(), "{name}: {status} {body}");
        let get = server
            .req(&server.arbre_sec, "GET", &path)
            .send()
            .await
            .unwrap();
        assert_eq!(
            get.status(),
            StatusCode::OK,
            "{name} reads back in the session"
        );
        assert_eq!(get.bytes().await.unwrap().as_ref(), b"junk bytes");
    }
    assert!(
        server.stored_files().is_empty(),
        "{:?}",
        server.stored_files()
    );
    assert!(!server.audit_lines().iter().any(|l| l["event"] == "deposit"));
}

#[tokio::test]
async fn empty_put_then_real_put_is_one_deposit() {
    let server = TestServer::start().await;
    let (status, _) = server.put(&server.arbre_sec, "/plan.pdf", b"").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = server.list(&server.arbre_sec, "/plan.pdf").await;
    assert_eq!(
        status.as_u16(),
        207,
        "the placeholder is visible to its client"
    );
    assert!(server.stored_files().is_empty());
    let (status, _) = server
        .put(&server.arbre_sec, "/plan.pdf", &pdf("real"))
        .await;
    assert!(status.is_success());
    let versions = server
        .app
        .fs
        .directory()
        .get(&"0752401C".parse().unwrap())
        .is_some();
    assert!(versions);
    assert_eq!(
        server.stored_files(),
        vec![
            "0752401C/.versions/0752401C-plan.pdf/1",
            "0752401C/.versions/0752401C-plan.pdf/1.json",
            "0752401C/0752401C-plan.pdf",
        ]
    );
}

#[tokio::test]
async fn lock_on_a_new_name_then_put_with_token() {
    let server = TestServer::start().await;
    let body = r#"<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>
<D:locktype><D:write/></D:locktype><D:owner>davfs2</D:owner></D:lockinfo>"#;
    let lock = server
        .req(&server.arbre_sec, "LOCK", "/nouveau.pdf")
        .header("Timeout", "Second-300")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(lock.status(), StatusCode::CREATED);
    let token = lock.headers()["lock-token"].to_str().unwrap().to_string();
    let token = token.trim_matches(|c| c == '<' || c == '>').to_string();

    let without = server
        .put(&server.louvois, "/nouveau.pdf", &pdf("other school"))
        .await;
    assert!(
        without.0.is_success(),
        "another school's lock namespace is its own"
    );

    let put = server
        .req(&server.arbre_sec, "PUT", "/nouveau.pdf")
        .header("If", format!("(<{token}>)"))
        .body(pdf("locked"))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let unlock_other = server
        .req(&server.louvois, "UNLOCK", "/nouveau.pdf")
        .header("Lock-Token", format!("<{token}>"))
        .send()
        .await
        .unwrap();
    assert!(
        !unlock_other.status().is_success(),
        "only the owner unlocks"
    );
    let unlock = server
        .req(&server.arbre_sec, "UNLOCK", "/nouveau.pdf")
        .header("Lock-Token", format!("<{token}>"))
        .send()
        .await
        .unwrap();
    assert_eq!(unlock.status(), StatusCode::NO_CONTENT);
    assert!(server
        .stored_files()
        .contains(&"0752401C/0752401C-nouveau.pdf".to_string()));
}

#[tokio::test]
async fn options_needs_no_credentials_and_healthz_answers() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    for url in [format!("{}/", server.base), format!("{}/", server.dav)] {
        let response = client
            .request(reqwest::Method::OPTIONS, &url)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["dav"], "1, 2");
        let allow = response.headers()["allow"].to_str().unwrap().to_string();
        for method in ["LOCK", "UNLOCK", "PROPPATCH", "PROPFIND"] {
            assert!(allow.contains(method), "{allow}");
        }
    }
    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let anonymous = client
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
            format!("{}/", server.dav),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
}

#[tokio::test]
async fn deposits_are_audited() {
    let server = TestServer::start().await;
    server
        .put(&server.arbre_sec, "/plan.pdf", &pdf("audit"))
        .await;
    let lines = server.audit_lines();
    let deposit = lines
        .iter()
        .find(|l| l["event"] == "deposit" && l["outcome"] == "ok")
        .expect("a deposit line");
    assert_eq!(deposit["rne"], "0752401C");
    assert_eq!(deposit["stored_name"], "0752401C-plan.pdf");
    assert_eq!(deposit["principal"], "ce.0752401C");
    assert_eq!(deposit["client_ip"], "127.0.0.1");
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(pdf("audit")));
    assert_eq!(deposit["sha256"], sha);
    let secret = &server.arbre_sec.secret;
    let audit = std::fs::read_to_string(server.dir.path().join("state/audit.jsonl")).unwrap();
    assert!(!audit.contains(secret.as_str()));
}

#[tokio::test]
async fn names_differing_only_in_case_are_one_file() {
    let server = TestServer::start().await;
    for name in ["/Plan.pdf", "/PLAN.PDF", "/plan.pdf"] {
        let (status, body) = server.put(&server.arbre_sec, name, &pdf(name)).await;
        assert!(status.is_success(), "{name}: {status} {body}");
    }
    let latest: Vec<String> = server
        .stored_files()
        .into_iter()
        .filter(|f| !f.contains(".versions"))
        .collect();
    assert_eq!(latest, vec!["0752401C/0752401C-Plan.pdf".to_string()]);
    let versions = server
        .data_dir()
        .join("0752401C/.versions/0752401C-Plan.pdf/3");
    assert_eq!(std::fs::read(versions).unwrap(), pdf("/plan.pdf"));
}

#[tokio::test]
async fn deposits_of_a_school_no_longer_in_the_directory_stay_visible() {
    let dir = tempfile::tempdir().unwrap();
    let orphan = dir.path().join("deposits/0750132L");
    std::fs::create_dir_all(orphan.join(".versions/0750132L-plan.pdf")).unwrap();
    std::fs::write(orphan.join("0750132L-plan.pdf"), pdf("orphan")).unwrap();
    std::fs::write(orphan.join(".versions/0750132L-plan.pdf/1"), pdf("orphan")).unwrap();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(pdf("orphan")));
    let record = format!(
        "{{\"version\":1,\"bytes\":{},\"sha256\":\"{sha}\",\"deposited_at\":\"x\",\
         \"principal\":\"t\"}}",
        pdf("orphan").len()
    );
    std::fs::write(orphan.join(".versions/0750132L-plan.pdf/1.json"), record).unwrap();
    let directory = dir.path().join("directory.csv");
    let paris = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/etablissements-paris.csv"),
    )
    .unwrap();
    let without: Vec<&str> = paris
        .lines()
        .filter(|l| !l.starts_with("0750132L"))
        .collect();
    std::fs::write(&directory, without.join("\n")).unwrap();
    let data = dir.path().join("deposits");
    let server = TestServer::start_with(|c| {
        c.directory_file = directory.clone();
        c.data_dir = data.clone();
    })
    .await;
    let (_, root) = server.list(&server.crisis, "/").await;
    assert!(root.contains("/dav/RNE%20hors%20annuaire/"), "{root}");
    let (status, listing) = server
        .list(&server.crisis, "/RNE%20hors%20annuaire/0750132L/")
        .await;
    assert_eq!(status.as_u16(), 207, "{listing}");
    assert!(listing.contains("0750132L-plan.pdf"), "{listing}");
    let get = server
        .req(
            &server.crisis,
            "GET",
            "/RNE%20hors%20annuaire/0750132L/0750132L-plan.pdf",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(get.bytes().await.unwrap().to_vec(), pdf("orphan"));
    let (status, _) = server
        .list(&server.arbre_sec, "/RNE%20hors%20annuaire/")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "schools do not see it");
}

const WIN32_TIMES: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>
<Z:Win32LastModifiedTime>Tue, 02 Sep 2025 09:30:00 GMT</Z:Win32LastModifiedTime>
</D:prop></D:set></D:propertyupdate>"#;

async fn last_modified_after_proppatch(server: &TestServer) -> String {
    server.put(&server.arbre_sec, "/plan.pdf", &pdf("t")).await;
    let patch = server
        .req(&server.arbre_sec, "PROPPATCH", "/plan.pdf")
        .header("User-Agent", "Microsoft-WebDAV-MiniRedir/10.0.19045")
        .body(WIN32_TIMES)
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status().as_u16(), 207);
    let (_, listing) = server.list(&server.crisis, ARBRE_SEC_FOLDER).await;
    let start = listing.rfind("<D:getlastmodified>").unwrap() + "<D:getlastmodified>".len();
    let end = listing[start..].find('<').unwrap() + start;
    listing[start..end].to_string()
}

#[tokio::test]
async fn windows_times_become_the_file_date_only_where_the_policy_allows() {
    let strict = TestServer::start().await;
    assert_ne!(
        last_modified_after_proppatch(&strict).await,
        "Tue, 02 Sep 2025 09:30:00 GMT"
    );
    let policy = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(policy.path(), "apply_client_times = true\n").unwrap();
    let allowing = TestServer::start_with(|c| c.policy_file = policy.path().to_path_buf()).await;
    assert_eq!(
        last_modified_after_proppatch(&allowing).await,
        "Tue, 02 Sep 2025 09:30:00 GMT"
    );
}
