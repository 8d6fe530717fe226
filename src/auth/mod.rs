//! Authentication: turns a request's credentials into a [`Principal`] and nothing more. Faces
//! decide what a principal may do, with the policy.

pub mod agents;
mod basic;
pub mod clock;
mod key_cache;
mod key_use;
pub mod ldap;
pub mod login;
mod mount_key;
pub mod otp;
pub mod password;
mod principal;
pub mod refusal_audit;
pub mod roles;
mod server_key;
pub mod session;
pub mod throttle;

pub use basic::parse_basic;
pub use clock::{Clock, ManualClock, SystemClock};
pub use key_use::KeyUse;
pub use login::{Attempt, Login, LoginError, LoginSettings};
pub use mount_key::{IssuedKey, KeyError, KeyRecord, KeyStore, KeySubject};
pub use principal::{Principal, Role};
pub use server_key::{load_or_create as load_server_key, ServerKey};
