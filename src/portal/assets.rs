//! The portal's static files (style sheet and scripts), compiled into the binary so a fresh
//! install needs nothing beside it, served with a validator and a short cache lifetime.

use dav_server::body::Body;
use http::{header, HeaderValue, Response};

/// Where static files are served.
const PREFIX: &str = "/static/";

/// Each file: name under [`PREFIX`], media type, content.
const FILES: &[(&str, &str, &str)] = &[
    (
        "portal.css",
        "text/css; charset=utf-8",
        include_str!("assets/portal.css"),
    ),
    (
        "portal.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/portal.js"),
    ),
    (
        "depot.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/depot.js"),
    ),
];

pub fn is_asset_path(path: &str) -> bool {
    path.starts_with(PREFIX)
}

/// The file at `path`, or `None` when it is not one of [`FILES`].
pub fn serve(path: &str) -> Option<Response<Body>> {
    let name = path.strip_prefix(PREFIX)?;
    let (_, media_type, content) = FILES.iter().find(|(file, _, _)| *file == name)?;
    let mut response = Response::new(Body::from(*content));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(content.len()));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Some(response)
}
