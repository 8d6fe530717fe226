//! A real headless Chromium for the browser tests, driven over WebDriver: [`Chrome::start`]
//! runs `chromedriver` on 127.0.0.1 (it picks a free port and prints it), opens a session with
//! a fresh profile directory and the flags of [`FLAGS`], and the helpers below go to a page,
//! fill a field by name, click a button or link by its text or a CSS selector, wait for an
//! element or a text (never longer than [`WAIT`]), take screenshots kept as
//! `target/screenshots/<test>-<step>.png`, and hand the session's cookies to reqwest. Without
//! `chromium` or `chromedriver`, starting fails under CI (env `CI` set) and otherwise says the
//! test is skipped.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The Debian packages `chromium` and `chromium-driver` install these; the environment
/// variables `PPMS_TEST_CHROMIUM` and `PPMS_TEST_CHROMEDRIVER` name others.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The programs used: `(chromium, chromedriver)`.
pub fn programs() -> (PathBuf, PathBuf) {
    let pick = |var: &str, default: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from(default), PathBuf::from)
    };
    (
        pick("PPMS_TEST_CHROMIUM", CHROMIUM),
        pick("PPMS_TEST_CHROMEDRIVER", CHROMEDRIVER),
    )
}

/// Chromium's command-line flags, before the profile directory and the window size.
pub const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// The longest any single wait lasts (an element, a text, chromedriver's start).
pub const WAIT: Duration = Duration::from_secs(15);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);
/// Desktop window of every session; [`Chrome::phone`] switches to a phone's width.
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// Where screenshots are kept: `target/screenshots/` of this crate.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

/// A browser session on the server at `base`; the chromedriver process group is killed when
/// dropped (Chromium included), also when the test panics.
pub struct Chrome {
    pub client: Client,
    pub base: String,
    test: String,
    driver: Child,
    group: i32,
    profile: tempfile::TempDir,
}

/// Whether both programs are there; if not, panics under CI and otherwise prints a skip line.
pub fn available(test: &str) -> bool {
    let (chromium, chromedriver) = programs();
    let missing: Vec<String> = [chromium, chromedriver]
        .iter()
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{} not found: install the Debian packages chromium and chromium-driver \
         (bash scripts/test does)",
        missing.join(" and ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("browser test {test} cannot run under CI: {message}");
    }
    // Written to stderr directly, so the line shows even though the test passes (libtest
    // captures only the print macros).
    let _ = writeln!(std::io::stderr(), "SKIP browser test {test}: {message}");
    false
}

