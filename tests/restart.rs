//! A restart of the real binary in the middle of a user's day: an agent made with the CLI logs
//! in through the three stages (codes computed at real time from the printed secret), mints a
//! mount key, then the server is killed and started again on the same state. The stage-2 code
//! is still refused (the last accepted time step is in the database), the session cookie still
//! logs in, and the mount key still works (its first use after the start is audited again).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ppms_depot::auth::otp::{OtpParams, Token};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_ppms-depot");
const AGENT: &str = "jdupont";
const PIN: &str = "48213579";
const SCHOOL: &str = "ce.0752401C";
const SCHOOL_PASSWORD: &str = "mot-de-passe-arbre-sec";
/// Seconds of a time step: the default token parameters.
const PERIOD: u64 = 30;

/// `ppms-depot` configured from the environment only, over `dirs`.
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
        .env("NO_COLOR", "1");
    cmd
}

/// Runs a CLI command with `stdin` as its standard input.
fn run(dirs: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = command(dirs, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ppms-depot");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    out
}

/// `ppms-depot serve` as a child, killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(dirs: &Path) -> Server {
        let mut child = command(dirs, &["serve"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ppms-depot serve");
        let (found, addr) = std::sync::mpsc::channel::<String>();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        // Drained for the server's whole life, or a full pipe would stall it.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line.clone());
                let addr = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("addr="))
                    .filter(|_| line.contains("listening"));
                if let Some(addr) = addr {
                    if let Some(tx) = found.take() {
                        let _ = tx.send(addr.to_string());
                    }
                }
            }
        });
        let addr = addr
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the server did not start: {:?}", log.lock().unwrap()));
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Server {
            child,
            base: format!("http://{addr}"),
        }
    }

    /// SIGKILL, as a crash or an unplanned reboot would.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client of `/api/v1/` keeping its session cookie and CSRF token, as the login page does.
struct Browser {
    client: reqwest::Client,
    cookie: Option<String>,
    csrf: String,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            client: reqwest::Client::new(),
            cookie: None,
            csrf: String::new(),
        }
    }

    async fn call(
        &mut self,
        server: &Server,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/api/v1/{path}", server.base))
            .header("X-CSRF-Token", &self.csrf);
        if let Some(cookie) = &self.cookie {
            request = request.header("Cookie", format!("ppms_session={cookie}"));
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some(id) = pair.strip_prefix("ppms_session=") {
                self.cookie = (!id.is_empty()).then(|| id.to_string());
            }
        }
        let text = response.text().await.unwrap();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(token) = json.get("csrf_token").and_then(Value::as_str) {
            self.csrf = token.to_string();
        }
        (status, json)
    }

    async fn post(&mut self, server: &Server, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(server, Method::POST, path, Some(body)).await
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn dav(server: &Server, method: &str, path: &str, key: &str) -> StatusCode {
    let mut request = reqwest::Client::new()
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}/dav{path}", server.base),
        )
        .basic_auth(SCHOOL, Some(key))
        .header("Depth", "1");
    if method == "PUT" {
        request = request.body(b"%PDF-1.4\n% restart\n%%EOF\n".to_vec());
    }
    request.send().await.unwrap().status()
}

fn key_used_lines(dirs: &Path) -> usize {
    std::fs::read_to_string(dirs.join("state/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"event\":\"key_used\""))
        .count()
}

/// Waits (5 s at most) for `count` key-use lines: they are written beside the request.
async fn wait_for_key_used(dirs: &Path, count: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while key_used_lines(dirs) < count && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_restart_keeps_replays_refused_sessions_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = dir.path();
    let added = run(dirs, &["agent", "add", AGENT, "--pin-from-stdin"], PIN);
    let printed = String::from_utf8(added.stdout).unwrap();
    let secret = printed
        .lines()
        .find_map(|l| l.strip_prefix("secret:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no secret in {printed}"));
    let secret = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .expect("base32 secret");
    let token = Token::new(secret, OtpParams::default(), AGENT).unwrap();
    run(dirs, &["school", "set-password", SCHOOL], SCHOOL_PASSWORD);
    let passcode = |step: u64| format!("{PIN}{}", token.code_for_step(step));

    let server = Server::start(dirs);
    let mut browser = Browser::new();
    let (s, _) = browser.call(&server, Method::GET, "login", None).await;
    assert_eq!(s, StatusCode::OK);
    // Stage 1 takes the previous step's code (within the accepted drift) and stage 2 the
    // current one, strictly later: no wait for a new code, unless the step is about to end.
    if now() % PERIOD > PERIOD - 6 {
        tokio::time::sleep(Duration::from_secs(PERIOD - now() % PERIOD + 1)).await;
    }
    let step = now() / PERIOD;
    let first = json!({ "personal_id": AGENT, "passcode": passcode(step - 1) });
    let (s, body) = browser.post(&server, "login/stage1", first).await;
    assert_eq!(s, StatusCode::OK, "stage 1: {body}");
    let second = json!({ "passcode": passcode(step) });
    let (s, body) = browser.post(&server, "login/stage2", second).await;
    assert_eq!(s, StatusCode::OK, "stage 2: {body}");
    let third = json!({ "account": SCHOOL, "password": SCHOOL_PASSWORD });
    let (s, body) = browser.post(&server, "login/stage3", third).await;
    assert_eq!(s, StatusCode::OK, "stage 3: {body}");
    assert_eq!(body["role"], "school");
    let (s, minted) = browser
        .post(&server, "mount-keys", json!({ "label": "PC" }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{minted}");
    let key = minted["key"].as_str().unwrap().to_string();
    assert_eq!(
        dav(&server, "PUT", "/plan.pdf", &key).await,
        StatusCode::CREATED
    );
    wait_for_key_used(dirs, 1).await;

    server.kill();
    let server = Server::start(dirs);

    // (a) The stage-2 code again, in a new session: refused although still within the drift.
    let mut intruder = Browser::new();
    intruder.call(&server, Method::GET, "login", None).await;
    assert!(
        now() / PERIOD <= step + 1,
        "the replayed code is still in the drift window"
    );
    let replay = json!({ "personal_id": AGENT, "passcode": passcode(step) });
    let (s, body) = intruder.post(&server, "login/stage1", replay).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "replayed after the restart: {body}"
    );
    let fresh = json!({ "personal_id": AGENT, "passcode": passcode(step + 1) });
    let (s, body) = intruder.post(&server, "login/stage1", fresh).await;
    assert_eq!(s, StatusCode::OK, "a newer code still passes: {body}");

    // (b) The cookie from before the restart is still logged in.
    let (s, state) = browser.call(&server, Method::GET, "login", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(state["logged_in"], true, "{state}");
    assert_eq!(state["account"], SCHOOL);
    let (s, listed) = browser.call(&server, Method::GET, "mount-keys", None).await;
    assert_eq!(s, StatusCode::OK, "{listed}");
    assert_eq!(listed["keys"][0]["id"], minted["id"]);

    // (c) The mount key still works; its first use after the start is audited again.
    let before = key_used_lines(dirs);
    assert_eq!(before, 1, "the use before the restart");
    assert_eq!(dav(&server, "PROPFIND", "/", &key).await.as_u16(), 207);
    wait_for_key_used(dirs, 2).await;
    assert_eq!(key_used_lines(dirs), 2, "first use after the start");
}
