//! `policies/roles.toml`: who is a crisis-cell member and who is the helpdesk, by personal id,
//! beside (or instead of) the LDAP groups `ldap_crisis_group_dn` and `ldap_helpdesk_group_dn`.

use std::path::Path;

use serde::Deserialize;

const DEFAULT_ROLES: &str = include_str!("../../policies/roles.toml");

/// Role lists by personal id (compared without case).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    #[serde(default)]
    pub crisis_cell: Vec<String>,
    #[serde(default)]
    pub helpdesk: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RolesError {
    #[error("roles file {0}: {1}")]
    Read(String, std::io::Error),
    #[error("roles file {0}: {1}")]
    Parse(String, toml::de::Error),
}

impl Roles {
    /// The compiled-in `policies/roles.toml`.
    pub fn embedded_default() -> Roles {
        toml::from_str(DEFAULT_ROLES).expect("policies/roles.toml is valid")
    }

    pub fn from_path(path: &Path) -> Result<Roles, RolesError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RolesError::Read(shown.clone(), e))?;
        toml::from_str(&text).map_err(|e| RolesError::Parse(shown, e))
    }

    pub fn is_crisis_cell(&self, id: &str) -> bool {
        self.crisis_cell.iter().any(|m| m.eq_ignore_ascii_case(id))
    }

    pub fn is_helpdesk(&self, id: &str) -> bool {
        self.helpdesk.iter().any(|m| m.eq_ignore_ascii_case(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_parses_and_grants_nobody() {
        let roles = Roles::embedded_default();
        assert!(!roles.is_crisis_cell("jdupont"));
        let roles: Roles = toml::from_str("crisis_cell = [\"JDupont\"]").unwrap();
        assert!(roles.is_crisis_cell("jdupont"));
        assert!(!roles.is_helpdesk("jdupont"));
        assert!(toml::from_str::<Roles>("admins = []").is_err());
    }
}
