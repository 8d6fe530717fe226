//! Streams one readable thing (a stored file, an export archive) as a response body. The
//! router answers with the WebDAV crate's `Body`, whose only streaming form is built inside
//! the crate by its GET handler; so the thing is handed, as a one-file read-only file system,
//! to a private `DavHandler` GET, which reads one bounded chunk at a time and brings ranges,
//! validators and `Content-Length` along. Only the reading differs between callers: they
//! implement [`ChunkSource`].

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
use http::{HeaderMap, Method, Request, Response};

/// Bytes read per chunk sent.
pub const CHUNK_BYTES: usize = 256 * 1024;
/// The one path of the file system.
const PATH: &str = "/one";

/// What the handler learns of the thing served.
#[derive(Debug, Clone)]
pub struct OneFileMeta {
    pub len: u64,
    pub modified: SystemTime,
    /// The entity tag, when the caller has one (a content digest).
    pub etag: Option<String>,
}

impl DavMetaData for OneFileMeta {
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
        self.etag.clone()
    }
}

/// How a caller's content is read: at most `count` bytes per call (fewer only at the end).
pub trait ChunkSource: std::fmt::Debug + Send + Sync + 'static {
    fn read_chunk(&'_ mut self, count: usize) -> FsFuture<'_, Bytes>;

    /// Moves the read position; sources that cannot seek keep this default, and the handler
    /// then answers a `Range` with 416.
    fn seek(&'_ mut self, _pos: SeekFrom) -> FsFuture<'_, u64> {
        async { Err(FsError::NotImplemented) }.boxed()
    }
}

#[derive(Debug)]
struct SourceFile<S> {
    source: S,
    meta: OneFileMeta,
}

impl<S: ChunkSource> DavFile for SourceFile<S> {
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
        self.source.read_chunk(count.min(CHUNK_BYTES))
    }

    fn seek(&'_ mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        self.source.seek(pos)
    }

    fn flush(&'_ mut self) -> FsFuture<'_, ()> {
        async { Ok(()) }.boxed()
    }
}

/// A file system holding one file, opened at most once.
struct OneFileFs<S> {
    file: Arc<Mutex<Option<SourceFile<S>>>>,
    meta: OneFileMeta,
}

impl<S> Clone for OneFileFs<S> {
    fn clone(&self) -> Self {
        OneFileFs {
            file: self.file.clone(),
            meta: self.meta.clone(),
        }
    }
}

impl<S: ChunkSource> DavFileSystem for OneFileFs<S> {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        _options: OpenOptions,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        let file = (path.as_bytes() == PATH.as_bytes())
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
        let found = path.as_bytes() == PATH.as_bytes();
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

/// The crate's answer to a `GET` (or `HEAD`) of `source` carrying `headers` (ranges and
/// validators the caller chose to pass): 200, 206, 304 or 416, the body streamed. The caller
/// sets the media type and disposition.
pub async fn serve<S: ChunkSource>(
    source: S,
    meta: OneFileMeta,
    method: &Method,
    headers: HeaderMap,
) -> Response<Body> {
    let fs = OneFileFs {
        file: Arc::new(Mutex::new(Some(SourceFile {
            source,
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
    let mut inner = Request::builder().method(method).uri(PATH);
    if let Some(inner_headers) = inner.headers_mut() {
        inner_headers.extend(headers);
    }
    let inner = inner
        .body(http_body_util::Empty::<Bytes>::new())
        .expect("request from valid parts");
    handler.handle(inner).await
}
