//! Real WebDAV clients deposit as ARBRE SEC under the default policy: curl (plain and chunked
//! as macOS Finder sends), cadaver and rclone. Each deposit must land prefixed in the school's
//! own folder, be listed to the crisis cell, and stay invisible to another school (LOUVOIS).
//! A missing client fails its test: `scripts/test` installs them.

#[path = "common/clients.rs"]
mod clients;
mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use ppms_depot::auth::IssuedKey;
use reqwest::StatusCode;

const CURL_LIMIT: Duration = Duration::from_secs(30);
const CADAVER_LIMIT: Duration = Duration::from_secs(60);
const RCLONE_LIMIT: Duration = Duration::from_secs(120);

/// A user agent of macOS Finder, whose uploads are chunked.
const FINDER_AGENT: &str = "WebDAVFS/3.0.0 (03008000) Darwin/22.6.0 (x86_64)";

/// Checks that each of `deposits` (name sent, content) is stored as `0752401C-<name>` in ARBRE
/// SEC's directory with that content, is listed to the crisis cell in the school's folder, and
/// that LOUVOIS cannot even see that folder.
async fn assert_deposited(server: &TestServer, deposits: &[(&str, &[u8])]) {
    let stored = server.stored_files();
    let (status, listing) = server.list(&server.crisis, ARBRE_SEC_FOLDER).await;
    assert_eq!(
        status.as_u16(),
        207,
        "crisis cell lists the folder: {listing}"
    );
    for (name, content) in deposits {
        let file = format!("{ARBRE_SEC}-{name}");
        let relative = format!("{ARBRE_SEC}/{file}");
        assert!(stored.contains(&relative), "{relative} not in {stored:?}");
        let on_disk = std::fs::read(server.data_dir().join(&relative)).unwrap();
        assert_eq!(&on_disk, content, "{relative} stored intact");
        let href = format!("<D:href>/dav{ARBRE_SEC_FOLDER}{file}</D:href>");
        assert!(listing.contains(&href), "{href} not listed: {listing}");
    }
    let (status, body) = server.list(&server.louvois, ARBRE_SEC_FOLDER).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "LOUVOIS sees ARBRE SEC: {body}"
    );
}

fn school_folder_url(server: &TestServer) -> String {
    format!("{}{ARBRE_SEC_FOLDER}", server.dav)
}

/// curl as `key`'s holder, failing on HTTP errors and printing the status on stdout.
fn curl(key: &IssuedKey) -> Command {
    let mut curl = clients::command("curl");
    curl.args(["-sS", "-f", "-w", "%{http_code}", "-u"])
        .arg(format!("{}:{}", key.account, key.secret));
    curl
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_deposits_plain_and_chunked_like_finder() {
    let server = TestServer::start().await;
    let local = tempfile::tempdir().unwrap();
    let plain = pdf("curl plain");
    let chunked = pdf("curl chunked, as macOS Finder sends");
    let plain_path = clients::write_file(local.path(), "plan-curl.pdf", &plain);
    let chunked_path = clients::write_file(local.path(), "finder.pdf", &chunked);

    // `-T file URL/` appends the file's name: PUT /dav/plan-curl.pdf.
    let mut put = curl(&server.arbre_sec);
    put.arg("-T")
        .arg(&plain_path)
        .arg(format!("{}/", server.dav));
    let ran = clients::run(put, None, CURL_LIMIT).await;
    assert!(ran.success(), "{ran}");
    assert_eq!(ran.stdout, "201", "{ran}");

    // Finder: chunked body, no Content-Length, the size announced in X-Expected-Entity-Length.
    let mut finder = curl(&server.arbre_sec);
    finder
        .args([
            "-v",
            "-A",
            FINDER_AGENT,
            "-H",
            "Transfer-Encoding: chunked",
            "-H",
        ])
        .arg(format!("X-Expected-Entity-Length: {}", chunked.len()))
        .arg("-T")
        .arg(&chunked_path)
        .arg(format!("{}finder.pdf", school_folder_url(&server)));
    let ran = clients::run(finder, None, CURL_LIMIT).await;
    assert!(ran.success(), "{ran}");
    assert_eq!(ran.stdout, "201", "{ran}");
    let sent: Vec<&str> = ran.stderr.lines().filter(|l| l.starts_with("> ")).collect();
    assert!(sent.contains(&"> Transfer-Encoding: chunked"), "{sent:?}");
    assert!(
        !sent
            .iter()
            .any(|l| l.to_ascii_lowercase().starts_with("> content-length")),
        "the body went chunked: {sent:?}"
    );

    assert_deposited(
        &server,
        &[("plan-curl.pdf", &plain), ("finder.pdf", &chunked)],
    )
    .await;

    // A text file named .pdf is refused by its content, and curl -f says so.
    let fake = clients::write_file(local.path(), "faux.pdf", b"not a PDF at all\n");
    let mut refused = curl(&server.arbre_sec);
    refused.arg("-T").arg(&fake).arg(format!("{}/", server.dav));
    let ran = clients::run(refused, None, CURL_LIMIT).await;
    assert_eq!(
        ran.code(),
        Some(22),
        "curl -f fails on an HTTP error: {ran}"
    );
    assert_eq!(ran.stdout, "415", "{ran}");
    assert!(!server.stored_files().iter().any(|f| f.contains("faux")));

    // The school cannot download its deposit back; the crisis cell can.
    let url = format!("{}{ARBRE_SEC}-plan-curl.pdf", school_folder_url(&server));
    let back = local.path().join("back.pdf");
    let mut get = curl(&server.arbre_sec);
    get.arg("-o").arg(&back).arg(&url);
    let ran = clients::run(get, None, CURL_LIMIT).await;
    assert_eq!(
        (ran.code(), ran.stdout.as_str()),
        (Some(22), "403"),
        "{ran}"
    );
    let mut get = curl(&server.crisis);
    get.arg("-o").arg(&back).arg(&url);
    let ran = clients::run(get, None, CURL_LIMIT).await;
    assert!(ran.success(), "{ran}");
    assert_eq!(std::fs::read(&back).unwrap(), plain);
}

/// cadaver's credentials come from `~/.netrc`, in a home of its own.
fn cadaver_home(server: &TestServer) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let netrc = home.path().join(".netrc");
    let key = &server.arbre_sec;
    std::fs::write(
        &netrc,
        format!(
            "machine 127.0.0.1 login {} password {}\n",
            key.account, key.secret
        ),
    )
    .unwrap();
    std::fs::set_permissions(&netrc, std::fs::Permissions::from_mode(0o600)).unwrap();
    home
}

