//! Unit tests of the store on a temp directory.

use super::*;
use crate::directory::Rne;

fn rne() -> Rne {
    Rne::parse("0752401C").unwrap()
}

async fn deposit(store: &Store, name: &str, content: &[u8]) -> StoredFile {
    let mut upload = store.begin(&rne(), name).await.unwrap();
    upload
        .write(bytes::Bytes::copy_from_slice(content))
        .await
        .unwrap();
    upload
        .commit(Provenance::by("ce.0752401C"), 0)
        .await
        .unwrap()
        .stored
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[tokio::test]
async fn commit_makes_file_visible_with_hash() {
    let dir = temp_dir();
    let store = Store::open(dir.path()).unwrap();
    let file = deposit(&store, "0752401C-plan.pdf", b"%PDF-1.7 hello").await;
    assert_eq!(file.bytes, 14);
    assert_eq!(file.version, 1);
    let expected = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"%PDF-1.7 hello"));
    assert_eq!(file.sha256, expected);
    let on_disk = std::fs::read(dir.path().join("0752401C/0752401C-plan.pdf")).unwrap();
    assert_eq!(on_disk, b"%PDF-1.7 hello");
    assert_eq!(store.schools().unwrap(), vec![rne()]);
}

#[tokio::test]
async fn redeposit_keeps_old_version() {
    let dir = temp_dir();
    let store = Store::open(dir.path()).unwrap();
    deposit(&store, "0752401C-a.pdf", b"one").await;
    let second = deposit(&store, "0752401C-a.pdf", b"two!").await;
    assert_eq!(
        (second.version, second.versions_kept, second.bytes),
        (2, 2, 4)
    );
    let versions = store.versions(&rne(), "0752401C-a.pdf").unwrap();
    assert_eq!(
        versions.iter().map(|v| v.bytes).collect::<Vec<_>>(),
        vec![3, 4]
    );
    let v1 = dir.path().join("0752401C/.versions/0752401C-a.pdf/1");
    assert_eq!(std::fs::read(v1).unwrap(), b"one");
    assert_eq!(store.used_bytes(&rne()).unwrap(), 7);
}

#[tokio::test]
async fn dropped_upload_leaves_nothing() {
    let dir = temp_dir();
    let store = Store::open(dir.path()).unwrap();
    let mut upload = store.begin(&rne(), "0752401C-x.pdf").await.unwrap();
    upload
        .write(bytes::Bytes::from(vec![7u8; 600_000]))
        .await
        .unwrap();
    drop(upload);
    assert_eq!(
        std::fs::read_dir(dir.path().join(".tmp")).unwrap().count(),
        0
    );
    assert!(!store.has_deposits(&rne()));
    assert!(store.list(&rne()).unwrap().is_empty());
}

#[tokio::test]
async fn bad_names_are_refused() {
    let dir = temp_dir();
    let store = Store::open(dir.path()).unwrap();
    for name in [
        "",
        ".",
        "..",
        "../x",
        "a//b",
        "/a",
        "a/.b",
        "a\\b",
        ".versions",
        "a\0b",
    ] {
        assert!(
            store.begin(&rne(), name).await.is_err(),
            "{name:?} accepted"
        );
    }
    let long = "a".repeat(256);
    assert!(store.begin(&rne(), &long).await.is_err());
}

#[tokio::test]
async fn concurrent_deposits_get_gapless_versions() {
    let dir = temp_dir();
    let store = Store::open(dir.path()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut upload = store.begin(&rne(), "0752401C-same.pdf").await.unwrap();
            upload
                .write(bytes::Bytes::from(vec![i; 1000]))
                .await
                .unwrap();
            upload
                .commit(Provenance::by("t"), 0)
                .await
                .unwrap()
                .record
                .version
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<u32>>());
    for record in store.versions(&rne(), "0752401C-same.pdf").unwrap() {
        let content = std::fs::read(dir.path().join(format!(
            "0752401C/.versions/0752401C-same.pdf/{}",
            record.version
        )))
        .unwrap();
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&content));
        assert_eq!(hash, record.sha256);
    }
}

