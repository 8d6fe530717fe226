//! Each principal's view of the tree `/<postal code>/<folder>/<file>`: which node a path names.
//! A school sees only its own postal code and folder, and any other file path it uses is an
//! alias of a file in its own folder (so `PUT /plan.pdf` then `PROPFIND /plan.pdf` both reach
//! `0752401C-plan.pdf`). The crisis cell sees every folder that holds a deposit.

use crate::auth::{Principal, Role};
use crate::deposit::{nfc, stored_name};
use crate::directory::{Directory, Rne};
use crate::policy::DepositPolicy;
use crate::storage::Store;

use super::scratch::Scratch;

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Root,
    PostalCode(String),
    /// The crisis cell's folder of schools that hold deposits but are no longer in the
    /// directory (their files are never lost from sight).
    Unlisted,
    School(Rne),
    /// A sub-folder of a school's folder (only where the policy allows sub-folders).
    SubFolder {
        rne: Rne,
        dir: String,
    },
    /// A stored path in a school's folder (`0752401C-plan.pdf`, or `sub/0752401C-plan.pdf`
    /// where sub-folders are allowed); it may not exist yet.
    File {
        rne: Rne,
        stored: String,
    },
    /// A name kept only in the session scratch space (desktop junk, empty placeholders).
    Scratch {
        rne: Rne,
        key: String,
    },
    /// A file name that can never be stored (the reason is for the user).
    Invalid(&'static str),
    Missing,
}

/// The decoded, NFC segments of a request path; `None` if a segment is not UTF-8.
pub fn segments(path_bytes: &[u8]) -> Option<Vec<String>> {
    path_bytes
        .split(|b| *b == b'/')
        .filter(|s| !s.is_empty())
        .map(|s| std::str::from_utf8(s).ok().map(nfc))
        .collect()
}

/// Resolves segments for a principal.
pub fn resolve(
    principal: &Principal,
    segs: &[String],
    directory: &Directory,
    store: &Store,
    policy: &DepositPolicy,
    scratch: &Scratch,
) -> Node {
    match &principal.role {
        Role::CrisisCell => resolve_cell(segs, directory, store),
        Role::School(rne) => {
            resolve_school(principal, rne, segs, directory, store, policy, scratch)
        }
    }
}

/// Name of the crisis cell's folder of schools absent from the directory (never a postal code).
pub const UNLISTED_FOLDER: &str = "RNE hors annuaire";

fn resolve_cell(segs: &[String], directory: &Directory, store: &Store) -> Node {
    let unlisted = |rne: &str| {
        Rne::parse(rne)
            .ok()
            .filter(|r| r.as_str() == rne && directory.get(r).is_none() && store.has_deposits(r))
    };
    match segs {
        [] => Node::Root,
        [top] if top == UNLISTED_FOLDER => Node::Unlisted,
        [top, rne] if top == UNLISTED_FOLDER => unlisted(rne).map_or(Node::Missing, Node::School),
        [top, rne, name] if top == UNLISTED_FOLDER => match unlisted(rne) {
            Some(rne) => Node::File {
                rne,
                stored: name.clone(),
            },
            None => Node::Missing,
        },
        [cp] => {
            let any = directory
                .in_postal_code(cp)
                .any(|(_, e)| store.has_deposits(&e.rne));
            if any {
                Node::PostalCode(cp.clone())
            } else {
                Node::Missing
            }
        }
        [cp, folder] => match directory.lookup(cp, folder) {
            Some(e) if store.has_deposits(&e.rne) => Node::School(e.rne.clone()),
            _ => Node::Missing,
        },
        [cp, folder, name] => match directory.lookup(cp, folder) {
            Some(e) => Node::File {
                rne: e.rne.clone(),
                stored: name.clone(),
            },
            None => Node::Missing,
        },
        _ => Node::Missing,
    }
}

fn resolve_school(
    principal: &Principal,
    rne: &Rne,
    segs: &[String],
    directory: &Directory,
    store: &Store,
    policy: &DepositPolicy,
    scratch: &Scratch,
) -> Node {
    let Some(own) = directory.get(rne) else {
        return match segs {
            [] => Node::Root,
            _ => Node::Missing,
        };
    };
    let own_folder = directory.folder_name(rne).unwrap_or_default();
    match segs {
        [] => return Node::Root,
        [cp] if *cp == own.postal_code => return Node::PostalCode(cp.clone()),
        [cp, folder] if *cp == own.postal_code && folder == own_folder => {
            return Node::School(rne.clone())
        }
        [cp, folder, rest @ ..]
            if policy.allow_subfolders && *cp == own.postal_code && folder == own_folder =>
        {
            let full = rest.join("/");
            if store.is_dir(rne, &full) {
                return Node::SubFolder {
                    rne: rne.clone(),
                    dir: full,
                };
            }
            let dir = rest[..rest.len() - 1].join("/");
            return file_node(
                principal,
                rne,
                &dir,
                &rest[rest.len() - 1],
                store,
                policy,
                scratch,
            );
        }
        _ => {}
    }
    let name = segs.last().map(String::as_str).unwrap_or_default();
    file_node(principal, rne, "", name, store, policy, scratch)
}

/// The full path `<dir>/<name>` inside a school folder, relative to it.
pub fn in_dir(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// A file name a school uses, in folder `dir` of its own folder: junk, placeholder or deposit.
fn file_node(
    principal: &Principal,
    rne: &Rne,
    dir: &str,
    name: &str,
    store: &Store,
    policy: &DepositPolicy,
    scratch: &Scratch,
) -> Node {
    if policy.is_junk(name) {
        return Node::Scratch {
            rne: rne.clone(),
            key: name.to_string(),
        };
    }
    let stored = match stored_name(rne, name) {
        Ok(stored) => in_dir(dir, &stored),
        Err(err) => return Node::Invalid(err.message_fr()),
    };
    let deposited = matches!(store.stat(rne, &stored), Ok(Some(_)));
    if !deposited && scratch.contains(&principal.account, &stored) {
        return Node::Scratch {
            rne: rne.clone(),
            key: stored,
        };
    }
    let stored = if deposited {
        stored
    } else {
        same_name_any_case(store, rne, dir, &stored).unwrap_or(stored)
    };
    Node::File {
        rne: rne.clone(),
        stored,
    }
}

/// An existing file whose name differs from `stored` only in case: Windows and macOS, where
/// the crisis cell opens the tree, cannot hold both, so `PLAN.PDF` is a new version of
/// `plan.pdf`.
fn same_name_any_case(store: &Store, rne: &Rne, _dir: &str, stored: &str) -> Option<String> {
    store.find_any_case(rne, stored)
}
