//! `PolicyError`: why a policy file could not be loaded (unreadable, not TOML, or a value that
//! fails validation). Refusals of a deposit by a valid policy are `Refusal`, not this.

use std::path::PathBuf;

/// A policy that cannot be used. Every variant names what to fix: the file, the TOML location
/// (the parser's message quotes the offending line and key), or the field path.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy file could not be read.
    #[error("cannot read policy file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not TOML, a wrong value type, an unknown key or an unknown content family.
    #[error("policy is not a valid deposit policy: {0}")]
    Parse(#[from] toml::de::Error),
    /// Well-formed, but a value is out of its accepted range.
    #[error("policy field `{field}`: {reason}")]
    Invalid {
        /// Path of the field, as in the file: `max_file_bytes`, `allowed_types[2].extensions[0]`.
        field: String,
        reason: String,
    },
    /// An error in a policy loaded from a file, with the file's path.
    #[error("policy file {}: {source}", path.display())]
    InFile {
        path: PathBuf,
        source: Box<PolicyError>,
    },
}

impl PolicyError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        PolicyError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The field a validation error is about, looking through `InFile`; `None` for other errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            PolicyError::Invalid { field, .. } => Some(field),
            PolicyError::InFile { source, .. } => source.field(),
            PolicyError::Read { .. } | PolicyError::Parse(_) => None,
        }
    }
}
