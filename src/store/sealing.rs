//! Secrets at rest: seller credentials are stored sealed (XChaCha20-Poly1305, a random nonce per
//! value), so the database alone does not give them away. The key derives from the service key
//! (`TRACKING_SECRET`, else the one generated into DATA_DIR/tracking-secret on SQLite), which is
//! never kept in the database.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("a sealed value does not open with this service's key (was TRACKING_SECRET changed?)")]
    WrongKeyOrDamaged,
    #[error("a sealed value is not well-formed")]
    Malformed,
}

pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer { key: <redacted> }")
    }
}

impl Sealer {
    pub fn new(key: [u8; 32]) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// `sealed:v1:` and the hex of nonce and ciphertext.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        // Encryption into a Vec only fails on lengths far beyond any credential.
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plain.as_bytes())
            .unwrap_or_default();
        format!("{PREFIX}{}{}", hex::encode(nonce), hex::encode(sealed))
    }

    /// The value [`Sealer::seal`] sealed. A stored value without the prefix is one written before
    /// sealing existed and is returned as it is (see [`is_sealed`]).
    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bytes = hex::decode(body).map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| SealError::WrongKeyOrDamaged)?;
        String::from_utf8(plain).map_err(|_| SealError::Malformed)
    }
}

/// Whether a stored value is sealed (not a plain value from before sealing).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_intact() {
        let s = Sealer::new([7; 32]);
        let sealed = s.seal("tok_live_123");
        assert!(is_sealed(&sealed) && !sealed.contains("tok_live_123"));
        assert_ne!(sealed, s.seal("tok_live_123"), "a fresh nonce each time");
        assert_eq!(s.open(&sealed).unwrap(), "tok_live_123");
        assert_eq!(
            Sealer::new([8; 32]).open(&sealed),
            Err(SealError::WrongKeyOrDamaged)
        );
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            s.open(std::str::from_utf8(&tampered).unwrap()),
            Err(SealError::WrongKeyOrDamaged)
        );
        assert_eq!(s.open("sealed:v1:zz"), Err(SealError::Malformed));
        assert_eq!(s.open("sealed:v1:00"), Err(SealError::Malformed));
        assert_eq!(s.open("legacy-plain").unwrap(), "legacy-plain");
    }
}
