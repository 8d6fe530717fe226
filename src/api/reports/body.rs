//! A streamed response body for ZIP exports. The router answers with the WebDAV crate's
//! `Body`, whose only streaming form is built inside the crate, by its GET handler. So an
//! export is served as a one-file, read-only file system to a private `DavHandler` GET; the
//! handler reads it chunk by chunk (one bounded buffer at a time) and announces its length,
//! which [`ZipStream::len`] knows exactly before the first byte.

use std::io::Read;
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
use http::{header, HeaderValue, Request, Response, StatusCode};

use crate::report::export::ZipStream;

/// Bytes read from the archive per chunk sent.
const CHUNK_BYTES: usize = 256 * 1024;
const ARCHIVE_PATH: &str = "/archive.zip";

#[derive(Debug, Clone)]
struct ArchiveMeta {
    len: u64,
    modified: SystemTime,
}

impl DavMetaData for ArchiveMeta {
    fn len(&self) -> u64 {
        self.len
    }

    fn modified(&self) -> FsResult<SystemTime> {
        Ok(self.modified)
    }

    fn is_dir(&self) -> bool {
        false
    }
}

/// The archive being read; the stream moves into a blocking task for each chunk.
#[derive(Debug)]
struct ArchiveFile {
    stream: Option<ZipStream>,
    meta: ArchiveMeta,
}

impl DavFile for ArchiveFile {
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
            let mut stream = self.stream.take().ok_or(FsError::GeneralFailure)?;
            let count = count.min(CHUNK_BYTES);
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

    // Limitation: no byte ranges, so an interrupted download starts over (the handler answers
    // a `Range` with 416 when it cannot seek; our requests to it carry none).
    fn seek(&'_ mut self, _pos: std::io::SeekFrom) -> FsFuture<'_, u64> {
        async { Err(FsError::NotImplemented) }.boxed()
    }

    fn flush(&'_ mut self) -> FsFuture<'_, ()> {
        async { Ok(()) }.boxed()
    }
}

/// A file system holding one archive, opened at most once.
#[derive(Clone)]
struct ArchiveFs {
    file: Arc<Mutex<Option<ArchiveFile>>>,
    meta: ArchiveMeta,
}

impl DavFileSystem for ArchiveFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        _options: OpenOptions,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        let file = (path.as_bytes() == ARCHIVE_PATH.as_bytes())
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
        let found = path.as_bytes() == ARCHIVE_PATH.as_bytes();
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

/// A `200` response streaming `stream` as `application/zip`, saved as `filename`.
pub async fn zip_response(stream: ZipStream, filename: &str) -> Response<Body> {
    let meta = ArchiveMeta {
        len: stream.len(),
        modified: SystemTime::now(),
    };
    let fs = ArchiveFs {
        file: Arc::new(Mutex::new(Some(ArchiveFile {
            stream: Some(stream),
            meta: meta.clone(),
        }))),
        meta,
    };
    let handler: DavHandler = DavHandler::builder()
        .filesystem(Box::new(fs))
        .read_buf_size(CHUNK_BYTES)
        .build_handler();
    let request = Request::get(ARCHIVE_PATH)
        .body(http_body_util::Empty::<Bytes>::new())
        .expect("static request");
    let inner = handler.handle(request).await;
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
