//! `/cellule/fichier/<RNE>/<stored name>`: the latest version of one stored file, streamed
//! from disk (never loaded whole), PDF shown inline by the browser's viewer and anything else
//! saved as an attachment, named with RFC 5987 `filename*`. The name is looked up in the
//! school's own index of stored files, so nothing outside that school's folder is ever
//! reachable: a bad name is a 400, an unknown one a 404. Each download is audited.

use std::sync::Arc;

use dav_server::body::Body;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use unicode_normalization::UnicodeNormalization;

use super::file_body::{respond, FileMeta};
use super::{bad_request, blocking, deposits, not_found, Reader};
use crate::audit::AuditEvent;
use crate::directory::Rne;
use crate::server::App;
use crate::storage::StoreError;

/// RFC 5987 `attr-char`: what `filename*` keeps unescaped.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// Media types by extension; anything else is `application/octet-stream`.
const MEDIA_TYPES: &[(&str, &str)] = &[
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odg", "application/vnd.oasis.opendocument.graphics"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("txt", "text/plain; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("zip", "application/zip"),
];

/// The media type a stored name's extension says.
pub fn media_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    extension
        .and_then(|e| MEDIA_TYPES.iter().find(|(x, _)| *x == e).map(|(_, t)| *t))
        .unwrap_or("application/octet-stream")
}

/// `inline` for a PDF (opened by the browser's viewer), `attachment` otherwise, with an ASCII
/// `filename` for old clients and the exact UTF-8 name as `filename*`.
pub fn disposition(name: &str) -> String {
    let kind = if media_type(name) == "application/pdf" {
        "inline"
    } else {
        "attachment"
    };
    let ascii: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact = utf8_percent_encode(name, ATTR_CHAR);
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{exact}")
}

/// What the lookup found.
enum Found {
    File(std::fs::File, FileMeta, u32),
    BadName,
    Missing,
}

pub async fn serve(
    app: &Arc<App>,
    reader: &Reader,
    req: &Request<Incoming>,
    target: &str,
) -> Response<Body> {
    let Some((rne, rest)) = target.split_once('/') else {
        return not_found("Fichier introuvable.");
    };
    let Ok(rne) = Rne::parse(rne) else {
        return not_found("Code RNE invalide.");
    };
    let Ok(decoded) = percent_decode_str(rest).decode_utf8() else {
        return bad_request("Nom de fichier illisible.");
    };
    let path: String = decoded.nfc().collect();
    let wanted = (rne.clone(), path.clone());
    let found = blocking(app, move |app| {
        let (rne, path) = wanted;
        let store = app.fs.depositor().store();
        let file = match store.stat(&rne, &path) {
            Ok(Some(file)) => file,
            Ok(None) => return Ok(Found::Missing),
            Err(StoreError::BadName(_)) => return Ok(Found::BadName),
            Err(StoreError::Io(err)) => return Err(err),
            Err(other) => return Err(std::io::Error::other(other.to_string())),
        };
        let deposits = deposits(app);
        let sha256 = deposits
            .latest_record(&rne, &file)
            .map_or_else(|| file.sha256.clone(), |record| record.sha256);
        // The version file first: never replaced, a deposit arriving meanwhile cannot change it.
        for source in deposits.content_paths(&rne, &file) {
            if let Ok(opened) = std::fs::File::open(&source) {
                let len = opened.metadata()?.len();
                let meta = FileMeta {
                    len,
                    modified: file.modified,
                    sha256,
                };
                return Ok(Found::File(opened, meta, file.version));
            }
        }
        Ok(Found::Missing)
    })
    .await;
    let (file, meta, version) = match found {
        Ok(Found::File(file, meta, version)) => (file, meta, version),
        Ok(Found::BadName) => return bad_request("Nom de fichier invalide."),
        Ok(Found::Missing) => return not_found("Fichier introuvable dans ce dossier."),
        Err(response) => return response,
    };
    let name = path.rsplit('/').next().unwrap_or(&path).to_string();
    let sha256 = meta.sha256.clone();
    let len = meta.len;
    let mut response = respond(
        tokio::fs::File::from_std(file),
        meta,
        req.method(),
        req.headers(),
    )
    .await;
    let status = response.status();
    let headers = response.headers_mut();
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"multipart/"));
    if !multipart {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(media_type(&name)),
        );
    }
    if let Ok(value) = HeaderValue::from_str(&disposition(&name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // A deposited file opened inline (an HTML/PDF polyglot) runs no script in the portal's
    // origin: no script, no form, no same-origin access.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    // Limitation: a PDF viewer reading by ranges leaves one audit line per range request (one
    // viewing cannot be told from several without a per-client state).
    let served = status == StatusCode::OK || status == StatusCode::PARTIAL_CONTENT;
    if served && req.method() == Method::GET {
        app.audit.record(AuditEvent {
            event: "download",
            outcome: "ok",
            principal: Some(reader.account.clone()),
            role: Some("crisis_cell"),
            rne: Some(rne.to_string()),
            stored_name: Some(path),
            version: Some(version),
            bytes: Some(len),
            sha256: Some(sha256),
            method: Some("GET".into()),
            path: Some(req.uri().path().chars().take(512).collect()),
            status: Some(status.as_u16()),
            client_ip: Some(reader.client.to_string()),
            ..AuditEvent::default()
        });
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_inline_anything_else_attached() {
        assert_eq!(media_type("0752401C-PLAN.PDF"), "application/pdf");
        assert_eq!(media_type("0752401C-plan"), "application/octet-stream");
        assert!(disposition("0752401C-plan.pdf").starts_with("inline; "));
        assert!(disposition("0752401C-plan.docx").starts_with("attachment; "));
    }

    #[test]
    fn names_follow_rfc_5987() {
        assert_eq!(
            disposition("0752401C-Évacuation \"RDC\".pdf"),
            "inline; filename=\"0752401C-_vacuation _RDC_.pdf\"; \
             filename*=UTF-8''0752401C-%C3%89vacuation%20%22RDC%22.pdf"
        );
    }
}
