//! This replica's `server_id`: from the config, else a random ID created once and kept in
//! `<data_dir>/server_id`, so a restart keeps its CA journal.

use std::io::Write as _;
use std::path::Path;

/// What a server ID may be.
pub const RULE: &str = "must be 1 to 64 characters of A-Z a-z 0-9 . _ -";

/// The file under `data_dir` that keeps a generated ID.
const FILE: &str = "server_id";

/// The ID every server had before it was configurable.
const LEGACY: &str = "default";

/// The sled store's folder under `data_dir`.
const LEGACY_SLED_DIR: &str = "datastore";

/// Whether `id` follows [`RULE`].
pub fn valid(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Why the server ID could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerIdError {
    /// Reading or writing `<data_dir>/server_id` failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file holds something that is not a server ID.
    #[error("{path} does not hold a server ID ({RULE})")]
    Invalid {
        /// The file.
        path: String,
    },
    /// The random generator failed.
    #[error("generating a server ID failed")]
    Random,
}

/// The configured ID, else the one kept in `data_dir`, else a new one (kept there): random,
/// or `default` when `data_dir` already holds a sled store from before server IDs.
/// Two processes creating it at once agree: the file is created exclusively and the
/// loser reads the winner's.
pub fn resolve(configured: Option<&str>, data_dir: &Path) -> Result<String, ServerIdError> {
    if let Some(id) = configured {
        return Ok(id.to_owned());
    }
    let path = data_dir.join(FILE);
    let shown = path.display().to_string();
    let io = |source| ServerIdError::Io {
        path: shown.clone(),
        source,
    };
    let read = |path: &Path| -> Result<String, ServerIdError> {
        let text = std::fs::read_to_string(path).map_err(io)?;
        let id = text.trim();
        if valid(id) {
            Ok(id.to_owned())
        } else {
            Err(ServerIdError::Invalid {
                path: shown.clone(),
            })
        }
    };
    if path.exists() {
        return read(&path);
    }
    // A sled store made before server IDs existed keeps its CA journal under "default".
    let id = if data_dir.join(LEGACY_SLED_DIR).exists() {
        LEGACY.to_owned()
    } else {
        let mut random = [0u8; 8];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| ServerIdError::Random)?;
        format!("srv-{}", hex::encode(random))
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut file) => {
            file.write_all(format!("{id}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(io)?;
            Ok(id)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_id_is_kept_and_a_configured_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let first = resolve(None, dir.path()).unwrap();
        assert!(valid(&first), "{first}");
        assert_eq!(resolve(None, dir.path()).unwrap(), first);
        assert_eq!(resolve(Some("r1"), dir.path()).unwrap(), "r1");
        let other = tempfile::tempdir().unwrap();
        assert_ne!(resolve(None, other.path()).unwrap(), first);
        std::fs::write(dir.path().join(FILE), "bad id!\n").unwrap();
        assert!(matches!(
            resolve(None, dir.path()),
            Err(ServerIdError::Invalid { .. })
        ));
    }

    #[test]
    fn an_existing_sled_store_keeps_the_default_id() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(LEGACY_SLED_DIR)).unwrap();
        assert_eq!(resolve(None, dir.path()).unwrap(), "default");
        assert_eq!(resolve(None, dir.path()).unwrap(), "default");
    }

    #[test]
    fn the_rule_is_enforced() {
        for ok in ["r1", "default", "a.b_c-D9"] {
            assert!(valid(ok), "{ok}");
        }
        for bad in ["", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(!valid(bad), "{bad}");
        }
    }
}
