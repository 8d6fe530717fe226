//! Native TLS (rustls): the certificate and key named in the configuration, reloaded in place
//! on SIGHUP (a failed reload keeps the certificate in use), and a self-signed pair for local
//! tries (`demo --tls`).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// The TLS configuration in use and where it comes from.
pub struct TlsState {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

fn server_config(cert_file: &Path, key_file: &Path) -> anyhow::Result<ServerConfig> {
    let cert_pem = std::fs::read(cert_file)
        .with_context(|| format!("reading the certificate {}", cert_file.display()))?;
    let key_pem = std::fs::read(key_file)
        .with_context(|| format!("reading the key {}", key_file.display()))?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing {}", cert_file.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "no certificate in {}",
        cert_file.display()
    );
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .with_context(|| format!("parsing {}", key_file.display()))?
        .with_context(|| format!("no private key in {}", key_file.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

impl TlsState {
    pub fn load(cert_file: &Path, key_file: &Path) -> anyhow::Result<TlsState> {
        let config = server_config(cert_file, key_file)?;
        Ok(TlsState {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// Reads the files again; on error the configuration in use stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let config = server_config(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        tracing::info!(cert = %self.cert_file.display(), "TLS certificate reloaded");
        Ok(())
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// Writes a self-signed certificate for `localhost` and `127.0.0.1` (key mode 0600) into
/// `dir`, unless one is there already; returns the certificate and key paths.
pub fn self_signed(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let cert_file = dir.join("demo-cert.pem");
    let key_file = dir.join("demo-key.pem");
    if cert_file.exists() && key_file.exists() {
        return Ok((cert_file, key_file));
    }
    std::fs::create_dir_all(dir)?;
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names).context("self-signed certificate")?;
    std::fs::write(&cert_file, certified.cert.pem())?;
    let mut key = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&key_file)?;
    key.write_all(certified.key_pair.serialize_pem().as_bytes())?;
    Ok((cert_file, key_file))
}
