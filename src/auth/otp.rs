//! One-time codes of the agents' tokens: TOTP (RFC 6238) through `totp-rs`, with per-agent
//! digits, period and algorithm, and the secret sealed at rest. Knows no database: the agent
//! store keeps the sealed secret and the last accepted step.
//!
//! Sealing uses ChaCha20-Poly1305 (RustCrypto's audited AEAD, constant-time in software, no
//! AES-NI needed) under a key derived from the server key with HMAC-SHA256; a fresh random
//! nonce per secret, and the agent id as associated data so that a sealed secret copied onto
//! another agent's row does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use super::server_key::ServerKey;

/// Bytes of a new token secret: 160 bits, what RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;
/// Steps of clock drift accepted on either side of the current one.
pub const DRIFT_STEPS: u64 = 1;
/// Issuer shown by authenticator apps.
pub const ISSUER: &str = "ppms-depot";
const NONCE_BYTES: usize = 12;
const SEALING_CONTEXT: &[u8] = b"ppms-depot totp-secret sealing v1";

/// The parameters of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpParams {
    /// 6 to 8.
    pub digits: u32,
    /// Seconds per step (30 on most tokens).
    pub period: u64,
    pub algorithm: OtpAlgorithm,
}

impl Default for OtpParams {
    fn default() -> OtpParams {
        OtpParams {
            digits: 6,
            period: 30,
            algorithm: OtpAlgorithm::Sha1,
        }
    }
}

/// The HMAC of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl OtpAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            OtpAlgorithm::Sha1 => "SHA1",
            OtpAlgorithm::Sha256 => "SHA256",
            OtpAlgorithm::Sha512 => "SHA512",
        }
    }

    pub fn parse(text: &str) -> Option<OtpAlgorithm> {
        match text.to_ascii_uppercase().replace('-', "").as_str() {
            "SHA1" => Some(OtpAlgorithm::Sha1),
            "SHA256" => Some(OtpAlgorithm::Sha256),
            "SHA512" => Some(OtpAlgorithm::Sha512),
            _ => None,
        }
    }

    fn totp(self) -> Algorithm {
        match self {
            OtpAlgorithm::Sha1 => Algorithm::SHA1,
            OtpAlgorithm::Sha256 => Algorithm::SHA256,
            OtpAlgorithm::Sha512 => Algorithm::SHA512,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OtpError {
    #[error("token parameters refused: {0}")]
    Params(String),
    #[error("the sealed token secret does not open (wrong server key or altered row)")]
    Unseal,
}

/// An agent's token, ready to compute and check codes.
pub struct Token {
    totp: TOTP,
    params: OtpParams,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("params", &self.params)
            .finish()
    }
}

impl Token {
    /// A token over `secret` (raw bytes) for `agent`, the name shown by authenticator apps.
    pub fn new(secret: Vec<u8>, params: OtpParams, agent: &str) -> Result<Token, OtpError> {
        if params.period == 0 {
            return Err(OtpError::Params("period 0".into()));
        }
        let totp = TOTP::new(
            params.algorithm.totp(),
            params.digits as usize,
            0,
            params.period,
            secret,
            Some(ISSUER.to_string()),
            agent.replace(':', "_"),
        )
        .map_err(|e| OtpError::Params(e.to_string()))?;
        Ok(Token { totp, params })
    }

    /// A token with a fresh random secret.
    pub fn generate(params: OtpParams, agent: &str) -> Result<Token, OtpError> {
        let mut secret = vec![0u8; SECRET_BYTES];
        rand::thread_rng().fill_bytes(&mut secret);
        Token::new(secret, params, agent)
    }

    pub fn params(&self) -> OtpParams {
        self.params
    }

    pub fn secret(&self) -> &[u8] {
        &self.totp.secret
    }

    /// The secret in base32 (what `oathtool -b` and the URI carry).
    pub fn secret_base32(&self) -> String {
        self.totp.get_secret_base32()
    }

    /// `otpauth://totp/ppms-depot:<agent>?secret=...` for authenticator apps.
    pub fn uri(&self) -> String {
        self.totp.get_url()
    }

    /// The time step of `time`.
    pub fn step_of(&self, time: u64) -> u64 {
        time / self.params.period
    }

    /// The code of time step `step`.
    pub fn code_for_step(&self, step: u64) -> String {
        self.totp.generate(step * self.params.period)
    }

    /// The code shown at `time`.
    pub fn code_at(&self, time: u64) -> String {
        self.totp.generate(time)
    }

    /// The step whose code `code` is, among the current one and [`DRIFT_STEPS`] around it,
    /// preferring the latest. Every candidate is compared in constant time.
    pub fn matching_step(&self, code: &str, now: u64) -> Option<u64> {
        let current = self.step_of(now);
        let first = current.saturating_sub(DRIFT_STEPS);
        let mut found = None;
        for step in first..=current + DRIFT_STEPS {
            let expected = self.code_for_step(step);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                found = Some(step);
            }
        }
        found
    }
}

