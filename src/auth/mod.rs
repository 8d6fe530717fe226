//! Authentication: turns a request's credentials into a [`Principal`] and nothing more. Faces
//! decide what a principal may do, with the policy.

mod basic;
mod mount_key;
mod principal;
mod server_key;

pub use basic::parse_basic;
pub use mount_key::{IssuedKey, KeyError, KeyRecord, KeyStore, KeySubject};
pub use principal::{Principal, Role};
pub use server_key::{load_or_create as load_server_key, ServerKey};
