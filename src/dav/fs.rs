//! `DepositFs`: the `GuardedFileSystem` the WebDAV crate drives, mapping each principal's view
//! onto the store and the deposit service, and refusing what the deposit rules forbid. Every
//! refusal leaves its reason in the request's [`DavContext`].

use std::sync::Arc;
use std::time::SystemTime;

use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavMetaData, DavProp, FsError, FsFuture, FsResult, FsStream,
    GuardedFileSystem, OpenOptions, ReadDirMeta,
};
use futures_util::FutureExt;
use http::StatusCode;

use super::context::DavContext;
use super::file::{DepositWriter, ScratchHandle, StoredReader};
use super::meta::{Entry, Meta};
use super::scratch::Scratch;
use super::tree_ops::READ_ONLY;
use super::view::{resolve, segments, Node, UNLISTED_FOLDER};
use crate::auth::Role;
use crate::deposit::Depositor;
use crate::directory::{Directory, Rne};
use crate::storage::StoredFile;

/// XML namespace of the properties this server adds (hash, version, RNE).
pub const PROPS_NS: &str = "urn:x-ppms-depot:";

const NO_READ_BACK: &str = "le téléchargement des dépôts n'est pas ouvert aux établissements";
const NO_PARTIAL: &str = "modification partielle interdite : déposez le fichier entier";

/// Strong entity tag of a deposit, from its content hash.
pub fn etag_of(sha256: &str) -> String {
    sha256.get(..32).unwrap_or(sha256).to_string()
}

fn file_meta(stored: &StoredFile) -> Meta {
    Meta {
        len: stored.bytes,
        modified: stored.modified,
        is_dir: false,
        etag: Some(etag_of(&stored.sha256)),
    }
}

/// The deposit file system, shared by all requests. Cheap to clone.
#[derive(Clone)]
pub struct DepositFs {
    directory: Arc<Directory>,
    depositor: Depositor,
    scratch: Arc<Scratch>,
    started: SystemTime,
}

