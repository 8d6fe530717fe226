//! The open files the WebDAV crate reads and writes: a stored deposit (read), a deposit being
//! written (every byte goes through [`PendingDeposit`]), and a scratch file (memory).

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use dav_server::fs::{DavFile, DavMetaData, FsError, FsFuture};
use futures_util::FutureExt;

use super::context::DavContext;
use super::meta::Meta;
use super::scratch::{Scratch, MAX_SCRATCH_FILE_BYTES};
use crate::deposit::{DepositError, PendingDeposit};

/// A deposit opened for reading.
#[derive(Debug)]
pub struct StoredReader {
    pub file: Option<std::fs::File>,
    pub meta: Meta,
}

impl DavFile for StoredReader {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move { Ok(meta) }.boxed()
    }

    fn write_buf(&mut self, _buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn write_bytes(&mut self, _buf: Bytes) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn read_bytes(&mut self, count: usize) -> FsFuture<'_, Bytes> {
        async move {
            let mut file = self.file.take().ok_or(FsError::GeneralFailure)?;
            let (file, result) = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; count];
                let result = file.read(&mut buf).map(|n| {
                    buf.truncate(n);
                    Bytes::from(buf)
                });
                (file, result)
            })
            .await
            .map_err(|_| FsError::GeneralFailure)?;
            self.file = Some(file);
            result.map_err(|e| FsError::from(&e))
        }
        .boxed()
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        async move {
            let file = self.file.as_mut().ok_or(FsError::GeneralFailure)?;
            file.seek(pos).map_err(|e| FsError::from(&e))
        }
        .boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        async { Ok(()) }.boxed()
    }
}

/// A deposit being written. Committed on `flush` when it has content; an empty write leaves
/// only a scratch placeholder, so a client's 0-byte PUT before the real one is no deposit.
pub struct DepositWriter {
    pub ctx: DavContext,
    pub pending: Option<PendingDeposit>,
    pub scratch: Arc<Scratch>,
    pub stored: String,
    pub meta: Meta,
}

impl std::fmt::Debug for DepositWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DepositWriter")
            .field("stored", &self.stored)
            .finish()
    }
}

impl DepositWriter {
    fn refuse(&self, err: &DepositError) -> FsError {
        self.ctx.deny(err.status(), err.message_fr());
        match err.status() {
            413 => FsError::TooLarge,
            507 => FsError::InsufficientStorage,
            500 => FsError::GeneralFailure,
            _ => FsError::Forbidden,
        }
    }

    async fn write_chunk(&mut self, chunk: Bytes) -> Result<(), FsError> {
        let pending = self.pending.as_mut().ok_or(FsError::GeneralFailure)?;
        match pending.write(chunk).await {
            Ok(()) => Ok(()),
            Err(err) => {
                self.pending = None;
                Err(self.refuse(&err))
            }
        }
    }
}

impl DavFile for DepositWriter {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move { Ok(meta) }.boxed()
    }

    fn write_buf(&mut self, mut buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        let chunk = buf.copy_to_bytes(buf.remaining());
        self.write_chunk(chunk).boxed()
    }

    fn write_bytes(&mut self, buf: Bytes) -> FsFuture<'_, ()> {
        self.write_chunk(buf).boxed()
    }

    fn read_bytes(&mut self, _count: usize) -> FsFuture<'_, Bytes> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn seek(&mut self, _pos: SeekFrom) -> FsFuture<'_, u64> {
        async { Err(FsError::NotImplemented) }.boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        async move {
            let Some(pending) = self.pending.take() else {
                return Ok(());
            };
            let account = &self.ctx.principal.account;
            if pending.is_empty() {
                // An empty body is a placeholder, not an interrupted deposit.
                pending.discard();
                self.scratch.put(account, &self.stored, Vec::new());
                return Ok(());
            }
            match pending.finish().await {
                Ok(stored) => {
                    self.scratch.remove(account, &self.stored);
                    self.ctx.note_stored(&stored.path);
                    self.meta = Meta {
                        len: stored.bytes,
                        modified: stored.modified,
                        is_dir: false,
                        etag: Some(super::fs::etag_of(&stored.sha256)),
                    };
                    Ok(())
                }
                Err(err) => Err(self.refuse(&err)),
            }
        }
        .boxed()
    }
}

/// A scratch file opened for reading or writing.
#[derive(Debug)]
pub struct ScratchHandle {
    pub scratch: Arc<Scratch>,
    pub account: String,
    pub key: String,
    pub content: Vec<u8>,
    pub pos: usize,
    pub writing: bool,
    pub meta: Meta,
}

impl DavFile for ScratchHandle {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let mut meta = self.meta.clone();
        meta.len = self.content.len() as u64;
        let meta: Box<dyn DavMetaData> = Box::new(meta);
        async move { Ok(meta) }.boxed()
    }

    fn write_buf(&mut self, mut buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        let chunk = buf.copy_to_bytes(buf.remaining());
        self.write_bytes(chunk)
    }

    fn write_bytes(&mut self, buf: Bytes) -> FsFuture<'_, ()> {
        let room = MAX_SCRATCH_FILE_BYTES.saturating_sub(self.content.len());
        self.content.extend_from_slice(&buf[..buf.len().min(room)]);
        async { Ok(()) }.boxed()
    }

    fn read_bytes(&mut self, count: usize) -> FsFuture<'_, Bytes> {
        let end = (self.pos + count).min(self.content.len());
        let chunk = Bytes::copy_from_slice(&self.content[self.pos.min(end)..end]);
        self.pos = end;
        async move { Ok(chunk) }.boxed()
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        let len = self.content.len() as i64;
        let target = match pos {
            SeekFrom::Start(n) => n as i64,
            SeekFrom::End(n) => len + n,
            SeekFrom::Current(n) => self.pos as i64 + n,
        };
        let result = if target < 0 {
            Err(FsError::GeneralFailure)
        } else {
            self.pos = target as usize;
            Ok(target as u64)
        };
        async move { result }.boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        if self.writing {
            self.scratch
                .put(&self.account, &self.key, self.content.clone());
        }
        async { Ok(()) }.boxed()
    }
}
