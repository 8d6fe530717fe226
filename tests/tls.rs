//! HTTPS: the configured certificate is served, plain HTTP is not spoken on the TLS listener,
//! and SIGHUP swaps in a renewed certificate without a restart. Driven through the binary and
//! curl, as an operator would.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ppms-depot");

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_cert(dir: &Path) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let made = rcgen::generate_simple_self_signed(names).unwrap();
    std::fs::write(dir.join("cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), made.key_pair.serialize_pem()).unwrap();
}

/// curl's status for `url`, trusting only `ca`; "000" when TLS or the connection fails.
fn curl(url: &str, ca: Option<&Path>) -> String {
    let mut command = Command::new("curl");
    command.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "5",
    ]);
    if let Some(ca) = ca {
        command.arg("--cacert").arg(ca);
    }
    let output = command
        .arg(url)
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .output()
        .expect("curl is installed by scripts/test");
    String::from_utf8_lossy(&output.stdout).to_string()
}

#[test]
fn https_is_served_and_the_certificate_reloads_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("tls");
    std::fs::create_dir_all(&certs).unwrap();
    write_cert(&certs);
    let first_ca = dir.path().join("first.pem");
    std::fs::copy(certs.join("cert.pem"), &first_ca).unwrap();
    let port = free_port();
    let child = Command::new(BIN)
        .arg("serve")
        .env("PPMS_DEPOT_LISTEN", format!("127.0.0.1:{port}"))
        .env("PPMS_DEPOT_DATA_DIR", dir.path().join("deposits"))
        .env("PPMS_DEPOT_STATE_DIR", dir.path().join("state"))
        .env("PPMS_DEPOT_TLS_CERT_FILE", certs.join("cert.pem"))
        .env("PPMS_DEPOT_TLS_KEY_FILE", certs.join("key.pem"))
        .env("PPMS_DEPOT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let url = format!("https://localhost:{port}/healthz");
    let started = Instant::now();
    while curl(&url, Some(&first_ca)) != "200" {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        curl(&format!("http://127.0.0.1:{port}/healthz"), None),
        "000"
    );

    write_cert(&certs);
    let pid = server.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    while curl(&url, Some(&certs.join("cert.pem"))) != "200" {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "renewed certificate not served"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        curl(&url, Some(&first_ca)),
        "000",
        "the old certificate is gone"
    );

    std::fs::write(certs.join("key.pem"), "not a key").unwrap();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        curl(&url, Some(&certs.join("cert.pem"))),
        "200",
        "a bad reload keeps the old"
    );
}

#[test]
fn half_a_tls_configuration_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .arg("serve")
        .env("PPMS_DEPOT_LISTEN", "127.0.0.1:0")
        .env("PPMS_DEPOT_DATA_DIR", dir.path().join("deposits"))
        .env("PPMS_DEPOT_STATE_DIR", dir.path().join("state"))
        .env("PPMS_DEPOT_TLS_CERT_FILE", dir.path().join("cert.pem"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("set both or neither"), "{stderr}");
}
