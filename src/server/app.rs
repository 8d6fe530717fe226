//! Everything a running server shares between requests, built once from the configuration.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use dav_server::ls::DavLockSystem;
use dav_server::memls::MemLs;
use sqlx::SqlitePool;

use crate::audit::AuditLog;
use crate::auth::{load_server_key, Clock, KeyStore, Login, ServerKey, SystemClock};
use crate::config::Config;
use crate::dav::{DepositFs, LockQuota};
use crate::deposit::Depositor;
use crate::directory::Directory;
use crate::policy::DepositPolicy;
use crate::storage::Store;

use super::tls::TlsState;

/// The shared state of a server.
pub struct App {
    pub config: Config,
    pub keys: KeyStore,
    /// The staged login and its sessions (`/api/v1/login/...`).
    pub login: Arc<Login>,
    pub fs: DepositFs,
    pub locks: Box<dyn DavLockSystem>,
    /// Active locks per account, shared by every request's lock system.
    pub lock_quota: LockQuota,
    pub audit: AuditLog,
    pub body_timeout: Duration,
    /// The crisis cell's search index, built on the first query and refreshed by later ones.
    pub search_index: Arc<Mutex<Option<crate::report::search::SearchIndex>>>,
    /// HTTPS when the configuration names a certificate and key.
    pub tls: Option<Arc<TlsState>>,
    /// Refused mount keys per client address, so a client retrying forever fills no disk.
    pub refused_keys: crate::auth::refusal_audit::RefusalAudit,
}

/// The directory the configuration names: a file, else an imported one, else Paris.
pub fn load_directory(config: &Config) -> anyhow::Result<Directory> {
    let file = if config.directory_file.as_os_str().is_empty() {
        let imported = config.imported_directory_path();
        imported.exists().then_some(imported)
    } else {
        Some(config.directory_file.clone())
    };
    match file {
        Some(path) => Directory::from_path(&path)
            .with_context(|| format!("loading the directory {}", path.display())),
        None => Ok(Directory::embedded_paris()),
    }
}

pub fn load_policy(config: &Config) -> anyhow::Result<DepositPolicy> {
    if config.policy_file.as_os_str().is_empty() {
        return Ok(DepositPolicy::embedded_default());
    }
    DepositPolicy::from_path(&config.policy_file)
        .with_context(|| format!("loading the policy {}", config.policy_file.display()))
}

/// Opens the state database and the key store.
pub async fn open_keys(config: &Config) -> anyhow::Result<KeyStore> {
    let (pool, server_key) = open_state(config).await?;
    Ok(KeyStore::new(pool, server_key).cached(&config.database_path()))
}

/// Opens the state database and reads (or creates) the server key.
pub async fn open_state(config: &Config) -> anyhow::Result<(SqlitePool, ServerKey)> {
    let pool = crate::state::open(&config.database_path())
        .await
        .with_context(|| format!("opening {}", config.database_path().display()))?;
    let server_key = match &config.server_key {
        Some(hex) => ServerKey::from_hex(hex).map_err(anyhow::Error::msg)?,
        None => load_server_key(&config.server_key_path())
            .with_context(|| format!("server key {}", config.server_key_path().display()))?,
    };
    Ok((pool, server_key))
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<App> {
        App::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds with the clock the login reads (tests set it).
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        let directory = load_directory(&config)?;
        let policy = load_policy(&config)?;
        let store = Store::open(&config.data_dir)
            .with_context(|| format!("opening the data directory {}", config.data_dir.display()))?;
        let audit = AuditLog::open(&config.audit_path())
            .with_context(|| format!("opening {}", config.audit_path().display()))?;
        let (pool, server_key) = open_state(&config).await?;
        let keys = KeyStore::new(pool.clone(), server_key.clone())
            .cached(&config.database_path())
            .audited(
                audit.clone(),
                Duration::from_secs(config.key_use_audit_secs),
            );
        let login = Arc::new(crate::auth::login::build(
            &config,
            pool,
            &server_key,
            clock,
            audit.clone(),
        )?);
        let depositor = Depositor::new(store, Arc::new(policy), audit.clone());
        let tls = match (
            config.tls_cert_file.as_os_str(),
            config.tls_key_file.as_os_str(),
        ) {
            (c, k) if c.is_empty() && k.is_empty() => None,
            (c, k) if c.is_empty() || k.is_empty() => {
                anyhow::bail!("tls_cert_file and tls_key_file go together: set both or neither")
            }
            _ => Some(Arc::new(TlsState::load(
                &config.tls_cert_file,
                &config.tls_key_file,
            )?)),
        };
        tracing::info!(establishments = directory.len(), data_dir = %config.data_dir.display(),
            "directory and store ready");
        Ok(App {
            body_timeout: Duration::from_secs(config.body_timeout_secs.max(1)),
            fs: DepositFs::new(Arc::new(directory), depositor),
            locks: MemLs::new(),
            lock_quota: LockQuota::default(),
            search_index: Arc::default(),
            refused_keys: Default::default(),
            keys,
            login,
            audit,
            tls,
            config,
        })
    }
}
