//! "Connecter un lecteur réseau", the logged-in part of `/connexion`: mints a mount key (shown
//! once), says how to map the drive on each system, lists the account's keys and revokes them.

use http::StatusCode;

use super::{csrf_field, field, REVOKE};
use crate::api::keys::{self, Revoked};
use crate::api::{ApiRequest, UNAVAILABLE};
use crate::auth::session::{Session, SessionRole, Stage};
use crate::auth::KeySubject;
use crate::portal::esc;
use crate::portal::format::paris_time;
use crate::server::App;

/// Longest label of a mount key.
const MAX_LABEL_CHARS: usize = 100;

/// The mount key just minted, shown once.
fn key_notice(account: &str, key: &str, url: &str) -> String {
    let (account, key, url) = (esc(account), esc(key), esc(url));
    format!(
        "<section class=\"success\" id=\"nouvelle-cle\" aria-live=\"polite\">\
         <h3>Votre clé de montage</h3>\
         <p><strong>Notez-la maintenant : elle ne sera plus affichée.</strong></p>\
         <p>Compte : <code>{account}</code><br>Clé : <code>{key}</code><br>\
         Adresse : <code>{url}</code></p></section>"
    )
}

/// How to map the drive on each system, for `account` at `url`; `read_only` for the crisis
/// cell, whose rclone example lists rather than copies.
pub(super) fn instructions(account: &str, url: &str, read_only: bool) -> String {
    // rclone splits an unquoted connection string at `:`, so the URL is quoted inside it.
    let remote = format!(
        "':webdav,url=\"{url}\",vendor=other,user={account},pass='\"$(rclone obscure 'CLÉ')\"':'"
    );
    let rclone = if read_only {
        format!("rclone ls {remote}")
    } else {
        format!("rclone copy plan.pdf {remote}")
    };
    let (account, url, rclone) = (esc(account), esc(url), esc(&rclone));
    format!(
        "<h3>Monter le lecteur</h3><p>Utilisez le compte <code>{account}</code> et la clé \
         comme mot de passe.</p><dl class=\"howto\">\
         <dt>Windows</dt><dd>Explorateur de fichiers → « Ce PC » → « Connecter un lecteur \
         réseau » → Dossier : <code>{url}</code> → cochez « Se connecter à l'aide \
         d'informations d'identification différentes » → compte et clé.</dd>\
         <dt>macOS</dt><dd>Finder → menu « Aller » → « Se connecter au serveur… » → \
         <code>{url}</code> → « Utilisateur référencé » : compte et clé.</dd>\
         <dt>Linux (davfs2)</dt><dd><code>sudo mount -t davfs {url} /mnt/ppms</code> puis \
         compte et clé à l'invite (paquet <code>davfs2</code>).</dd>\
         <dt>rclone</dt><dd><code>{rclone}</code> (CLÉ : la clé de montage)</dd></dl>"
    )
}

