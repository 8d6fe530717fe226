//! ppms-depot: a WebDAV deposit server where schools hand in their safety plans (PPMS) and the
//! crisis cell reads them. The core (`directory`, `policy`, `storage`, `deposit`) knows no HTTP;
//! `dav` and `server` are the faces; `auth` turns a request into a `Principal`.

pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod dav;
pub mod deposit;
pub mod directory;
pub mod policy;
pub mod portal;
pub mod report;
pub mod server;
pub mod state;
pub mod storage;
