//! Running real command-line WebDAV clients (curl, cadaver, rclone, litmus) against a test
//! server: finding them on `PATH`, and running one with a time limit, off the async runtime
//! that serves the requests, with no proxy so that every request goes to 127.0.0.1.
#![allow(dead_code)]

use std::fmt;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What to do when a client is missing: the test fails with this advice.
pub const INSTALL_HINT: &str =
    "run `bash scripts/test`: it installs curl, cadaver, rclone and litmus (Debian packages)";

/// Proxy variables some clients obey; removed so that no request leaves the loopback.
const PROXY_VARIABLES: [&str; 6] = [
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
];

/// The full path of `program` on `PATH`; fails the test when it is not installed.
#[track_caller]
pub fn require(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| {
                candidate
                    .metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
    });
    found.unwrap_or_else(|| panic!("`{program}` is not installed: {INSTALL_HINT}"))
}

/// A command for `program` (which must be installed), with proxies switched off.
#[track_caller]
pub fn command(program: &str) -> Command {
    let mut command = Command::new(require(program));
    for variable in PROXY_VARIABLES {
        command.env_remove(variable);
    }
    command
        .env("no_proxy", "127.0.0.1")
        .env("NO_PROXY", "127.0.0.1");
    command
}

/// What a finished (or stopped) client run left.
pub struct Ran {
    /// The command line, for failure messages.
    pub shown: String,
    /// `None` when the process could not be waited for after a kill.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    /// The time limit was reached and the process group was killed.
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl Ran {
    /// Exited by itself with status 0.
    pub fn success(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }

    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// Standard output then standard error.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl fmt::Display for Ran {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.shown)?;
        let status = match (self.timed_out, self.status) {
            (true, _) => "killed after its time limit".to_string(),
            (false, Some(status)) => status.to_string(),
            (false, None) => "unknown".to_string(),
        };
        writeln!(f, "status: {status} after {:.1?}", self.elapsed)?;
        writeln!(f, "--- stdout\n{}", self.stdout)?;
        write!(f, "--- stderr\n{}", self.stderr)
    }
}

/// Runs `command` to its end or until `limit`, feeding `input` on its standard input (closed
/// at once when `None`). Blocking work runs on tokio's blocking pool, so the server, served by
/// the same runtime, keeps answering.
pub async fn run(command: Command, input: Option<Vec<u8>>, limit: Duration) -> Ran {
    tokio::task::spawn_blocking(move || run_blocking(command, input, limit))
        .await
        .expect("client runner thread")
}

fn run_blocking(mut command: Command, input: Option<Vec<u8>>, limit: Duration) -> Ran {
    let shown = format!("{command:?}");
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a timeout also ends what it started (litmus' wrapper
        // script runs each test group as a child process).
        .process_group(0);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {shown}: {err}"));
    let feeder = match (input, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) => Some(thread::spawn(move || {
            // A client that exits before reading everything closes the pipe: not our failure.
            let _ = pipe.write_all(&bytes);
        })),
        _ => None,
    };
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the client") {
            break Some(status);
        }
        if started.elapsed() >= limit {
            timed_out = true;
            let group = i32::try_from(child.id()).expect("pid fits in pid_t");
            // SAFETY: kill(2) with the negated id of the process group this function created.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
            break child.wait().ok();
        }
        thread::sleep(Duration::from_millis(20));
    };
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    Ran {
        shown,
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        timed_out,
        elapsed: started.elapsed(),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Writes `bytes` as `dir/relative` (creating parent folders) and returns its path.
pub fn write_file(dir: &std::path::Path, relative: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create local folder");
    }
    std::fs::write(&path, bytes).expect("write local file");
    path
}
