//! `DepositPolicy`: what `policies/deposit.toml` may say and its defaults, loading with
//! validation, and the per-deposit checks (size, quota, name, extension, junk). The content
//! check is `sniff`; how a refusal reads is `refusal`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::PolicyError;
use super::junk;
use super::name;
use super::refusal::Refusal;
use super::sniff::ContentFamily;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Default `max_file_bytes`: 100 MiB, a large multi-page scan, not a video.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 100 * MIB;
/// Default `school_quota_bytes`: 1 GiB, dozens of versions of a full plan set.
pub const DEFAULT_SCHOOL_QUOTA_BYTES: u64 = GIB;
/// Default `max_versions`: 0, keep every version (the quota bounds the space).
pub const DEFAULT_MAX_VERSIONS: u32 = 0;
/// Default `max_name_bytes`: 200, leaving room for the RNE prefix under 255-byte name limits.
pub const DEFAULT_MAX_NAME_BYTES: u32 = 200;
/// Highest accepted `max_name_bytes`: 255 (ext4, NTFS) less the `<RNE>-` prefix (9 bytes) and
/// 16 bytes a version suffix may need.
pub const MAX_NAME_BYTES_CEILING: u32 = 230;

/// The default policy, shipped in the binary; every value in it is also the serde default.
const EMBEDDED_DEFAULT: &str = include_str!("../../policies/deposit.toml");
/// The test profile for generic WebDAV suites.
const EMBEDDED_PERMISSIVE: &str = include_str!("../../policies/permissive.toml");

/// What the server enforces on every deposit. Read from TOML (see `policies/deposit.toml`,
/// which documents each field); a key left out takes the default written there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositPolicy {
    /// Largest single deposit, in bytes (at least 1).
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// Space of one establishment in bytes, counting every kept version of every file; at
    /// least `max_file_bytes`.
    #[serde(default = "default_school_quota_bytes")]
    pub school_quota_bytes: u64,
    /// Versions kept per file name: 0 keeps all, N keeps the N newest.
    #[serde(default = "default_max_versions")]
    pub max_versions: u32,
    /// Longest file name in UTF-8 bytes, 1 to `MAX_NAME_BYTES_CEILING`.
    #[serde(default = "default_max_name_bytes")]
    pub max_name_bytes: u32,
    /// Whether a school may download its own deposits (listing them is always allowed).
    #[serde(default)]
    pub school_can_read_back: bool,
    /// Whether a school may create folders inside its own folder.
    #[serde(default)]
    pub allow_subfolders: bool,
    /// Whether a school may delete its deposits.
    #[serde(default)]
    pub allow_delete: bool,
    /// Whether a school may move, rename or copy its deposits.
    #[serde(default)]
    pub allow_move_copy: bool,
    /// Whether a deposit under an existing name replaces it; when false the old content is
    /// kept as an older version.
    #[serde(default)]
    pub allow_overwrite: bool,
    /// Whether names with an unlisted extension, or none, are accepted unchecked
    /// (`ContentFamily::Any`). Listed extensions stay checked.
    #[serde(default)]
    pub allow_any_extension: bool,
    /// Whether clients may store their own (dead) WebDAV properties with PROPPATCH; when false
    /// each is refused with 403 inside the 207 answer.
    #[serde(default)]
    pub allow_dead_properties: bool,
    /// Whether a client's `Win32LastModifiedTime` (Windows Explorer's PROPPATCH) becomes the
    /// deposit's modification date; when false the date is the time of the deposit.
    #[serde(default)]
    pub apply_client_times: bool,
    /// Globs (`*`, `?`, case ignored) of file names that clients create on their own; such
    /// files are dropped, not deposited.
    #[serde(default = "default_junk_patterns")]
    pub junk_patterns: Vec<String>,
    /// Accepted extensions and the content family each must show.
    #[serde(default = "default_allowed_types")]
    pub allowed_types: Vec<AllowedType>,
    /// Kinds of document offered by the portal, in display order.
    #[serde(default = "default_plan_kinds")]
    pub plan_kinds: Vec<PlanKind>,
}

