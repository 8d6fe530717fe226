//! The deposit form without JavaScript: `multipart/form-data` read as a stream, each file part
//! going chunk by chunk through the deposit service (the one path every deposit takes), then
//! the French report of each file's outcome shown above the form. The body goes through
//! [`header_bound::HeaderBound`] first: `multer` does not bound a part's headers itself.

use std::net::IpAddr;

use http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::FILES_FIELD;
use crate::api::deposits::{actor, body_fault};
use crate::auth::session::Session;
use crate::deposit::{Actor, DepositError};
use crate::directory::Rne;
use crate::portal::esc;
use crate::portal::format::size;
use crate::server::{App, GuardedBody};
use crate::storage::StoredFile;

mod header_bound;

use header_bound::{HeaderBound, PartHeadersTooLong, MAX_PART_HEADER_BYTES};

/// Longest CSRF or kind field read: both are short tokens (43 and at most 64 characters).
const MAX_SMALL_FIELD_BYTES: u64 = 256;
/// Room for a part's headers and boundary, per file, in the bound of a whole form.
const PART_OVERHEAD_BYTES: u64 = 64 * 1024;
/// How far past `max_file_bytes` the parser lets a file part run: more than a chunk, so the
/// deposit service sees the oversized file first and refuses it with its audited reason.
const FIELD_SLACK_BYTES: u64 = 1024 * 1024;

/// What became of one file of the form.
struct Outcome {
    /// The name the browser sent.
    file_name: String,
    result: Result<(StoredFile, bool), (StatusCode, String)>,
}

impl Outcome {
    fn refused(file_name: &str, err: &DepositError) -> Outcome {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
        Outcome {
            file_name: file_name.to_string(),
            result: Err((status, err.message_fr())),
        }
    }
}

/// Why the form stopped before its end.
struct Stop {
    status: StatusCode,
    message: String,
}

/// Reads the form and deposits each file; the status of the answer, the report to show above
/// the form, and the bytes received.
pub(super) async fn receive(
    app: &App,
    client: IpAddr,
    session: &Session,
    rne: &Rne,
    req: Request<Incoming>,
) -> (StatusCode, String, u64) {
    let boundary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok());
    let Some(boundary) = boundary else {
        let message = "formulaire attendu (multipart/form-data) : rien n'a été déposé";
        return (StatusCode::BAD_REQUEST, report(&[], Some(message)), 0);
    };
    let actor = actor(session, client, req.headers());
    let policy = app.fs.policy();
    let max_files = app.config.portal_max_files_per_form.max(1) as u64;
    let per_file = policy.max_file_bytes.saturating_add(FIELD_SLACK_BYTES);
    let limits = multer::SizeLimit::new()
        .whole_stream(max_files.saturating_mul(per_file + PART_OVERHEAD_BYTES))
        .per_field(per_file)
        .for_field("csrf", MAX_SMALL_FIELD_BYTES)
        .for_field("kind", MAX_SMALL_FIELD_BYTES);
    let constraints = multer::Constraints::new()
        .allowed_fields(vec!["csrf", "kind", FILES_FIELD])
        .size_limit(limits);
    let min_rate = app.config.body_min_rate_bytes_per_sec;
    let (body, watch) = GuardedBody::streaming(req.into_body(), app.body_timeout, min_rate, None);
    let body = HeaderBound::new(body.into_data_stream(), &boundary);
    let mut form = multer::Multipart::with_constraints(body, boundary, constraints);
    let mut outcomes = Vec::new();
    let stop = read_parts(app, session, rne, &actor, &mut form, &mut outcomes).await;
    let stop = stop.map(|stop| match stop {
        PartsStop::Form(stop) => stop,
        PartsStop::Multipart(err) => multipart_stop(&err, watch.fault(), outcomes.is_empty()),
    });
    let received = watch.received();
    if let Some(Stop { status, .. }) = &stop {
        if *status == StatusCode::FORBIDDEN {
            return (
                *status,
                report(&[], Some(crate::api::CSRF_REFUSED)),
                received,
            );
        }
    }
    let status = match (&stop, outcomes.iter().find_map(|o| o.result.as_ref().err())) {
        (Some(stop), _) => stop.status,
        (None, Some((status, _))) => *status,
        (None, None) if outcomes.is_empty() => StatusCode::BAD_REQUEST,
        (None, None) => StatusCode::OK,
    };
    let message = match (&stop, outcomes.is_empty()) {
        (Some(stop), _) => Some(stop.message.as_str()),
        (None, true) => Some("aucun fichier sélectionné"),
        (None, false) => None,
    };
    (status, report(&outcomes, message), received)
}

