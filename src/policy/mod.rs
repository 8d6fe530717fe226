//! The deposit policy (`policies/deposit.toml`): limits, allowed types checked against the
//! content's magic bytes, junk patterns, name rules, and what schools may do. Decides on names,
//! sizes and first bytes only: knows nothing of HTTP, storage or principals.

mod deposit;
mod error;
mod junk;
mod name;
mod refusal;
mod sniff;

pub use deposit::{
    AllowedType, DepositPolicy, PlanKind, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_NAME_BYTES,
    DEFAULT_MAX_VERSIONS, DEFAULT_SCHOOL_QUOTA_BYTES, MAX_NAME_BYTES_CEILING,
};
pub use error::PolicyError;
pub use name::NameFault;
pub use refusal::Refusal;
pub use sniff::{ContentFamily, ContentSniffer, Sniff, PDF_HEADER_WINDOW, SNIFF_WINDOW};
