//! Private keys at rest: sealed with AES-256-GCM under an operator-provided key file.
//!
//! The seal key file holds 32 random bytes, hex-encoded, mode 0600. It is created on the
//! very first start only (no CA data yet); afterwards a missing, unreadable, malformed or
//! wrong key refuses start-up instead of minting a new root over existing data.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::CaError;

const KEY_LEN: usize = 32;

/// A private key sealed for storage.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedKey {
    /// Hex nonce.
    pub nonce: String,
    /// Hex ciphertext with tag.
    pub ciphertext: String,
}

impl fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedKey(<sealed>)")
    }
}

/// Seals and unseals key material.
pub struct Sealer {
    key: LessSafeKey,
    path: PathBuf,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// Loads the seal key from `path`; creates it (0600) only when `may_create` and it does
    /// not exist.
    pub fn open(path: &Path, may_create: bool) -> Result<Self, CaError> {
        let shown = path.display();
        let text = match fs::read_to_string(path) {
            Ok(text) => Zeroizing::new(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => {
                return Self::create(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CaError::SealKey(format!(
                    "{shown} is missing but the datastore already holds CA keys sealed with it; \
                     restore the file (refusing to mint a new root over existing data)"
                )));
            }
            Err(e) => return Err(CaError::SealKey(format!("cannot read {shown}: {e}"))),
        };
        let mode = fs::metadata(path)
            .map_err(|e| CaError::SealKey(format!("cannot stat {shown}: {e}")))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(CaError::SealKey(format!(
                "{shown} is accessible by group or others (mode {:o}); chmod 600 it",
                mode & 0o777
            )));
        }
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| {
            CaError::SealKey(format!(
                "{shown} is corrupted: expected {KEY_LEN} hex-encoded bytes"
            ))
        })?);
        if bytes.len() != KEY_LEN {
            return Err(CaError::SealKey(format!(
                "{shown} is corrupted: expected {KEY_LEN} bytes, found {}",
                bytes.len()
            )));
        }
        Self::from_bytes(&bytes, path)
    }

    fn create(path: &Path) -> Result<Self, CaError> {
        let shown = path.display();
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .map_err(|e| CaError::SealKey(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        aws_lc_rs::rand::fill(bytes.as_mut())
            .map_err(|_| CaError::Crypto("random generation failed".into()))?;
        let encoded = Zeroizing::new(hex::encode(bytes.as_ref()));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| CaError::SealKey(format!("cannot create {shown}: {e}")))?;
        file.write_all(encoded.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| CaError::SealKey(format!("cannot write {shown}: {e}")))?;
        tracing::info!(path = %shown, "created a new seal key for CA private keys");
        Self::from_bytes(bytes.as_ref(), path)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, CaError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| CaError::Crypto("bad AES-256-GCM key".into()))?;
        Ok(Self {
            key: LessSafeKey::new(key),
            path: path.to_path_buf(),
        })
    }

    /// Seals `plaintext`, binding it to `context` (e.g. the authority ID).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<SealedKey, CaError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| CaError::Crypto("random generation failed".into()))?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| CaError::Crypto("sealing failed".into()))?;
        Ok(SealedKey {
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(buf),
        })
    }

    /// Unseals a key sealed with [`Sealer::seal`] under the same `context`.
    pub fn unseal(&self, sealed: &SealedKey, context: &str) -> Result<Zeroizing<Vec<u8>>, CaError> {
        let wrong = || {
            CaError::SealKey(format!(
                "{} does not open the stored key of authority {context}: wrong or replaced seal key, \
                 or corrupted data",
                self.path.display()
            ))
        };
        let nonce: [u8; NONCE_LEN] = hex::decode(&sealed.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(wrong)?;
        let mut buf = Zeroizing::new(hex::decode(&sealed.ciphertext).map_err(|_| wrong())?);
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                buf.as_mut_slice(),
            )
            .map_err(|_| wrong())?;
        Ok(Zeroizing::new(plain.to_vec()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_binds_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seal.key");
        let sealer = Sealer::open(&path, true).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let sealed = sealer.seal(b"secret key", "a1").unwrap();
        assert!(!sealed.ciphertext.contains(&hex::encode(b"secret key")));
        assert_eq!(
            sealer.unseal(&sealed, "a1").unwrap().as_slice(),
            b"secret key"
        );
        // Bound to its authority: another authority's context does not open it.
        let err = sealer.unseal(&sealed, "a2").unwrap_err().to_string();
        assert!(
            err.contains("does not open the stored key of authority a2"),
            "{err}"
        );
        let reopened = Sealer::open(&path, false).unwrap();
        assert_eq!(
            reopened.unseal(&sealed, "a1").unwrap().as_slice(),
            b"secret key"
        );
    }

    #[test]
    fn missing_corrupted_open_or_other_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seal.key");
        let err = Sealer::open(&path, false).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");

        fs::write(&path, "zz").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let err = Sealer::open(&path, true).unwrap_err().to_string();
        assert!(err.contains("corrupted"), "{err}");

        fs::write(&path, hex::encode([7u8; 32])).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = Sealer::open(&path, true).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");

        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let other = Sealer::open(&path, false).unwrap();
        let mine = Sealer::open(&dir.path().join("mine.key"), true).unwrap();
        let sealed = mine.seal(b"k", "id").unwrap();
        let err = other.unseal(&sealed, "id").unwrap_err().to_string();
        assert!(err.contains("wrong or replaced"), "{err}");
    }
}
