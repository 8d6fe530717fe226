//! A browser's login session as a way into the report endpoints: the cookie of a session that
//! finished the three stages stands for Basic credentials. These endpoints only answer GETs
//! and change nothing, so no CSRF token is asked (the cookie is `SameSite=Strict` besides).

use dav_server::body::Body;
use http::{header, HeaderMap, Response, StatusCode};

use super::super::error;
use crate::auth::session::{cookie_value, SessionRole, Stage};
use crate::auth::{Principal, Role};
use crate::server::App;

/// Stands in the audit trail where a mount key's id would be.
const SESSION_KEY_ID: &str = "session";

/// The principal of the request's logged-in session: `Ok(None)` without a cookie or before the
/// third stage, a 403 for the helpdesk (which reads no deposits), a 503 when the session store
/// cannot answer. A school's session gives a school principal, which the caller refuses.
pub(super) async fn principal(
    app: &App,
    headers: &HeaderMap,
) -> Result<Option<Principal>, Response<Body>> {
    let Some(id) = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(cookie_value)
    else {
        return Ok(None);
    };
    let session = match app.login.sessions.find(id, app.login.now()).await {
        Ok(session) => session,
        Err(err) => {
            tracing::error!(error = %err, "report API: session lookup failed");
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "service momentanément indisponible",
            ));
        }
    };
    let Some(session) = session.filter(|s| s.stage == Stage::Done) else {
        return Ok(None);
    };
    let account = session.account.clone().unwrap_or_default();
    let role = match session.role {
        Some(SessionRole::CrisisCell) => Role::CrisisCell,
        Some(SessionRole::School(rne)) => Role::School(rne),
        Some(SessionRole::Helpdesk) | None => {
            return Err(error(StatusCode::FORBIDDEN, super::CELL_ONLY));
        }
    };
    Ok(Some(Principal {
        account,
        role,
        key_id: SESSION_KEY_ID.to_string(),
    }))
}
