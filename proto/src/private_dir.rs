//! Private data directories (the server's and the agent's `data_dir`): created 0700 whatever
//! the umask, refused when group- or world-writable (someone else could plant or swap files),
//! tightened to 0700 when merely readable by others (older installs), and every file in them
//! 0600 ([`tighten_tree`]). Daemons also call [`restrict_umask`] at start so files created
//! later (sled snapshots, logs) are born private.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of a private directory.
pub const DIR_MODE: u32 = 0o700;
/// Mode of a file in a private directory.
pub const FILE_MODE: u32 = 0o600;

/// Why a private directory could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivateDirError {
    /// Creating, inspecting or changing the mode of `path` failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `path` exists and is not a directory.
    #[error("{path} exists and is not a directory")]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// `path` is writable by its group or by everyone: refused rather than repaired, since
    /// another user may already have placed files in it.
    #[error(
        "{path} is group- or world-writable (mode {mode:04o}); refusing to use it: make it \
         0700 and owned by this user"
    )]
    Writable {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PrivateDirError + '_ {
    move |source| PrivateDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (and missing parents) with mode 0700, or checks an existing one: refused
/// when group- or world-writable, tightened to 0700 when readable or searchable by others.
pub fn prepare(dir: &Path) -> Result<(), PrivateDirError> {
    let created = match std::fs::metadata(dir) {
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)
                .map_err(io(dir))?;
            true
        }
        Err(e) => return Err(io(dir)(e)),
    };
    let meta = std::fs::metadata(dir).map_err(io(dir))?;
    if !meta.is_dir() {
        return Err(PrivateDirError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if !created && mode & 0o022 != 0 {
        return Err(PrivateDirError::Writable {
            path: dir.to_path_buf(),
            mode,
        });
    }
    if mode & 0o7777 != DIR_MODE {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
            .map_err(io(dir))?;
    }
    Ok(())
}

/// Sets every regular file under `dir` to 0600 and every directory to 0700 (recursively;
/// symbolic links and sockets are left alone). For files an embedded database created
/// before [`restrict_umask`] was in force.
pub fn tighten_tree(dir: &Path) -> Result<(), PrivateDirError> {
    let entries = std::fs::read_dir(dir).map_err(io(dir))?;
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
        let want = if meta.is_dir() {
            tighten_tree(&path)?;
            DIR_MODE
        } else if meta.is_file() {
            FILE_MODE
        } else {
            continue;
        };
        if meta.permissions().mode() & 0o7777 != want {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(want))
                .map_err(io(&path))?;
        }
    }
    Ok(())
}

/// Sets the process umask to 077 so every file and directory created from now on is
/// private to this user unless its mode is set explicitly afterwards. Call once at start,
/// before threads are spawned (the umask is process-wide).
pub fn restrict_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_directory_is_0700_and_an_open_one_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn a_writable_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in [0o777, 0o770, 0o702, 0o1777] {
            std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(bad)).unwrap();
            let err = prepare(tmp.path()).unwrap_err();
            assert!(
                matches!(err, PrivateDirError::Writable { mode, .. } if mode == bad),
                "{bad:o}: {err}"
            );
        }
        let file = tmp.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(
            prepare(&file).unwrap_err(),
            PrivateDirError::NotADirectory { .. }
        ));
    }

    #[test]
    fn tighten_tree_fixes_files_and_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let sub = tmp.path().join("blobs");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
        for f in [tmp.path().join("db"), sub.join("1")] {
            std::fs::write(&f, b"x").unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        tighten_tree(tmp.path()).unwrap();
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(mode(&tmp.path().join("db")), 0o600);
        assert_eq!(mode(&sub.join("1")), 0o600);
    }
}
