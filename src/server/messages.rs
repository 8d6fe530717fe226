//! The French sentence a refusal carries when nothing more specific was said, so that no error
//! leaves the server with an empty body.

use http::StatusCode;

use super::body::BodyFault;

/// A readable reason for an error status.
pub fn for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "requête invalide",
        403 => "action non autorisée",
        404 => "introuvable",
        405 => "méthode non autorisée ici",
        409 => "conflit : le dossier parent n'existe pas ou le jeton de verrou est inconnu",
        412 => "condition préalable non remplie (fichier existant ou verrou)",
        413 => "contenu trop volumineux",
        414 => "chemin trop long",
        415 => "type de contenu refusé",
        423 => "ressource verrouillée par un autre client",
        500 => "erreur interne du serveur",
        501 => "méthode non prise en charge",
        502 | 504 => "échec de la transmission",
        507 => "espace insuffisant",
        _ => "requête refusée",
    }
}

/// Status and sentence for a body that went wrong.
pub fn for_body_fault(fault: BodyFault) -> (StatusCode, &'static str) {
    match fault {
        BodyFault::TooLong => (
            StatusCode::BAD_REQUEST,
            "envoi plus long qu'annoncé : rien n'a été déposé",
        ),
        BodyFault::TimedOut => (
            StatusCode::REQUEST_TIMEOUT,
            "envoi interrompu (délai dépassé) : rien n'a été déposé",
        ),
        BodyFault::Broken => (
            StatusCode::BAD_REQUEST,
            "envoi incomplet : rien n'a été déposé",
        ),
    }
}
