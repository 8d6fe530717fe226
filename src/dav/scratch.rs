//! Session scratch space: desktop junk (`._*`, `.DS_Store`, ...) and the empty placeholders
//! some clients create before the real upload (Windows' 0-byte PUT, a LOCK on a new name).
//! Kept in memory per account, bounded, forgotten after a while; never a deposit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// Content kept per scratch file; more is accepted and dropped (an AppleDouble `._` file is
/// about 4 KiB, a `.DS_Store` a few KiB).
pub const MAX_SCRATCH_FILE_BYTES: usize = 16 * 1024;
/// Content kept per account, all files together; the oldest files go first.
const MAX_SCRATCH_BYTES_PER_ACCOUNT: usize = 1024 * 1024;
/// Scratch files kept per account; the oldest goes first.
const MAX_SCRATCH_FILES_PER_ACCOUNT: usize = 256;
/// How long a scratch file is remembered: longer than any client's copy sequence.
const SCRATCH_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct ScratchFile {
    pub content: Vec<u8>,
    pub modified: SystemTime,
    touched: Instant,
}

/// All accounts' scratch files.
#[derive(Debug, Default)]
pub struct Scratch {
    files: Mutex<HashMap<String, HashMap<String, ScratchFile>>>,
}

impl Scratch {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, ScratchFile>>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn contains(&self, account: &str, key: &str) -> bool {
        self.get(account, key).is_some()
    }

    pub fn get(&self, account: &str, key: &str) -> Option<ScratchFile> {
        let files = self.lock();
        let file = files.get(account)?.get(key)?;
        (file.touched.elapsed() < SCRATCH_TTL).then(|| file.clone())
    }

    /// Stores (or replaces) a scratch file, truncated to [`MAX_SCRATCH_FILE_BYTES`].
    pub fn put(&self, account: &str, key: &str, mut content: Vec<u8>) {
        content.truncate(MAX_SCRATCH_FILE_BYTES);
        let mut files = self.lock();
        let own = files.entry(account.to_string()).or_default();
        own.retain(|_, f| f.touched.elapsed() < SCRATCH_TTL);
        own.remove(key);
        loop {
            let total: usize = own.values().map(|f| f.content.len()).sum();
            let full = own.len() >= MAX_SCRATCH_FILES_PER_ACCOUNT
                || total + content.len() > MAX_SCRATCH_BYTES_PER_ACCOUNT;
            let oldest = own
                .iter()
                .min_by_key(|(_, f)| f.touched)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(oldest) if full => own.remove(&oldest),
                _ => break,
            };
        }
        own.insert(
            key.to_string(),
            ScratchFile {
                content,
                modified: SystemTime::now(),
                touched: Instant::now(),
            },
        );
    }

    pub fn remove(&self, account: &str, key: &str) {
        if let Some(own) = self.lock().get_mut(account) {
            own.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_account_bounded_and_truncated() {
        let scratch = Scratch::default();
        scratch.put("a", "._x", vec![1; MAX_SCRATCH_FILE_BYTES + 10]);
        assert_eq!(
            scratch.get("a", "._x").unwrap().content.len(),
            MAX_SCRATCH_FILE_BYTES
        );
        assert!(scratch.get("b", "._x").is_none());
        for i in 0..MAX_SCRATCH_FILES_PER_ACCOUNT + 5 {
            scratch.put("a", &format!("k{i}"), vec![]);
        }
        assert!(scratch.lock()["a"].len() <= MAX_SCRATCH_FILES_PER_ACCOUNT);
        for i in 0..100 {
            scratch.put("c", &format!("big{i}"), vec![0; MAX_SCRATCH_FILE_BYTES]);
        }
        let total: usize = scratch.lock()["c"].values().map(|f| f.content.len()).sum();
        assert!(total <= MAX_SCRATCH_BYTES_PER_ACCOUNT);
        assert!(scratch.contains("c", "big99"));
        assert!(scratch.contains("a", &format!("k{}", MAX_SCRATCH_FILES_PER_ACCOUNT + 4)));
        scratch.remove("a", "k300");
        assert!(!scratch.contains("a", "k300"));
    }
}
