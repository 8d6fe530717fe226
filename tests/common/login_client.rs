//! For the login tests: the real server on 127.0.0.1 and a free port with a manual clock, and
//! a small "browser" that keeps the session cookie and the CSRF token.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use ppms_depot::auth::otp::{OtpParams, Token};
use ppms_depot::auth::ManualClock;
use ppms_depot::config::Config;
use ppms_depot::server::{bind, serve, App};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A time at the start of a 30 s step (1_900_000_020 = 63_333_334 × 30), plus 5 s.
pub const T0: u64 = 1_900_000_025;
pub const PIN: &str = "48213579";
pub const ARBRE_SEC_ACCOUNT: &str = "ce.0752401C";
pub const ARBRE_SEC_PASSWORD: &str = "mot-de-passe-arbre-sec";

pub struct LoginServer {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub app: Arc<App>,
    pub clock: Arc<ManualClock>,
    config: Config,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

async fn launch(config: Config, clock: Arc<ManualClock>) -> (String, Arc<App>, Sender) {
    let listener = bind(&config.listen).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Arc::new(App::build_with_clock(config, clock).await.expect("app"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = app.clone();
    tokio::spawn(async move {
        serve(served, listener, async {
            let _ = stopped.await;
        })
        .await
        .expect("serve");
    });
    (format!("http://{addr}"), app, stop)
}

type Sender = tokio::sync::oneshot::Sender<()>;

impl LoginServer {
    pub async fn start(adjust: impl FnOnce(&mut Config, &std::path::Path)) -> LoginServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::load(None).expect("default config");
        config.listen = "127.0.0.1:0".into();
        config.data_dir = dir.path().join("deposits");
        config.state_dir = dir.path().join("state");
        config.directory_file = PathBuf::new();
        config.policy_file = PathBuf::new();
        adjust(&mut config, dir.path());
        let clock = Arc::new(ManualClock::new(T0));
        let (base, app, stop) = launch(config.clone(), clock.clone()).await;
        LoginServer {
            base,
            dir,
            app,
            clock,
            config,
            stop: Some(stop),
        }
    }

    /// Stops the server and starts a new one on the same state (a restart).
    pub async fn restart(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let (base, app, stop) = launch(self.config.clone(), self.clock.clone()).await;
        self.base = base;
        self.app = app;
        self.stop = Some(stop);
    }

    pub fn now(&self) -> u64 {
        ppms_depot::auth::Clock::now(self.clock.as_ref())
    }

    /// Adds agent `id` with PIN [`PIN`] and default token parameters.
    pub async fn agent(&self, id: &str) -> Token {
        self.app
            .login
            .agents
            .add(id, PIN, OtpParams::default())
            .await
            .expect("agent")
    }

    /// PIN + the code at the clock's time.
    pub fn passcode(&self, token: &Token) -> String {
        format!("{PIN}{}", token.code_at(self.now()))
    }

    pub fn audit_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("state/audit.jsonl")).unwrap_or_default()
    }

    pub fn audit_lines(&self) -> Vec<Value> {
        self.audit_text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit JSON"))
            .collect()
    }

    pub async fn browser(&self) -> Browser {
        let mut browser = Browser {
            base: self.base.clone(),
            client: reqwest::Client::new(),
            cookie: None,
            csrf: String::new(),
        };
        let (status, state) = browser.call(Method::GET, "login", None).await;
        assert_eq!(status, StatusCode::OK, "{state}");
        assert!(browser.cookie.is_some(), "a session cookie is set");
        browser
    }

    /// A WebDAV request with Basic `account:key`.
    pub async fn dav(&self, method: &str, path: &str, account: &str, key: &str) -> StatusCode {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = reqwest::Client::new()
            .request(method.clone(), format!("{}/dav{path}", self.base))
            .basic_auth(account, Some(key));
        if method == Method::PUT {
            request = request.body(b"%PDF-1.4\n% test\n%%EOF\n".to_vec());
        }
        if method.as_str() == "PROPFIND" {
            request = request.header("Depth", "1");
        }
        request.send().await.unwrap().status()
    }

    /// Logs `browser` in through the three stages as `agent` with the school account.
    pub async fn full_login(&self, browser: &mut Browser, agent: &str, token: &Token) -> Value {
        let (s, body) = browser
            .post("login/stage1", &stage1_body(agent, &self.passcode(token)))
            .await;
        assert_eq!(s, StatusCode::OK, "stage 1: {body}");
        self.clock.advance(30);
        let (s, body) = browser
            .post("login/stage2", &passcode_body(&self.passcode(token)))
            .await;
        assert_eq!(s, StatusCode::OK, "stage 2: {body}");
        let (s, body) = browser
            .post(
                "login/stage3",
                &stage3_body(ARBRE_SEC_ACCOUNT, ARBRE_SEC_PASSWORD),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "stage 3: {body}");
        body
    }
}

impl Drop for LoginServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn stage1_body(id: &str, passcode: &str) -> Value {
    serde_json::json!({ "personal_id": id, "passcode": passcode })
}

pub fn passcode_body(passcode: &str) -> Value {
    serde_json::json!({ "passcode": passcode })
}

pub fn stage3_body(account: &str, password: &str) -> Value {
    serde_json::json!({ "account": account, "password": password })
}

/// A client that keeps its session cookie and CSRF token like a browser page would.
pub struct Browser {
    base: String,
    client: reqwest::Client,
    pub cookie: Option<String>,
    pub csrf: String,
}

impl Browser {
    /// A request under `/api/v1/`, with the cookie and (unless `csrf` is false) the token.
    pub async fn call_with(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        csrf: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/api/v1/{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("Cookie", format!("ppms_session={cookie}"));
        }
        if let Some(token) = csrf {
            request = request.header("X-CSRF-Token", token);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(body).unwrap());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
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

    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let token = self.csrf.clone();
        self.call_with(method, path, body, Some(&token)).await
    }

    pub async fn post(&mut self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn stage(&mut self) -> u64 {
        let (_, state) = self.call(Method::GET, "login", None).await;
        state["stage"].as_u64().expect("stage")
    }
}
