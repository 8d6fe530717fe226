//! A streamed, seekable response body for one stored file, over `server::one_file`: byte
//! ranges (browsers' PDF viewers ask for them), `ETag` (the sha256), `Last-Modified` and
//! conditional requests come from the WebDAV crate's GET handler.

use std::io::SeekFrom;
use std::time::SystemTime;

use bytes::Bytes;
use dav_server::body::Body;
use dav_server::fs::{FsError, FsFuture};
use futures_util::FutureExt;
use http::{header, HeaderMap, Method, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::server::one_file::{self, ChunkSource, OneFileMeta};

/// Request headers passed on to the inner handler: ranges and validators, nothing else.
const PASSED: [header::HeaderName; 5] = [
    header::RANGE,
    header::IF_RANGE,
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
    header::IF_MATCH,
];

/// What the handler learns of the file.
#[derive(Debug, Clone)]
pub struct FileMeta {
    pub len: u64,
    pub modified: SystemTime,
    /// Content digest, used as the entity tag.
    pub sha256: String,
}

/// The open file, read a chunk at a time.
#[derive(Debug)]
struct StoredFile(tokio::fs::File);

impl ChunkSource for StoredFile {
    fn read_chunk(&'_ mut self, count: usize) -> FsFuture<'_, Bytes> {
        async move {
            let mut buf = vec![0u8; count];
            let mut filled = 0;
            while filled < buf.len() {
                match self.0.read(&mut buf[filled..]).await {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(err) => {
                        tracing::error!(error = %err, "download: read failed, response cut short");
                        return Err(FsError::GeneralFailure);
                    }
                }
            }
            buf.truncate(filled);
            Ok(Bytes::from(buf))
        }
        .boxed()
    }

    fn seek(&'_ mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        async move { self.0.seek(pos).await.map_err(|_| FsError::GeneralFailure) }.boxed()
    }
}

/// The answer of a GET (or HEAD) for `file`, honouring the ranges and validators among
/// `request`: 200, 206, 304 or 416 with the matching headers, the body streamed. The caller
/// sets the media type and disposition. Too many or overlapping ranges are ignored (see
/// `server::tame_range`).
pub async fn respond(
    file: tokio::fs::File,
    meta: FileMeta,
    method: &Method,
    request: &HeaderMap,
) -> Response<Body> {
    let meta = OneFileMeta {
        len: meta.len,
        modified: meta.modified,
        etag: (!meta.sha256.is_empty()).then_some(meta.sha256),
    };
    let mut passed = HeaderMap::new();
    for name in PASSED {
        for value in request.get_all(&name) {
            passed.append(name.clone(), value.clone());
        }
    }
    crate::server::tame_range(&mut passed);
    one_file::serve(StoredFile(file), meta, method, passed).await
}
