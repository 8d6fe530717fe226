//! The login service as the configuration describes it: roles file, LDAP settings, stores
//! over the state database, lockout limits.

use std::sync::Arc;

use super::{Login, LoginSettings};
use crate::audit::AuditLog;
use crate::auth::agents::AgentStore;
use crate::auth::clock::Clock;
use crate::auth::ldap::{LdapAuth, LdapError, LdapSettings};
use crate::auth::password::PasswordStore;
use crate::auth::roles::{Roles, RolesError};
use crate::auth::session::SessionStore;
use crate::auth::throttle::{Throttle, ThrottleLimits};
use crate::auth::ServerKey;

/// Why the login could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Roles(#[from] RolesError),
    #[error(transparent)]
    Ldap(#[from] LdapError),
}

/// The login service the configuration describes, over the state database.
pub fn build(
    config: &crate::config::Config,
    pool: sqlx::SqlitePool,
    server_key: &ServerKey,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
) -> Result<Login, SetupError> {
    let roles = if config.roles_file.as_os_str().is_empty() {
        Roles::embedded_default()
    } else {
        Roles::from_path(&config.roles_file)?
    };
    let ldap = if config.ldap_url.trim().is_empty() {
        None
    } else {
        let ca = &config.ldap_tls_ca_file;
        Some(LdapAuth::new(LdapSettings {
            url: config.ldap_url.trim().to_string(),
            bind_dn_template: config.ldap_bind_dn_template.clone(),
            search_base: config.ldap_search_base.clone(),
            search_filter: config.ldap_search_filter.clone(),
            search_bind_dn: config.ldap_search_bind_dn.clone(),
            search_bind_password: config.ldap_search_bind_password.clone(),
            starttls: config.ldap_starttls,
            tls_ca_file: (!ca.as_os_str().is_empty()).then(|| ca.clone()),
            crisis_group_dn: config.ldap_crisis_group_dn.clone(),
            helpdesk_group_dn: config.ldap_helpdesk_group_dn.clone(),
            timeout: std::time::Duration::from_secs(config.ldap_timeout_secs.max(1)),
        })?)
    };
    Ok(Login {
        agents: AgentStore::new(pool.clone(), server_key),
        passwords: PasswordStore::new(pool.clone()),
        sessions: SessionStore::new(pool.clone()),
        throttle: Throttle::new(
            pool,
            ThrottleLimits {
                account_failures: config.lockout_account_failures,
                ip_failures: config.lockout_ip_failures,
                window_secs: config.lockout_window_secs,
                lockout_secs: config.lockout_secs,
            },
        ),
        ldap,
        roles,
        clock,
        settings: LoginSettings {
            stage_timeout_secs: config.login_stage_timeout_secs,
            max_failures: config.login_max_failures,
            session_lifetime_secs: config.session_lifetime_secs,
            school_account_prefixes: config.school_account_prefixes.clone(),
        },
        audit,
    })
}