/// The line of cadaver's output that starts with `start`, and the next one (where cadaver puts
/// the status of a failed command).
fn cadaver_answer(output: &str, start: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(start))
        .unwrap_or_else(|| panic!("no `{start}` in cadaver's output:\n{output}"));
    lines[at..lines.len().min(at + 2)].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cadaver_puts_lists_and_is_refused_the_rest() {
    let server = TestServer::start().await;
    let home = cadaver_home(&server);
    let local = tempfile::tempdir().unwrap();
    let plan = pdf("cadaver");
    clients::write_file(local.path(), "plan-cadaver.pdf", &plan);
    let script = "put plan-cadaver.pdf\n\
                  cd 75001\n\
                  cd \"E E PU ARBRE SEC\"\n\
                  ls\n\
                  get 0752401C-plan-cadaver.pdf back.pdf\n\
                  mkcol nouveau\n\
                  quit\n";
    let mut cadaver = clients::command("cadaver");
    cadaver
        .env("HOME", home.path())
        .current_dir(local.path())
        .arg("-t")
        .arg(format!("{}/", server.dav));
    let ran = clients::run(cadaver, Some(script.as_bytes().to_vec()), CADAVER_LIMIT).await;
    assert!(ran.success(), "{ran}");
    let output = ran.output();
    assert!(
        !output.contains("Username:") && !output.contains("Password:"),
        "credentials come from .netrc: {ran}"
    );

    let put = cadaver_answer(
        &output,
        "Uploading plan-cadaver.pdf to `/dav/plan-cadaver.pdf'",
    );
    assert!(put.contains("succeeded."), "{put}");
    let listing = cadaver_answer(&output, "Listing collection `/dav/75001/E E PU ARBRE SEC/'");
    assert!(listing.contains("succeeded."), "{ran}");
    let listed = output
        .lines()
        .find(|l| l.trim_start().starts_with("0752401C-plan-cadaver.pdf"))
        .unwrap_or_else(|| panic!("the deposit is not listed: {ran}"));
    assert_eq!(
        listed.split_whitespace().nth(1),
        Some(plan.len().to_string().as_str()),
        "size listed: {listed}"
    );
    let get = cadaver_answer(
        &output,
        "Downloading `/dav/75001/E E PU ARBRE SEC/0752401C-",
    );
    assert!(
        get.contains("failed:") && get.contains("403 Forbidden"),
        "{get}"
    );
    // cadaver leaves an empty local file behind a refused download: no byte of the deposit.
    let back = std::fs::read(local.path().join("back.pdf")).unwrap_or_default();
    assert!(back.is_empty(), "{} bytes read back", back.len());
    let mkcol = cadaver_answer(&output, "Creating `nouveau'");
    assert!(
        mkcol.contains("failed:") && mkcol.contains("403 Forbidden"),
        "{mkcol}"
    );

    assert_deposited(&server, &[("plan-cadaver.pdf", &plan)]).await;
    assert!(!server.stored_files().iter().any(|f| f.contains("nouveau")));
}

