//! Changes to a school's tree — folders, deletion, move and copy — which only a permissive
//! policy allows (test profiles such as litmus'); under the deposit policy each is refused
//! with its reason.

use std::io::Read;

use bytes::Bytes;
use dav_server::davpath::DavPath;
use dav_server::fs::{FsError, FsResult};

use super::context::DavContext;
use super::fs::{deny, DepositFs};
use super::view::{segments, Node};
use crate::auth::Role;
use crate::directory::Rne;
use crate::storage::StoreError;

pub const READ_ONLY: &str = "accès en lecture seule : la cellule de crise ne dépose rien";
const NO_FOLDERS: &str = "les dossiers sont créés automatiquement au premier dépôt";
const NO_DELETE: &str = "suppression interdite : un dépôt est conservé";
const NO_MOVE: &str = "déplacement, renommage et copie interdits : un dépôt est conservé";
/// Bytes read from the source per step of a copy.
const COPY_CHUNK_BYTES: usize = 256 * 1024;

fn store_error(err: StoreError) -> FsError {
    match err {
        StoreError::Io(io) => FsError::from(&io),
        StoreError::DiskFull => FsError::InsufficientStorage,
        StoreError::BadName(_) => FsError::Forbidden,
        StoreError::Incomplete { .. } => FsError::GeneralFailure,
    }
}

impl DepositFs {
    /// The school and the raw path inside its own folder, when the policy allows sub-folders.
    fn own_rel(&self, path: &DavPath, ctx: &DavContext) -> Option<(Rne, String)> {
        let Role::School(rne) = &ctx.principal.role else {
            return None;
        };
        if !self.policy().allow_subfolders {
            return None;
        }
        let segs = segments(path.as_bytes())?;
        let own = self.directory().get(rne)?;
        let folder = self.directory().folder_name(rne)?;
        match segs.as_slice() {
            [cp, name, rest @ ..]
                if *cp == own.postal_code && name == folder && !rest.is_empty() =>
            {
                Some((rne.clone(), rest.join("/")))
            }
            _ => None,
        }
    }

    fn refuse(&self, ctx: &DavContext, message: &str) -> FsError {
        let message = if ctx.principal.role == Role::CrisisCell {
            READ_ONLY
        } else {
            message
        };
        deny(ctx, 403, message)
    }

