//! What the store knows of a stored file and of each of its versions.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// One kept version of a stored name, saved beside its content as `<N>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRecord {
    /// 1 for the first deposit of a name, then 2, 3, ... without gaps.
    pub version: u32,
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the content, computed while it was written.
    pub sha256: String,
    /// RFC 3339 time of the commit.
    pub deposited_at: String,
    /// Who deposited it (account name of the principal).
    pub principal: String,
    /// The plan kind the depositor declared (a `plan_kinds` id of the policy), when one was;
    /// records written before kinds existed, and WebDAV deposits, have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// The latest version of a stored name, as listings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The file's own name (last segment).
    pub name: String,
    /// Its path relative to the school folder (`name`, or `sub/name` where sub-folders are
    /// allowed).
    pub path: String,
    pub bytes: u64,
    pub modified: SystemTime,
    pub sha256: String,
    /// Number of the latest version.
    pub version: u32,
    /// How many versions are kept, the latest included.
    pub versions_kept: u32,
}
