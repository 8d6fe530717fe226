//! Checking an account's password against an LDAP directory with `ldap3`: a simple bind as the
//! account's DN, found from a template (`uid={account},ou=people,dc=...`) or by a search
//! (optionally bound with a service account), over `ldap://`, StartTLS or `ldaps://` (rustls,
//! no OpenSSL). Membership of the crisis-cell and helpdesk groups is read after the bind, as
//! the account.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{dn_escape, ldap_escape, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};

/// LDAP result code of a wrong password or an unknown DN.
const INVALID_CREDENTIALS: u32 = 49;

/// How to reach and use the directory (from the configuration).
#[derive(Debug, Clone, Default)]
pub struct LdapSettings {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    /// With `{account}`; empty: search-then-bind.
    pub bind_dn_template: String,
    pub search_base: String,
    /// With `{account}`, e.g. `(uid={account})`.
    pub search_filter: String,
    /// Empty: the search is anonymous.
    pub search_bind_dn: String,
    pub search_bind_password: String,
    pub starttls: bool,
    /// PEM file of the CA that signed the server's certificate; none: the system's roots.
    pub tls_ca_file: Option<PathBuf>,
    /// Members (`member`, `uniqueMember` or `memberUid`) are crisis-cell members; empty: none.
    pub crisis_group_dn: String,
    /// Members are the helpdesk; empty: none (only the roles file names the helpdesk).
    pub helpdesk_group_dn: String,
    pub timeout: Duration,
}

/// Who the directory says the account is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapIdentity {
    pub dn: String,
    pub crisis_cell: bool,
    pub helpdesk: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    #[error("LDAP: {0}")]
    Ldap(#[from] ldap3::LdapError),
    #[error("LDAP TLS CA file {0}: {1}")]
    Ca(String, String),
    #[error("LDAP search for the account's DN: {0}")]
    Search(String),
    #[error("LDAP timed out")]
    Timeout,
}

/// The directory as the login sees it.
#[derive(Clone)]
pub struct LdapAuth {
    settings: LdapSettings,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for LdapAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapAuth")
            .field("url", &self.settings.url)
            .finish()
    }
}

/// Whether `account` may be put into a DN or a filter at all (escaping is applied anyway).
fn plausible_account(account: &str) -> bool {
    !account.is_empty()
        && account.len() <= 128
        && account
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

impl LdapAuth {
    pub fn new(settings: LdapSettings) -> Result<LdapAuth, LdapError> {
        let tls = match &settings.tls_ca_file {
            None => None,
            Some(path) => {
                let shown = path.display().to_string();
                let pem =
                    std::fs::read(path).map_err(|e| LdapError::Ca(shown.clone(), e.to_string()))?;
                let mut roots = rustls::RootCertStore::empty();
                for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                    let cert = cert.map_err(|e| LdapError::Ca(shown.clone(), e.to_string()))?;
                    roots
                        .add(cert)
                        .map_err(|e| LdapError::Ca(shown.clone(), e.to_string()))?;
                }
                let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(|e| LdapError::Ca(shown.clone(), e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
                Some(Arc::new(config))
            }
        };
        Ok(LdapAuth { settings, tls })
    }

    /// `Some` when `password` is the account's password, `None` when it is not (or the
    /// account is unknown); an error when the directory cannot be asked.
    pub async fn authenticate(
        &self,
        account: &str,
        password: &str,
    ) -> Result<Option<LdapIdentity>, LdapError> {
        // An empty password would be an unauthenticated bind, which "succeeds" (RFC 4513 5.1.2).
        if password.is_empty() || !plausible_account(account) {
            return Ok(None);
        }
        tokio::time::timeout(self.settings.timeout, self.bind_as(account, password))
            .await
            .map_err(|_| LdapError::Timeout)?
    }

    // Limitation: one connection per check, no pool (a login's stage 3 is rare; binding as the
    // user on a pooled connection would also leave it bound as that user).
    async fn bind_as(
        &self,
        account: &str,
        password: &str,
    ) -> Result<Option<LdapIdentity>, LdapError> {
        let s = &self.settings;
        let mut conn_settings = LdapConnSettings::new()
            .set_conn_timeout(s.timeout)
            .set_starttls(s.starttls);
        if let Some(tls) = &self.tls {
            conn_settings = conn_settings.set_config(tls.clone());
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(conn_settings, &s.url).await?;
        ldap3::drive!(conn);
        ldap.with_timeout(s.timeout);
        let dn = if !s.bind_dn_template.is_empty() {
            s.bind_dn_template.replace("{account}", &dn_escape(account))
        } else {
            if !s.search_bind_dn.is_empty() {
                ldap.simple_bind(&s.search_bind_dn, &s.search_bind_password)
                    .await?
                    .success()?;
            }
            let filter = s.search_filter.replace("{account}", &ldap_escape(account));
            let (entries, _) = ldap
                .search(&s.search_base, Scope::Subtree, &filter, vec!["1.1"])
                .await?
                .success()?;
            match entries.len() {
                0 => {
                    let _ = ldap.unbind().await;
                    return Ok(None);
                }
                1 => SearchEntry::construct(entries.into_iter().next().expect("one")).dn,
                n => return Err(LdapError::Search(format!("{n} entries match {filter}"))),
            }
        };
        let bound = ldap.simple_bind(&dn, password).await?;
        if bound.rc == INVALID_CREDENTIALS {
            let _ = ldap.unbind().await;
            return Ok(None);
        }
        bound.success()?;
        let crisis_cell = member_of(&mut ldap, &s.crisis_group_dn, &dn, account).await?;
        let helpdesk = member_of(&mut ldap, &s.helpdesk_group_dn, &dn, account).await?;
        let _ = ldap.unbind().await;
        Ok(Some(LdapIdentity {
            dn,
            crisis_cell,
            helpdesk,
        }))
    }
}

/// Whether the group `group_dn` lists the account (`member`, `uniqueMember` by DN, or
/// `memberUid` by name); an empty `group_dn` lists nobody. Asked as the bound account.
async fn member_of(
    ldap: &mut ldap3::Ldap,
    group_dn: &str,
    dn: &str,
    account: &str,
) -> Result<bool, LdapError> {
    if group_dn.is_empty() {
        return Ok(false);
    }
    let filter = format!(
        "(|(member={dn})(uniqueMember={dn})(memberUid={uid}))",
        dn = ldap_escape(dn),
        uid = ldap_escape(account)
    );
    let (entries, _) = ldap
        .search(group_dn, Scope::Base, &filter, vec!["1.1"])
        .await?
        .success()?;
    Ok(!entries.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_account_names_reach_the_directory() {
        assert!(plausible_account("ce.0752401C"));
        assert!(plausible_account("jdupont"));
        assert!(!plausible_account("*"));
        assert!(!plausible_account("a,ou=x"));
        assert!(!plausible_account("a)(uid=*"));
        assert!(!plausible_account(""));
    }
}
