//! The public Workload API socket: bound safely, open to every local user (authorization is
//! by attestation, as for SPIRE's public socket), each accepted stream tagged with its
//! caller.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};

use tokio::sync::{Semaphore, mpsc};
use tokio_stream::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::conn::WorkloadConn;
use super::h2fix::AuthorityRewrite;
use crate::attestor::workload::{Caller, ProcFs, StartTimes};

/// Mode of a socket directory this code creates: everyone may traverse it.
const DIR_MODE: u32 = 0o755;
/// Mode of the socket: every local user may connect.
const SOCKET_MODE: u32 = 0o777;

/// A bound Workload API socket. Dropping it does not remove the file; call
/// [`BoundSocket::into_parts`] and [`SocketFile::remove`].
#[derive(Debug)]
pub struct BoundSocket {
    listener: UnixListener,
    path: PathBuf,
    /// `(dev, ino)` of the socket file we created, so we only ever remove our own.
    id: (u64, u64),
}

impl BoundSocket {
    /// Binds `path`: creates a missing parent directory (0755), replaces a stale socket file
    /// (no one answering), refuses a live socket or a file that is not a socket, and makes the
    /// socket connectable by every user (0777).
    pub async fn bind(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)?;
            // The agent runs with umask 077: set the mode explicitly.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) => {
                if !meta.file_type().is_socket() {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!(
                            "{} exists and is not a socket; refusing to replace it",
                            path.display()
                        ),
                    ));
                }
                if UnixStream::connect(path).await.is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("{} is in use by a running process", path.display()),
                    ));
                }
                std::fs::remove_file(path)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))?;
        let meta = std::fs::symlink_metadata(path)?;
        Ok(Self {
            listener,
            path: path.to_path_buf(),
            id: (meta.dev(), meta.ino()),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Splits into the listener and a guard that removes the socket file.
    pub fn into_parts(self) -> (UnixListener, SocketFile) {
        (
            self.listener,
            SocketFile {
                path: self.path,
                id: self.id,
            },
        )
    }
}

/// The socket file this process created.
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    id: (u64, u64),
}

impl SocketFile {
    /// Removes the socket file if it is still the one we bound (another process may have
    /// replaced it since).
    pub fn remove(self) {
        match std::fs::symlink_metadata(&self.path) {
            Ok(meta) if (meta.dev(), meta.ino()) == self.id => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    tracing::warn!(path = %self.path.display(), error = %e, "removing the Workload API socket");
                }
            }
            _ => {}
        }
    }
}

/// The caller behind a Unix stream, pinned now: its peer credentials (`SO_PEERCRED`, fixed
/// when it connected) and the start time of its PID read at accept, so a later call can tell
/// whether the PID still names the process that connected. `None` when the credentials are
/// unreadable or the process is already gone.
pub fn peer_caller(stream: &UnixStream) -> Option<Caller> {
    let cred = match stream.peer_cred() {
        Ok(cred) => cred,
        Err(e) => {
            tracing::warn!(error = %e, "reading the Workload API peer credentials");
            return None;
        }
    };
    let pid = cred.pid()?;
    match ProcFs::new("/").start_time(pid) {
        Ok(Some(start_time)) => Some(Caller {
            pid,
            uid: cred.uid(),
            gid: cred.gid(),
            start_time,
        }),
        Ok(None) => {
            tracing::debug!(pid, "the Workload API caller exited before it was accepted");
            None
        }
        Err(e) => {
            tracing::warn!(pid, error = %e, "reading the Workload API caller's start time");
            None
        }
    }
}

/// Tags an accepted stream with its caller. The one place a connection layer (e.g. an
/// HTTP/2 fix-up) goes in: wrap `stream` before handing it to [`WorkloadConn::new`].
pub fn accept_conn(stream: UnixStream) -> WorkloadConn<AuthorityRewrite<UnixStream>> {
    let caller = peer_caller(&stream);
    WorkloadConn::new(AuthorityRewrite::new(stream), caller)
}

/// The accepted connections of `listener`, as tonic's incoming stream: at most
/// `max_connections` at once (the accept loop waits for a slot; further clients queue in the
/// socket backlog), and accept errors (EMFILE, ENFILE, …) back off instead of spinning.
pub fn incoming(
    listener: UnixListener,
    max_connections: usize,
) -> impl Stream<Item = io::Result<WorkloadConn<AuthorityRewrite<UnixStream>>>> + Send + 'static {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(accept_loop(listener, max_connections, tx));
    ReceiverStream::new(rx).map(Ok)
}

/// First pause after a failed accept; doubled per consecutive failure up to
/// [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest pause between accept attempts after failures.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

async fn accept_loop(
    listener: UnixListener,
    max_connections: usize,
    tx: mpsc::Sender<WorkloadConn<AuthorityRewrite<UnixStream>>>,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        let permit = tokio::select! {
            () = tx.closed() => return,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            () = tx.closed() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                backoff = ACCEPT_BACKOFF_MIN;
                if tx
                    .send(accept_conn(stream).with_permit(permit))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                drop(permit);
                tracing::warn!(error = %e, pause = ?backoff, "Workload API accept failed");
                tokio::select! {
                    () = tx.closed() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
            }
        }
    }
}
