//! The staged login over HTTP with the embedded password store: the three stages in order,
//! wrong orders, replayed and reused codes, expiry, lockout, CSRF, mount keys minted, listed,
//! revoked and expired, the codes cross-checked with `oathtool`, and the CLI.

#[path = "common/login_client.rs"]
mod login_client;

use std::time::Duration;

use login_client::*;
use ppms_depot::auth::otp::{OtpAlgorithm, OtpParams, Token};
use ppms_depot::auth::KeySubject;
use ppms_depot::directory::Rne;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn server() -> LoginServer {
    let server = LoginServer::start(|_, _| {}).await;
    server
        .app
        .login
        .passwords
        .set(ARBRE_SEC_ACCOUNT, ARBRE_SEC_PASSWORD)
        .await
        .unwrap();
    server
}

#[tokio::test]
async fn three_stages_then_a_mount_key_that_deposits() {
    let server = server().await;
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    assert_eq!(browser.stage().await, 1);
    let state = server.full_login(&mut browser, "jdupont", &token).await;
    assert_eq!(state["logged_in"], true);
    assert_eq!(state["role"], "school");
    assert_eq!(state["rne"], "0752401C");
    assert_eq!(browser.stage().await, 0);

    let (status, minted) = browser
        .post("mount-keys", &json!({ "label": "PC secrétariat" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    let key = minted["key"].as_str().unwrap().to_string();
    assert_eq!(minted["account"], ARBRE_SEC_ACCOUNT);
    assert!(
        minted["expires_at"].as_i64().is_some(),
        "key_validity_days applies"
    );
    let put = server
        .dav("PUT", "/plan.pdf", ARBRE_SEC_ACCOUNT, &key)
        .await;
    assert_eq!(put, StatusCode::CREATED);
    let (status, listed) = browser.call(Method::GET, "mount-keys", None).await;
    assert_eq!(status, StatusCode::OK);
    let keys = listed["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["label"], "PC secrétariat");
    assert!(
        !listed.to_string().contains(&key),
        "a listing never shows a key"
    );

    let events: Vec<(String, String)> = server
        .audit_lines()
        .iter()
        .map(|l| {
            (
                l["event"].as_str().unwrap().into(),
                l["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    for event in ["login_stage1", "login_stage2", "login_stage3", "key_issued"] {
        assert!(
            events.contains(&(event.to_string(), "ok".to_string())),
            "{events:?}"
        );
    }
    let audit = server.audit_text();
    let secrets = [
        key.clone(),
        ARBRE_SEC_PASSWORD.into(),
        token.secret_base32(),
        PIN.into(),
    ];
    for secret in secrets {
        assert!(!audit.contains(&secret), "no secret in the audit trail");
    }
    let line = &server.audit_lines()[0];
    assert_eq!(line["principal"], "jdupont");
    assert_eq!(line["client_ip"], "127.0.0.1");
}

#[tokio::test]
async fn stages_out_of_order_are_refused() {
    let server = server().await;
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    let (s, _) = browser
        .post("login/stage2", &passcode_body(&server.passcode(&token)))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "stage 2 first");
    let (s, _) = browser
        .post(
            "login/stage3",
            &stage3_body(ARBRE_SEC_ACCOUNT, ARBRE_SEC_PASSWORD),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "stage 3 first");
    let (s, _) = browser.call(Method::GET, "mount-keys", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "keys before login");

    let (s, _) = browser
        .post(
            "login/stage1",
            &stage1_body("jdupont", &server.passcode(&token)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = browser
        .post(
            "login/stage3",
            &stage3_body(ARBRE_SEC_ACCOUNT, ARBRE_SEC_PASSWORD),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "stage 3 skipping stage 2: {body}"
    );
    assert_eq!(browser.stage().await, 2);
    let (s, _) = browser.post("mount-keys", &json!({ "label": "x" })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "no key half-way");
    // The same message whatever was wrong.
    let (_, wrong_pin) = browser
        .post("login/stage1", &stage1_body("jdupont", "0000123456"))
        .await;
    let (_, unknown) = browser
        .post("login/stage1", &stage1_body("nobody", "4321123456"))
        .await;
    assert_eq!(wrong_pin["error"], unknown["error"]);
}

#[tokio::test]
async fn the_same_code_twice_and_a_replayed_code_are_refused() {
    let mut server = server().await;
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    let first = server.passcode(&token);
    let (s, _) = browser
        .post("login/stage1", &stage1_body("jdupont", &first))
        .await;
    assert_eq!(s, StatusCode::OK);
    server.clock.advance(10);
    let (s, _) = browser.post("login/stage2", &passcode_body(&first)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "stage 2 with the stage-1 code");

    // Another session replaying the code, then after a restart.
    let mut other = server.browser().await;
    let (s, _) = other
        .post("login/stage1", &stage1_body("jdupont", &first))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "replayed in another session");
    server.restart().await;
    let mut after = server.browser().await;
    let (s, _) = after
        .post("login/stage1", &stage1_body("jdupont", &first))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "replayed after a restart");
    // A code two steps ahead is beyond the one step of drift; one step ahead is within.
    let step = token.step_of(server.now());
    let far = format!("{PIN}{}", token.code_for_step(step + 2));
    let (s, _) = after
        .post("login/stage1", &stage1_body("jdupont", &far))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "two steps of drift");
    let near = format!("{PIN}{}", token.code_for_step(step + 1));
    let (s, body) = after
        .post("login/stage1", &stage1_body("jdupont", &near))
        .await;
    assert_eq!(s, StatusCode::OK, "one step of drift: {body}");
}

#[tokio::test]
async fn one_code_sent_twice_at_once_is_accepted_once() {
    let server = server().await;
    let token = server.agent("jdupont").await;
    let mut a = server.browser().await;
    let mut b = server.browser().await;
    let body = stage1_body("jdupont", &server.passcode(&token));
    let ((first, _), (second, _)) =
        tokio::join!(a.post("login/stage1", &body), b.post("login/stage1", &body));
    let mut statuses = [first.as_u16(), second.as_u16()];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 401],
        "exactly one of two racing uses of a code"
    );
}

#[tokio::test]
async fn one_address_trying_many_agents_is_locked() {
    let server = LoginServer::start(|config, _| config.lockout_ip_failures = 3).await;
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    for id in ["a.one", "b.two", "c.three"] {
        let (s, _) = browser
            .post("login/stage1", &stage1_body(id, "48213579123456"))
            .await;
        assert_eq!(s.as_u16() / 100, 4);
    }
    let (s, _) = browser
        .post(
            "login/stage1",
            &stage1_body("jdupont", &server.passcode(&token)),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "the address is locked, whoever it tries"
    );
}

#[tokio::test]
async fn an_expired_stage_starts_again() {
    let server = server().await;
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    let (s, _) = browser
        .post(
            "login/stage1",
            &stage1_body("jdupont", &server.passcode(&token)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    server.clock.advance(301);
    let (s, body) = browser
        .post("login/stage2", &passcode_body(&server.passcode(&token)))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["stage"], 1);
    assert_eq!(browser.stage().await, 1);
    assert!(server.audit_text().contains("\"outcome\":\"expired\""));
}

#[tokio::test]
async fn repeated_failures_go_back_to_stage_1_then_lock_the_account() {
    let server = LoginServer::start(|config, _| {
        config.lockout_account_failures = 4;
        config.lockout_secs = 600;
    })
    .await;
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    let (s, _) = browser
        .post(
            "login/stage1",
            &stage1_body("jdupont", &server.passcode(&token)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    server.clock.advance(30);
    for expected_stage in [2, 2, 1] {
        let (s, body) = browser
            .post("login/stage2", &passcode_body("9999000000"))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(body["stage"], expected_stage, "{body}");
    }
    let (s, body) = browser
        .post("login/stage1", &stage1_body("jdupont", "9999000000"))
        .await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "4th failure locks: {body}"
    );
    server.clock.advance(30);
    let (s, _) = browser
        .post(
            "login/stage1",
            &stage1_body("jdupont", &server.passcode(&token)),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right passcode"
    );
    assert!(server.audit_text().contains("\"event\":\"login_locked\""));
    server.clock.advance(601);
    // The login window of that session has passed too: a new one.
    let mut browser = server.browser().await;
    let (s, _) = browser
        .post(
            "login/stage1",
            &stage1_body("jdupont", &server.passcode(&token)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the lock ends");
}

#[tokio::test]
async fn state_changing_requests_need_the_csrf_token() {
    let server = server().await;
    let token = server.agent("jdupont").await;
    let mut nobody = server.browser().await;
    nobody.cookie = None;
    let body = stage1_body("jdupont", &server.passcode(&token));
    let (s, _) = nobody.post("login/stage1", &body).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no session");
    let mut browser = server.browser().await;
    let (s, _) = browser
        .call_with(Method::POST, "login/stage1", Some(&body), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no token");
    let (s, _) = browser
        .call_with(Method::POST, "login/stage1", Some(&body), Some("forged"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "wrong token");
    server.full_login(&mut browser, "jdupont", &token).await;
    let label = json!({ "label": "x" });
    let (s, _) = browser
        .call_with(Method::POST, "mount-keys", Some(&label), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "minting without the token");
    assert!(server.audit_text().contains("csrf_refused"));
}

#[tokio::test]
async fn revoked_and_expired_keys_stop_working() {
    let server = server().await;
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    server.full_login(&mut browser, "jdupont", &token).await;
    let (_, minted) = browser.post("mount-keys", &json!({ "label": "PC" })).await;
    let (id, key) = (
        minted["id"].as_str().unwrap(),
        minted["key"].as_str().unwrap(),
    );
    assert_eq!(
        server
            .dav("PROPFIND", "/", ARBRE_SEC_ACCOUNT, key)
            .await
            .as_u16(),
        207
    );

    // Someone else's key is not this school's to revoke.
    let cell = KeySubject::CrisisCell {
        account: "cellule.x".into(),
    };
    let other = server.app.keys.issue(&cell, "", None).await.unwrap();
    let (s, _) = browser
        .call(Method::DELETE, &format!("mount-keys/{}", other.id), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, body) = browser
        .call(Method::DELETE, &format!("mount-keys/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        server.dav("PROPFIND", "/", ARBRE_SEC_ACCOUNT, key).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(server.audit_text().contains("\"event\":\"key_revoked\""));

    let school = KeySubject::School {
        account: ARBRE_SEC_ACCOUNT.into(),
        rne: Rne::parse("0752401C").unwrap(),
    };
    let expired = server
        .app
        .keys
        .issue(&school, "old", Some(Duration::ZERO))
        .await
        .unwrap();
    let status = server
        .dav("PROPFIND", "/", ARBRE_SEC_ACCOUNT, &expired.secret)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired key");
}

#[tokio::test]
async fn crisis_cell_and_helpdesk_from_the_roles_file() {
    let server = LoginServer::start(|config, dir| {
        let roles = dir.join("roles.toml");
        std::fs::write(
            &roles,
            "crisis_cell = [\"jdupont\"]\nhelpdesk = [\"gu.durand\"]\n",
        )
        .unwrap();
        config.roles_file = roles;
    })
    .await;
    let passwords = &server.app.login.passwords;
    passwords.set("jdupont", "own-password-jd").await.unwrap();
    passwords.set("gu.durand", "own-password-gu").await.unwrap();
    passwords.set("mmartin", "own-password-mm").await.unwrap();
    let jd = server.agent("jdupont").await;
    let gu = server.agent("gu.durand").await;
    let mm = server.agent("mmartin").await;

    let mut cell = server.browser().await;
    let (s, _) = cell
        .post(
            "login/stage1",
            &stage1_body("jdupont", &server.passcode(&jd)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut helpdesk = server.browser().await;
    let (s, _) = helpdesk
        .post(
            "login/stage1",
            &stage1_body("gu.durand", &server.passcode(&gu)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut plain = server.browser().await;
    let (s, _) = plain
        .post(
            "login/stage1",
            &stage1_body("mmartin", &server.passcode(&mm)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    server.clock.advance(30);
    for (browser, token) in [(&mut cell, &jd), (&mut helpdesk, &gu), (&mut plain, &mm)] {
        let (s, _) = browser
            .post("login/stage2", &passcode_body(&server.passcode(token)))
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    // Another agent's own account is refused, then the member's own password is accepted.
    let (s, _) = cell
        .post("login/stage3", &stage3_body("mmartin", "own-password-mm"))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, state) = cell
        .post("login/stage3", &stage3_body("jdupont", "own-password-jd"))
        .await;
    assert_eq!(s, StatusCode::OK, "{state}");
    assert_eq!(state["role"], "crisis_cell");
    let (s, minted) = cell
        .post("mount-keys", &json!({ "label": "cellule" }))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let key = minted["key"].as_str().unwrap();
    assert_eq!(
        server.dav("PROPFIND", "/", "jdupont", key).await.as_u16(),
        207
    );
    assert_eq!(
        server.dav("PUT", "/x.pdf", "jdupont", key).await,
        StatusCode::FORBIDDEN
    );

    let (s, _) = plain
        .post("login/stage3", &stage3_body("mmartin", "own-password-mm"))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "no role, no login");

    let (s, state) = helpdesk
        .post("login/stage3", &stage3_body("gu.durand", "own-password-gu"))
        .await;
    assert_eq!(s, StatusCode::OK, "{state}");
    assert_eq!(state["helpdesk"], true);
    let (_, all) = helpdesk.call(Method::GET, "mount-keys?all=1", None).await;
    let id = minted["id"].as_str().unwrap();
    assert!(
        all["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == id),
        "{all}"
    );
    let (s, _) = helpdesk
        .call(Method::DELETE, &format!("mount-keys/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "the helpdesk revokes any key");
    assert_eq!(
        server.dav("PROPFIND", "/", "jdupont", key).await,
        StatusCode::UNAUTHORIZED
    );
}

/// `oathtool --totp -b <secret> --now <time>` must give our code: same RFC 6238 parameters as
/// real tokens.
#[test]
fn codes_match_oathtool() {
    let time = "2030-03-17 10:00:00 UTC";
    let epoch = 1_899_972_000; // 2030-03-17T10:00:00Z
    let cases = [
        (OtpParams::default(), vec!["--totp"]),
        (
            OtpParams {
                digits: 8,
                period: 60,
                algorithm: OtpAlgorithm::Sha256,
            },
            vec!["--totp=sha256", "--digits=8", "--time-step-size=60s"],
        ),
    ];
    for (params, flags) in cases {
        let token = Token::generate(params, "jdupont").unwrap();
        let output = std::process::Command::new("oathtool")
            .args(&flags)
            .arg("-b")
            .arg(token.secret_base32())
            .arg("--now")
            .arg(time)
            .output()
            .expect("oathtool (Debian package oathtool) must be installed: bash scripts/test");
        assert!(output.status.success(), "{output:?}");
        let theirs = String::from_utf8(output.stdout).unwrap();
        assert_eq!(theirs.trim(), token.code_at(epoch), "{flags:?}");
    }
}

#[test]
fn cli_adds_agents_and_sets_school_passwords() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ppms-depot"))
            .args(args)
            .env("PPMS_DEPOT_STATE_DIR", dir.path().join("state"))
            .env("PPMS_DEPOT_DATA_DIR", dir.path().join("deposits"))
            .env("PPMS_DEPOT_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let added = run(&["agent", "add", "JDupont", "--pin-from-stdin"], "4321\n");
    assert!(added.status.success(), "{added:?}");
    let out = String::from_utf8(added.stdout).unwrap();
    assert!(
        out.contains("otpauth://totp/ppms-depot:jdupont?secret="),
        "{out}"
    );
    assert!(out.contains('█') || out.contains('▀'), "a QR code: {out}");
    assert!(!out.contains("4321"), "a PIN read from stdin is not echoed");
    let again = run(&["agent", "add", "jdupont", "--pin-from-stdin"], "4321\n");
    assert!(!again.status.success());
    let set = run(
        &["school", "set-password", "ce.0752401C"],
        "un-mot-de-passe\n",
    );
    assert!(set.status.success(), "{set:?}");
    let bad = run(&["school", "set-password", "jdupont"], "un-mot-de-passe\n");
    assert!(!bad.status.success(), "not a school account");
    let listed = run(&["agent", "list"], "");
    assert_eq!(String::from_utf8(listed.stdout).unwrap().trim(), "jdupont");
}

/// Not a test of behaviour: prints what one request costs with a mount key (Basic auth, HMAC
/// and the verified-key cache, then the WebDAV handler: PROPFIND Depth 0 of the school's
/// folder) against `/healthz` without auth, and the key check alone. Run with
/// `cargo test --release --test login -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn cost_of_a_request_with_a_mount_key() {
    const ROUNDS: u32 = 2000;
    let server = server().await;
    let school = KeySubject::School {
        account: ARBRE_SEC_ACCOUNT.into(),
        rne: Rne::parse("0752401C").unwrap(),
    };
    let key = server.app.keys.issue(&school, "bench", None).await.unwrap();
    let client = reqwest::Client::new();
    let healthz = format!("{}/healthz", server.base);
    let put = server
        .dav("PUT", "/plan.pdf", ARBRE_SEC_ACCOUNT, &key.secret)
        .await;
    assert_eq!(put, StatusCode::CREATED, "the school's folder appears");
    let dav = format!("{}/dav/75001/E%20E%20PU%20ARBRE%20SEC/", server.base);
    let propfind = Method::from_bytes(b"PROPFIND").unwrap();
    let mut results = Vec::new();
    let wrong = "aaaa-bbbb-cccc-dddd-eeee-ffff-gggg-hhhh".to_string();
    for (name, secret, expected) in [
        ("GET /healthz, no auth", None, 200),
        (
            "PROPFIND school folder Depth 0 with a mount key",
            Some(&key.secret),
            207,
        ),
        (
            "PROPFIND school folder Depth 0 with a wrong key (401)",
            Some(&wrong),
            401,
        ),
    ] {
        let send = || {
            let request = match secret {
                None => client.get(&healthz),
                Some(secret) => client
                    .request(propfind.clone(), &dav)
                    .basic_auth(ARBRE_SEC_ACCOUNT, Some(secret))
                    .header("Depth", "0"),
            };
            request.send()
        };
        for _ in 0..100 {
            send().await.unwrap().bytes().await.unwrap();
        }
        let started = std::time::Instant::now();
        for _ in 0..ROUNDS {
            let response = send().await.unwrap();
            assert_eq!(response.status().as_u16(), expected, "{name}");
            response.bytes().await.unwrap();
        }
        results.push((name, started.elapsed() / ROUNDS));
    }
    let started = std::time::Instant::now();
    for _ in 0..ROUNDS {
        let principal = server.app.keys.verify(ARBRE_SEC_ACCOUNT, &key.secret).await;
        assert!(principal.unwrap().is_some());
    }
    results.push((
        "KeyStore::verify alone (in process)",
        started.elapsed() / ROUNDS,
    ));
    for (name, each) in results {
        println!(
            "COST {name}: {:.1} µs per request",
            each.as_secs_f64() * 1e6
        );
    }
}

/// The hidden CSRF field of a page.
fn page_csrf(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_html_form_logs_in_and_shows_a_key_once() {
    let server = server().await;
    let token = server.agent("jdupont").await;
    let client = reqwest::Client::new();
    let page = format!("{}/connexion", server.base);
    let response = client.get(&page).send().await.unwrap();
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let mut cookie = set.split(';').next().unwrap().to_string();
    let mut csrf = page_csrf(&response.text().await.unwrap());
    let enc = |s: &str| percent_encode(s);

    let forged = client
        .post(&page)
        .header("Cookie", &cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("stage=1&personal_id=jdupont&passcode=1&csrf=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let submit = |path: &str, fields: String| {
        let request = client
            .post(format!("{}{path}", server.base))
            .header("Cookie", cookie.clone())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("{fields}&csrf={}", enc(&csrf)));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let set = response
                .headers()
                .get("set-cookie")
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
            (status, set, response.text().await.unwrap())
        }
    };
    let passcode = server.passcode(&token);
    let (s, _, body) = submit(
        "/connexion",
        format!("stage=1&personal_id=jdupont&passcode={passcode}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("Étape 2 sur 3"), "{body}");
    server.clock.advance(30);
    let passcode = server.passcode(&token);
    let (s, _, body) = submit("/connexion", format!("stage=2&passcode={passcode}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let fields = format!("stage=3&account={ARBRE_SEC_ACCOUNT}&password={ARBRE_SEC_PASSWORD}");
    let (s, set, body) = submit("/connexion", fields).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("Connecté : ce.0752401C"), "{body}");
    cookie = set.expect("a new session id at login");
    csrf = page_csrf(&body);
    let minted = client
        .post(format!("{}/connexion/cle", server.base))
        .header("Cookie", &cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        // U+202E (right-to-left override) and U+200B (zero width space) are dropped.
        .body(format!(
            "label=PC+secr%C3%A9tariat%E2%80%AE%E2%80%8B&csrf={}",
            enc(&csrf)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status(), StatusCode::OK);
    let body = minted.text().await.unwrap();
    let start = body.find("Clé : <code>").expect("the key") + "Clé : <code>".len();
    let key = body[start..].split('<').next().unwrap();
    assert!(body.contains("Connecter un lecteur réseau") && body.contains("/dav/"));
    assert_eq!(
        server.dav("PUT", "/plan.pdf", ARBRE_SEC_ACCOUNT, key).await,
        StatusCode::CREATED
    );
    let again = client
        .get(&page)
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(!again.text().await.unwrap().contains(key), "shown once");
    let labels: Vec<String> = server
        .app
        .keys
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.label)
        .collect();
    assert_eq!(labels, ["PC secrétariat"]);
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `POST /api/v1/mount-keys` of a logged-in browser, with the `Host` header given.
async fn mint_with_host(base: &str, browser: &Browser, host: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/mount-keys"))
        .header("Host", host)
        .header(
            "Cookie",
            format!("ppms_session={}", browser.cookie.as_ref().unwrap()),
        )
        .header("X-CSRF-Token", &browser.csrf)
        .header("Content-Type", "application/json")
        .body(r#"{"label":"PC"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn a_forged_host_never_becomes_the_mount_address() {
    let server = LoginServer::start(|config, _| {
        config.public_url = "https://depot.ac-paris.fr/".into();
    })
    .await;
    let passwords = &server.app.login.passwords;
    passwords
        .set(ARBRE_SEC_ACCOUNT, ARBRE_SEC_PASSWORD)
        .await
        .unwrap();
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    server.full_login(&mut browser, "jdupont", &token).await;
    let minted = mint_with_host(&server.base, &browser, "evil.example:8443").await;
    assert_eq!(minted["dav_url"], "https://depot.ac-paris.fr/dav/");

    // Without public_url: a plain Host is shown, anything else is not.
    let server = server_without_public_url().await;
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    server.full_login(&mut browser, "jdupont", &token).await;
    let minted = mint_with_host(&server.base, &browser, "depot.local:8080").await;
    assert_eq!(minted["dav_url"], "http://depot.local:8080/dav/");
    let minted = mint_with_host(&server.base, &browser, "evil.example/phish?").await;
    let url = minted["dav_url"].as_str().unwrap();
    assert!(!url.contains("evil"), "{url}");
    assert_eq!(url, format!("http://{}/dav/", server.app.config.listen));
}

async fn server_without_public_url() -> LoginServer {
    let server = server().await;
    assert!(server.app.config.public_url.is_empty());
    server
}

#[tokio::test]
async fn key_labels_lose_bidi_and_zero_width_characters() {
    let server = server().await;
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    server.full_login(&mut browser, "jdupont", &token).await;
    let forged = "\u{FEFF}PC\u{202E}fdp.exe\u{200B}\u{2066}";
    let (status, minted) = browser
        .post("mount-keys", &json!({ "label": forged }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    assert_eq!(minted["label"], "PCfdp.exe");
    let (_, listed) = browser.call(Method::GET, "mount-keys", None).await;
    assert_eq!(listed["keys"][0]["label"], "PCfdp.exe");
}
