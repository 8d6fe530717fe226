//! Properties clients set with PROPPATCH ("dead" properties): stored beside the file or folder
//! where the policy allows it, refused one by one (403 inside the 207) where it does not.

use dav_server::davpath::DavPath;
use dav_server::fs::DavProp;
use http::StatusCode;

use super::context::DavContext;
use super::fs::DepositFs;
use super::view::Node;
use crate::directory::Rne;
use crate::storage::{DeadProp, StoreError};

impl DepositFs {
    /// The stored thing a node's properties belong to: (school, path, is a folder).
    fn props_owner(&self, node: &Node) -> Option<(Rne, String, bool)> {
        match node {
            Node::File { rne, stored } => {
                let exists = matches!(self.depositor().store().stat(rne, stored), Ok(Some(_)));
                exists.then(|| (rne.clone(), stored.clone(), false))
            }
            Node::SubFolder { rne, dir } => Some((rne.clone(), dir.clone(), true)),
            Node::School(rne) if self.depositor().store().has_deposits(rne) => {
                Some((rne.clone(), String::new(), true))
            }
            _ => None,
        }
    }

    pub(super) fn dead_props_of(&self, node: &Node) -> Vec<DavProp> {
        if !self.policy().allow_dead_properties {
            return Vec::new();
        }
        let Some((rne, rel, folder)) = self.props_owner(node) else {
            return Vec::new();
        };
        let stored = self.depositor().store().dead_props(&rne, &rel, folder);
        stored
            .unwrap_or_default()
            .into_iter()
            .map(|p| DavProp {
                name: p.name,
                prefix: p.prefix,
                namespace: p.namespace,
                xml: p.xml.map(String::into_bytes),
            })
            .collect()
    }

    pub(super) fn patch_dead_props(
        &self,
        path: &DavPath,
        patch: Vec<(bool, DavProp)>,
        ctx: &DavContext,
    ) -> Vec<(StatusCode, DavProp)> {
        let refuse_all = |status: StatusCode, patch: Vec<(bool, DavProp)>| {
            patch.into_iter().map(|(_, p)| (status, p)).collect()
        };
        if !self.policy().allow_dead_properties || ctx.principal.school_rne().is_none() {
            return refuse_all(StatusCode::FORBIDDEN, patch);
        }
        let Some((rne, rel, folder)) = self.props_owner(&self.node(path, ctx)) else {
            return refuse_all(StatusCode::NOT_FOUND, patch);
        };
        let stored: Vec<(bool, DeadProp)> = patch
            .iter()
            .map(|(set, p)| {
                let prop = DeadProp {
                    namespace: p.namespace.clone(),
                    prefix: p.prefix.clone(),
                    name: p.name.clone(),
                    xml: p
                        .xml
                        .as_ref()
                        .map(|x| String::from_utf8_lossy(x).into_owned()),
                };
                (*set, prop)
            })
            .collect();
        match self
            .depositor()
            .store()
            .patch_dead_props(&rne, &rel, folder, stored)
        {
            Ok(()) => refuse_all(StatusCode::OK, patch),
            Err(StoreError::DiskFull) => refuse_all(StatusCode::INSUFFICIENT_STORAGE, patch),
            Err(err) => {
                tracing::error!(rne = %rne, rel, error = %err, "could not store properties");
                refuse_all(StatusCode::INTERNAL_SERVER_ERROR, patch)
            }
        }
    }
}