/// Extensions (lower case after loading, without the dot) sharing one content family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedType {
    pub extensions: Vec<String>,
    pub family: ContentFamily,
}

/// A kind of document a school declares with a deposit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanKind {
    /// Stable key stored with deposits and used in reports: lower-case letters, digits, dashes.
    pub id: String,
    /// What users read, in French.
    pub label: String,
}

fn default_max_file_bytes() -> u64 {
    DEFAULT_MAX_FILE_BYTES
}

fn default_school_quota_bytes() -> u64 {
    DEFAULT_SCHOOL_QUOTA_BYTES
}

fn default_max_versions() -> u32 {
    DEFAULT_MAX_VERSIONS
}

fn default_max_name_bytes() -> u32 {
    DEFAULT_MAX_NAME_BYTES
}

fn default_junk_patterns() -> Vec<String> {
    [
        "._*",
        ".DS_Store",
        "Thumbs.db",
        "desktop.ini",
        "~$*",
        ".~lock.*#",
    ]
    .map(String::from)
    .to_vec()
}

fn default_allowed_types() -> Vec<AllowedType> {
    let entry = |extensions: &[&str], family| AllowedType {
        extensions: extensions.iter().map(|e| e.to_string()).collect(),
        family,
    };
    vec![
        entry(&["pdf"], ContentFamily::Pdf),
        entry(&["odt", "ods", "odp", "odg"], ContentFamily::OpenDocument),
        entry(&["docx", "xlsx", "pptx"], ContentFamily::OfficeOpenXml),
        entry(&["png"], ContentFamily::Png),
        entry(&["jpg", "jpeg"], ContentFamily::Jpeg),
        entry(&["gif"], ContentFamily::Gif),
        entry(&["tif", "tiff"], ContentFamily::Tiff),
        entry(&["webp"], ContentFamily::Webp),
        entry(&["zip"], ContentFamily::Zip),
    ]
}

fn default_plan_kinds() -> Vec<PlanKind> {
    [
        ("ppms", "PPMS"),
        ("plan-locaux", "Plan des locaux"),
        ("risques-majeurs", "Risques majeurs"),
        ("attentat-intrusion", "Attentat-intrusion"),
        ("autre", "Autre document"),
    ]
    .map(|(id, label)| PlanKind {
        id: id.to_string(),
        label: label.to_string(),
    })
    .to_vec()
}

impl Default for DepositPolicy {
    /// The embedded `policies/deposit.toml`.
    fn default() -> Self {
        DepositPolicy::embedded_default()
    }
}

impl DepositPolicy {
    /// The policy shipped in the binary (`policies/deposit.toml`).
    pub fn embedded_default() -> Self {
        // The embedded file is checked by the tests below; failing here is a build defect.
        DepositPolicy::from_toml_str(EMBEDDED_DEFAULT)
            .expect("embedded policies/deposit.toml is a valid policy")
    }

    /// The test profile (`policies/permissive.toml`): folders, delete, move/copy, overwrite,
    /// read-back and any extension. Never for real establishments.
    pub fn permissive() -> Self {
        DepositPolicy::from_toml_str(EMBEDDED_PERMISSIVE)
            .expect("embedded policies/permissive.toml is a valid policy")
    }

    /// Reads and validates a policy file; errors carry the file's path.
    pub fn from_path(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        DepositPolicy::from_toml_str(&text).map_err(|cause| PolicyError::InFile {
            path: path.to_path_buf(),
            source: Box::new(cause),
        })
    }

    /// Parses and validates a policy; extensions are lower-cased.
    pub fn from_toml_str(text: &str) -> Result<Self, PolicyError> {
        let policy: DepositPolicy = toml::from_str(text)?;
        policy.validated()
    }

