//! A streamed response body for ZIP exports, over `server::one_file`: the archive is read
//! chunk by chunk (one bounded buffer at a time, in a blocking task) and its length, which
//! [`ZipStream::len`] knows exactly before the first byte, is announced.

use std::io::Read;
use std::time::SystemTime;

use bytes::Bytes;
use dav_server::body::Body;
use dav_server::fs::{FsError, FsFuture};
use futures_util::FutureExt;
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};

use crate::report::export::ZipStream;
use crate::server::one_file::{self, ChunkSource, OneFileMeta};

/// The archive being read; the stream moves into a blocking task for each chunk.
#[derive(Debug)]
struct Archive {
    stream: Option<ZipStream>,
}

// Limitation: no byte ranges (the default `seek`), so an interrupted download starts over.
impl ChunkSource for Archive {
    fn read_chunk(&'_ mut self, count: usize) -> FsFuture<'_, Bytes> {
        async move {
            let mut stream = self.stream.take().ok_or(FsError::GeneralFailure)?;
            let (stream, read) = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; count];
                let mut filled = 0;
                while filled < count {
                    match stream.read(&mut buf[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(err) => return (stream, Err(err)),
                    }
                }
                buf.truncate(filled);
                (stream, Ok(Bytes::from(buf)))
            })
            .await
            .map_err(|_| FsError::GeneralFailure)?;
            self.stream = Some(stream);
            read.map_err(|err| {
                tracing::error!(error = %err, "export stream failed, response cut short");
                FsError::GeneralFailure
            })
        }
        .boxed()
    }
}

/// A `200` response streaming `stream` as `application/zip`, saved as `filename`.
pub async fn zip_response(stream: ZipStream, filename: &str) -> Response<Body> {
    let meta = OneFileMeta {
        len: stream.len(),
        modified: SystemTime::now(),
        etag: None,
    };
    let archive = Archive {
        stream: Some(stream),
    };
    let inner = one_file::serve(archive, meta, &Method::GET, HeaderMap::new()).await;
    if inner.status() != StatusCode::OK {
        tracing::error!(status = %inner.status(), "export handler refused the archive");
        return super::super::error(StatusCode::INTERNAL_SERVER_ERROR, "erreur interne");
    }
    let (parts, body) = inner.into_parts();
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    if let Some(length) = parts.headers.get(header::CONTENT_LENGTH) {
        headers.insert(header::CONTENT_LENGTH, length.clone());
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let disposition = format!("attachment; filename=\"{filename}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