#[tokio::test]
async fn max_versions_prunes_oldest() {
    let dir = temp_dir();
    let store = Store::open(dir.path()).unwrap();
    for i in 0..4u8 {
        let mut upload = store.begin(&rne(), "0752401C-p.pdf").await.unwrap();
        upload.write(bytes::Bytes::from(vec![i; 10])).await.unwrap();
        upload.commit(Provenance::by("t"), 2).await.unwrap();
    }
    let versions = store.versions(&rne(), "0752401C-p.pdf").unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![3, 4]
    );
}

#[tokio::test]
async fn reopen_repairs_interrupted_publish() {
    let dir = temp_dir();
    {
        let store = Store::open(dir.path()).unwrap();
        deposit(&store, "0752401C-r.pdf", b"first").await;
    }
    // Simulate a crash after the version link and before the latest rename.
    let versions = dir.path().join("0752401C/.versions/0752401C-r.pdf");
    std::fs::write(versions.join("2"), b"second").unwrap();
    let record = DepositRecord {
        version: 2,
        bytes: 6,
        sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"second")),
        deposited_at: "2026-01-01T00:00:00Z".into(),
        principal: "t".into(),
        kind: None,
    };
    std::fs::write(
        versions.join("2.json"),
        serde_json::to_vec(&record).unwrap(),
    )
    .unwrap();
    std::fs::write(versions.join("3.json"), b"{}").unwrap();
    std::fs::write(dir.path().join(".tmp/leftover"), b"partial").unwrap();
    let store = Store::open(dir.path()).unwrap();
    let latest = store.stat(&rne(), "0752401C-r.pdf").unwrap().unwrap();
    assert_eq!((latest.version, latest.bytes), (2, 6));
    assert_eq!(
        std::fs::read(dir.path().join("0752401C/0752401C-r.pdf")).unwrap(),
        b"second"
    );
    assert!(!versions.join("3.json").exists());
    assert_eq!(
        std::fs::read_dir(dir.path().join(".tmp")).unwrap().count(),
        0
    );
}

#[tokio::test]
async fn identical_redeposit_is_not_a_new_version() {
    let dir = temp_dir();
    let store = Store::open(dir.path()).unwrap();
    deposit(&store, "0752401C-same.pdf", b"content").await;
    let mut upload = store.begin(&rne(), "0752401C-same.pdf").await.unwrap();
    upload
        .write(bytes::Bytes::from_static(b"content"))
        .await
        .unwrap();
    let committed = upload.commit(Provenance::by("t"), 0).await.unwrap();
    assert!(!committed.new_version);
    let again = committed.stored;
    assert_eq!((again.version, again.versions_kept), (1, 1));
    assert_eq!(
        std::fs::read_dir(dir.path().join(".tmp")).unwrap().count(),
        0
    );
    let changed = deposit(&store, "0752401C-same.pdf", b"content 2").await;
    assert_eq!(changed.version, 2);
}

#[tokio::test]
async fn the_declared_kind_and_the_depositor_are_recorded() {
    let dir = temp_dir();
    let store = Store::open(dir.path()).unwrap();
    let mut upload = store.begin(&rne(), "0752401C-rez.pdf").await.unwrap();
    upload
        .write(bytes::Bytes::from_static(b"%PDF-1.7 rez"))
        .await
        .unwrap();
    let provenance = Provenance {
        principal: "ce.0752401C".into(),
        kind: Some("plan-locaux".into()),
    };
    upload.commit(provenance, 0).await.unwrap();
    let record = store
        .layout()
        .read_record(&rne(), "0752401C-rez.pdf", 1)
        .unwrap();
    assert_eq!(record.kind.as_deref(), Some("plan-locaux"));
    assert_eq!(record.principal, "ce.0752401C");
}
