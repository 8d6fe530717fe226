//! Robustness under load, crashes and a full disk: the real binary killed with uploads in flight
//! and restarted, a size-limited tmpfs data directory, 50 concurrent deposits of one name, slow
//! and idle clients, and keys and deposits surviving a restart.

mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use futures_util::StreamExt;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// These tests share two cores and some of them time the server: they run one at a time.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const BIN: &str = env!("CARGO_BIN_EXE_ppms-depot");

/// Lines of a child server's log kept for failure messages.
const LOG_TAIL: usize = 60;

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A PDF of exactly `size` bytes whose content depends on `seed` (so no two deposits are the
/// same and none is deduplicated).
fn pdf_of_size(seed: u64, size: usize) -> Vec<u8> {
    let mut body = format!("%PDF-1.4\n% seed {seed}\n").into_bytes();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while body.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        body.extend_from_slice(&state.to_le_bytes());
    }
    body.truncate(size);
    body
}

// ---------------------------------------------------------------------------------------------
// The real binary as a child process.

/// `ppms-depot` with its configuration from the environment, over `dirs/deposits` and
/// `dirs/state`, listening on a port the kernel picks.
fn command(dirs: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PPMS_DEPOT_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .env("PPMS_DEPOT_LISTEN", "127.0.0.1:0")
        .env("PPMS_DEPOT_DATA_DIR", dirs.join("deposits"))
        .env("PPMS_DEPOT_STATE_DIR", dirs.join("state"))
        .env("PPMS_DEPOT_LOG", "info,sqlx=warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    cmd
}

/// A mount key issued by the CLI: account and secret.
#[derive(Clone)]
struct CliKey {
    id: String,
    account: String,
    secret: String,
}

fn issue_key(dirs: &Path, subject: &[&str]) -> CliKey {
    let mut args = vec!["key", "issue"];
    args.extend_from_slice(subject);
    let out = command(dirs, &args).output().expect("run key issue");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "key issue failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    CliKey {
        id: field("id:"),
        account: field("account:"),
        secret: field("key:"),
    }
}