impl Chrome {
    /// Starts chromedriver and a Chromium session for `test`, on the server at `base`; `None`
    /// (after a skip line) when Chromium is not installed outside CI.
    pub async fn start(test: &str, base: &str) -> Option<Chrome> {
        if !available(test) {
            return None;
        }
        let (chromium, chromedriver) = programs();
        let profile = tempfile::tempdir().expect("profile dir");
        let mut driver = Command::new(chromedriver)
            .arg("--port=0")
            .arg(format!(
                "--log-path={}",
                profile.path().join("chromedriver.log").display()
            ))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let group = driver.id().expect("chromedriver pid") as i32;
        let stdout = driver.stdout.take().expect("chromedriver stdout");
        let port = tokio::time::timeout(WAIT, driver_port(stdout))
            .await
            .expect("chromedriver printed its port in time")
            .expect("chromedriver printed its port");
        let user_data = profile.path().join("user-data");
        let downloads = profile.path().join("downloads");
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", user_data.display()));
        args.push(format!("--window-size={},{}", DESKTOP.0, DESKTOP.1));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = tokio::time::timeout(
            WAIT,
            ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities)
                .connect(&format!("http://127.0.0.1:{port}")),
        )
        .await
        .expect("Chromium session opened in time")
        .unwrap_or_else(|err| {
            let log = std::fs::read_to_string(profile.path().join("chromedriver.log"))
                .unwrap_or_default();
            panic!("Chromium session: {err}\nchromedriver log:\n{log}")
        });
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(WAIT),
                Some(WAIT),
                Some(Duration::ZERO),
            ))
            .await
            .expect("session timeouts");
        Some(Chrome {
            client,
            base: base.trim_end_matches('/').to_string(),
            test: test.to_string(),
            driver,
            group,
            profile,
        })
    }

    /// Opens `path` (absolute on the server, e.g. `/connexion`).
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|err| panic!("open {path}: {err}"));
    }

    /// The path of the page shown (with its query).
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The first element matching `css`, waiting for it up to [`WAIT`].
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(found) => found,
            Err(err) => {
                self.fail(&format!("no element {css} within {WAIT:?}: {err}"))
                    .await
            }
        }
    }

    /// Panics with `what`, the page's address and text, after keeping a screenshot of it as
    /// `<test>-echec.png` (what cannot be had is left out).
    pub async fn fail(&self, what: &str) -> ! {
        let url = match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(err) => format!("(no address: {err})"),
        };
        let text = match self.client.find(Locator::Css("body")).await {
            Ok(body) => collapse(&body.text().await.unwrap_or_default()),
            Err(_) => String::new(),
        };
        let text: String = text.chars().take(800).collect();
        let shot = match self.client.screenshot().await {
            Ok(png) => {
                let path = screenshot_dir().join(format!("{}-echec.png", self.test));
                let kept = std::fs::create_dir_all(screenshot_dir())
                    .and_then(|()| std::fs::write(&path, png));
                match kept {
                    Ok(()) => path.display().to_string(),
                    Err(err) => format!("not kept: {err}"),
                }
            }
            Err(err) => format!("none: {err}"),
        };
        panic!("{what}\npage {url} (screenshot {shot}): {text}")
    }

    /// Waits up to [`WAIT`] until the element `css` shows `text` (whitespace collapsed);
    /// returns the element's text.
    pub async fn wait_for_text_in(&self, css: &str, text: &str) -> String {
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < WAIT {
            if let Ok(found) = self.client.find(Locator::Css(css)).await {
                if let Ok(shown) = found.text().await {
                    last = collapse(&shown);
                    if last.contains(text) {
                        return last;
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        }
        self.fail(&format!(
            "{css} did not show {text:?} within {WAIT:?}; it shows {last:?}"
        ))
        .await
    }

    /// Waits up to [`WAIT`] until the page shows `text`; returns the page's text.
    pub async fn wait_for_text(&self, text: &str) -> String {
        self.wait_for_text_in("body", text).await
    }

    /// The visible text of the page, whitespace collapsed.
    pub async fn text(&self) -> String {
        let body = self.wait_for("body").await;
        collapse(&body.text().await.expect("page text"))
    }

    /// Types `value` into the first field named `name` (emptied first).
    pub async fn fill(&self, name: &str, value: &str) {
        let field = self.wait_for(&format!("[name=\"{name}\"]")).await;
        field.clear().await.expect("clear field");
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|err| panic!("type into {name}: {err}"));
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    /// Clicks the shown button, submit input or link whose text is `text` or, if none is,
    /// the first whose text contains it, waiting for one up to [`WAIT`].
    pub async fn click_text(&self, text: &str) {
        assert!(!text.contains('"'), "no quote in a text to click");
        let exact = format!(
            "//button[normalize-space(.) = \"{text}\"] \
             | //input[(@type='submit' or @type='button') and @value = \"{text}\"] \
             | //a[normalize-space(.) = \"{text}\"]"
        );
        let partial = format!(
            "//button[contains(normalize-space(.), \"{text}\")] \
             | //input[(@type='submit' or @type='button') and contains(@value, \"{text}\")] \
             | //a[contains(normalize-space(.), \"{text}\")]"
        );
        let started = Instant::now();
        while started.elapsed() < WAIT {
            for xpath in [&exact, &partial] {
                let found = self
                    .client
                    .find_all(Locator::XPath(xpath))
                    .await
                    .unwrap_or_default();
                for element in found {
                    if element.is_displayed().await.unwrap_or(false) {
                        element
                            .click()
                            .await
                            .unwrap_or_else(|err| panic!("click {text:?}: {err}"));
                        return;
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        }
        self.fail(&format!(
            "nothing shown to click reading {text:?} within {WAIT:?}"
        ))
        .await
    }

    /// The text of the cell of table `table` in the row whose first cell reads `row` and the
    /// column headed `column`, waiting for the row up to [`WAIT`].
    pub async fn table_cell(&self, table: &str, row: &str, column: &str) -> String {
        const SCRIPT: &str = "const [table, row, column] = arguments;
            const found = document.querySelector(table);
            if (!found) return null;
            const heads = [...found.querySelectorAll('thead th')]
                .map(c => c.innerText.trim());
            const index = heads.indexOf(column);
            if (index < 0) return null;
            for (const r of found.querySelectorAll('tbody tr, tfoot tr')) {
                if (r.cells[0] && r.cells[0].innerText.trim() === row) {
                    return r.cells[index] ? r.cells[index].innerText.trim() : null;
                }
            }
            return null;";
        let started = Instant::now();
        while started.elapsed() < WAIT {
            let args = vec![json!(table), json!(row), json!(column)];
            if let Ok(Value::String(cell)) = self.client.execute(SCRIPT, args).await {
                return collapse(&cell);
            }
            tokio::time::sleep(POLL).await;
        }
        self.fail(&format!(
            "no cell in {table}, row {row:?}, column {column:?} within {WAIT:?}"
        ))
        .await
    }

    /// Scrolls the page so that the element `css` is at the top of the window.
    pub async fn scroll_to(&self, css: &str) {
        let element = self.wait_for(css).await;
        let arg = serde_json::to_value(&element).expect("element reference");
        self.client
            .execute("arguments[0].scrollIntoView(true);", vec![arg])
            .await
            .expect("scroll");
    }

    /// Takes a screenshot of the viewport, kept as `target/screenshots/<test>-<step>.png`;
    /// returns its path and the image's width and height.
    pub async fn screenshot(&self, step: &str) -> (PathBuf, u32, u32) {
        let png = self.client.screenshot().await.expect("screenshot");
        let (width, height) = png_size(&png).expect("the screenshot is a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{}-{step}.png", self.test));
        std::fs::write(&path, &png).expect("write screenshot");
        (path, width, height)
    }

    /// Resizes the window to a phone's ([`PHONE`]), or back to [`DESKTOP`].
    pub async fn phone(&self, phone: bool) {
        let (width, height) = if phone { PHONE } else { DESKTOP };
        self.client
            .set_window_size(width, height)
            .await
            .expect("window size");
    }

    /// The page's viewport width in CSS pixels.
    pub async fn viewport_width(&self) -> u64 {
        self.client
            .execute("return window.innerWidth;", vec![])
            .await
            .expect("script")
            .as_u64()
            .expect("a width")
    }

    /// The browser's cookies for the current page, as a `Cookie` header value.
    pub async fn cookie_header(&self) -> String {
        let cookies = self.client.get_all_cookies().await.expect("cookies");
        cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The value of the cookie `name`, if the browser holds it.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        let cookies = self.client.get_all_cookies().await.expect("cookies");
        cookies
            .iter()
            .find(|c| c.name() == name)
            .map(|c| c.value().to_string())
    }

    /// Closes the session (Chromium exits), then stops chromedriver.
    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = tokio::time::timeout(WAIT, client.close()).await;
        let _ = self.driver.start_kill();
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // SAFETY: kill(2) with the negated id of the process group `start` created for
        // chromedriver; Chromium runs in it too.
        unsafe {
            libc::kill(-self.group, libc::SIGKILL);
        }
    }
}

/// Reads chromedriver's standard output until it names its port; the rest is drained.
async fn driver_port(stdout: tokio::process::ChildStdout) -> Option<u16> {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            let port = rest.trim_end_matches('.').trim().parse().ok();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return port;
        }
    }
    None
}

/// Whitespace runs become one space.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Width and height of a PNG image, from its header.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(png[16..20].try_into().ok()?);
    let height = u32::from_be_bytes(png[20..24].try_into().ok()?);
    Some((width, height))
}
