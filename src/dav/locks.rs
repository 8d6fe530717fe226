//! A lock system for one request that knows its principal. It keys every lock on the canonical
//! path of the node (`/<RNE>/<stored name>`), so a lock taken on `plan.pdf` also guards
//! `0752401C-plan.pdf` and a school's locks can never reach another school's paths; and it lets
//! only the lock's owner unlock or refresh it. It also expires locks (the shared table keeps
//! them forever otherwise), caps their timeout and bounds how many one account holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use dav_server::davpath::DavPath;
use dav_server::ls::{DavLock, DavLockSystem, LsFuture};
use futures_util::FutureExt;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use xmltree::Element;

use super::context::DavContext;
use super::fs::DepositFs;
use super::view::Node;

/// Longest lock a client gets: a crashed client's lock must not outlive the working hour.
const MAX_LOCK_TIMEOUT: Duration = Duration::from_secs(3600);
/// Active locks one account may hold (a client locks the few files it is writing).
const MAX_LOCKS_PER_ACCOUNT: usize = 100;
const TOO_MANY_LOCKS: &str = "trop de verrous actifs pour ce compte";

/// Lock tokens one account holds, with their expiry.
type HeldLocks = Vec<(String, SystemTime)>;

/// Active lock tokens per account, shared by all requests.
#[derive(Clone, Default)]
pub struct LockQuota(Arc<Mutex<HashMap<String, HeldLocks>>>);

impl LockQuota {
    /// Counts the account's unexpired locks, forgetting the expired ones.
    fn active(&self, account: &str) -> usize {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = SystemTime::now();
        let held = all.entry(account.to_string()).or_default();
        held.retain(|(_, expires)| *expires > now);
        held.len()
    }

    /// True when no account holds an unexpired lock: no path can be locked then (every lock
    /// is taken through [`DepositLs`], which counts it here).
    pub fn none_held(&self) -> bool {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = SystemTime::now();
        all.values()
            .all(|held| held.iter().all(|(_, expires)| *expires <= now))
    }

    fn add(&self, account: &str, token: &str, expires: SystemTime) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let held = all.entry(account.to_string()).or_default();
        held.push((token.to_string(), expires));
    }

    fn remove(&self, account: &str, token: &str) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = all.get_mut(account) {
            held.retain(|(t, _)| t != token);
        }
    }
}

fn capped(timeout: Option<Duration>) -> Option<Duration> {
    Some(timeout.map_or(MAX_LOCK_TIMEOUT, |t| t.min(MAX_LOCK_TIMEOUT)))
}

#[derive(Clone)]
pub struct DepositLs {
    inner: Box<dyn DavLockSystem>,
    quota: LockQuota,
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
    pub fn new(
        inner: Box<dyn DavLockSystem>,
        quota: LockQuota,
        fs: DepositFs,
        ctx: DavContext,
    ) -> DepositLs {
        DepositLs {
            inner,
            quota,
            fs,
            ctx,
        }
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
            Node::Unlisted | Node::Invalid(_) | Node::Missing => return path.clone(),
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

    /// Drops the expired locks that cover `canonical`.
    async fn purge_expired(&self, canonical: &DavPath) {
        let now = SystemTime::now();
        for lock in self.inner.discover(canonical).await {
            if lock.timeout_at.is_some_and(|t| t <= now) {
                let _ = self.inner.unlock(&lock.path, &lock.token).await;
            }
        }
    }

    fn refusal(&self, path: &DavPath, principal: Option<String>) -> DavLock {
        self.ctx.deny(423, TOO_MANY_LOCKS);
        DavLock {
            token: String::new(),
            path: Box::new(path.clone()),
            principal,
            owner: None,
            timeout_at: None,
            timeout: None,
            shared: false,
            deep: false,
        }
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
            self.purge_expired(&canonical).await;
            let account = &self.ctx.principal.account;
            if self.quota.active(account) >= MAX_LOCKS_PER_ACCOUNT {
                return Err(self.refusal(&path, principal));
            }
            let who = principal.as_deref();
            let timeout = capped(timeout);
            let result = self
                .inner
                .lock(&canonical, who, owner.as_ref(), timeout, shared, deep)
                .await;
            if let Ok(lock) = &result {
                let expires = lock
                    .timeout_at
                    .unwrap_or_else(|| SystemTime::now() + MAX_LOCK_TIMEOUT);
                self.quota.add(account, &lock.token, expires);
            }
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
            self.quota.remove(&self.ctx.principal.account, &token);
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
            self.purge_expired(&canonical).await;
            if !self.owned_token(&canonical, &token).await {
                return Err(());
            }
            let lock = self
                .inner
                .refresh(&canonical, &token, capped(timeout))
                .await?;
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
            self.purge_expired(&canonical).await;
            let who = principal.as_deref();
            self.inner
                .check(&canonical, who, ignore_principal, deep, &tokens)
                .await
                .map_err(|l| with_path(l, &path))
        }
        .boxed()
    }

    fn discover(&self, path: &DavPath) -> LsFuture<'_, Vec<DavLock>> {
        let canonical = self.canonical(path);
        let path = path.clone();
        async move {
            self.purge_expired(&canonical).await;
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
