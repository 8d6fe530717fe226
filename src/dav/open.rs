//! Opening files: a deposit to read, a deposit to write (every byte through the deposit
//! service), a scratch file (junk or placeholder), each with the refusals the rules require.

use std::time::SystemTime;

use dav_server::fs::{DavFile, FsError, FsResult, OpenOptions};

use super::context::DavContext;
use super::file::{DepositWriter, ScratchHandle, StoredReader};
use super::fs::{deny, file_meta, DepositFs};
use super::meta::Meta;
use super::tree_ops::READ_ONLY;
use super::view::Node;
use crate::auth::Role;

const NO_READ_BACK: &str = "le téléchargement des dépôts n'est pas ouvert aux établissements";
const NO_PARTIAL: &str = "modification partielle interdite : déposez le fichier entier";

impl DepositFs {
    pub(super) async fn open_write(
        &self,
        node: Node,
        options: OpenOptions,
        ctx: &DavContext,
    ) -> FsResult<Box<dyn DavFile>> {
        if ctx.principal.role == Role::CrisisCell {
            return Err(deny(ctx, 403, READ_ONLY));
        }
        let account = ctx.principal.account.clone();
        // Only a LOCK creates without truncating; a ranged PUT or a PATCH would write part of
        // a file, which a deposit never is.
        let partial = !options.truncate && ctx.method.as_str() != "LOCK";
        if partial || options.append {
            return Err(deny(ctx, 403, NO_PARTIAL));
        }
        let node = match node {
            // A placeholder (not junk) receiving its content becomes a real deposit.
            Node::Scratch { rne, key }
                if options.truncate && !self.depositor.policy().is_junk(&key) =>
            {
                Node::File { rne, stored: key }
            }
            other => other,
        };
        match node {
            Node::Scratch { key, .. } => {
                let content = match (options.truncate, self.scratch.get(&account, &key)) {
                    (false, Some(existing)) => existing.content,
                    _ => Vec::new(),
                };
                if !options.truncate {
                    // A LOCK on a new name: the empty placeholder exists from now on.
                    self.scratch.put(&account, &key, content.clone());
                }
                if !self.depositor.policy().is_junk(&key) {
                    // A placeholder never holds content: it becomes a deposit or stays empty.
                    return Err(deny(ctx, 403, NO_PARTIAL));
                }
                Ok(Box::new(ScratchHandle {
                    scratch: self.scratch.clone(),
                    account,
                    key,
                    content,
                    pos: 0,
                    writing: true,
                    meta: Meta::dir(SystemTime::now()).into_file(),
                }))
            }
            Node::File { rne, stored } => {
                let exists = self.stat(&rne, &stored)?.is_some();
                if options.append || (!options.truncate && exists) {
                    return Err(deny(ctx, 403, NO_PARTIAL));
                }
                if !options.truncate {
                    self.scratch.put(&account, &stored, Vec::new());
                    return Ok(Box::new(ScratchHandle {
                        scratch: self.scratch.clone(),
                        account,
                        key: stored,
                        content: Vec::new(),
                        pos: 0,
                        writing: false,
                        meta: Meta::dir(SystemTime::now()).into_file(),
                    }));
                }
                let (dir, leaf) = stored.rsplit_once('/').unwrap_or(("", stored.as_str()));
                if !dir.is_empty() && !self.depositor.store().is_dir(&rne, dir) {
                    return Err(FsError::NotFound);
                }
                let pending = self
                    .depositor
                    .begin_in((*ctx.actor).clone(), &rne, dir, leaf, options.size)
                    .await
                    .map_err(|err| {
                        ctx.deny(err.status(), err.message_fr());
                        match err.status() {
                            413 => FsError::TooLarge,
                            507 => FsError::InsufficientStorage,
                            500 => FsError::GeneralFailure,
                            _ => FsError::Forbidden,
                        }
                    })?;
                Ok(Box::new(DepositWriter {
                    ctx: ctx.clone(),
                    pending: Some(pending),
                    scratch: self.scratch.clone(),
                    stored,
                    meta: Meta::dir(SystemTime::now()).into_file(),
                }))
            }
            Node::Invalid(message) => Err(deny(ctx, 400, message)),
            Node::Missing => Err(FsError::NotFound),
            Node::Root
            | Node::Unlisted
            | Node::PostalCode(_)
            | Node::School(_)
            | Node::SubFolder { .. } => Err(FsError::Forbidden),
        }
    }

    pub(super) async fn open_read(
        &self,
        node: Node,
        ctx: &DavContext,
    ) -> FsResult<Box<dyn DavFile>> {
        match node {
            Node::File { rne, stored } => {
                let file = self.stat(&rne, &stored)?.ok_or(FsError::NotFound)?;
                let is_school = matches!(ctx.principal.role, Role::School(_));
                let may_read = !is_school || self.depositor.policy().school_can_read_back;
                if !may_read && ctx.method == http::Method::GET {
                    return Err(deny(ctx, 403, NO_READ_BACK));
                }
                let handle = self
                    .depositor
                    .store()
                    .open_latest(&rne, &stored)
                    .map_err(|_| FsError::NotFound)?;
                Ok(Box::new(StoredReader {
                    file: Some(handle),
                    meta: file_meta(&file),
                }))
            }
            Node::Scratch { key, .. } => {
                let file = self
                    .scratch
                    .get(&ctx.principal.account, &key)
                    .ok_or(FsError::NotFound)?;
                let meta = Meta {
                    len: file.content.len() as u64,
                    modified: file.modified,
                    is_dir: false,
                    etag: None,
                };
                Ok(Box::new(ScratchHandle {
                    scratch: self.scratch.clone(),
                    account: ctx.principal.account.clone(),
                    key,
                    content: file.content,
                    pos: 0,
                    writing: false,
                    meta,
                }))
            }
            Node::Root
            | Node::Unlisted
            | Node::PostalCode(_)
            | Node::School(_)
            | Node::SubFolder { .. } => Err(FsError::Forbidden),
            Node::Invalid(_) | Node::Missing => Err(FsError::NotFound),
        }
    }
}
