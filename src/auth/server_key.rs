//! The server's secret: keys mount-key hashes, so a stolen database alone verifies nothing.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rand::RngCore;

/// 32 secret bytes.
#[derive(Clone)]
pub struct ServerKey(pub(crate) [u8; 32]);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

impl ServerKey {
    /// From 64 hex characters (the `server_key` config value).
    pub fn from_hex(text: &str) -> Result<ServerKey, String> {
        let bytes = hex::decode(text.trim()).map_err(|e| format!("server key: {e}"))?;
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "server key: expected 64 hex characters".to_string())?;
        Ok(ServerKey(array))
    }
}

/// Reads the key file, or creates it (mode 0600) with fresh random bytes.
pub fn load_or_create(path: &Path) -> std::io::Result<ServerKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => ServerKey::from_hex(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut key = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
            file.write_all(hex::encode(key).as_bytes())?;
            file.sync_all()?;
            Ok(ServerKey(key))
        }
        Err(err) => Err(err),
    }
}