impl DepositFs {
    pub fn new(directory: Arc<Directory>, depositor: Depositor) -> DepositFs {
        DepositFs {
            directory,
            depositor,
            scratch: Arc::default(),
            started: SystemTime::now(),
        }
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    pub(super) fn depositor(&self) -> &Depositor {
        &self.depositor
    }

    /// The deposit policy in force.
    pub fn policy(&self) -> &crate::policy::DepositPolicy {
        self.depositor.policy()
    }

    pub(super) fn scratch(&self) -> &Scratch {
        &self.scratch
    }

    /// The node a path names for this request's principal.
    pub fn node(&self, path: &DavPath, ctx: &DavContext) -> Node {
        let Some(segs) = segments(path.as_bytes()) else {
            return Node::Invalid("nom de fichier invalide (UTF-8 attendu)");
        };
        resolve(
            &ctx.principal,
            &segs,
            &self.directory,
            self.depositor.store(),
            self.depositor.policy(),
            &self.scratch,
        )
    }

    fn school_dir_meta(&self, rne: &Rne) -> Meta {
        let dir = self.depositor.store().root().join(rne.as_str());
        let modified = std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .unwrap_or(self.started);
        Meta::dir(modified)
    }

    /// The crate reports a folder's `quota-used-bytes` as its length: in a school's own view,
    /// its folder and postal code are as large as everything it keeps (davfs2 shows free space
    /// from it).
    fn with_usage(&self, mut meta: Meta, ctx: &DavContext) -> Meta {
        if let Some(rne) = ctx.principal.school_rne() {
            meta.len = self.depositor.store().used_bytes(rne).unwrap_or(0);
        }
        meta
    }

    fn stat(&self, rne: &Rne, stored: &str) -> FsResult<Option<StoredFile>> {
        match self.depositor.store().stat(rne, stored) {
            // A name the store could never hold (`.DS_Store` asked of the crisis cell's view,
            // an over-long name) simply does not exist.
            Err(crate::storage::StoreError::BadName(_)) => Ok(None),
            Err(err) => {
                tracing::error!(rne = %rne, stored, error = %err, "stat failed");
                Err(FsError::GeneralFailure)
            }
            Ok(found) => Ok(found),
        }
    }

    fn meta_of(&self, node: &Node, ctx: &DavContext) -> FsResult<Meta> {
        match node {
            Node::Root | Node::Unlisted => Ok(Meta::dir(self.started)),
            Node::PostalCode(_) => Ok(self.with_usage(Meta::dir(self.started), ctx)),
            Node::School(rne) => Ok(self.with_usage(self.school_dir_meta(rne), ctx)),
            Node::SubFolder { rne, dir } => {
                let path = self.depositor.store().root().join(rne.as_str()).join(dir);
                let modified = std::fs::metadata(path)
                    .and_then(|m| m.modified())
                    .unwrap_or(self.started);
                Ok(Meta::dir(modified))
            }
            Node::File { rne, stored } => self
                .stat(rne, stored)?
                .map(|f| file_meta(&f))
                .ok_or(FsError::NotFound),
            Node::Scratch { key, .. } => {
                let file = self
                    .scratch
                    .get(&ctx.principal.account, key)
                    .ok_or(FsError::NotFound)?;
                Ok(Meta {
                    len: file.content.len() as u64,
                    modified: file.modified,
                    is_dir: false,
                    etag: None,
                })
            }
            Node::Invalid(_) | Node::Missing => Err(FsError::NotFound),
        }
    }

    fn children(&self, node: &Node, ctx: &DavContext) -> FsResult<Vec<Entry>> {
        let store = self.depositor.store();
        let dir = |name: &str, meta: Meta| Entry {
            name: name.to_string(),
            meta,
        };
        match (node, &ctx.principal.role) {
            (Node::Root, Role::School(rne)) => Ok(self
                .directory
                .get(rne)
                .map(|e| vec![dir(&e.postal_code, Meta::dir(self.started))])
                .unwrap_or_default()),
            (Node::PostalCode(_), Role::School(rne)) => Ok(self
                .directory
                .folder_name(rne)
                .map(|name| vec![dir(name, self.school_dir_meta(rne))])
                .unwrap_or_default()),
            (Node::Unlisted, Role::CrisisCell) => {
                let schools = store.schools().map_err(|_| FsError::GeneralFailure)?;
                Ok(schools
                    .iter()
                    .filter(|rne| self.directory.get(rne).is_none())
                    .map(|rne| dir(rne.as_str(), self.school_dir_meta(rne)))
                    .collect())
            }
            (Node::Root, Role::CrisisCell) => {
                let mut codes: Vec<String> = Vec::new();
                let mut unlisted = false;
                for rne in store.schools().map_err(|_| FsError::GeneralFailure)? {
                    match self.directory.get(&rne) {
                        Some(e) => codes.push(e.postal_code.clone()),
                        None => unlisted = true,
                    }
                }
                codes.sort();
                codes.dedup();
                if unlisted {
                    codes.push(UNLISTED_FOLDER.to_string());
                }
                Ok(codes
                    .iter()
                    .map(|c| dir(c, Meta::dir(self.started)))
                    .collect())
            }
            (Node::PostalCode(cp), Role::CrisisCell) => Ok(self
                .directory
                .in_postal_code(cp)
                .filter(|(_, e)| store.has_deposits(&e.rne))
                .map(|(name, e)| dir(name, self.school_dir_meta(&e.rne)))
                .collect()),
            (Node::School(rne), _) => self.folder_entries(rne, ""),
            (Node::SubFolder { rne, dir }, _) => self.folder_entries(rne, dir),
            (Node::Invalid(_) | Node::Missing, _) => Err(FsError::NotFound),
            _ => Err(FsError::Forbidden),
        }
    }

    fn folder_entries(&self, rne: &Rne, dir: &str) -> FsResult<Vec<Entry>> {
        let (files, folders) = self
            .depositor
            .store()
            .list_dir(rne, dir)
            .map_err(|_| FsError::GeneralFailure)?;
        let folders = folders.into_iter().map(|name| Entry {
            name,
            meta: Meta::dir(self.started),
        });
        let files = files.iter().map(|f| Entry {
            name: f.name.clone(),
            meta: file_meta(f),
        });
        Ok(folders.chain(files).collect())
    }

    async fn open_write(
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

    async fn open_read(&self, node: Node, ctx: &DavContext) -> FsResult<Box<dyn DavFile>> {
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

    fn props_of(&self, node: &Node) -> Vec<DavProp> {
        let prop = |name: &str, value: String| {
            DavProp::new(
                name.to_string(),
                "P".to_string(),
                PROPS_NS.to_string(),
                value,
            )
        };
        match node {
            Node::File { rne, stored } => match self.stat(rne, stored) {
                Ok(Some(f)) => vec![
                    prop("sha256", f.sha256.clone()),
                    prop("version", f.version.to_string()),
                    prop("versions", f.versions_kept.to_string()),
                ],
                _ => Vec::new(),
            },
            Node::School(rne) => vec![prop("rne", rne.to_string())],
            _ => Vec::new(),
        }
    }
}

/// Records a refusal and answers the crate with the nearest error it knows.
pub(super) fn deny(ctx: &DavContext, status: u16, message: &str) -> FsError {
    ctx.deny(status, message);
    FsError::Forbidden
}

impl Meta {
    fn into_file(mut self) -> Meta {
        self.is_dir = false;
        self
    }
}

impl GuardedFileSystem<DavContext> for DepositFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        async move {
            let node = self.node(path, ctx);
            if options.write || options.append || options.create || options.create_new {
                self.open_write(node, options, ctx).await
            } else {
                self.open_read(node, ctx).await
            }
        }
        .boxed()
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        async move {
            let entries = self.children(&self.node(path, ctx), ctx)?;
            let items: Vec<FsResult<Box<dyn DavDirEntry>>> = entries
                .into_iter()
                .map(|e| Ok(Box::new(e) as Box<dyn DavDirEntry>))
                .collect();
            Ok(Box::pin(futures_util::stream::iter(items)) as FsStream<Box<dyn DavDirEntry>>)
        }
        .boxed()
    }

    fn metadata<'a>(
        &'a self,
        path: &'a DavPath,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, Box<dyn DavMetaData>> {
        async move {
            let meta = self.meta_of(&self.node(path, ctx), ctx)?;
            Ok(Box::new(meta) as Box<dyn DavMetaData>)
        }
        .boxed()
    }