fn revoke_key(dirs: &Path, id: &str) {
    let out = command(dirs, &["key", "revoke", id]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ppms-depot serve` running as a child; killed (SIGKILL) when dropped.
struct ChildServer {
    child: Child,
    base: String,
    log: Arc<Mutex<VecDeque<String>>>,
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl ChildServer {
    fn start(dirs: &Path) -> ChildServer {
        let mut child = command(dirs, &["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ppms-depot serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let kept = log.clone();
        let (ready, listening) = std::sync::mpsc::channel::<String>();
        // The log is drained for the server's whole life, or a full pipe would stall it.
        std::thread::spawn(move || {
            let mut ready = Some(ready);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let line = strip_ansi(&line);
                if line.contains("listening") {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(line.clone());
                    }
                }
                let mut kept = kept.lock().unwrap();
                if kept.len() == LOG_TAIL {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
        let line = listening
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("server did not start: {:?}", log.lock().unwrap()));
        let addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("addr="))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        ChildServer {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    fn dav(&self) -> String {
        format!("{}/dav", self.base)
    }

    fn log_tail(&self) -> Vec<String> {
        self.log.lock().unwrap().iter().cloned().collect()
    }

    /// kill -9, and reap it.
    fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, then waits up to 10 s for a clean exit.
    fn terminate(&mut self) -> ExitStatus {
        // SAFETY: sends a signal to our own child, whose pid is not reaped yet.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit 10 s after SIGTERM: {:?}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the store and listings.

/// Files of `dir` (not recursive, no hidden names).
fn visible_files(dir: &Path) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

/// Every entry left in `<data_dir>/.tmp`.
fn temp_entries(data_dir: &Path) -> Vec<String> {
    std::fs::read_dir(data_dir.join(".tmp"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Version numbers of a stored name, with the record of each: (N, content sha256, record).
fn versions(school_dir: &Path, name: &str) -> Vec<(u32, String, serde_json::Value)> {
    let dir = school_dir.join(".versions").join(name);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut numbers: Vec<u32> = Vec::new();
    let mut records = BTreeSet::new();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        if let Some(stem) = file.strip_suffix(".json") {
            records.insert(stem.parse::<u32>().expect("record number"));
        } else {
            numbers.push(
                file.parse()
                    .unwrap_or_else(|_| panic!("stray {file} in {dir:?}")),
            );
        }
    }
    numbers.sort_unstable();
    let contents: BTreeSet<u32> = numbers.iter().copied().collect();
    assert_eq!(contents, records, "each version has its record in {dir:?}");
    numbers
        .into_iter()
        .map(|n| {
            let content = std::fs::read(dir.join(n.to_string())).unwrap();
            let record = std::fs::read(dir.join(format!("{n}.json"))).unwrap();
            let record: serde_json::Value = serde_json::from_slice(&record).expect("record JSON");
            (n, sha_hex(&content), record)
        })
        .collect()
}

/// Names and `sha256` properties of the members of a PROPFIND Depth 1 answer (not the folder
/// itself).
fn listed(xml: &str, folder_href: &str) -> BTreeMap<String, Option<String>> {
    fn find<'a>(el: &'a xmltree::Element, name: &str) -> Option<&'a xmltree::Element> {
        if el.name == name {
            return Some(el);
        }
        el.children
            .iter()
            .filter_map(|c| c.as_element())
            .find_map(|c| find(c, name))
    }
    let root = xmltree::Element::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let mut out = BTreeMap::new();
    for response in root.children.iter().filter_map(|c| c.as_element()) {
        let href = find(response, "href")
            .and_then(|h| h.get_text())
            .expect("href")
            .to_string();
        let href = percent_encoding::percent_decode_str(&href)
            .decode_utf8_lossy()
            .to_string();
        let folder = percent_encoding::percent_decode_str(folder_href).decode_utf8_lossy();
        if href.trim_end_matches('/') == folder.trim_end_matches('/') {
            continue;
        }
        let name = href.trim_end_matches('/').rsplit('/').next().unwrap();
        let sha = find(response, "sha256").and_then(|s| s.get_text().map(|t| t.to_string()));
        out.insert(name.to_string(), sha);
    }
    out
}

async fn propfind(
    client: &reqwest::Client,
    dav: &str,
    key: &CliKey,
    path: &str,
) -> (StatusCode, String) {
    let response = client
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
            format!("{dav}{path}"),
        )
        .basic_auth(&key.account, Some(&key.secret))
        .header("Depth", "1")
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn put(
    client: &reqwest::Client,
    dav: &str,
    key: &CliKey,
    path: &str,
    body: Vec<u8>,
) -> StatusCode {
    client
        .put(format!("{dav}{path}"))
        .basic_auth(&key.account, Some(&key.secret))
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

/// A body handed over in `chunk`-byte pieces, one every `pace`.
fn paced(body: Vec<u8>, chunk: usize, pace: Duration) -> reqwest::Body {
    let body = Bytes::from(body);
    let stream = futures_util::stream::unfold(0usize, move |offset| {
        let body = body.clone();
        async move {
            if offset >= body.len() {
                return None;
            }
            if offset > 0 {
                tokio::time::sleep(pace).await;
            }
            let end = (offset + chunk).min(body.len());
            Some((Ok::<_, std::io::Error>(body.slice(offset..end)), end))
        }
    });
    reqwest::Body::wrap_stream(stream)
}

// ---------------------------------------------------------------------------------------------
// Crash.

const CRASH_UPLOADS: u64 = 20;
const CRASH_STEP: usize = 512 * 1024;

fn crash_body(i: u64) -> Vec<u8> {
    pdf_of_size(1000 + i, CRASH_STEP * (i as usize + 1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_20_uploads_in_flight_leaves_only_complete_deposits() {
    let _heavy = HEAVY.lock().await;
    let dirs = tempfile::tempdir().unwrap();
    let data = dirs.path().join("deposits");
    let school_dir = data.join(ARBRE_SEC);
    let school = issue_key(dirs.path(), &["--school", ARBRE_SEC]);
    let cell = issue_key(dirs.path(), &["--crisis-cell", "cellule.crash"]);
    let mut server = ChildServer::start(dirs.path());
    let client = reqwest::Client::new();

    // Twenty uploads of 0.5 to 10 MiB, all sent at the same pace: the small ones complete
    // first; once five are acknowledged the others are in flight, some near their end.
    let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..CRASH_UPLOADS {
        let body = crash_body(i);
        let len = body.len();
        let mut request = client
            .put(format!("{}/crash-{i:02}.pdf", server.dav()))
            .basic_auth(&school.account, Some(&school.secret));
        if i % 2 == 0 {
            // Half announce their length, half are chunked.
            request = request.header(reqwest::header::CONTENT_LENGTH, len);
        }
        let request = request.body(paced(body, 64 * 1024, Duration::from_millis(20)));
        let done = done.clone();
        tokio::spawn(async move {
            let status = request.send().await.map(|r| r.status());
            let _ = done.send((i, status));
        });
    }
    drop(done);
    let mut acknowledged = BTreeSet::new();
    let mut results = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.len() < 5 {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some((i, status))) = tokio::time::timeout(left, finished.recv()).await else {
            panic!(
                "five uploads were not acknowledged in 60 s: {results:?} {:?}",
                server.log_tail()
            );
        };
        match &status {
            Ok(s) if s.is_success() => {
                acknowledged.insert(i);
            }
            other => panic!("upload {i} failed before the crash: {other:?}"),
        }
        results.push((i, status));
    }
    let in_flight = temp_entries(&data).len();
    server.kill9();
    assert!(
        in_flight > 0,
        "uploads were in flight (temp files) at the kill"
    );
    while let Ok(Some((i, status))) =
        tokio::time::timeout(Duration::from_secs(20), finished.recv()).await
    {
        if matches!(&status, Ok(s) if s.is_success()) {
            acknowledged.insert(i);
        }
    }

    let server = ChildServer::start(dirs.path());
    assert_eq!(
        temp_entries(&data),
        Vec::<String>::new(),
        "no temp file after restart"
    );
    let on_disk = visible_files(&school_dir);
    let name = |i: u64| format!("{ARBRE_SEC}-crash-{i:02}.pdf");
    for i in 0..CRASH_UPLOADS {
        let stored = name(i);
        let history = versions(&school_dir, &stored);
        if !on_disk.contains(&stored) {
            assert!(
                !acknowledged.contains(&i),
                "{stored} was acknowledged before the kill but is gone"
            );
            assert!(history.is_empty(), "interrupted {stored} left versions");
            continue;
        }
        let expected = sha_hex(&crash_body(i));
        let latest = std::fs::read(school_dir.join(&stored)).unwrap();
        assert_eq!(sha_hex(&latest), expected, "{stored} is complete");
        assert_eq!(history.len(), 1, "{stored}: one version");
        let (number, content_sha, record) = &history[0];
        assert_eq!(*number, 1);
        assert_eq!(content_sha, &expected, "{stored}: version 1 content");
        assert_eq!(record["sha256"], expected.as_str(), "{stored}: record");
        assert_eq!(
            record["bytes"],
            latest.len() as u64,
            "{stored}: record size"
        );
    }
    assert!(
        on_disk.len() < CRASH_UPLOADS as usize,
        "the kill interrupted no upload: {on_disk:?}"
    );
    assert!(on_disk.len() >= acknowledged.len());
    eprintln!(
        "crash: {in_flight} temp files at the kill, {} acknowledged, {} kept after restart",
        acknowledged.len(),
        on_disk.len()
    );

    // What the crisis cell sees is exactly what is on disk, with the right hashes.
    let (status, xml) = propfind(&client, &server.dav(), &cell, ARBRE_SEC_FOLDER).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{xml}");
    let listing = listed(&xml, &format!("/dav{ARBRE_SEC_FOLDER}"));
    assert_eq!(
        listing.keys().cloned().collect::<BTreeSet<_>>(),
        on_disk,
        "{xml}"
    );
    for (stored, sha) in &listing {
        let i: u64 = stored[ARBRE_SEC.len() + 7..ARBRE_SEC.len() + 9]
            .parse()
            .unwrap();
        let expected = sha_hex(&crash_body(i));
        assert_eq!(
            sha.as_deref(),
            Some(expected.as_str()),
            "{stored} listed sha256"
        );
        let got = client
            .get(format!("{}{ARBRE_SEC_FOLDER}{stored}", server.dav()))
            .basic_auth(&cell.account, Some(&cell.secret))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(
            sha_hex(&got.bytes().await.unwrap()),
            expected,
            "{stored} read back"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Full disk.

/// A tmpfs mounted for the test; unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output();
        match out {
            Ok(out) if out.status.success() => Tmpfs(at.to_path_buf()),
            Ok(out) => panic!(
                "the full-disk test mounts a {size} tmpfs and needs root to: mount said {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(err) => panic!("the full-disk test needs `mount` (util-linux): {err}"),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let plain = Command::new("umount").arg(&self.0).status();
        if !plain.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Writes a filler file until the disk is full; returns its length.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0x5a_u8; 4096];
    let mut len = 0u64;
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(n) => len += n as u64,
            Err(err) if err.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(err) => panic!("filler: {err}"),
        }
    }
    len
}

/// What a school folder holds: latest files and every versions folder with its entries.
fn school_tree(school_dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut tree = BTreeMap::new();
    tree.insert(
        String::new(),
        visible_files(school_dir).into_iter().collect(),
    );
    if let Ok(entries) = std::fs::read_dir(school_dir.join(".versions")) {
        for entry in entries.flatten() {
            let mut files: Vec<String> = std::fs::read_dir(entry.path())
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect();
            files.sort();
            tree.insert(entry.file_name().to_string_lossy().to_string(), files);
        }
    }
    tree
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gets_507_leaves_nothing_and_the_server_keeps_serving() {
    let _heavy = HEAVY.lock().await;
    let disk_dir = tempfile::tempdir().unwrap();
    let _tmpfs = Tmpfs::mount(disk_dir.path(), "8m");
    let data = disk_dir.path().join("deposits");
    let filler = disk_dir.path().join("filler");
    let server = TestServer::start_with(|c| c.data_dir = data.clone()).await;
    let school_dir = data.join(ARBRE_SEC);
    let key = &server.arbre_sec;

    let first = pdf_of_size(1, 64 * 1024);
    assert_eq!(
        server.put(key, "/first.pdf", &first).await.0,
        StatusCode::CREATED
    );
    let before = school_tree(&school_dir);

    // Larger than the whole disk, announced or chunked.
    let huge = pdf_of_size(2, 12 * 1024 * 1024);
    let (status, text) = server.put(key, "/huge.pdf", &huge).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{text}");
    assert!(!text.trim().is_empty(), "507 says why");
    assert_eq!(temp_entries(&data), Vec::<String>::new());
    assert_eq!(school_tree(&school_dir), before, "nothing of huge.pdf");
    let response = server
        .req(key, "PUT", "/huge-chunked.pdf")
        .body(paced(huge, 256 * 1024, Duration::ZERO))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(temp_entries(&data), Vec::<String>::new());
    assert_eq!(
        school_tree(&school_dir),
        before,
        "nothing of huge-chunked.pdf"
    );

    // A disk filled by something else: even a small deposit does not fit.
    fill(&filler);
    let (status, text) = server.put(key, "/small.pdf", &pdf("small")).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{text}");
    assert_eq!(temp_entries(&data), Vec::<String>::new());
    assert_eq!(school_tree(&school_dir), before, "nothing of small.pdf");
    let health = server
        .client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let (status, xml) = server.list(&server.crisis, ARBRE_SEC_FOLDER).await;
    assert_eq!(
        status,
        StatusCode::MULTI_STATUS,
        "listing on a full disk: {xml}"
    );
    assert!(xml.contains("0752401C-first.pdf"), "{xml}");

    // Space freed: deposits work again.
    std::fs::remove_file(&filler).unwrap();
    let (status, text) = server.put(key, "/after.pdf", &pdf("after")).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let after = school_tree(&school_dir);
    assert_eq!(
        after[""],
        vec![
            "0752401C-after.pdf".to_string(),
            "0752401C-first.pdf".to_string()
        ]
    );
    assert_eq!(temp_entries(&data), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_fills_between_content_and_record_leaves_nothing() {
    let _heavy = HEAVY.lock().await;
    let disk_dir = tempfile::tempdir().unwrap();
    let _tmpfs = Tmpfs::mount(disk_dir.path(), "8m");
    let data = disk_dir.path().join("deposits");
    let filler = disk_dir.path().join("filler");
    let server = TestServer::start_with(|c| c.data_dir = data.clone()).await;
    let school_dir = data.join(ARBRE_SEC);
    let key = &server.arbre_sec;
    assert_eq!(
        server.put(key, "/first.pdf", &pdf("first")).await.0,
        StatusCode::CREATED
    );
    let before = school_tree(&school_dir);

    // Exactly 16 pages free: the 64 KiB content fits, its version record does not.
    let full = fill(&filler);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(full - 16 * 4096)
        .unwrap();
    let body = pdf_of_size(3, 16 * 4096);
    let (status, text) = server.put(key, "/edge.pdf", &body).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{text}");
    let left = (temp_entries(&data), school_tree(&school_dir));
    assert_eq!(left, (Vec::new(), before), "nothing of edge.pdf is left");

    std::fs::remove_file(&filler).unwrap();
    let (status, text) = server.put(key, "/edge.pdf", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let history = versions(&school_dir, "0752401C-edge.pdf");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].1, sha_hex(&body));
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_deposits_of_one_name_are_fifty_intact_versions() {
    const CLIENTS: u64 = 50;
    let _heavy = HEAVY.lock().await;
    let server = TestServer::start().await;
    let bodies: Vec<Vec<u8>> = (0..CLIENTS).map(|i| pdf_of_size(i, 256 * 1024)).collect();
    // Every client sends its first piece, then waits for all the others to be in flight.
    let barrier = Arc::new(tokio::sync::Barrier::new(CLIENTS as usize));
    let mut uploads = Vec::new();
    for body in &bodies {
        let first = Bytes::copy_from_slice(&body[..4096]);
        let rest = Bytes::copy_from_slice(&body[4096..]);
        let barrier = barrier.clone();
        let pieces = futures_util::stream::iter([(false, first), (true, rest)]).then(
            move |(wait, bytes)| {
                let barrier = barrier.clone();
                async move {
                    if wait {
                        barrier.wait().await;
                    }
                    Ok::<_, std::io::Error>(bytes)
                }
            },
        );
        // One client (and connection) each.
        let client = reqwest::Client::new();
        let request = client
            .put(format!("{}/meme-nom.pdf", server.dav))
            .basic_auth(&server.arbre_sec.account, Some(&server.arbre_sec.secret))
            .body(reqwest::Body::wrap_stream(pieces));
        uploads.push(async move { request.send().await.map(|r| r.status()) });
    }
    let statuses = tokio::time::timeout(
        Duration::from_secs(60),
        futures_util::future::join_all(uploads),
    )
    .await
    .expect("50 deposits within 60 s");
    for status in &statuses {
        assert!(matches!(status, Ok(s) if s.is_success()), "{statuses:?}");
    }

    let school_dir = server.data_dir().join(ARBRE_SEC);
    let history = versions(&school_dir, "0752401C-meme-nom.pdf");
    let numbers: Vec<u32> = history.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(
        numbers,
        (1..=CLIENTS as u32).collect::<Vec<_>>(),
        "gapless 1..=50"
    );
    let mut kept = BTreeSet::new();
    for (n, content_sha, record) in &history {
        assert_eq!(record["version"], *n, "record of version {n}");
        assert_eq!(record["sha256"], content_sha.as_str(), "version {n} intact");
        assert_eq!(record["bytes"], 256 * 1024, "version {n} size");
        kept.insert(content_sha.clone());
    }
    let sent: BTreeSet<String> = bodies.iter().map(|b| sha_hex(b)).collect();
    assert_eq!(kept, sent, "every client's content is one version");
    let latest = std::fs::read(school_dir.join("0752401C-meme-nom.pdf")).unwrap();
    assert_eq!(
        sha_hex(&latest),
        history.last().unwrap().1,
        "latest is the last version"
    );
    assert_eq!(temp_entries(&server.data_dir()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Slow and idle clients.

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_string()
}

fn basic(key: &ppms_depot::auth::IssuedKey) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", key.account, key.secret))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickling_slower_than_the_timeout_is_cut_off_and_holds_nothing() {
    let _heavy = HEAVY.lock().await;
    let server = TestServer::start_with(|c| c.body_timeout_secs = 1).await;
    let auth = basic(&server.arbre_sec);
    let mut slow = tokio::net::TcpStream::connect(addr(&server)).await.unwrap();
    let head = format!(
        "PUT /dav/lent.pdf HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\
         Content-Length: 64\r\n\r\n"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        // One byte, then a pause longer than the 1 s body timeout, until the server hangs up.
        let mut answer = Vec::new();
        for byte in b"%PDF-1.4\n" {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            let mut buf = [0u8; 512];
            match tokio::time::timeout(Duration::from_millis(1500), slow.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
            if !answer.is_empty() {
                let _ = tokio::time::timeout(Duration::from_secs(2), slow.read_to_end(&mut answer))
                    .await;
                break;
            }
        }
        String::from_utf8_lossy(&answer).to_string()
    });

    // Meanwhile the same name is deposited normally, without waiting for the slow one.
    let quick = Instant::now();
    let (status, text) = server
        .put(&server.arbre_sec, "/lent.pdf", &pdf("vite"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert!(
        quick.elapsed() < Duration::from_secs(2),
        "{:?}",
        quick.elapsed()
    );

    let answer = trickle.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let history = versions(&server.data_dir().join(ARBRE_SEC), "0752401C-lent.pdf");
    assert_eq!(history.len(), 1, "only the quick deposit is kept");
    assert_eq!(history[0].1, sha_hex(&pdf("vite")));
    assert_eq!(temp_entries(&server.data_dir()), Vec::<String>::new());
}

/// Raises the open-file limit to what a thousand connections on each side need.
fn enough_file_descriptors(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on our own process with a valid struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < needed && limit.rlim_max >= needed {
            limit.rlim_cur = needed;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
    assert!(
        limit.rlim_cur >= needed,
        "this test holds 1,000 connections on each side and needs {needed} open files; \
         the hard limit is {}",
        limit.rlim_max
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_do_not_stop_a_deposit() {
    const IDLE: usize = 1000;
    let _heavy = HEAVY.lock().await;
    enough_file_descriptors(2 * IDLE as u64 + 512);
    let server = TestServer::start_with(|c| c.max_connections_per_ip = 2 * IDLE).await;
    let opening = Instant::now();
    let mut idle = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        let mut stream = tokio::net::TcpStream::connect(addr(&server)).await.unwrap();
        if i % 2 == 1 {
            // Half start a request and never finish its headers.
            stream
                .write_all(b"PUT /dav/idle.pdf HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        idle.push(stream);
    }
    assert!(
        opening.elapsed() < Duration::from_secs(10),
        "{:?}",
        opening.elapsed()
    );

    let started = Instant::now();
    let health = server
        .client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let (status, text) = server
        .put(&server.arbre_sec, "/pendant.pdf", &pdf("p"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let (status, xml) = server.list(&server.crisis, ARBRE_SEC_FOLDER).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(xml.contains("0752401C-pendant.pdf"), "{xml}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "served in {:?} beside {IDLE} idle connections",
        started.elapsed()
    );

    // The idle ones were held, not dropped: one of each kind still gets an answer.
    let mut silent = idle.swap_remove(0);
    let mut partial = idle.swap_remove(1);
    silent
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    partial
        .write_all(b"Connection: close\r\n\r\n")
        .await
        .unwrap();
    for stream in [&mut silent, &mut partial] {
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 "), "{answer:?}");
    }
    drop(idle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _) = server.put(&server.arbre_sec, "/apres.pdf", &pdf("a")).await;
    assert_eq!(status, StatusCode::CREATED);
}

// ---------------------------------------------------------------------------------------------
// Restart.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_deposits_survive_restarts_of_the_binary() {
    let _heavy = HEAVY.lock().await;
    let dirs = tempfile::tempdir().unwrap();
    let school = issue_key(dirs.path(), &["--school", ARBRE_SEC]);
    let cell = issue_key(dirs.path(), &["--crisis-cell", "cellule.restart"]);
    let revoked = issue_key(dirs.path(), &["--school", ARBRE_SEC]);
    revoke_key(dirs.path(), &revoked.id);
    let client = reqwest::Client::new();
    let body = pdf_of_size(7, 100_000);
    let sha = sha_hex(&body);

    let mut server = ChildServer::start(dirs.path());
    assert_eq!(
        put(&client, &server.dav(), &school, "/plan.pdf", body.clone()).await,
        StatusCode::CREATED
    );
    assert_eq!(
        put(&client, &server.dav(), &revoked, "/x.pdf", pdf("x")).await,
        StatusCode::UNAUTHORIZED
    );
    // A key issued while the server runs, used only after the restarts.
    let later = issue_key(dirs.path(), &["--school", ARBRE_SEC]);

    let folder = format!("/dav{ARBRE_SEC_FOLDER}");
    for (round, graceful) in [(1, true), (2, false)] {
        if graceful {
            let status = server.terminate();
            assert!(status.success(), "exit after SIGTERM: {status:?}");
        } else {
            server.kill9();
        }
        server = ChildServer::start(dirs.path());
        let dav = server.dav();
        for key in [&school, &cell] {
            let (status, xml) = propfind(&client, &dav, key, ARBRE_SEC_FOLDER).await;
            assert_eq!(
                status,
                StatusCode::MULTI_STATUS,
                "{} round {round}",
                key.account
            );
            let listing = listed(&xml, &folder);
            assert_eq!(
                listing.get("0752401C-plan.pdf"),
                Some(&Some(sha.clone())),
                "round {round}: {xml}"
            );
        }
        let got = client
            .get(format!("{dav}{ARBRE_SEC_FOLDER}0752401C-plan.pdf"))
            .basic_auth(&cell.account, Some(&cell.secret))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(sha_hex(&got.bytes().await.unwrap()), sha, "round {round}");
        assert_eq!(
            put(&client, &dav, &revoked, "/x.pdf", pdf("x")).await,
            StatusCode::UNAUTHORIZED,
            "revocation survives round {round}"
        );
        let name = format!("/round-{round}.pdf");
        assert_eq!(
            put(&client, &dav, &school, &name, pdf(&name)).await,
            StatusCode::CREATED
        );
        assert_eq!(
            put(
                &client,
                &dav,
                &later,
                &format!("/later-{round}.pdf"),
                pdf("l")
            )
            .await,
            StatusCode::CREATED
        );
    }
    let (_, xml) = propfind(&client, &server.dav(), &cell, ARBRE_SEC_FOLDER).await;
    let names: Vec<String> = listed(&xml, &folder).into_keys().collect();
    assert_eq!(
        names,
        [
            "0752401C-later-1.pdf",
            "0752401C-later-2.pdf",
            "0752401C-plan.pdf",
            "0752401C-round-1.pdf",
            "0752401C-round-2.pdf"
        ]
    );
}