/// The account's keys with a revoke button each.
pub(super) async fn keys_table(app: &App, session: &Session) -> String {
    let keys = match keys::keys_of(app, session, false).await {
        Ok(keys) => keys,
        Err(err) => {
            tracing::error!(error = %err, "listing mount keys failed");
            return "<p class=\"alert\">Liste des clés momentanément indisponible.</p>".into();
        }
    };
    if keys.is_empty() {
        return "<p>Aucune clé de montage pour ce compte.</p>".into();
    }
    let now = app.login.now();
    let csrf = csrf_field(session);
    let rows: String = keys
        .iter()
        .map(|key| {
            let status = match (key.revoked_at, key.expires_at) {
                (Some(at), _) => format!("révoquée le {}", paris_time(at)),
                (None, Some(at)) if at <= now => format!("expirée le {}", paris_time(at)),
                _ => "active".to_string(),
            };
            let action = if key.revoked_at.is_none() {
                format!(
                    "<form method=\"post\" action=\"{REVOKE}\">{csrf}\
                     <input type=\"hidden\" name=\"id\" value=\"{id}\">\
                     <button type=\"submit\" class=\"secondary\">Révoquer</button></form>",
                    id = esc(&key.id),
                )
            } else {
                String::new()
            };
            format!(
                "<tr><td>{label}</td><td>{created}</td><td>{expires}</td><td>{used}</td>\
                 <td>{status}</td><td>{action}</td></tr>",
                label = esc(if key.label.is_empty() {
                    "—"
                } else {
                    &key.label
                }),
                created = paris_time(key.created_at),
                expires = key.expires_at.map_or("jamais".into(), paris_time),
                used = key.last_used_at.map_or("jamais".into(), paris_time),
            )
        })
        .collect();
    format!(
        "<table id=\"cles\"><caption>Clés de montage de ce compte</caption><thead><tr>\
         <th scope=\"col\">Poste</th><th scope=\"col\">Créée le</th>\
         <th scope=\"col\">Expire le</th><th scope=\"col\">Dernier usage</th>\
         <th scope=\"col\">État</th><th scope=\"col\">Action</th></tr></thead>\
         <tbody>{rows}</tbody></table>"
    )
}

/// Mints a key for the logged-in session; the HTML notice, or the refusal.
pub(super) async fn mint(
    app: &App,
    req: &ApiRequest,
    session: &Session,
) -> Result<String, (StatusCode, &'static str)> {
    if session.stage != Stage::Done {
        return Err((StatusCode::FORBIDDEN, "connexion requise"));
    }
    let account = session.account.clone().unwrap_or_default();
    let subject = match &session.role {
        Some(SessionRole::School(rne)) => KeySubject::School {
            account: account.clone(),
            rne: rne.clone(),
        },
        Some(SessionRole::CrisisCell) => KeySubject::CrisisCell {
            account: account.clone(),
        },
        _ => {
            return Err((
                StatusCode::FORBIDDEN,
                "pas de lecteur réseau pour ce compte",
            ))
        }
    };
    let label: String = keys::without_invisible(&field(&req.body, "label"))
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_LABEL_CHARS)
        .collect();
    let issued = keys::issue(app, req, session, &subject, &label)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "minting a mount key failed");
            (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
        })?;
    Ok(key_notice(
        &issued.account,
        &issued.secret,
        &keys::dav_url(app, req),
    ))
}

/// Revokes the key the form names; the status and the message to show.
pub(super) async fn revoke(app: &App, req: &ApiRequest, session: &Session) -> (StatusCode, String) {
    if session.stage != Stage::Done {
        return (StatusCode::FORBIDDEN, "connexion requise".into());
    }
    let id = field(&req.body, "id");
    match keys::revoke(app, req, session, &id).await {
        Ok(Revoked::Done) => (
            StatusCode::OK,
            "Clé révoquée : elle n'ouvre plus le lecteur.".into(),
        ),
        Ok(Revoked::Already) => (
            StatusCode::CONFLICT,
            "Cette clé était déjà révoquée.".into(),
        ),
        Ok(Revoked::NotFound) => (StatusCode::NOT_FOUND, "Clé introuvable.".into()),
        Err(err) => {
            tracing::error!(error = %err, "revoking a mount key failed");
            (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rclone_example_quotes_the_url_and_fits_the_role() {
        let school = instructions("ce.0752401C", "http://127.0.0.1:8080/dav/", false);
        assert!(school.contains(
            "rclone copy plan.pdf &#39;:webdav,url=&quot;http://127.0.0.1:8080/dav/&quot;,\
             vendor=other,user=ce.0752401C,pass=&#39;&quot;$(rclone obscure &#39;CLÉ&#39;)\
             &quot;&#39;:&#39;"
        ));
        let cell = instructions("cellule.demo", "http://127.0.0.1:8080/dav/", true);
        assert!(cell.contains("rclone ls &#39;:webdav,"));
        assert!(!cell.contains("rclone copy"));
    }
}