    fn create_dir<'a>(&'a self, path: &'a DavPath, ctx: &'a DavContext) -> FsFuture<'a, ()> {
        self.make_folder(path, ctx).boxed()
    }

    fn remove_dir<'a>(&'a self, path: &'a DavPath, ctx: &'a DavContext) -> FsFuture<'a, ()> {
        self.delete_folder(path, ctx).boxed()
    }

    fn remove_file<'a>(&'a self, path: &'a DavPath, ctx: &'a DavContext) -> FsFuture<'a, ()> {
        self.delete_file(path, ctx).boxed()
    }

    fn rename<'a>(
        &'a self,
        from: &'a DavPath,
        to: &'a DavPath,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, ()> {
        self.move_node(from, to, ctx).boxed()
    }

    fn copy<'a>(
        &'a self,
        from: &'a DavPath,
        to: &'a DavPath,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, ()> {
        self.copy_file(from, to, ctx).boxed()
    }

    fn set_accessed<'a>(
        &'a self,
        _path: &'a DavPath,
        _tm: SystemTime,
        _ctx: &DavContext,
    ) -> FsFuture<'a, ()> {
        // Limitation: client-set times are accepted and not applied (deposits keep the time
        // the server stored them, which is what the audit trail relies on).
        async { Ok(()) }.boxed()
    }

    fn set_modified<'a>(
        &'a self,
        _path: &'a DavPath,
        _tm: SystemTime,
        _ctx: &'a DavContext,
    ) -> FsFuture<'a, ()> {
        async { Ok(()) }.boxed()
    }

    fn have_props<'a>(
        &'a self,
        _path: &'a DavPath,
        _ctx: &'a DavContext,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        async { true }.boxed()
    }

    fn patch_props<'a>(
        &'a self,
        path: &'a DavPath,
        patch: Vec<(bool, DavProp)>,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, Vec<(StatusCode, DavProp)>> {
        async move { Ok(self.patch_dead_props(path, patch, ctx)) }.boxed()
    }

    fn get_props<'a>(
        &'a self,
        path: &'a DavPath,
        do_content: bool,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, Vec<DavProp>> {
        async move {
            let node = self.node(path, ctx);
            let mut props = self.props_of(&node);
            props.extend(self.dead_props_of(&node));
            if !do_content {
                props.iter_mut().for_each(|p| p.xml = None);
            }
            Ok(props)
        }
        .boxed()
    }

    fn get_prop<'a>(
        &'a self,
        path: &'a DavPath,
        prop: DavProp,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, Vec<u8>> {
        async move {
            let node = self.node(path, ctx);
            let mut props = self.props_of(&node);
            props.extend(self.dead_props_of(&node));
            props
                .into_iter()
                .find(|p| p.name == prop.name && p.namespace == prop.namespace)
                .and_then(|p| p.xml)
                .ok_or(FsError::NotFound)
        }
        .boxed()
    }

    fn get_quota<'a>(&'a self, ctx: &'a DavContext) -> FsFuture<'a, (u64, Option<u64>)> {
        async move {
            let rne = ctx.principal.school_rne().ok_or(FsError::NotImplemented)?;
            let used = self
                .depositor
                .store()
                .used_bytes(rne)
                .map_err(|_| FsError::GeneralFailure)?;
            Ok((used, Some(self.depositor.policy().school_quota_bytes)))
        }
        .boxed()
    }
}