    pub(super) async fn make_folder(&self, path: &DavPath, ctx: &DavContext) -> FsResult<()> {
        let Some((rne, rel)) = self.own_rel(path, ctx) else {
            return Err(self.refuse(ctx, NO_FOLDERS));
        };
        if let Node::File { .. } = self.node(path, ctx) {
            if self.meta_exists(path, ctx) {
                return Err(FsError::Exists);
            }
        }
        match self.depositor().store().create_dir(&rne, &rel).await {
            Err(StoreError::Io(err)) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(FsError::Exists)
            }
            result => result.map_err(store_error),
        }
    }

    fn meta_exists(&self, path: &DavPath, ctx: &DavContext) -> bool {
        match self.node(path, ctx) {
            Node::File { rne, stored } => {
                matches!(self.depositor().store().stat(&rne, &stored), Ok(Some(_)))
            }
            Node::SubFolder { .. } => true,
            _ => false,
        }
    }

    pub(super) async fn delete_file(&self, path: &DavPath, ctx: &DavContext) -> FsResult<()> {
        match self.node(path, ctx) {
            // Clients tidy their own junk and placeholders; they were never stored.
            Node::Scratch { key, .. } if ctx.principal.role != Role::CrisisCell => {
                self.scratch().remove(&ctx.principal.account, &key);
                Ok(())
            }
            Node::File { rne, stored } if self.may_delete(ctx) => self
                .depositor()
                .store()
                .remove_file(&rne, &stored)
                .await
                .map_err(store_error),
            _ => Err(self.refuse(ctx, NO_DELETE)),
        }
    }

    pub(super) async fn delete_folder(&self, path: &DavPath, ctx: &DavContext) -> FsResult<()> {
        match self.node(path, ctx) {
            Node::SubFolder { rne, dir } if self.may_delete(ctx) => self
                .depositor()
                .store()
                .remove_dir(&rne, &dir)
                .await
                .map_err(store_error),
            _ => Err(self.refuse(ctx, NO_DELETE)),
        }
    }

    fn may_delete(&self, ctx: &DavContext) -> bool {
        ctx.principal.role != Role::CrisisCell && self.policy().allow_delete
    }

    fn may_move(&self, ctx: &DavContext) -> bool {
        ctx.principal.role != Role::CrisisCell && self.policy().allow_move_copy
    }

    /// Where a file or folder lands: folders keep their name, files get the RNE prefix.
    fn destination(&self, to: &DavPath, ctx: &DavContext, folder: bool) -> FsResult<(Rne, String)> {
        if folder {
            return self.own_rel(to, ctx).ok_or(FsError::Forbidden);
        }
        match self.node(to, ctx) {
            Node::File { rne, stored } | Node::Scratch { rne, key: stored } => Ok((rne, stored)),
            _ => Err(FsError::Forbidden),
        }
    }

    fn parent_exists(&self, rne: &Rne, rel: &str) -> bool {
        match rel.rsplit_once('/') {
            Some((parent, _)) => self.depositor().store().is_dir(rne, parent),
            None => true,
        }
    }

    pub(super) async fn move_node(
        &self,
        from: &DavPath,
        to: &DavPath,
        ctx: &DavContext,
    ) -> FsResult<()> {
        if !self.may_move(ctx) {
            return Err(self.refuse(ctx, NO_MOVE));
        }
        let (rne, source, folder) = match self.node(from, ctx) {
            Node::File { rne, stored } => (rne, stored, false),
            Node::SubFolder { rne, dir } => (rne, dir, true),
            _ => return Err(self.refuse(ctx, NO_MOVE)),
        };
        let (dest_rne, target) = self.destination(to, ctx, folder)?;
        if dest_rne != rne || !self.parent_exists(&rne, &target) {
            return Err(FsError::NotFound);
        }
        let store = self.depositor().store();
        store
            .rename(&rne, &source, &target)
            .await
            .map_err(store_error)
    }

    pub(super) async fn copy_file(
        &self,
        from: &DavPath,
        to: &DavPath,
        ctx: &DavContext,
    ) -> FsResult<()> {
        if !self.may_move(ctx) {
            return Err(self.refuse(ctx, NO_MOVE));
        }
        let Node::File { rne, stored } = self.node(from, ctx) else {
            return Err(self.refuse(ctx, NO_MOVE));
        };
        let (dest_rne, target) = self.destination(to, ctx, false)?;
        if dest_rne != rne || !self.parent_exists(&rne, &target) {
            return Err(FsError::NotFound);
        }
        let source = self
            .depositor()
            .store()
            .open_latest(&rne, &stored)
            .map_err(store_error)?;
        let (dir, leaf) = target.rsplit_once('/').unwrap_or(("", target.as_str()));
        let actor = (*ctx.actor).clone();
        let mut pending = self
            .depositor()
            .begin_in(actor, &rne, dir, leaf, None)
            .await
            .map_err(|err| deny(ctx, err.status(), &err.message_fr()))?;
        let mut source = Some(source);
        loop {
            let mut file = source.take().ok_or(FsError::GeneralFailure)?;
            let (file, chunk) = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; COPY_CHUNK_BYTES];
                let read = file.read(&mut buf).map(|n| {
                    buf.truncate(n);
                    Bytes::from(buf)
                });
                (file, read)
            })
            .await
            .map_err(|_| FsError::GeneralFailure)?;
            let chunk = chunk.map_err(|e| FsError::from(&e))?;
            if chunk.is_empty() {
                break;
            }
            source = Some(file);
            pending
                .write(chunk)
                .await
                .map_err(|err| deny(ctx, err.status(), &err.message_fr()))?;
        }
        pending
            .finish()
            .await
            .map_err(|err| deny(ctx, err.status(), &err.message_fr()))?;
        let store = self.depositor().store();
        store
            .copy_dead_props(&rne, &stored, &target)
            .map_err(store_error)
    }
}
