//! `/api/v1/mount-keys`: a logged-in school or crisis-cell member mints a mount key (shown
//! once), lists its own keys and revokes them; the helpdesk lists every key (a helpdesk
//! session by default, a crisis-cell member who is also the helpdesk with `?all=1`) and revokes
//! any. Issuing, revoking and listing every key are audited.

use std::time::Duration;

use dav_server::body::Body;
use http::{header, Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::{error, json_response, logged_in, not_logged_in, Answer, ApiRequest};
use crate::audit::AuditEvent;
use crate::auth::session::{Session, SessionRole};
use crate::auth::{IssuedKey, KeyError, KeySubject};
use crate::server::App;

/// Longest label of a key.
const MAX_LABEL_CHARS: usize = 100;

/// A key label without the invisible characters that reorder or hide text (zero-width
/// U+200B–U+200F, bidi embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069, BOM
/// U+FEFF): `PC\u{202E}fdp.exe` must not show as `PCexe.pdf` in a key list. Every way of
/// minting a key passes its label through here.
pub(crate) fn without_invisible(label: &str) -> String {
    let invisible = |c: &char| {
        matches!(*c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
            || *c == '\u{FEFF}'
    };
    label.chars().filter(|c| !invisible(c)).collect()
}

#[derive(Deserialize)]
struct MintBody {
    #[serde(default)]
    label: String,
}

fn audit_key(
    app: &App,
    req: &ApiRequest,
    session: &Session,
    event: &'static str,
    key_id: &str,
    owner: &str,
    rne: Option<String>,
) {
    app.audit.record(AuditEvent {
        event,
        outcome: "ok",
        principal: session.agent.clone(),
        role: session.role.as_ref().map(SessionRole::name),
        rne,
        reason: Some(format!("key {key_id} of {owner}")),
        client_ip: Some(req.attempt.client_ip.clone()),
        user_agent: req.attempt.user_agent.clone(),
        ..AuditEvent::default()
    });
}

/// Mints a key for `subject` with the configured validity, audited.
pub(crate) async fn issue(
    app: &App,
    req: &ApiRequest,
    session: &Session,
    subject: &KeySubject,
    label: &str,
) -> Result<IssuedKey, KeyError> {
    let days = app.config.key_validity_days;
    let validity = (days > 0).then(|| Duration::from_secs(days * 86_400));
    let issued = app.keys.issue(subject, label, validity).await?;
    let rne = match subject {
        KeySubject::School { rne, .. } => Some(rne.to_string()),
        KeySubject::CrisisCell { .. } => None,
    };
    let owner = issued.account.clone();
    audit_key(app, req, session, "key_issued", &issued.id, &owner, rne);
    Ok(issued)
}

/// The WebDAV URL users mount: `public_url` when configured, else this server as the client
/// reached it, if its `Host` header is a plain `host[:port]`, else the listen address.
pub(crate) fn dav_url(app: &App, req: &ApiRequest) -> String {
    let public = app.config.public_url.trim().trim_end_matches('/');
    if !public.is_empty() {
        return format!("{public}/dav/");
    }
    let scheme = if app.tls.is_some() { "https" } else { "http" };
    let host = req
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|host| is_host_and_port(host))
        .unwrap_or(&app.config.listen);
    format!("{scheme}://{host}/dav/")
}

/// Whether `value` is `host[:port]`: a DNS name or IPv4 address, or an IPv6 address in
/// brackets, then an optional port of at most 5 digits.
fn is_host_and_port(value: &str) -> bool {
    let (host, port) = match value.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => (host, Some(port)),
        _ => (value, None),
    };
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        (1..=253).contains(&host.len())
            && host.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    port_ok && host_ok
}

/// `GET` and `POST /api/v1/mount-keys`.
pub(super) async fn collection(
    app: &App,
    req: &ApiRequest,
    session: Option<Session>,
) -> Result<Answer, sqlx::Error> {
    let Some(session) = logged_in(session) else {
        return Ok(not_logged_in());
    };
    let who = session.agent.clone();
    let account = session.account.clone().unwrap_or_default();
    match req.method {
        Method::GET => {
            let asked_all = req.query.split('&').any(|p| p == "all=1");
            if asked_all && !session.helpdesk {
                let message = "liste de toutes les clés réservée à l'assistance";
                return Ok((error(StatusCode::FORBIDDEN, message), who));
            }
            let all = asked_all || session.role == Some(SessionRole::Helpdesk);
            let keys = match keys_of(app, &session, all).await {
                Ok(keys) => keys,
                Err(err) => return Ok((internal(&err), who)),
            };
            if all {
                app.audit.record(AuditEvent {
                    event: "keys_listed",
                    outcome: "ok",
                    principal: session.agent.clone(),
                    role: session.role.as_ref().map(SessionRole::name),
                    reason: Some(format!("all keys ({})", keys.len())),
                    client_ip: Some(req.attempt.client_ip.clone()),
                    user_agent: req.attempt.user_agent.clone(),
                    ..AuditEvent::default()
                });
            }
            Ok((json_response(StatusCode::OK, json!({ "keys": keys })), who))
        }
        Method::POST => {
            let label = serde_json::from_slice::<MintBody>(&req.body)
                .map(|b| without_invisible(&b.label))
                .unwrap_or_default();
            let label = label.trim();
            if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
                let message = "libellé invalide (100 caractères au plus)";
                return Ok((error(StatusCode::BAD_REQUEST, message), who));
            }
            let subject = match &session.role {
                Some(SessionRole::School(rne)) => KeySubject::School {
                    account: account.clone(),
                    rne: rne.clone(),
                },
                Some(SessionRole::CrisisCell) => KeySubject::CrisisCell {
                    account: account.clone(),
                },
                _ => {
                    let message = "pas de lecteur réseau pour ce compte";
                    return Ok((error(StatusCode::FORBIDDEN, message), who));
                }
            };
            let issued = match issue(app, req, &session, &subject, label).await {
                Ok(issued) => issued,
                Err(err) => return Ok((internal(&err), who)),
            };
            let body = json!({
                "id": issued.id,
                "account": issued.account,
                "key": issued.secret,
                "label": label,
                "expires_at": issued.expires_at,
                "dav_url": dav_url(app, req),
                "notice": "clé affichée une seule fois : notez-la maintenant",
            });
            Ok((json_response(StatusCode::CREATED, body), who))
        }
        _ => Ok((
            error(StatusCode::METHOD_NOT_ALLOWED, "méthode non autorisée"),
            who,
        )),
    }
}

