//! Test harness: the real server on 127.0.0.1 and a free port, over a temp data directory,
//! with mount keys for two real Paris schools and the crisis cell.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ppms_depot::auth::{IssuedKey, KeySubject};
use ppms_depot::config::Config;
use ppms_depot::directory::Rne;
use ppms_depot::server::{bind, serve, App};
use reqwest::{Method, StatusCode};

pub const ARBRE_SEC: &str = "0752401C";
pub const ARBRE_SEC_FOLDER: &str = "/75001/E%20E%20PU%20ARBRE%20SEC/";
pub const LOUVOIS: &str = "0754825M";
pub const LOUVOIS_FOLDER: &str = "/75002/E%20E%20PU%20LOUVOIS/";

/// A running server and what a test needs to talk to it.
pub struct TestServer {
    pub base: String,
    pub dav: String,
    pub dir: tempfile::TempDir,
    pub app: Arc<App>,
    pub arbre_sec: IssuedKey,
    pub louvois: IssuedKey,
    pub crisis: IssuedKey,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Policy files shipped in the repository.
pub fn policy_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(name)
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts with a configuration adjusted by `adjust` (e.g. another policy file).
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::load(None).expect("default config");
        config.listen = "127.0.0.1:0".into();
        config.data_dir = dir.path().join("deposits");
        config.state_dir = dir.path().join("state");
        config.directory_file = PathBuf::new();
        config.policy_file = PathBuf::new();
        adjust(&mut config);
        let listener = bind(&config.listen).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = Arc::new(App::build(config).await.expect("app"));
        let school = |rne: &str| KeySubject::School {
            account: format!("ce.{rne}"),
            rne: Rne::parse(rne).unwrap(),
        };
        let arbre_sec = app
            .keys
            .issue(&school(ARBRE_SEC), "test", None)
            .await
            .unwrap();
        let louvois = app
            .keys
            .issue(&school(LOUVOIS), "test", None)
            .await
            .unwrap();
        let cell = KeySubject::CrisisCell {
            account: "cellule.test".into(),
        };
        let crisis = app.keys.issue(&cell, "test", None).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = app.clone();
        tokio::spawn(async move {
            serve(served, listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        let base = format!("http://{addr}");
        TestServer {
            dav: format!("{base}/dav"),
            base,
            dir,
            app,
            arbre_sec,
            louvois,
            crisis,
            client: reqwest::Client::new(),
            stop: Some(stop),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("deposits")
    }

    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        let text =
            std::fs::read_to_string(self.dir.path().join("state/audit.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("audit JSON"))
            .collect()
    }

    /// A request as `key`'s holder to a path under `/dav`.
    pub fn req(&self, key: &IssuedKey, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        self.client
            .request(method, format!("{}{}", self.dav, path))
            .basic_auth(&key.account, Some(&key.secret))
    }

    pub async fn put(&self, key: &IssuedKey, path: &str, body: &[u8]) -> (StatusCode, String) {
        let response = self
            .req(key, "PUT", path)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// PROPFIND with Depth 1: status and body.
    pub async fn list(&self, key: &IssuedKey, path: &str) -> (StatusCode, String) {
        let response = self
            .req(key, "PROPFIND", path)
            .header("Depth", "1")
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Every regular file below the data directory, relative, sorted.
    pub fn stored_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        collect(&self.data_dir(), &self.data_dir(), &mut files);
        files.sort();
        files
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            out.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A small real PDF.
pub fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n").into_bytes()
}