enum PartsStop {
    Form(Stop),
    Multipart(multer::Error),
}

/// Reads the parts in order: the CSRF field must come first, then the kind, then the files.
// Limitation: without JavaScript one kind applies to every file of the form, and the form
// stops at the first oversized file, the files after it left unread (a browser cannot be told
// to skip part of a body; reading the rest would only waste the connection).
async fn read_parts(
    app: &App,
    session: &Session,
    rne: &Rne,
    actor: &Actor,
    form: &mut multer::Multipart<'_>,
    outcomes: &mut Vec<Outcome>,
) -> Option<PartsStop> {
    let max_files = app.config.portal_max_files_per_form.max(1);
    let mut csrf_ok = false;
    let mut kind = String::new();
    let mut files = 0usize;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return None,
            Err(err) => return Some(PartsStop::Multipart(err)),
        };
        let name = field.name().unwrap_or_default().to_string();
        let refused = || {
            Some(PartsStop::Form(Stop {
                status: StatusCode::FORBIDDEN,
                message: crate::api::CSRF_REFUSED.into(),
            }))
        };
        match name.as_str() {
            "csrf" => {
                let token = match field.text().await {
                    Ok(token) => token,
                    Err(err) => return Some(PartsStop::Multipart(err)),
                };
                csrf_ok = crate::api::csrf_ok_token(session, token.trim());
                if !csrf_ok {
                    return refused();
                }
            }
            // The CSRF field comes first in the form: nothing is read before it matched.
            _ if !csrf_ok => return refused(),
            "kind" => match field.text().await {
                Ok(text) => kind = text.trim().to_string(),
                Err(err) => return Some(PartsStop::Multipart(err)),
            },
            _ => {
                let mut field = field;
                let file_name = field.file_name().unwrap_or_default().to_string();
                if file_name.is_empty() {
                    // An empty file input still sends one nameless part: nothing chosen.
                    continue;
                }
                files += 1;
                if files > max_files {
                    return Some(PartsStop::Form(Stop {
                        status: StatusCode::PAYLOAD_TOO_LARGE,
                        message: format!(
                            "trop de fichiers : {max_files} au plus par envoi ; les suivants \
                             n'ont pas été déposés"
                        ),
                    }));
                }
                let outcome = deposit_part(app, rne, actor, &kind, &file_name, &mut field).await;
                match outcome {
                    Ok(outcome) => {
                        let too_big = matches!(
                            &outcome.result,
                            Err((status, _)) if *status == StatusCode::PAYLOAD_TOO_LARGE
                        );
                        outcomes.push(outcome);
                        if too_big {
                            // The rest of an oversized file is not worth reading.
                            return Some(PartsStop::Form(Stop {
                                status: StatusCode::PAYLOAD_TOO_LARGE,
                                message: "envoi arrêté après un fichier trop volumineux ; \
                                          les fichiers suivants n'ont pas été déposés"
                                    .into(),
                            }));
                        }
                    }
                    Err(err) => {
                        outcomes.push(Outcome {
                            file_name,
                            result: Err((
                                StatusCode::BAD_REQUEST,
                                "envoi interrompu : rien n'a été déposé".into(),
                            )),
                        });
                        return Some(PartsStop::Multipart(err));
                    }
                }
            }
        }
    }
}

/// Deposits one file part; `Err` when the form itself broke while reading it (the file is then
/// not stored: the pending deposit is dropped).
async fn deposit_part(
    app: &App,
    rne: &Rne,
    actor: &Actor,
    kind: &str,
    file_name: &str,
    field: &mut multer::Field<'_>,
) -> Result<Outcome, multer::Error> {
    if kind.is_empty() {
        return Ok(Outcome {
            file_name: file_name.to_string(),
            result: Err((
                StatusCode::BAD_REQUEST,
                "type de document manquant : rien n'a été déposé".into(),
            )),
        });
    }
    let depositor = app.fs.depositor();
    let mut pending = match depositor.begin(actor.clone(), rne, file_name, None).await {
        Ok(pending) => pending,
        Err(err) => return Ok(Outcome::refused(file_name, &err)),
    };
    if let Err(err) = pending.declare_kind(kind) {
        return Ok(Outcome::refused(file_name, &err));
    }
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if let Err(err) = pending.write(chunk).await {
                    return Ok(Outcome::refused(file_name, &err));
                }
            }
            Ok(None) => break,
            Err(multer::Error::FieldSizeExceeded { .. }) => {
                let limit = app.fs.policy().max_file_bytes;
                let err = DepositError::Refused(crate::policy::Refusal::TooLarge {
                    bytes: pending.len(),
                    limit,
                });
                return Ok(Outcome::refused(file_name, &err));
            }
            Err(err) => return Err(err),
        }
    }
    Ok(Outcome {
        file_name: file_name.to_string(),
        result: pending
            .finish_telling()
            .await
            .map_err(|err| Outcome::refused(file_name, &err).result.unwrap_err()),
    })
}

