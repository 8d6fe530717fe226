//! A streamed, seekable response body for one stored file. The router answers with the WebDAV
//! crate's `Body`, whose only streaming form is built inside the crate by its GET handler (the
//! ZIP exports meet the same wall, see `api::reports`). So the open file is handed, as a
//! one-file read-only file system, to a private `DavHandler` GET: it reads one bounded chunk at
//! a time and brings byte ranges (browsers' PDF viewers ask for them), `ETag`,
//! `Last-Modified` and conditional requests along.

use std::io::SeekFrom;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use dav_server::body::Body;
use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavFileSystem, DavMetaData, FsError, FsFuture, FsResult, FsStream,
    OpenOptions, ReadDirMeta,
};
use dav_server::DavHandler;
use futures_util::FutureExt;
use http::{header, HeaderMap, Method, Request, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Bytes read from disk per chunk sent.
const CHUNK_BYTES: usize = 256 * 1024;
const FILE_PATH: &str = "/file";
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

impl DavMetaData for FileMeta {
    fn len(&self) -> u64 {
        self.len
    }

    fn modified(&self) -> FsResult<SystemTime> {
        Ok(self.modified)
    }

    fn is_dir(&self) -> bool {
        false
    }

    fn etag(&self) -> Option<String> {
        (!self.sha256.is_empty()).then(|| self.sha256.clone())
    }
}

#[derive(Debug)]
struct OneFile {
    file: tokio::fs::File,
    meta: FileMeta,
}

impl DavFile for OneFile {
    fn metadata(&'_ mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move { Ok(meta) }.boxed()
    }

    fn write_buf(&'_ mut self, _buf: Box<dyn bytes::Buf + Send>) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn write_bytes(&'_ mut self, _buf: Bytes) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn read_bytes(&'_ mut self, count: usize) -> FsFuture<'_, Bytes> {
        async move {
            let mut buf = vec![0u8; count.min(CHUNK_BYTES)];
            let mut filled = 0;
            while filled < buf.len() {
                match self.file.read(&mut buf[filled..]).await {
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
        async move {
            self.file
                .seek(pos)
                .await
                .map_err(|_| FsError::GeneralFailure)
        }
        .boxed()
    }

    fn flush(&'_ mut self) -> FsFuture<'_, ()> {
        async { Ok(()) }.boxed()
    }
}

/// A file system holding one file, opened at most once.
#[derive(Clone)]
struct OneFileFs {
    file: Arc<Mutex<Option<OneFile>>>,
    meta: FileMeta,
}

impl DavFileSystem for OneFileFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        _options: OpenOptions,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        let file = (path.as_bytes() == FILE_PATH.as_bytes())
            .then(|| self.file.lock().unwrap_or_else(|e| e.into_inner()).take())
            .flatten();
        async move {
            match file {
                Some(file) => Ok(Box::new(file) as Box<dyn DavFile>),
                None => Err(FsError::NotFound),
            }
        }
        .boxed()
    }

    fn read_dir<'a>(
        &'a self,
        _path: &'a DavPath,
        _meta: ReadDirMeta,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        async { Err(FsError::NotImplemented) }.boxed()
    }

    fn metadata<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, Box<dyn DavMetaData>> {
        let found = path.as_bytes() == FILE_PATH.as_bytes();
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move {
            if found {
                Ok(meta)
            } else {
                Err(FsError::NotFound)
            }
        }
        .boxed()
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
    let fs = OneFileFs {
        file: Arc::new(Mutex::new(Some(OneFile {
            file,
            meta: meta.clone(),
        }))),
        meta,
    };
    let handler: DavHandler = DavHandler::builder()
        .filesystem(Box::new(fs))
        .read_buf_size(CHUNK_BYTES)
        .build_handler();
    let method = if method == Method::HEAD {
        Method::HEAD
    } else {
        Method::GET
    };
    let mut passed = HeaderMap::new();
    for name in PASSED {
        for value in request.get_all(&name) {
            passed.append(name.clone(), value.clone());
        }
    }
    crate::server::tame_range(&mut passed);
    let mut inner = Request::builder().method(method).uri(FILE_PATH);
    if let Some(headers) = inner.headers_mut() {
        headers.extend(passed);
    }
    let inner = inner
        .body(http_body_util::Empty::<Bytes>::new())
        .expect("request from valid parts");
    handler.handle(inner).await
}
