//! What the WebDAV face knows of one request: the principal, the actor for the audit trail,
//! the method, and a slot where the file system leaves the reason of a refusal so the server
//! can answer it in words (the crate's errors carry only a status).

use std::sync::{Arc, Mutex};

use crate::auth::Principal;
use crate::deposit::Actor;

/// Why the file system refused, as the client will read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The status the response must carry (it may differ from the crate's mapping: 415).
    pub status: u16,
    /// French sentence for the user.
    pub message: String,
}

/// The credentials value handed to the file system with every call of one request.
#[derive(Clone, Debug)]
pub struct DavContext {
    pub principal: Arc<Principal>,
    pub actor: Arc<Actor>,
    pub method: http::Method,
    denial: Arc<Mutex<Option<Denial>>>,
    /// Path, relative to the school folder, of what this request deposited.
    stored: Arc<Mutex<Option<String>>>,
}

impl DavContext {
    pub fn new(principal: Principal, actor: Actor, method: http::Method) -> DavContext {
        DavContext {
            principal: Arc::new(principal),
            actor: Arc::new(actor),
            method,
            denial: Arc::default(),
            stored: Arc::default(),
        }
    }

    /// Remembers the first refusal of the request.
    pub fn deny(&self, status: u16, message: impl Into<String>) {
        let mut slot = self.denial.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(Denial {
                status,
                message: message.into(),
            });
        }
    }

    /// Remembers where the request's deposit was stored.
    pub fn note_stored(&self, rel: &str) {
        *self.stored.lock().unwrap_or_else(|e| e.into_inner()) = Some(rel.to_string());
    }

    pub fn stored(&self) -> Option<String> {
        self.stored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn denial(&self) -> Option<Denial> {
        self.denial
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
