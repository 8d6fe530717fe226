//! `DepositFs`: the `GuardedFileSystem` the WebDAV crate drives, mapping each principal's view
//! onto the store and the deposit service, and refusing what the deposit rules forbid. Every
//! refusal leaves its reason in the request's [`DavContext`].

use std::sync::Arc;
use std::time::SystemTime;

use dav_server::davpath::DavPath;
use dav_server::fs::{DavProp, FsError, FsResult};

use super::context::DavContext;
use super::meta::{Entry, Meta};
use super::scratch::Scratch;
use super::view::{resolve, segments, Node, UNLISTED_FOLDER};
use crate::auth::Role;
use crate::deposit::Depositor;
use crate::directory::{Directory, Rne};
use crate::storage::StoredFile;

/// XML namespace of the properties this server adds (hash, version, RNE).
pub const PROPS_NS: &str = "urn:x-ppms-depot:";

/// Strong entity tag of a deposit, from its content hash.
pub fn etag_of(sha256: &str) -> String {
    sha256.get(..32).unwrap_or(sha256).to_string()
}

pub(super) fn file_meta(stored: &StoredFile) -> Meta {
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
    pub(super) directory: Arc<Directory>,
    pub(super) depositor: Depositor,
    pub(super) scratch: Arc<Scratch>,
    pub(super) started: SystemTime,
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

    pub(crate) fn depositor(&self) -> &Depositor {
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

    pub(super) fn stat(&self, rne: &Rne, stored: &str) -> FsResult<Option<StoredFile>> {
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

    pub(super) fn meta_of(&self, node: &Node, ctx: &DavContext) -> FsResult<Meta> {
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

    pub(super) fn children(&self, node: &Node, ctx: &DavContext) -> FsResult<Vec<Entry>> {
        let store = self.depositor.store();
        let dir = |name: &str, meta: Meta| Entry {
            name: name.to_string(),
            meta,
            props: Vec::new(),
        };
        // A school folder listed in a postal code (or among the unlisted) carries its RNE.
        let school = |name: &str, rne: &Rne| Entry {
            name: name.to_string(),
            meta: self.school_dir_meta(rne),
            props: school_props(rne),
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
                .map(|name| vec![school(name, rne)])
                .unwrap_or_default()),
            (Node::Unlisted, Role::CrisisCell) => {
                let schools = store.schools().map_err(|_| FsError::GeneralFailure)?;
                Ok(schools
                    .iter()
                    .filter(|rne| self.directory.get(rne).is_none())
                    .map(|rne| school(rne.as_str(), rne))
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
                .map(|(name, e)| school(name, &e.rne))
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
            props: Vec::new(),
        });
        let files = files.iter().map(|f| Entry {
            name: f.name.clone(),
            meta: file_meta(f),
            props: file_props(f),
        });
        Ok(folders.chain(files).collect())
    }

    /// This server's properties of a node, then the ones clients stored.
    pub(super) fn all_props(&self, node: &Node) -> Vec<DavProp> {
        let mut props = self.props_of(node);
        props.extend(self.dead_props_of(node));
        props
    }

    fn props_of(&self, node: &Node) -> Vec<DavProp> {
        let prop = |(name, value): (&str, String)| {
            DavProp::new(
                name.to_string(),
                "P".to_string(),
                PROPS_NS.to_string(),
                value,
            )
        };
        self.custom_props(node).into_iter().map(prop).collect()
    }

    /// This server's own properties of a node (name in [`PROPS_NS`], value).
    pub(super) fn custom_props(&self, node: &Node) -> Vec<(&'static str, String)> {
        match node {
            Node::File { rne, stored } => match self.stat(rne, stored) {
                Ok(Some(f)) => file_props(&f),
                _ => Vec::new(),
            },
            Node::School(rne) => school_props(rne),
            _ => Vec::new(),
        }
    }
}

/// A deposit's own properties: its hash, its version and how many versions are kept.
fn file_props(f: &StoredFile) -> Vec<(&'static str, String)> {
    vec![
        ("sha256", f.sha256.clone()),
        ("version", f.version.to_string()),
        ("versions", f.versions_kept.to_string()),
    ]
}

fn school_props(rne: &Rne) -> Vec<(&'static str, String)> {
    vec![("rne", rne.to_string())]
}

/// Records a refusal and answers the crate with the nearest error it knows.
pub(super) fn deny(ctx: &DavContext, status: u16, message: &str) -> FsError {
    ctx.deny(status, message);
    FsError::Forbidden
}

impl Meta {
    pub(super) fn into_file(mut self) -> Meta {
        self.is_dir = false;
        self
    }
}
