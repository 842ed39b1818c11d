//! The client side of the control socket: what `vipd status`, `vipd drain`,
//! `vipd undrain`, `vipd reload` and `vipd lease` do. Blocking: one request, one answer.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::protocol::{LeaseRequest, Request, Response, Status, Targets};
use super::render;
use crate::config::{self, ConfigErrors, DEFAULT_CONTROL_SOCKET};

/// How long to wait for an answer; a reload may stop sessions first.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest answer read (a status of thousands of VIPs is a few MiB).
const MAX_ANSWER: u64 = 64 << 20;

/// Why a command failed; [`CliError::exit_code`] says how.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot reach the daemon at {}: {}", path.display(), unreachable_reason(error))]
    Unreachable { path: PathBuf, error: io::Error },
    #[error("{0}")]
    Refused(String),
    #[error("the new config has errors; the running config stays:\n{}", .0.join("\n"))]
    ReloadRefused(Vec<String>),
    #[error("{0}")]
    Config(ConfigErrors),
    #[error("{0} has no control socket (control_socket is off)")]
    NoSocket(String),
    #[error("talking to the daemon at {}: {message}", path.display())]
    Protocol { path: PathBuf, message: String },
}

impl CliError {
    /// 1: the daemon refused; 2: a config file has errors (as `vipd check`);
    /// 3: the daemon cannot be reached (not running?).
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Refused(_) | CliError::Protocol { .. } => 1,
            CliError::ReloadRefused(_) | CliError::Config(_) | CliError::NoSocket(_) => 2,
            CliError::Unreachable { .. } => 3,
        }
    }
}

/// The reason without Rust's `(os error N)`, and a hint.
fn unreachable_reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "No such file or directory (is vipd running?)".into(),
        io::ErrorKind::ConnectionRefused => "Connection refused (is vipd running?)".into(),
        io::ErrorKind::PermissionDenied => {
            "Permission denied (the socket is for vipd's user and root only)".into()
        }
        _ => error.to_string(),
    }
}

/// `--socket PATH`, else the `control_socket` of `--config FILE`, else the default.
pub fn socket_path(socket: Option<PathBuf>, config: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(socket) = socket {
        return Ok(socket);
    }
    match config {
        Some(file) => config::load(file)
            .map_err(CliError::Config)?
            .speaker
            .control_socket
            .ok_or_else(|| CliError::NoSocket(file.display().to_string())),
        None => Ok(PathBuf::from(DEFAULT_CONTROL_SOCKET)),
    }
}

/// Sends one request and returns the daemon's answer if it is a success.
pub fn request(socket: &Path, request: &Request) -> Result<Response, CliError> {
    let unreachable = |error| CliError::Unreachable {
        path: socket.to_path_buf(),
        error,
    };
    let protocol = |message: String| CliError::Protocol {
        path: socket.to_path_buf(),
        message,
    };
    let mut stream = UnixStream::connect(socket).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(ANSWER_TIMEOUT)))
        .map_err(|e| protocol(e.to_string()))?;
    let mut line = serde_json::to_vec(request).map_err(|e| protocol(e.to_string()))?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .map_err(|e| protocol(format!("cannot send the request: {e}")))?;
    let mut answer = Vec::new();
    BufReader::new(stream)
        .take(MAX_ANSWER)
        .read_until(b'\n', &mut answer)
        .map_err(|e| protocol(format!("no answer: {e}")))?;
    if answer.is_empty() {
        return Err(protocol("the daemon closed the connection".into()));
    }
    let response: Response =
        serde_json::from_slice(&answer).map_err(|e| protocol(format!("bad answer: {e}")))?;
    if response.ok {
        Ok(response)
    } else if !response.errors.is_empty() {
        Err(CliError::ReloadRefused(response.errors))
    } else {
        Err(CliError::Refused(response.error.unwrap_or_else(|| {
            "the daemon refused without saying why".into()
        })))
    }
}

/// `vipd status`: tables, or the status document as JSON.
pub fn status(socket: &Path, json: bool) -> Result<String, CliError> {
    let status = fetch_status(socket)?;
    if json {
        serde_json::to_string_pretty(&status)
            .map(|mut text| {
                text.push('\n');
                text
            })
            .map_err(|e| CliError::Protocol {
                path: socket.to_path_buf(),
                message: e.to_string(),
            })
    } else {
        Ok(render::status(&status))
    }
}

pub fn fetch_status(socket: &Path) -> Result<Status, CliError> {
    request(socket, &Request::Status)?
        .status
        .ok_or_else(|| CliError::Protocol {
            path: socket.to_path_buf(),
            message: "the answer has no status".into(),
        })
}

/// `vipd drain` / `vipd undrain`: the prefixes named (or every VIP).
pub fn drain(
    socket: &Path,
    prefixes: Vec<String>,
    all: bool,
    drain: bool,
) -> Result<String, CliError> {
    let targets = if all {
        Targets::all()
    } else {
        Targets {
            prefixes,
            all: false,
        }
    };
    let request = if drain {
        Request::Drain(targets)
    } else {
        Request::Undrain(targets)
    };
    let response = self::request(socket, &request)?;
    let verb = if drain { "draining" } else { "undrained" };
    Ok(response
        .prefixes
        .unwrap_or_default()
        .iter()
        .map(|p| format!("{p}: {verb}\n"))
        .collect())
}

/// `vipd reload`: what changed.
pub fn reload(socket: &Path) -> Result<String, CliError> {
    let changes = request(socket, &Request::Reload)?
        .changes
        .unwrap_or_default();
    if changes.is_empty() {
        return Ok("config reloaded: nothing changed\n".into());
    }
    let mut text = String::from("config reloaded:\n");
    for change in changes {
        text.push_str(&format!("  {change}\n"));
    }
    Ok(text)
}

/// `vipd lease NAME [--ttl 5s] [--release]`: renews (or releases) a lease
/// check.
pub fn lease(
    socket: &Path,
    name: String,
    ttl: Option<String>,
    release: bool,
) -> Result<String, CliError> {
    let response = request(socket, &Request::Lease(LeaseRequest { name, ttl, release }))?;
    let lease = response.lease.ok_or_else(|| CliError::Protocol {
        path: socket.to_path_buf(),
        message: "the answer has no lease".into(),
    })?;
    Ok(if lease.held {
        format!(
            "lease {}: held for {}\n",
            lease.name,
            humantime::format_duration(Duration::from_millis(
                (lease.ttl_seconds * 1000.0).round() as u64
            ))
        )
    } else {
        format!("lease {}: released\n", lease.name)
    })
}
