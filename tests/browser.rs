//! The portal in a real headless Chromium, driven over WebDriver (tests/common/browser.rs)
//! against the server in-process on 127.0.0.1 with a manual clock, so the two codes of the
//! staged login come from two time steps without waiting: a school agent logs in through the
//! three stages of `/connexion`, mints a mount key and deposits with it over WebDAV; a school
//! deposits two files from `/depot`; a crisis-cell member searches, opens a school, downloads
//! a plan and reads the coverage under `/cellule/`. Every page is kept as a screenshot under
//! `target/screenshots/<test>-<step>.png`, one of them at a phone's width.

#[path = "common/browser.rs"]
mod browser;
#[path = "common/login_client.rs"]
mod login_client;

use std::future::Future;
use std::time::Duration;

use browser::Chrome;
use login_client::*;
use ppms_depot::auth::otp::Token;
use reqwest::StatusCode;

/// A whole browser test stops after this long, whatever it waits for.
const TEST_LIMIT: Duration = Duration::from_secs(100);

/// Runs `body` under [`TEST_LIMIT`].
async fn bounded(test: &str, body: impl Future<Output = ()>) {
    tokio::time::timeout(TEST_LIMIT, body)
        .await
        .unwrap_or_else(|_| panic!("browser test {test} took longer than {TEST_LIMIT:?}"));
}

/// The server with the password of ARBRE SEC's account set.
async fn school_server() -> LoginServer {
    let server = LoginServer::start(|_, _| {}).await;
    server
        .app
        .login
        .passwords
        .set(ARBRE_SEC_ACCOUNT, ARBRE_SEC_PASSWORD)
        .await
        .expect("school password");
    server
}

