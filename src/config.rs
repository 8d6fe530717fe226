//! Configuration: the defaults in `config/default.toml` (compiled in), then an optional file
//! given with `--config`, then environment variables `PPMS_DEPOT_*`. Every limit is a named
//! value here with its default documented in that file.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;

const DEFAULTS: &str = include_str!("../config/default.toml");

/// `PPMS_DEPOT_*` variables read elsewhere (the log filter, the config file path).
const NOT_CONFIG_KEYS: [&str; 2] = ["log", "config"];

/// Everything the server and the CLI read from configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: String,
    /// The address users mount (`https://depot.example.fr`), shown on the mount pages; empty:
    /// the address the request reached, when its `Host` is a plain `host[:port]`.
    #[serde(default)]
    pub public_url: String,
    /// Both set: HTTPS with these PEM files, reloaded on SIGHUP.
    #[serde(default)]
    pub tls_cert_file: PathBuf,
    #[serde(default)]
    pub tls_key_file: PathBuf,
    /// Proxies whose `X-Forwarded-For` is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
    /// Empty: the imported directory in `state_dir`, else the compiled-in Paris directory.
    #[serde(default)]
    pub directory_file: PathBuf,
    /// Empty: the compiled-in default policy.
    #[serde(default)]
    pub policy_file: PathBuf,
    pub school_account_prefixes: Vec<String>,
    pub body_timeout_secs: u64,
    pub body_min_rate_bytes_per_sec: u64,
    pub header_timeout_secs: u64,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub key_validity_days: u64,
    /// A mount key's use is audited (and its `last_used_at` written) at most this often.
    pub key_use_audit_secs: u64,
    /// Portal: the helpdesk contact shown to schools, and the most files of one form.
    pub helpdesk_contact: String,
    pub portal_max_files_per_form: usize,
    /// 64 hex characters; when absent the key lives in `<state_dir>/server.key`.
    #[serde(default)]
    pub server_key: Option<String>,
    /// Staged login and lockout (see `config/default.toml`).
    pub login_stage_timeout_secs: u64,
    pub login_max_failures: u32,
    pub session_lifetime_secs: u64,
    pub lockout_account_failures: u32,
    pub lockout_ip_failures: u32,
    pub lockout_window_secs: u64,
    pub lockout_secs: u64,
    /// Empty: the compiled-in `policies/roles.toml`.
    #[serde(default)]
    pub roles_file: PathBuf,
    /// LDAP for stage 3; `ldap_url` empty: the embedded password store.
    #[serde(default)]
    pub ldap_url: String,
    #[serde(default)]
    pub ldap_bind_dn_template: String,
    #[serde(default)]
    pub ldap_search_base: String,
    pub ldap_search_filter: String,
    #[serde(default)]
    pub ldap_search_bind_dn: String,
    #[serde(default)]
    pub ldap_search_bind_password: String,
    #[serde(default)]
    pub ldap_starttls: bool,
    #[serde(default)]
    pub ldap_tls_ca_file: PathBuf,
    #[serde(default)]
    pub ldap_crisis_group_dn: String,
    #[serde(default)]
    pub ldap_helpdesk_group_dn: String,
    pub ldap_timeout_secs: u64,
}

impl Config {
    /// Loads the layered configuration.
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::prefixed("PPMS_DEPOT_").filter(|key| {
                !NOT_CONFIG_KEYS
                    .iter()
                    .any(|k| key.as_str().eq_ignore_ascii_case(k))
            }))
            .extract()
            .map_err(Box::new)
    }

    pub fn database_path(&self) -> PathBuf {
        self.state_dir.join("state.db")
    }

    pub fn audit_path(&self) -> PathBuf {
        self.state_dir.join("audit.jsonl")
    }

    pub fn server_key_path(&self) -> PathBuf {
        self.state_dir.join("server.key")
    }

    /// Where `directory import` saves the directory it accepted.
    pub fn imported_directory_path(&self) -> PathBuf {
        self.state_dir.join("directory.csv")
    }
}

#[cfg(test)]
// figment's test jail returns its own large error type; boxing it is not ours to choose.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_file_and_env_layer() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "over.toml",
                "listen = \"127.0.0.1:9000\"\nmax_connections = 7",
            )?;
            jail.set_env("PPMS_DEPOT_MAX_CONNECTIONS", "9");
            jail.set_env("PPMS_DEPOT_LOG", "debug");
            jail.set_env("PPMS_DEPOT_PUBLIC_URL", "https://depot.ac-paris.fr");
            let config = Config::load(Some(Path::new("over.toml"))).map_err(|e| *e)?;
            assert_eq!(config.listen, "127.0.0.1:9000");
            assert_eq!(config.max_connections, 9);
            assert_eq!(config.school_account_prefixes, vec!["ce.".to_string()]);
            assert_eq!(config.body_timeout_secs, 60);
            assert_eq!(config.public_url, "https://depot.ac-paris.fr");
            Ok(())
        });
    }

    #[test]
    fn unknown_key_is_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "lisen = \"x\"")?;
            assert!(Config::load(Some(Path::new("bad.toml"))).is_err());
            Ok(())
        });
    }
}