    fn validated(mut self) -> Result<Self, PolicyError> {
        if self.max_file_bytes == 0 {
            return Err(PolicyError::invalid("max_file_bytes", "must be at least 1"));
        }
        if self.school_quota_bytes < self.max_file_bytes {
            return Err(PolicyError::invalid(
                "school_quota_bytes",
                format!(
                    "{} is less than max_file_bytes = {}: a file of the largest allowed size \
                     could never be kept",
                    self.school_quota_bytes, self.max_file_bytes
                ),
            ));
        }
        if !(1..=MAX_NAME_BYTES_CEILING).contains(&self.max_name_bytes) {
            return Err(PolicyError::invalid(
                "max_name_bytes",
                format!("must be between 1 and {MAX_NAME_BYTES_CEILING}"),
            ));
        }
        for (i, pattern) in self.junk_patterns.iter().enumerate() {
            let field = format!("junk_patterns[{i}]");
            if pattern.is_empty() {
                return Err(PolicyError::invalid(field, "is empty"));
            }
            if pattern.contains('/') {
                return Err(PolicyError::invalid(
                    field,
                    "contains `/`: patterns match file names, not paths",
                ));
            }
        }
        if self.allowed_types.is_empty() && !self.allow_any_extension {
            return Err(PolicyError::invalid(
                "allowed_types",
                "is empty while allow_any_extension is false: no deposit could pass",
            ));
        }
        let mut listed: HashMap<String, usize> = HashMap::new();
        for (i, allowed) in self.allowed_types.iter_mut().enumerate() {
            if allowed.extensions.is_empty() {
                let field = format!("allowed_types[{i}].extensions");
                return Err(PolicyError::invalid(field, "is empty"));
            }
            for (j, extension) in allowed.extensions.iter_mut().enumerate() {
                let field = format!("allowed_types[{i}].extensions[{j}]");
                *extension = checked_extension(extension)
                    .map_err(|reason| PolicyError::invalid(field.clone(), reason))?;
                if let Some(first) = listed.insert(extension.clone(), i) {
                    return Err(PolicyError::invalid(
                        field,
                        format!("`{extension}` is already listed in allowed_types[{first}]"),
                    ));
                }
            }
        }
        if self.plan_kinds.is_empty() {
            return Err(PolicyError::invalid(
                "plan_kinds",
                "is empty: the portal needs at least one kind of document",
            ));
        }
        let mut ids = HashSet::new();
        for (i, kind) in self.plan_kinds.iter().enumerate() {
            if !is_plan_kind_id(&kind.id) {
                return Err(PolicyError::invalid(
                    format!("plan_kinds[{i}].id"),
                    format!(
                        "{:?} must be lower-case letters, digits and inner dashes",
                        kind.id
                    ),
                ));
            }
            if !ids.insert(kind.id.as_str()) {
                return Err(PolicyError::invalid(
                    format!("plan_kinds[{i}].id"),
                    format!("{:?} is listed twice", kind.id),
                ));
            }
            if kind.label.trim().is_empty() {
                return Err(PolicyError::invalid(
                    format!("plan_kinds[{i}].label"),
                    "is empty",
                ));
            }
        }
        Ok(self)
    }

    /// Refuses a deposit of more than `max_file_bytes`; exactly the limit passes. May be called
    /// with the running total while a stream of unknown length arrives.
    pub fn check_size(&self, bytes: u64) -> Result<(), Refusal> {
        if bytes > self.max_file_bytes {
            return Err(Refusal::TooLarge {
                bytes,
                limit: self.max_file_bytes,
            });
        }
        Ok(())
    }