/// The three stages of `/connexion` in the browser, as `agent` then `account`; the server's
/// clock moves one time step between the two codes. With `shots`, each stage's form is kept
/// as `connexion-etape<N>` and the page after the last stage as `connexion-fin`.
async fn log_in(
    chrome: &Chrome,
    server: &LoginServer,
    (agent, token): (&str, &Token),
    (account, password): (&str, &str),
    shots: bool,
) {
    chrome.goto("/connexion").await;
    chrome.wait_for_text("Étape 1 sur 3").await;
    chrome.fill("personal_id", agent).await;
    chrome.fill("passcode", &server.passcode(token)).await;
    if shots {
        chrome.screenshot("connexion-etape1").await;
    }
    chrome.click_text("Valider").await;
    chrome.wait_for_text("Étape 2 sur 3").await;
    server.clock.advance(30);
    chrome.fill("passcode", &server.passcode(token)).await;
    if shots {
        chrome.screenshot("connexion-etape2").await;
    }
    chrome.click_text("Valider").await;
    chrome.wait_for_text("Étape 3 sur 3").await;
    chrome.fill("account", account).await;
    chrome.fill("password", password).await;
    if shots {
        chrome.screenshot("connexion-etape3").await;
    }
    chrome.click_text("Valider").await;
    let text = chrome.wait_for_text("Connecté").await;
    assert!(text.contains(account), "the page names the account: {text}");
    if shots {
        chrome.screenshot("connexion-fin").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn school_logs_in_in_three_stages_and_the_key_it_mints_deposits_over_webdav() {
    let test = "connexion_cle";
    let server = school_server().await;
    let Some(chrome) = Chrome::start(test, &server.base).await else {
        return;
    };
    bounded(test, async {
        let token = server.agent("agent.ecole").await;

        chrome.goto("/").await;
        chrome.wait_for_text("Se connecter").await;
        chrome.screenshot("accueil").await;
        chrome.click_text("Se connecter").await;
        chrome.wait_for_text("Étape 1 sur 3").await;
        assert_eq!(chrome.path().await, "/connexion");
        assert!(
            chrome.cookie("ppms_session").await.is_some(),
            "the login page sets the session cookie"
        );

        log_in(
            &chrome,
            &server,
            ("agent.ecole", &token),
            (ARBRE_SEC_ACCOUNT, ARBRE_SEC_PASSWORD),
            true,
        )
        .await;

        chrome.fill("label", "PC secrétariat").await;
        chrome.click_text("Créer une clé de montage").await;
        chrome.wait_for_text("Votre clé de montage").await;
        let account = chrome
            .client
            .find(fantoccini::Locator::XPath(
                "//p[contains(., 'Clé :')]/code[1]",
            ))
            .await
            .expect("the account is shown")
            .text()
            .await
            .unwrap();
        assert_eq!(account, ARBRE_SEC_ACCOUNT);
        let key = chrome
            .client
            .find(fantoccini::Locator::XPath(
                "//p[contains(., 'Clé :')]/code[2]",
            ))
            .await
            .expect("the key is shown")
            .text()
            .await
            .unwrap();
        assert!(key.len() >= 20, "a mount key: {key:?}");
        let (_, width, _) = chrome.screenshot("cle").await;
        assert_eq!(
            width,
            browser::DESKTOP.0,
            "desktop screenshots are 1280 wide"
        );

        // The same page at a phone's width.
        chrome.phone(true).await;
        chrome.goto("/").await;
        chrome.wait_for_text("Connecté").await;
        let viewport = chrome.viewport_width().await;
        let (_, width, _) = chrome.screenshot("accueil-telephone").await;
        assert_eq!(viewport, u64::from(browser::PHONE.0), "phone viewport");
        assert_eq!(width, browser::PHONE.0, "phone screenshot width");
        chrome.phone(false).await;

        // The key is shown once: the login page no longer has it.
        chrome.goto("/connexion").await;
        chrome.wait_for_text("Connecter un lecteur réseau").await;
        let source = chrome.client.source().await.unwrap();
        assert!(!source.contains(&key), "the key is not shown again");

        // The key deposits over WebDAV as the school.
        let pdf = b"%PDF-1.4\n% plan depose par le lecteur reseau\n%%EOF\n".to_vec();
        let response = reqwest::Client::new()
            .put(format!("{}/dav/plan.pdf", server.base))
            .basic_auth(ARBRE_SEC_ACCOUNT, Some(&key))
            .body(pdf.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let stored = server
            .dir
            .path()
            .join("deposits/0752401C/0752401C-plan.pdf");
        assert_eq!(std::fs::read(&stored).expect("stored deposit"), pdf);
        let wrong = reqwest::Client::new()
            .put(format!("{}/dav/autre.pdf", server.base))
            .basic_auth(ARBRE_SEC_ACCOUNT, Some("pas-la-cle"))
            .body(pdf)
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "only that key");
    })
    .await;
    chrome.close().await;
}

/// The sha256 of `bytes`, in lower-case hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A PDF of about `size` bytes whose content depends on `seed`.
fn pdf_bytes(size: usize, seed: u8) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n% plan de test\n".to_vec();
    pdf.extend((0..size).map(|i| b'a' + ((i as u8).wrapping_mul(7).wrapping_add(seed) % 26)));
    pdf.extend_from_slice(b"\n%%EOF\n");
    pdf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn school_deposits_two_files_from_the_depot_page_and_sees_them_listed() {
    let test = "depot";
    let server = school_server().await;
    let Some(chrome) = Chrome::start(test, &server.base).await else {
        return;
    };
    bounded(test, async {
        let token = server.agent("agent.ecole").await;
        log_in(
            &chrome,
            &server,
            ("agent.ecole", &token),
            (ARBRE_SEC_ACCOUNT, ARBRE_SEC_PASSWORD),
            false,
        )
        .await;
        chrome.click_text("PPMS et plans").await;
        chrome.wait_for("#fichiers").await;
        assert_eq!(chrome.path().await, "/depot");
        chrome.screenshot("avant").await;

        // Two plans: a PDF and a PNG (a real image: this browser's screenshot of the page).
        let sources = tempfile::tempdir().unwrap();
        let pdf = pdf_bytes(200_000, 3);
        let png = chrome.client.screenshot().await.unwrap();
        let pdf_path = sources.path().join("ppms-2025.pdf");
        let png_path = sources.path().join("plan-locaux.png");
        std::fs::write(&pdf_path, &pdf).unwrap();
        std::fs::write(&png_path, &png).unwrap();
        let input = chrome.wait_for("#fichiers").await;
        input
            .send_keys(&format!("{}\n{}", pdf_path.display(), png_path.display()))
            .await
            .expect("files chosen");

        // With JavaScript, each file gets its own kind and a progress bar.
        let started = std::time::Instant::now();
        let selects = loop {
            let found = chrome
                .client
                .find_all(fantoccini::Locator::Css(
                    "#liste-fichiers select[name=\"kind\"]",
                ))
                .await
                .unwrap();
            if found.len() >= 2 || started.elapsed() > browser::WAIT {
                break found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(selects.len(), 2, "one kind per chosen file");
        selects[0].select_by_value("ppms").await.unwrap();
        selects[1].select_by_value("plan-locaux").await.unwrap();
        let bars = chrome
            .client
            .find_all(fantoccini::Locator::Css("#liste-fichiers progress"))
            .await
            .unwrap();
        assert_eq!(bars.len(), 2, "one progress bar per file");
        chrome.screenshot("choix").await;

        chrome.click_text("Déposer").await;
        chrome
            .wait_for_text_in("#depots", "0752401C-ppms-2025.pdf")
            .await;
        chrome
            .wait_for_text_in("#depots", "0752401C-plan-locaux.png")
            .await;
        chrome.scroll_to("#depots").await;
        chrome.screenshot("apres").await;

        let folder = server.dir.path().join("deposits/0752401C");
        assert_eq!(
            std::fs::read(folder.join("0752401C-ppms-2025.pdf")).unwrap(),
            pdf,
            "the PDF is stored byte for byte"
        );
        assert_eq!(
            std::fs::read(folder.join("0752401C-plan-locaux.png")).unwrap(),
            png,
            "the PNG is stored byte for byte"
        );
        // Each file is listed with the kind chosen for it, its version and its sha256.
        for (name, kind, bytes) in [
            ("0752401C-ppms-2025.pdf", "PPMS", &pdf),
            ("0752401C-plan-locaux.png", "Plan des locaux", &png),
        ] {
            assert_eq!(chrome.table_cell("#depots", name, "Type").await, kind);
            assert_eq!(chrome.table_cell("#depots", name, "Version").await, "1");
            let shown = chrome
                .table_cell("#depots", name, "Empreinte (sha256)")
                .await;
            assert!(
                shown.len() >= 8 && sha256_hex(bytes).starts_with(&shown),
                "{name}: {shown} starts its sha256"
            );
        }

        // The crisis cell's pages are not the school's.
        chrome.goto("/cellule/").await;
        chrome
            .wait_for_text("réservées à la cellule de crise")
            .await;
        assert!(
            chrome
                .client
                .find(fantoccini::Locator::Css("#codes-postaux"))
                .await
                .is_err(),
            "no tree for a school"
        );
    })
    .await;
    chrome.close().await;
}

/// The server with `jdupont` in the crisis cell (roles file) and his own password.
async fn cell_server() -> LoginServer {
    let server = LoginServer::start(|config, dir| {
        let roles = dir.join("roles.toml");
        std::fs::write(&roles, "crisis_cell = [\"jdupont\"]\n").unwrap();
        config.roles_file = roles;
    })
    .await;
    server
        .app
        .login
        .passwords
        .set("jdupont", CELL_PASSWORD)
        .await
        .expect("member password");
    server
}

const CELL_PASSWORD: &str = "mot-de-passe-jdupont";

/// Deposits `bytes` as `name` for ARBRE SEC over WebDAV, with a key issued for it.
async fn deposit_for_arbre_sec(server: &LoginServer, name: &str, bytes: &[u8]) {
    let subject = ppms_depot::auth::KeySubject::School {
        account: ARBRE_SEC_ACCOUNT.into(),
        rne: ppms_depot::directory::Rne::parse("0752401C").unwrap(),
    };
    let key = server
        .app
        .keys
        .issue(&subject, "test", None)
        .await
        .expect("school key");
    let response = reqwest::Client::new()
        .put(format!("{}/dav/{name}", server.base))
        .basic_auth(&key.account, Some(&key.secret))
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "deposit {name}");
}

/// Types `query` into the search field and submits it with Enter.
async fn search(chrome: &Chrome, query: &str) {
    chrome.fill("q", query).await;
    chrome
        .wait_for("#recherche")
        .await
        .send_keys(&fantoccini::key::Key::Enter.to_string())
        .await
        .expect("submit the search");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crisis_cell_searches_opens_a_school_downloads_a_plan_and_reads_the_coverage() {
    let test = "cellule";
    let server = cell_server().await;
    let plan = pdf_bytes(150_000, 11);
    deposit_for_arbre_sec(&server, "ppms.pdf", &plan).await;
    let Some(chrome) = Chrome::start(test, &server.base).await else {
        return;
    };
    bounded(test, async {
        let token = server.agent("jdupont").await;
        log_in(
            &chrome,
            &server,
            ("jdupont", &token),
            ("jdupont", CELL_PASSWORD),
            false,
        )
        .await;

        chrome.click_text("Arborescence").await;
        chrome.wait_for_text("75001").await;
        assert_eq!(chrome.path().await, "/cellule/");
        chrome.screenshot("arborescence").await;

        chrome.click_text("Recherche").await;
        chrome.wait_for("#recherche").await;
        search(&chrome, "etienne").await;
        chrome
            .wait_for_text_in("#resultats", "ETIENNE MARCEL")
            .await;
        chrome.screenshot("recherche").await;

        search(&chrome, "arbre sec").await;
        chrome.wait_for_text_in("#resultats", "ARBRE SEC").await;
        chrome.click("#resultats a").await;
        chrome
            .wait_for_text_in("#fichiers", "0752401C-ppms.pdf")
            .await;
        let row = "0752401C-ppms.pdf";
        assert_eq!(
            chrome.table_cell("#fichiers", row, "Type de plan").await,
            "PPMS"
        );
        let shown = chrome
            .table_cell("#fichiers", row, "Empreinte (sha256)")
            .await;
        assert!(
            shown.len() >= 8 && sha256_hex(&plan).starts_with(&shown),
            "{shown} starts the plan's sha256"
        );
        chrome.screenshot("etablissement").await;

        // The file's link downloads the deposit, with this browser's session only.
        let link = chrome.wait_for("#fichiers a[href]").await;
        let href = link.attr("href").await.unwrap().expect("a link");
        let url = if href.starts_with('/') {
            format!("{}{href}", server.base)
        } else {
            href.clone()
        };
        let cookies = chrome.cookie_header().await;
        let no_redirect = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = no_redirect
            .get(&url)
            .header("Cookie", cookies)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "download {href}");
        assert_eq!(response.bytes().await.unwrap().to_vec(), plan, "same bytes");
        let anonymous = no_redirect.get(&url).send().await.unwrap();
        assert_ne!(anonymous.status(), StatusCode::OK, "no session, no file");

        chrome.click_text("Couverture").await;
        chrome.wait_for_text_in("#couverture", "75001").await;
        assert_eq!(chrome.path().await, "/cellule/couverture");
        chrome.screenshot("couverture").await;
        // ARBRE SEC's PPMS counts in 75001, and nothing else anywhere.
        let cell = |row: &'static str, column: &'static str| {
            let chrome = &chrome;
            async move { chrome.table_cell("#couverture", row, column).await }
        };
        assert_eq!(cell("75001", "Ayant déposé").await, "1");
        assert_eq!(cell("75001", "PPMS").await, "1");
        assert_eq!(cell("75001", "Plan des locaux").await, "0");
        assert_eq!(cell("75002", "Ayant déposé").await, "0");
        assert_eq!(cell("Total", "Ayant déposé").await, "1");
    })
    .await;
    chrome.close().await;
}