/// Seals and opens token secrets under a key derived from the server key.
#[derive(Clone)]
pub struct SecretSealer {
    cipher: ChaCha20Poly1305,
}

impl SecretSealer {
    pub fn new(server_key: &ServerKey) -> SecretSealer {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&server_key.0)
            .expect("HMAC takes keys of any length");
        mac.update(SEALING_CONTEXT);
        let key = mac.finalize().into_bytes();
        SecretSealer {
            cipher: ChaCha20Poly1305::new(&key),
        }
    }

    /// `nonce || ciphertext+tag`, bound to `agent`.
    pub fn seal(&self, agent: &str, secret: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: agent.as_bytes(),
                },
            )
            .expect("sealing a short secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, agent: &str, sealed: &[u8]) -> Result<Vec<u8>, OtpError> {
        if sealed.len() <= NONCE_BYTES {
            return Err(OtpError::Unseal);
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: agent.as_bytes(),
                },
            )
            .map_err(|_| OtpError::Unseal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, 8 digits, secret "12345678901234567890".
    #[test]
    fn rfc6238_vectors() {
        let params = OtpParams {
            digits: 8,
            ..OtpParams::default()
        };
        let token = Token::new(b"12345678901234567890".to_vec(), params, "t").unwrap();
        assert_eq!(token.code_at(59), "94287082");
        assert_eq!(token.code_at(1_111_111_109), "07081804");
        assert_eq!(token.code_at(2_000_000_000), "69279037");
        let seed = b"12345678901234567890123456789012".to_vec();
        let sha256 = OtpParams {
            algorithm: OtpAlgorithm::Sha256,
            ..params
        };
        assert_eq!(
            Token::new(seed, sha256, "t").unwrap().code_at(59),
            "46119246"
        );
    }

    #[test]
    fn drift_is_one_step_and_no_more() {
        let token = Token::generate(OtpParams::default(), "jdupont").unwrap();
        let now = 1_800_000_015;
        let step = token.step_of(now);
        assert_eq!(token.matching_step(&token.code_at(now), now), Some(step));
        let before = token.code_for_step(step - 1);
        let after = token.code_for_step(step + 1);
        assert_eq!(token.matching_step(&before, now), Some(step - 1));
        assert_eq!(token.matching_step(&after, now), Some(step + 1));
        let far = token.code_for_step(step + 2);
        if far != token.code_for_step(step) && far != before && far != after {
            assert_eq!(token.matching_step(&far, now), None);
        }
        assert_eq!(token.matching_step("12345", now), None);
    }

    #[test]
    fn sealed_secret_opens_only_for_its_agent_and_key() {
        let sealer = SecretSealer::new(&ServerKey([3; 32]));
        let sealed = sealer.seal("jdupont", b"secret bytes here!!!");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            sealer.open("jdupont", &sealed).unwrap(),
            b"secret bytes here!!!"
        );
        assert!(sealer.open("mmartin", &sealed).is_err());
        let other = SecretSealer::new(&ServerKey([4; 32]));
        assert!(other.open("jdupont", &sealed).is_err());
    }

    #[test]
    fn uri_carries_the_parameters() {
        let params = OtpParams {
            digits: 8,
            period: 60,
            algorithm: OtpAlgorithm::Sha256,
        };
        let token = Token::generate(params, "jdupont").unwrap();
        let uri = token.uri();
        assert!(
            uri.starts_with("otpauth://totp/ppms-depot:jdupont?secret="),
            "{uri}"
        );
        for part in [
            "digits=8",
            "algorithm=SHA256",
            "period=60",
            "issuer=ppms-depot",
        ] {
            assert!(uri.contains(part), "{uri}");
        }
    }
}