/// `DELETE /api/v1/mount-keys/{id}`.
pub(super) async fn item(
    app: &App,
    req: &ApiRequest,
    session: Option<Session>,
    id: &str,
) -> Result<Answer, sqlx::Error> {
    let Some(session) = logged_in(session) else {
        return Ok(not_logged_in());
    };
    let who = session.agent.clone();
    if req.method != Method::DELETE {
        return Ok((
            error(StatusCode::METHOD_NOT_ALLOWED, "méthode non autorisée"),
            who,
        ));
    }
    match revoke(app, req, &session, id).await {
        Ok(Revoked::Done) => Ok((json_response(StatusCode::OK, json!({ "revoked": id })), who)),
        Ok(Revoked::NotFound) => Ok((error(StatusCode::NOT_FOUND, "clé introuvable"), who)),
        Ok(Revoked::Already) => Ok((error(StatusCode::CONFLICT, "clé déjà révoquée"), who)),
        Err(err) => Ok((internal(&err), who)),
    }
}

/// What [`revoke`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Revoked {
    Done,
    /// No such key among those the session may revoke.
    NotFound,
    Already,
}

/// The logged-in session's account's keys, or every key for the helpdesk when `all`.
pub(crate) async fn keys_of(
    app: &App,
    session: &Session,
    all: bool,
) -> Result<Vec<crate::auth::KeyRecord>, KeyError> {
    let account = session.account.clone().unwrap_or_default();
    let all = all && session.helpdesk;
    Ok(app
        .keys
        .list()
        .await?
        .into_iter()
        .filter(|k| all || k.account.eq_ignore_ascii_case(&account))
        .collect())
}

/// Revokes key `id` when the session may (its own account's keys; any key for the
/// helpdesk), audited.
pub(crate) async fn revoke(
    app: &App,
    req: &ApiRequest,
    session: &Session,
    id: &str,
) -> Result<Revoked, KeyError> {
    let keys = keys_of(app, session, true).await?;
    let Some(key) = keys.into_iter().find(|k| k.id == id) else {
        return Ok(Revoked::NotFound);
    };
    if !app.keys.revoke(&key.id).await? {
        return Ok(Revoked::Already);
    }
    let rne = key.rne.clone();
    audit_key(app, req, session, "key_revoked", &key.id, &key.account, rne);
    Ok(Revoked::Done)
}

fn internal(err: &dyn std::fmt::Display) -> Response<Body> {
    tracing::error!(error = %err, "mount key store failed");
    error(StatusCode::SERVICE_UNAVAILABLE, super::UNAVAILABLE)
}

#[cfg(test)]
mod tests {
    use super::{is_host_and_port, without_invisible};

    #[test]
    fn labels_lose_bidi_and_zero_width_characters() {
        let forged = "\u{FEFF}PC\u{202E}fdp.exe\u{200B}\u{2066}x\u{2069}\u{200F}";
        assert_eq!(without_invisible(forged), "PCfdp.exex");
        assert_eq!(without_invisible("PC secrétariat"), "PC secrétariat");
        assert_eq!(without_invisible("\u{2067}\u{202A}\u{200D}"), "");
    }

    #[test]
    fn only_plain_hosts_and_ports_pass() {
        for good in [
            "depot.ac-paris.fr",
            "localhost:8080",
            "127.0.0.1:8443",
            "[::1]:8080",
        ] {
            assert!(is_host_and_port(good), "{good}");
        }
        let bad = [
            "",
            "evil.example/dav/?x=",
            "a b",
            "host:port",
            "host:123456",
            "user@evil.example",
            "evil.example\\x",
            "-bad.example",
            "a..b",
            "::1",
            "[not-v6]:80",
            "é.fr",
        ];
        for bad in bad {
            assert!(!is_host_and_port(bad), "{bad}");
        }
    }
}