/// The stop of a form whose multipart stream failed; `nothing_listed` when no file of the form
/// was reported before it.
fn multipart_stop(
    err: &multer::Error,
    fault: Option<crate::server::BodyFault>,
    nothing_listed: bool,
) -> Stop {
    if let Some(too_long) = headers_too_long(err) {
        tracing::warn!(
            limit = too_long.limit,
            in_preamble = too_long.in_preamble,
            "deposit form refused: part headers too long"
        );
        let rest = if nothing_listed {
            "rien n'a été déposé"
        } else {
            "les fichiers non listés ci-dessus n'ont pas été déposés"
        };
        return Stop {
            status: StatusCode::BAD_REQUEST,
            message: format!(
                "en-têtes de partie trop longs ({} au plus) : {rest}",
                size(MAX_PART_HEADER_BYTES as u64)
            ),
        };
    }
    if fault.is_some() {
        let (status, message) = body_fault(fault);
        return Stop {
            status,
            message: message.into(),
        };
    }
    tracing::warn!(error = %err, "deposit form refused");
    let (status, message) = match err {
        multer::Error::StreamSizeExceeded { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "envoi trop volumineux : les fichiers non listés ci-dessus n'ont pas été déposés",
        ),
        multer::Error::UnknownField { .. } => (
            StatusCode::BAD_REQUEST,
            "formulaire inattendu : les fichiers non listés ci-dessus n'ont pas été déposés",
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            "envoi incomplet ou interrompu : les fichiers non listés ci-dessus n'ont pas été \
             déposés",
        ),
    };
    Stop {
        status,
        message: message.into(),
    }
}

/// The refusal of [`HeaderBound`], when it is what stopped the parser.
fn headers_too_long(err: &multer::Error) -> Option<&PartHeadersTooLong> {
    match err {
        multer::Error::StreamReadFailed(inner) => inner.downcast_ref::<PartHeadersTooLong>(),
        _ => None,
    }
}

/// The report of a form: one line per file, then why it stopped, if it did.
fn report(outcomes: &[Outcome], stop: Option<&str>) -> String {
    let items: String = outcomes
        .iter()
        .map(|outcome| match &outcome.result {
            Ok((stored, new_version)) => {
                let what = if *new_version {
                    format!("déposé (version {})", stored.version)
                } else {
                    format!(
                        "identique à la version {} déjà déposée : rien de nouveau",
                        stored.version
                    )
                };
                format!(
                    "<li class=\"ok\"><strong>{file}</strong> → <code>{stored_name}</code> : \
                     {what}, {size}.</li>",
                    file = esc(&outcome.file_name),
                    stored_name = esc(&stored.path),
                    size = size(stored.bytes),
                )
            }
            Err((status, message)) => format!(
                "<li class=\"error\"><strong>{file}</strong> : {message} \
                 <span class=\"hint\">(erreur {code})</span></li>",
                file = esc(&outcome.file_name),
                message = esc(message),
                code = status.as_u16(),
            ),
        })
        .collect();
    let failed = stop.is_some() || outcomes.iter().any(|o| o.result.is_err());
    let class = if failed { "alert" } else { "success" };
    let stop = stop
        .map(|message| format!("<p><strong>{}</strong></p>", esc(message)))
        .unwrap_or_default();
    let list = if items.is_empty() {
        String::new()
    } else {
        format!("<ul class=\"results\">{items}</ul>")
    };
    format!(
        "<section id=\"resultats\" class=\"{class}\" role=\"status\" aria-live=\"polite\">\
         <h2>Résultat de l'envoi</h2>{list}{stop}</section>"
    )
}
