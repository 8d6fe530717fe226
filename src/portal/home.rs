//! "Accueil": the deposit steps in a few lines ("Marche à suivre"), the other way in (a mapped
//! network drive), the accepted formats and sizes of the policy in force, and the helpdesk
//! contact from the configuration.

use dav_server::body::Body;
use http::{Response, StatusCode};

use super::depot::accepted_extensions;
use super::format::size;
use super::{esc, html_page, Nav};
use crate::auth::session::{Session, SessionRole, Stage};
use crate::server::App;

/// The home page for this session (or a visitor).
pub(super) fn page(app: &App, session: Option<&Session>, nav: Nav) -> Response<Body> {
    let logged = session.filter(|s| s.stage == Stage::Done);
    let who = match logged {
        Some(session) => {
            let account = esc(session.account.as_deref().unwrap_or(""));
            let next = match session.role {
                Some(SessionRole::School(_)) => {
                    "<p><a class=\"button\" href=\"/depot\">Déposer dans « PPMS et plans »</a></p>"
                }
                Some(SessionRole::CrisisCell) => {
                    "<p><a class=\"button\" href=\"/cellule/\">Consulter les plans déposés</a></p>"
                }
                _ => "",
            };
            format!("<p class=\"notice\">Connecté : <strong>{account}</strong></p>{next}")
        }
        None => "<p><a class=\"button\" href=\"/connexion\">Se connecter</a></p>".to_string(),
    };
    let policy = app.fs.policy();
    let body = format!(
        "<p>Ce service recueille les plans particuliers de mise en sûreté (PPMS) et les plans \
         des écoles et établissements ; la cellule de crise les consulte en cas d'événement.</p>\
         {who}\
         <h2>Marche à suivre</h2><ol class=\"steps\">\
         <li><strong>Connectez-vous</strong> (« Connexion ») en trois étapes : votre identifiant \
         et le code de votre jeton, puis un second code, puis le compte de l'établissement \
         (<code>ce.RNE</code>) et son mot de passe.</li>\
         <li>Ouvrez <strong>« PPMS et plans »</strong>.</li>\
         <li>Ne cherchez pas d'abord votre dossier : il n'existe pas encore, votre premier \
         dépôt le crée.</li>\
         <li><strong>Sélectionnez vos fichiers</strong> (ou glissez-les sur la page), choisissez \
         le type de chaque document, puis cliquez sur <strong>« Déposer »</strong>.</li>\
         <li>Les fichiers sont nommés automatiquement avec le code RNE de l'établissement \
         (<code>RNE-…</code>, par exemple <code>0752401C-plan-des-locaux.pdf</code>). Déposer \
         à nouveau un fichier du même nom garde l'ancienne version.</li></ol>\
         <p>Formats acceptés : {types}. Taille maximale d'un fichier : {max}.</p>\
         <h2>Plutôt un lecteur réseau ?</h2>\
         <p>Vous pouvez aussi déposer par un lecteur réseau (Windows, macOS, Linux) : une fois \
         connecté, ouvrez <a href=\"/connexion\">« Lecteur réseau »</a>, créez une clé de \
         montage et suivez les instructions affichées.</p>\
         <h2>Besoin d'aide ?</h2><p class=\"notice\" id=\"assistance\">{helpdesk}</p>",
        types = esc(&accepted_extensions(policy).join(", ")),
        max = size(policy.max_file_bytes),
        helpdesk = esc(&app.config.helpdesk_contact),
    );
    html_page(StatusCode::OK, "Accueil", nav, &body)
}
