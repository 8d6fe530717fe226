//! Stage 3 against a real OpenLDAP server (slapd started here on 127.0.0.1): school accounts
//! by search-then-bind, crisis-cell members and the helpdesk by their own password and their
//! LDAP groups, a bind DN template, and an unreachable directory.

#[path = "common/login_client.rs"]
mod login_client;
#[path = "common/slapd.rs"]
mod slapd;

use login_client::*;
use ppms_depot::auth::otp::Token;
use reqwest::{Method, StatusCode};
use serde_json::json;
use slapd::*;

/// Logs `browser` through stages 1 and 2 as `agent`.
async fn two_codes(server: &LoginServer, browser: &mut Browser, agent: &str, token: &Token) {
    let (s, body) = browser
        .post("login/stage1", &stage1_body(agent, &server.passcode(token)))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    server.clock.advance(30);
    let (s, body) = browser
        .post("login/stage2", &passcode_body(&server.passcode(token)))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

async fn ldap_server(slapd: &Slapd, template: bool) -> LoginServer {
    let url = slapd.url.clone();
    LoginServer::start(move |config, _| {
        config.ldap_url = url;
        if template {
            config.ldap_bind_dn_template = PEOPLE_TEMPLATE.into();
        } else {
            config.ldap_search_base = SUFFIX.into();
        }
        config.ldap_crisis_group_dn = CRISIS_GROUP.into();
        config.ldap_helpdesk_group_dn = HELPDESK_GROUP.into();
    })
    .await
}

#[tokio::test]
async fn school_password_is_checked_by_ldap_search_then_bind() {
    let slapd = Slapd::start();
    let server = ldap_server(&slapd, false).await;
    let token = server.agent("mmartin").await;
    let mut browser = server.browser().await;
    two_codes(&server, &mut browser, "mmartin", &token).await;
    let (s, _) = browser
        .post(
            "login/stage3",
            &stage3_body("ce.0752401C", "not-the-password"),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = browser
        .post("login/stage3", &stage3_body("ce.0752401C", ""))
        .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "an empty password is no anonymous bind"
    );
    let (s, _) = browser
        .post(
            "login/stage3",
            &stage3_body("ce.0752425D", ARBRE_SEC_LDAP_PASSWORD),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "unknown school account");
    assert_eq!(browser.stage().await, 1, "three failures: back to stage 1");

    // The next login needs the next codes: the last one was used by stage 2.
    server.clock.advance(30);
    two_codes(&server, &mut browser, "mmartin", &token).await;
    let (s, state) = browser
        .post(
            "login/stage3",
            &stage3_body("ce.0752401C", ARBRE_SEC_LDAP_PASSWORD),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{state}");
    assert_eq!(state["role"], "school");
    let (s, minted) = browser.post("mount-keys", &json!({ "label": "PC" })).await;
    assert_eq!(s, StatusCode::CREATED);
    let key = minted["key"].as_str().unwrap();
    assert_eq!(
        server.dav("PUT", "/plan.pdf", "ce.0752401C", key).await,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn crisis_cell_membership_comes_from_the_ldap_group() {
    let slapd = Slapd::start();
    let server = ldap_server(&slapd, true).await;
    let jd = server.agent("jdupont").await;
    let mm = server.agent("mmartin").await;
    let mut member = server.browser().await;
    let mut outsider = server.browser().await;
    two_codes(&server, &mut member, "jdupont", &jd).await;
    two_codes(&server, &mut outsider, "mmartin", &mm).await;

    let (s, _) = member
        .post("login/stage3", &stage3_body("jdupont", MMARTIN_PASSWORD))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "wrong LDAP password");
    let (s, state) = member
        .post("login/stage3", &stage3_body("jdupont", JDUPONT_PASSWORD))
        .await;
    assert_eq!(s, StatusCode::OK, "{state}");
    assert_eq!(state["role"], "crisis_cell");
    let (_, minted) = member
        .post("mount-keys", &json!({ "label": "cellule" }))
        .await;
    let key = minted["key"].as_str().unwrap();
    assert_eq!(
        server.dav("PROPFIND", "/", "jdupont", key).await.as_u16(),
        207
    );

    let (s, _) = outsider
        .post("login/stage3", &stage3_body("mmartin", MMARTIN_PASSWORD))
        .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "right password, not in the group"
    );
    let line = server
        .audit_lines()
        .into_iter()
        .find(|l| l["event"] == "login_stage3" && l["outcome"] == "ok")
        .unwrap();
    assert_eq!(line["principal"], "jdupont");
    assert_eq!(line["role"], "crisis_cell");
    assert!(!server.audit_text().contains(JDUPONT_PASSWORD));
}

#[tokio::test]
async fn the_helpdesk_comes_from_the_ldap_group_and_revokes_any_key() {
    let slapd = Slapd::start();
    let server = ldap_server(&slapd, true).await;
    let jd = server.agent("jdupont").await;
    let gd = server.agent("gdurand").await;
    let mut member = server.browser().await;
    let mut helpdesk = server.browser().await;
    two_codes(&server, &mut member, "jdupont", &jd).await;
    two_codes(&server, &mut helpdesk, "gdurand", &gd).await;

    let (s, state) = member
        .post("login/stage3", &stage3_body("jdupont", JDUPONT_PASSWORD))
        .await;
    assert_eq!(s, StatusCode::OK, "{state}");
    assert_eq!(state["role"], "crisis_cell");
    assert_eq!(state["helpdesk"], false, "not in the helpdesk group");
    let (_, minted) = member
        .post("mount-keys", &json!({ "label": "cellule" }))
        .await;
    let (id, key) = (
        minted["id"].as_str().unwrap(),
        minted["key"].as_str().unwrap(),
    );
    assert_eq!(
        server.dav("PROPFIND", "/", "jdupont", key).await.as_u16(),
        207
    );
    let (s, _) = member.call(Method::GET, "mount-keys?all=1", None).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "every key is the helpdesk's to list"
    );

    let (s, _) = helpdesk
        .post("login/stage3", &stage3_body("gdurand", JDUPONT_PASSWORD))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "wrong LDAP password");
    let (s, state) = helpdesk
        .post("login/stage3", &stage3_body("gdurand", GDURAND_PASSWORD))
        .await;
    assert_eq!(s, StatusCode::OK, "{state}");
    assert_eq!(state["role"], "helpdesk");
    assert_eq!(state["helpdesk"], true);
    let (s, listed) = helpdesk.call(Method::GET, "mount-keys", None).await;
    assert_eq!(s, StatusCode::OK, "{listed}");
    let keys = listed["keys"].as_array().unwrap();
    assert!(keys.iter().any(|k| k["id"] == id), "{listed}");
    assert!(!listed.to_string().contains(key), "no secret in a listing");
    let (s, _) = helpdesk
        .call_with(Method::DELETE, &format!("mount-keys/{id}"), None, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no CSRF token, no revocation");
    assert_eq!(
        server.dav("PROPFIND", "/", "jdupont", key).await.as_u16(),
        207
    );
    let (s, body) = helpdesk
        .call(Method::DELETE, &format!("mount-keys/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        server.dav("PROPFIND", "/", "jdupont", key).await,
        StatusCode::UNAUTHORIZED,
        "a revoked key stops on the next request"
    );

    let lines = server.audit_lines();
    let find = |event: &str| {
        lines
            .iter()
            .find(|l| l["event"] == event && l["outcome"] == "ok" && l["principal"] == "gdurand")
            .unwrap_or_else(|| panic!("no {event} line of gdurand"))
    };
    assert_eq!(find("login_stage3")["role"], "helpdesk");
    assert_eq!(find("keys_listed")["role"], "helpdesk");
    let revoked = find("key_revoked");
    assert_eq!(revoked["reason"], format!("key {id} of jdupont"));
    assert_eq!(revoked["client_ip"], "127.0.0.1");
    assert!(!server.audit_text().contains(GDURAND_PASSWORD));
}

#[tokio::test]
async fn an_unreachable_directory_is_unavailable_not_a_failure() {
    let slapd = Slapd::start();
    let server = ldap_server(&slapd, true).await;
    drop(slapd);
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    two_codes(&server, &mut browser, "jdupont", &token).await;
    let (s, body) = browser
        .post("login/stage3", &stage3_body("jdupont", JDUPONT_PASSWORD))
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (_, state) = browser.call(Method::GET, "login", None).await;
    assert_eq!(state["stage"], 3, "the session keeps its stage");
}

/// A TLS slapd and a server using it with `adjust`; the login of jdupont as crisis cell.
async fn login_over_tls(adjust: impl FnOnce(&mut ppms_depot::config::Config, &Slapd)) -> u16 {
    let slapd = Slapd::start_tls();
    let server = LoginServer::start(|config, _| {
        config.ldap_bind_dn_template = PEOPLE_TEMPLATE.into();
        config.ldap_crisis_group_dn = CRISIS_GROUP.into();
        adjust(config, &slapd);
    })
    .await;
    let token = server.agent("jdupont").await;
    let mut browser = server.browser().await;
    two_codes(&server, &mut browser, "jdupont", &token).await;
    let (s, state) = browser
        .post("login/stage3", &stage3_body("jdupont", JDUPONT_PASSWORD))
        .await;
    if s == StatusCode::OK {
        assert_eq!(state["role"], "crisis_cell");
    }
    s.as_u16()
}

#[tokio::test]
async fn ldaps_and_starttls_with_the_directory_ca() {
    let ldaps = login_over_tls(|config, slapd| {
        config.ldap_url = slapd.ldaps_url.clone().unwrap();
        config.ldap_tls_ca_file = slapd.ca_file.clone().unwrap();
    })
    .await;
    assert_eq!(ldaps, 200, "ldaps:// with the CA file");
    let starttls = login_over_tls(|config, slapd| {
        config.ldap_url = slapd.url.clone();
        config.ldap_starttls = true;
        config.ldap_tls_ca_file = slapd.ca_file.clone().unwrap();
    })
    .await;
    assert_eq!(starttls, 200, "StartTLS with the CA file");
    let untrusted = login_over_tls(|config, slapd| {
        config.ldap_url = slapd.ldaps_url.clone().unwrap();
    })
    .await;
    assert_eq!(
        untrusted, 503,
        "a certificate the system does not trust is refused"
    );
}
