//! A lock system for one request that knows its principal. It keys every lock on the canonical
//! path of the node (`/<RNE>/<stored name>`), so a lock taken on `plan.pdf` also guards
//! `0752401C-plan.pdf` and a school's locks can never reach another school's paths; and it lets
//! only the lock's owner unlock or refresh it.

use std::time::Duration;

use dav_server::davpath::DavPath;
use dav_server::ls::{DavLock, DavLockSystem, LsFuture};
use futures_util::FutureExt;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use xmltree::Element;

use super::context::DavContext;
use super::fs::DepositFs;
use super::view::Node;

#[derive(Clone)]
pub struct DepositLs {
    inner: Box<dyn DavLockSystem>,
    fs: DepositFs,
    ctx: DavContext,
}

impl std::fmt::Debug for DepositLs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DepositLs")
            .field("principal", &self.ctx.principal.account)
            .finish()
    }
}

impl DepositLs {
    /// Wraps the shared lock table for one request.
    pub fn new(inner: Box<dyn DavLockSystem>, fs: DepositFs, ctx: DavContext) -> DepositLs {
        DepositLs { inner, fs, ctx }
    }

    fn canonical(&self, path: &DavPath) -> DavPath {
        let encode = |rel: &str| {
            let segments = rel.split('/');
            let encoded = segments.map(|s| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string());
            encoded.collect::<Vec<_>>().join("/")
        };
        let text = match self.fs.node(path, &self.ctx) {
            Node::Root | Node::PostalCode(_) => match self.ctx.principal.school_rne() {
                Some(rne) => format!("/{rne}/"),
                None => return path.clone(),
            },
            Node::School(rne) => format!("/{rne}/"),
            Node::SubFolder { rne, dir } => format!("/{rne}/{}/", encode(&dir)),
            Node::File { rne, stored } => format!("/{rne}/{}", encode(&stored)),
            Node::Scratch { rne, key } => format!("/{rne}/{}", encode(&key)),
            Node::Invalid(_) | Node::Missing => return path.clone(),
        };
        DavPath::new(&text).unwrap_or_else(|_| path.clone())
    }

    fn owns(&self, lock: &DavLock) -> bool {
        lock.principal.as_deref() == Some(self.ctx.principal.account.as_str())
    }

    async fn owned_token(&self, canonical: &DavPath, token: &str) -> bool {
        let locks = self.inner.discover(canonical).await;
        locks.iter().any(|l| l.token == token && self.owns(l))
    }
}

fn with_path(mut lock: DavLock, path: &DavPath) -> DavLock {
    lock.path = Box::new(path.clone());
    lock
}

impl DavLockSystem for DepositLs {
    fn lock(
        &self,
        path: &DavPath,
        principal: Option<&str>,
        owner: Option<&Element>,
        timeout: Option<Duration>,
        shared: bool,
        deep: bool,
    ) -> LsFuture<'_, Result<DavLock, DavLock>> {
        let canonical = self.canonical(path);
        let path = path.clone();
        let principal = principal.map(str::to_string);
        let owner = owner.cloned();
        async move {
            let result = self
                .inner
                .lock(
                    &canonical,
                    principal.as_deref(),
                    owner.as_ref(),
                    timeout,
                    shared,
                    deep,
                )
                .await;
            result
                .map(|l| with_path(l, &path))
                .map_err(|l| with_path(l, &path))
        }
        .boxed()
    }

    fn unlock(&self, path: &DavPath, token: &str) -> LsFuture<'_, Result<(), ()>> {
        let canonical = self.canonical(path);
        let token = token.to_string();
        async move {
            if !self.owned_token(&canonical, &token).await {
                return Err(());
            }
            self.inner.unlock(&canonical, &token).await
        }
        .boxed()
    }

    fn refresh(
        &self,
        path: &DavPath,
        token: &str,
        timeout: Option<Duration>,
    ) -> LsFuture<'_, Result<DavLock, ()>> {
        let canonical = self.canonical(path);
        let path = path.clone();
        let token = token.to_string();
        async move {
            if !self.owned_token(&canonical, &token).await {
                return Err(());
            }
            let lock = self.inner.refresh(&canonical, &token, timeout).await?;
            Ok(with_path(lock, &path))
        }
        .boxed()
    }

    fn check(
        &self,
        path: &DavPath,
        principal: Option<&str>,
        ignore_principal: bool,
        deep: bool,
        submitted_tokens: &[String],
    ) -> LsFuture<'_, Result<(), DavLock>> {
        let canonical = self.canonical(path);
        let path = path.clone();
        let principal = principal.map(str::to_string);
        let tokens = submitted_tokens.to_vec();
        async move {
            self.inner
                .check(
                    &canonical,
                    principal.as_deref(),
                    ignore_principal,
                    deep,
                    &tokens,
                )
                .await
                .map_err(|l| with_path(l, &path))
        }
        .boxed()
    }

    fn discover(&self, path: &DavPath) -> LsFuture<'_, Vec<DavLock>> {
        let canonical = self.canonical(path);
        let path = path.clone();
        async move {
            let locks = self.inner.discover(&canonical).await;
            locks.into_iter().map(|l| with_path(l, &path)).collect()
        }
        .boxed()
    }

    fn delete(&self, path: &DavPath) -> LsFuture<'_, Result<(), ()>> {
        let canonical = self.canonical(path);
        async move { self.inner.delete(&canonical).await }.boxed()
    }
}
