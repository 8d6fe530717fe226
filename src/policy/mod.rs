//! The deposit policy (`policies/deposit.toml`): limits, allowed types checked against the
//! content's magic bytes, junk patterns, and what schools may do. Knows nothing of HTTP.

/// What the server enforces on every deposit.
#[derive(Debug, Clone)]
pub struct DepositPolicy {
    pub max_file_bytes: u64,
    pub school_quota_bytes: u64,
    pub school_can_read_back: bool,
}

impl DepositPolicy {
    pub fn is_junk(&self, name: &str) -> bool {
        name.starts_with("._") || name == ".DS_Store"
    }
}