/// An rclone on-the-fly remote (no config file) for `key` at the server's WebDAV root.
async fn rclone_remote(server: &TestServer, key: &IssuedKey) -> String {
    let mut obscure = clients::command("rclone");
    obscure.args(["obscure", &key.secret]);
    let ran = clients::run(obscure, None, RCLONE_LIMIT).await;
    assert!(ran.success(), "{ran}");
    format!(
        ":webdav,url='{}/',vendor=other,user={},pass={}:",
        server.dav,
        key.account,
        ran.stdout.trim()
    )
}

fn rclone(home: &Path, args: &[&str]) -> Command {
    let mut rclone = clients::command("rclone");
    rclone
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .args([
            "--config",
            "/dev/null",
            "--low-level-retries",
            "1",
            "--retries",
            "1",
        ])
        .args(args);
    rclone
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_copies_files_and_is_refused_a_subfolder() {
    let server = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    let a = pdf("rclone a");
    let b = pdf("rclone b, a little longer");
    let c = pdf("rclone c, in a subfolder");
    clients::write_file(tree.path(), "a.pdf", &a);
    clients::write_file(tree.path(), "b.pdf", &b);
    clients::write_file(tree.path(), "sous-dossier/c.pdf", &c);
    let remote = rclone_remote(&server, &server.arbre_sec).await;
    let source = tree.path().to_str().unwrap();

    // rclone lists the root, PUTs a.pdf and b.pdf, then MKCOLs sous-dossier/ for c.pdf: the
    // deposit rules refuse folders (403), so c.pdf is not sent and rclone exits in error.
    let copy = rclone(home.path(), &["copy", source, &remote]);
    let ran = clients::run(copy, None, RCLONE_LIMIT).await;
    assert!(!ran.timed_out, "{ran}");
    assert_ne!(
        ran.code(),
        Some(0),
        "a refused subfolder is an error: {ran}"
    );
    let refused = ran
        .stderr
        .lines()
        .find(|l| l.contains("ERROR : sous-dossier/c.pdf"))
        .unwrap_or_else(|| panic!("no error for the subfolder's file: {ran}"));
    assert!(refused.contains("403 Forbidden"), "{refused}");
    assert!(
        !ran.stderr.contains("ERROR : a.pdf") && !ran.stderr.contains("ERROR : b.pdf"),
        "{ran}"
    );
    assert_deposited(&server, &[("a.pdf", &a), ("b.pdf", &b)]).await;
    assert!(
        !server.stored_files().iter().any(|f| f.contains("c.pdf")),
        "{:?}",
        server.stored_files()
    );

    // The school's own listing through rclone: prefixed names and the sizes sent.
    let folder = format!("{remote}75001/E E PU ARBRE SEC");
    let list = rclone(home.path(), &["lsjson", &folder]);
    let ran = clients::run(list, None, RCLONE_LIMIT).await;
    assert!(ran.success(), "{ran}");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&ran.stdout).expect("lsjson");
    let mut listed: Vec<(String, u64)> = entries
        .iter()
        .map(|e| {
            let name = e["Name"].as_str().unwrap().to_string();
            (name, e["Size"].as_u64().unwrap())
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            ("0752401C-a.pdf".to_string(), a.len() as u64),
            ("0752401C-b.pdf".to_string(), b.len() as u64),
        ]
    );

    // A second copy: rclone finds no `a.pdf` where it sends it (the school's files are listed
    // under their prefixed names), so it sends everything again: unchanged content must not
    // become a new version.
    let again = rclone(home.path(), &["copy", source, &remote]);
    let ran = clients::run(again, None, RCLONE_LIMIT).await;
    assert_ne!(ran.code(), Some(0), "{ran}");
    let versions: Vec<String> = server
        .stored_files()
        .into_iter()
        .filter(|f| f.contains(".versions/0752401C-a.pdf/") && !f.ends_with(".json"))
        .collect();
    assert_eq!(
        versions,
        vec!["0752401C/.versions/0752401C-a.pdf/1".to_string()]
    );
    assert_deposited(&server, &[("a.pdf", &a), ("b.pdf", &b)]).await;
}
