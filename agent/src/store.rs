//! Persistence in `data_dir` (0700): the agent SVID (`agent_svid.pem` chain,
//! `agent_svid.key` PKCS#8 PEM, 0600) and the bundle (`bundle.pb`, the `types.v1.Bundle`
//! with sequence and taint marks, plus `bundle.pem` for people and tools). Every file is
//! written atomically: a 0600 temp file, synced, then renamed.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use prost::Message;
use tessera_proto::wire::tessera::types::v1::{Bundle, X509Authority};
use zeroize::Zeroizing;

use crate::x509::{SvidWithKey, X509Error};

const SVID_FILE: &str = "agent_svid.pem";
const KEY_FILE: &str = "agent_svid.key";
const BUNDLE_FILE: &str = "bundle.pb";
const BUNDLE_PEM_FILE: &str = "bundle.pem";

/// A persisted file could not be read, parsed or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error on a file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The data directory is unsafe (group- or world-writable) or could not be prepared.
    #[error(transparent)]
    Dir(#[from] tessera_proto::private_dir::PrivateDirError),
    /// A file exists but its content is unusable.
    #[error("{path} is corrupted ({reason}); delete it to start over")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The agent's data directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens (creating it 0700 if needed) the data directory; refuses one that is group- or
    /// world-writable, tightens one readable by others, and makes every file in it 0600.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        tessera_proto::private_dir::prepare(dir)?;
        tessera_proto::private_dir::tighten_tree(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The persisted agent SVID, if both files exist.
    pub fn load_agent_svid(&self) -> Result<Option<SvidWithKey>, StoreError> {
        let cert_path = self.dir.join(SVID_FILE);
        let key_path = self.dir.join(KEY_FILE);
        let (Some(certs), Some(key)) = (read_optional(&cert_path)?, read_optional(&key_path)?)
        else {
            return Ok(None);
        };
        let corrupt = |path: &Path, reason: String| StoreError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let blocks = pem::parse_many(&certs).map_err(|e| corrupt(&cert_path, e.to_string()))?;
        let chain: Vec<Vec<u8>> = blocks
            .into_iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(pem::Pem::into_contents)
            .collect();
        if chain.is_empty() {
            return Err(corrupt(&cert_path, "no CERTIFICATE block".into()));
        }
        let key = Zeroizing::new(key);
        let key_pem = pem::parse(key.as_slice()).map_err(|e| corrupt(&key_path, e.to_string()))?;
        if key_pem.tag() != "PRIVATE KEY" {
            return Err(corrupt(&key_path, "expected a PKCS#8 PRIVATE KEY".into()));
        }
        let key_der = Zeroizing::new(key_pem.into_contents());
        let spki = public_key_of(&key_der).map_err(|e| corrupt(&key_path, e.to_string()))?;
        SvidWithKey::from_parts(chain, key_der, Some(&spki))
            .map(Some)
            .map_err(|e| corrupt(&cert_path, e.to_string()))
    }

    /// Persists the agent SVID (key 0600, both files atomically).
    pub fn save_agent_svid(&self, svid: &SvidWithKey) -> Result<(), StoreError> {
        let key_pem = Zeroizing::new(pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            svid.private_key_pkcs8.to_vec(),
        )));
        write_atomic(&self.dir.join(KEY_FILE), key_pem.as_bytes())?;
        write_atomic(
            &self.dir.join(SVID_FILE),
            certs_pem(&svid.cert_chain).as_bytes(),
        )
    }

    /// Forgets the agent SVID (after eviction).
    pub fn clear_agent_svid(&self) -> Result<(), StoreError> {
        for name in [SVID_FILE, KEY_FILE] {
            let path = self.dir.join(name);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(StoreError::Io { path, source }),
            }
        }
        Ok(())
    }

    /// The persisted bundle, if any.
    pub fn load_bundle(&self) -> Result<Option<Bundle>, StoreError> {
        let path = self.dir.join(BUNDLE_FILE);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };
        let bundle = Bundle::decode(bytes.as_slice()).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if bundle.x509_authorities.is_empty() {
            return Err(StoreError::Corrupt {
                path,
                reason: "the bundle has no X.509 authority".into(),
            });
        }
        Ok(Some(bundle))
    }

    /// Persists the bundle (`bundle.pb`, then `bundle.pem`).
    pub fn save_bundle(&self, bundle: &Bundle) -> Result<(), StoreError> {
        write_atomic(&self.dir.join(BUNDLE_FILE), &bundle.encode_to_vec())?;
        let certs: Vec<Vec<u8>> = bundle
            .x509_authorities
            .iter()
            .map(|a| a.asn1.clone())
            .collect();
        write_atomic(
            &self.dir.join(BUNDLE_PEM_FILE),
            certs_pem(&certs).as_bytes(),
        )
    }
}

/// Reads a PEM bundle (`tessera-server bundle show` output) as a bundle of `trust_domain`.
pub fn load_pem_bundle(path: &Path, trust_domain: &str) -> Result<Bundle, StoreError> {
    let bytes = read_optional(path)?.ok_or_else(|| StoreError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
    })?;
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let blocks = pem::parse_many(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let mut x509_authorities = Vec::new();
    for block in blocks.into_iter().filter(|b| b.tag() == "CERTIFICATE") {
        let der = block.into_contents();
        crate::x509::LeafFacts::parse(&der).map_err(|e| corrupt(e.to_string()))?;
        x509_authorities.push(X509Authority {
            asn1: der,
            tainted: false,
        });
    }
    if x509_authorities.is_empty() {
        return Err(corrupt("no CERTIFICATE block".into()));
    }
    Ok(Bundle {
        trust_domain: trust_domain.to_owned(),
        x509_authorities,
        ..Bundle::default()
    })
}

fn public_key_of(pkcs8: &[u8]) -> Result<Vec<u8>, X509Error> {
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8);
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| X509Error::Crypto(format!("not an EC P-256 PKCS#8 key: {e}")))?;
    Ok(rcgen::PublicKeyData::subject_public_key_info(&key))
}

fn certs_pem(chain: &[Vec<u8>]) -> String {
    chain
        .iter()
        .map(|der| pem::encode(&pem::Pem::new("CERTIFICATE", der.clone())))
        .collect()
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes `bytes` to `path` through a 0600 temp file in the same directory and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| StoreError::Io { path: p, source }
    };
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(source) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