    /// Refuses a deposit of `incoming` bytes when the establishment already uses `used` bytes
    /// (all kept versions) and the sum would exceed `school_quota_bytes`; reaching the quota
    /// exactly passes. A storage that prunes versions (`max_versions`) passes `used` net of what
    /// the deposit will prune.
    pub fn check_quota(&self, used: u64, incoming: u64) -> Result<(), Refusal> {
        if used.saturating_add(incoming) > self.school_quota_bytes {
            return Err(Refusal::QuotaExceeded {
                used,
                incoming,
                quota: self.school_quota_bytes,
            });
        }
        Ok(())
    }

    /// Refuses a file name (one segment, already NFC-normalised) that is empty, `.`/`..`,
    /// contains a separator, a control character or a character Windows refuses, ends with a
    /// dot or a space, or is longer than `max_name_bytes`.
    pub fn check_name(&self, name: &str) -> Result<(), Refusal> {
        match name::fault(name, self.max_name_bytes) {
            Some(fault) => Err(Refusal::BadName {
                name: name.to_string(),
                fault,
            }),
            None => Ok(()),
        }
    }

    /// The content family a file name's extension promises (case ignored, last path segment
    /// only). A name whose extension is not listed, or that has none (`plan`, `.pdf`), is
    /// refused unless `allow_any_extension`, which gives `ContentFamily::Any`.
    pub fn check_extension(&self, name: &str) -> Result<ContentFamily, Refusal> {
        let extension = extension_of(junk::file_name(name));
        let listed = extension
            .as_deref()
            .and_then(|ext| self.extension_family(ext));
        match listed {
            Some(family) => Ok(family),
            None if self.allow_any_extension => Ok(ContentFamily::Any),
            None => Err(Refusal::TypeRefused {
                extension,
                allowed: self.allowed_extensions(),
            }),
        }
    }

    /// Whether a file name is one clients create on their own (`junk_patterns`, last path
    /// segment only, case ignored). Check this before the extension: junk is dropped quietly,
    /// while a refusal makes the client report an error.
    pub fn is_junk(&self, name: &str) -> bool {
        junk::matches_any(&self.junk_patterns, name)
    }

    /// The family of a listed extension (without the dot, any case).
    pub fn extension_family(&self, extension: &str) -> Option<ContentFamily> {
        let extension = extension.to_lowercase();
        self.allowed_types
            .iter()
            .find(|allowed| allowed.extensions.contains(&extension))
            .map(|allowed| allowed.family)
    }

    /// Every listed extension, in the policy's order.
    pub fn allowed_extensions(&self) -> Vec<String> {
        self.allowed_types
            .iter()
            .flat_map(|allowed| allowed.extensions.iter().cloned())
            .collect()
    }

    /// The plan kind with this id.
    pub fn plan_kind(&self, id: &str) -> Option<&PlanKind> {
        self.plan_kinds.iter().find(|kind| kind.id == id)
    }
}

/// The extension of a file name, lower-cased; `None` without one or for a dot file (`.pdf`).
fn extension_of(name: &str) -> Option<String> {
    let (stem, extension) = name.rsplit_once('.')?;
    if stem.is_empty() || extension.is_empty() {
        return None;
    }
    Some(extension.to_lowercase())
}

/// An extension as written in a policy, lower-cased, or why it cannot be one.
fn checked_extension(extension: &str) -> Result<String, String> {
    if extension.is_empty() {
        return Err("is empty".to_string());
    }
    if extension.starts_with('.') {
        return Err(format!(
            "{extension:?}: write the extension without its dot"
        ));
    }
    let bad = |c: char| c == '.' || c == '/' || c == '\\' || c.is_whitespace() || c.is_control();
    if extension.chars().any(bad) {
        return Err(format!(
            "{extension:?}: one extension, without dot, slash or space (`pdf`, not `tar.gz`)"
        ));
    }
    Ok(extension.to_lowercase())
}

fn is_plan_kind_id(id: &str) -> bool {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    !id.is_empty() && id.chars().all(allowed) && !id.starts_with('-') && !id.ends_with('-')
}

#[cfg(test)]
#[path = "deposit_tests.rs"]
mod tests;
