//! The WebDAV face: `DepositFs` (the crate's `GuardedFileSystem`) over the deposit service,
//! each principal's view of the tree, session scratch space and principal-aware locks.

mod client_times;
mod context;
mod dead_props;
mod file;
mod fs;
mod guarded;
mod locks;
mod meta;
mod open;
mod propfind;
mod scratch;
mod tree_ops;
mod view;

pub use context::{DavContext, Denial};
pub use fs::{DepositFs, PROPS_NS};
pub use locks::{DepositLs, LockQuota};
pub use propfind::{Multistatus, PropfindAsk};
pub use view::{segments, Node, UNLISTED_FOLDER};
