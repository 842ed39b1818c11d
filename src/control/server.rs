//! The control socket: a Unix stream socket speaking the JSON-lines
//! [protocol](super::protocol), forwarding each request to the daemon.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use super::link::{DaemonLink, Source};
use super::protocol::{MAX_LINE, Request, Response};

/// A client that sends nothing for this long is disconnected.
pub const CLIENT_IDLE: Duration = Duration::from_secs(10);
/// A client that does not read its response within this long is disconnected.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Clients served at once; more wait in the listen backlog.
const MAX_CLIENTS: usize = 16;

/// Why the control socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("cannot create {}: {source}", dir.display())]
    Directory { dir: PathBuf, source: io::Error },
    #[error("{} exists and is not a socket; not replacing it", path.display())]
    NotASocket { path: PathBuf },
    #[error("another vipd is already listening on {}", path.display())]
    InUse { path: PathBuf },
    #[error("cannot listen on {}: {source}", path.display())]
    Listen { path: PathBuf, source: io::Error },
}

/// The bound control socket. Dropping it removes the socket file (if it is
/// still the one we created).
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    /// (device, inode) of the socket file we created.
    file_id: (u64, u64),
}

impl ControlSocket {
    /// Creates the parent directory if needed, replaces a stale socket left
    /// by a vipd that died, listens, and restricts the socket to our user
    /// (mode 0600). Must be called within a tokio runtime.
    pub fn bind(path: &Path) -> Result<ControlSocket, BindError> {
        let listen_err = |source| BindError::Listen {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)
                .map_err(|source| BindError::Directory {
                    dir: dir.to_path_buf(),
                    source,
                })?;
        }
        remove_stale(path)?;
        let std_listener = std::os::unix::net::UnixListener::bind(path).map_err(listen_err)?;
        // connect(2) needs write permission on the socket: 0600 leaves it to
        // vipd's user (and root). Until this chmod the umask applies, which
        // grants no write permission to others either with the usual 022.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(listen_err)?;
        let meta = std::fs::metadata(path).map_err(listen_err)?;
        std_listener.set_nonblocking(true).map_err(listen_err)?;
        let listener = UnixListener::from_std(std_listener).map_err(listen_err)?;
        info!(path = %path.display(), "control socket listening");
        Ok(ControlSocket {
            listener,
            path: path.to_path_buf(),
            file_id: (meta.dev(), meta.ino()),
        })
    }

    /// Accepts clients until the task is dropped.
    pub async fn serve(self, link: DaemonLink) {
        let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    let link = link.clone();
                    tokio::spawn(async move {
                        serve_client(stream, link).await;
                        drop(slot);
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    warn!(error = %e, "control socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        // Only our own file: a vipd started since may have replaced it.
        let ours =
            std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.file_id);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A socket file nobody listens on is left by a vipd that was killed: remove
/// it. A live one means another vipd runs; anything else is not ours.
fn remove_stale(path: &Path) -> Result<(), BindError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(BindError::Listen {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if !meta.file_type().is_socket() {
        return Err(BindError::NotASocket {
            path: path.to_path_buf(),
        });
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(BindError::InUse {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            debug!(path = %path.display(), "removing a stale control socket");
            std::fs::remove_file(path).map_err(|source| BindError::Listen {
                path: path.to_path_buf(),
                source,
            })
        }
        Err(source) => Err(BindError::Listen {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Why no request line could be read.
enum ReadError {
    TooLong,
    Io(io::Error),
}

/// Reads one request line (without its `\n`), at most [`MAX_LINE`] bytes;
/// `None` at end of stream. A last line without `\n` counts.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> Result<Option<Vec<u8>>, ReadError> {
    let mut line = Vec::new();
    let limit = MAX_LINE as u64 + 1;
    let n = (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut line)
        .await
        .map_err(ReadError::Io)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if line.len() > MAX_LINE {
        return Err(ReadError::TooLong);
    }
    Ok(Some(line))
}

async fn serve_client(stream: UnixStream, link: DaemonLink) {
    let client = stream
        .peer_cred()
        .map(|c| format!("uid {} pid {}", c.uid(), c.pid().unwrap_or(0)))
        .unwrap_or_else(|_| "unknown".into());
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let line = match tokio::time::timeout(CLIENT_IDLE, read_line(&mut reader)).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => return,
            Ok(Err(ReadError::TooLong)) => {
                let response = Response::error(format!(
                    "request longer than {MAX_LINE} bytes; closing the connection"
                ));
                let _ = send(&mut write, &response).await;
                warn!(%client, "control client sent an over-long line");
                return;
            }
            Ok(Err(ReadError::Io(e))) => {
                debug!(%client, error = %e, "control client: read failed");
                return;
            }
            Err(_) => {
                debug!(%client, "control client idle: closing");
                return;
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let response = match Request::parse(&line) {
            Ok(request) => {
                debug!(%client, command = request.command(), "control request");
                link.serve(request, Source::Socket).await
            }
            Err(e) => Response::error(e),
        };
        if let Err(e) = send(&mut write, &response).await {
            debug!(%client, error = %e, "control client: write failed");
            return;
        }
    }
}

async fn send<W: tokio::io::AsyncWrite + Unpin>(
    write: &mut W,
    response: &Response,
) -> io::Result<()> {
    let line = response.to_line();
    tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&line))
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}
