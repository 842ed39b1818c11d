//! `vipd`: thin command-line front end; everything else is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;
use vipd::control::cli::{self, CliError};

#[derive(Parser)]
#[command(
    name = "vipd",
    version,
    about = "Routed virtual IPs: announce health-checked VIPs over BGP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run in the foreground, logging to stderr.
    Run {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// Log format.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
        /// Log level (error, warn, info, debug, trace); RUST_LOG overrides it.
        #[arg(long, default_value = "info")]
        log_level: String,
        /// Control socket path, instead of the config's `control_socket`
        /// ("" for none).
        #[arg(long, value_name = "PATH")]
        control_socket: Option<PathBuf>,
    },
    /// Validate the config and print the plan (exit 0), or the errors (exit 2).
    Check {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Show the running daemon's peers, VIPs and checks.
    Status {
        /// The status document as JSON instead of tables.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        daemon: Daemon,
    },
    /// Drain VIPs until undrained.
    ///
    /// Each is announced with GRACEFUL_SHUTDOWN (RFC 8326) and its drain
    /// attributes for its drain_time, then withdrawn.
    Drain {
        #[command(flatten)]
        vips: Vips,
        #[command(flatten)]
        daemon: Daemon,
    },
    /// Undo `vipd drain`: the VIPs follow their checks again.
    Undrain {
        #[command(flatten)]
        vips: Vips,
        #[command(flatten)]
        daemon: Daemon,
    },
    /// Renew a `kind = "lease"` check: the VIPs that depend on it stay up
    /// only while the application keeps renewing it.
    ///
    /// Run it from the application (or its own health loop) more often than
    /// the ttl; if the renewals stop, the lease runs out and its VIPs are
    /// withdrawn (a dead-man switch).
    Lease {
        /// The check's name ([check.NAME]).
        name: String,
        /// How long this renewal holds (e.g. 5s, 1500ms) [default: the
        /// check's ttl].
        #[arg(long, value_name = "DURATION", conflicts_with = "release")]
        ttl: Option<String>,
        /// Give the lease up now: the check goes down at once (for a clean
        /// application shutdown).
        #[arg(long)]
        release: bool,
        #[command(flatten)]
        daemon: Daemon,
    },
    /// Re-read the config file and apply the difference (SIGHUP does too).
    ///
    /// Prints the changes, or every error (exit 2) and changes nothing.
    Reload {
        #[command(flatten)]
        daemon: Daemon,
    },
}

/// Which daemon to talk to. Exit codes: 1 refused, 2 config errors,
/// 3 not reachable.
#[derive(Args)]
struct Daemon {
    /// The daemon's control socket [default: /run/vipd/vipd.sock].
    #[arg(long, value_name = "PATH", conflicts_with = "config")]
    socket: Option<PathBuf>,
    /// Use the control_socket of this config file.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct Vips {
    /// VIP prefixes; a bare address means its /32 or /128.
    #[arg(value_name = "PREFIX", required_unless_present = "all")]
    prefixes: Vec<String>,
    /// Every VIP.
    #[arg(long, conflicts_with = "prefixes")]
    all: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => match vipd::config::load(&config) {
            Ok(cfg) => {
                print!("{}", cfg.plan());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::from(2)
            }
        },
        Command::Run {
            config,
            log_format,
            log_level,
            control_socket,
        } => run(config, log_format, &log_level, control_socket),
        Command::Status { json, daemon } => talk(&daemon, |socket| cli::status(socket, json)),
        Command::Drain { vips, daemon } => talk(&daemon, |socket| {
            cli::drain(socket, vips.prefixes, vips.all, true)
        }),
        Command::Undrain { vips, daemon } => talk(&daemon, |socket| {
            cli::drain(socket, vips.prefixes, vips.all, false)
        }),
        Command::Reload { daemon } => talk(&daemon, cli::reload),
        Command::Lease {
            name,
            ttl,
            release,
            daemon,
        } => talk(&daemon, |socket| cli::lease(socket, name, ttl, release)),
    }
}

/// Runs one control-socket command and prints its output or error.
fn talk(
    daemon: &Daemon,
    command: impl FnOnce(&std::path::Path) -> Result<String, CliError>,
) -> ExitCode {
    let result = cli::socket_path(daemon.socket.clone(), daemon.config.as_deref())
        .and_then(|socket| command(&socket));
    match result {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vipd: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(path: PathBuf, format: LogFormat, level: &str, control_socket: Option<PathBuf>) -> ExitCode {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    let mut config = match vipd::config::load(&path) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    if let Some(socket) = control_socket {
        config.speaker.control_socket = (!socket.as_os_str().is_empty()).then_some(socket);
    }
    // At most two malloc arenas: vipd's threads allocate little at a time,
    // and every extra arena keeps its own freed memory resident.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes no pointers and only tunes the allocator; it is
    // called before the runtime starts its threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vipd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = vipd::control::Options {
        config_path: Some(path),
        reload_on_sighup: true,
    };
    let result = runtime.block_on(vipd::control::run(config, options, shutdown_signal()));
    // Do not wait for stragglers: everything that mattered was flushed by run().
    runtime.shutdown_timeout(std::time::Duration::from_millis(50));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM or SIGINT (withdraw everything and stop), or on
/// SIGUSR2 (stop for a restart: with graceful_restart_time set, the routers
/// keep vipd's routes until it is back; see docs/graceful-restart.md).
async fn shutdown_signal() -> vipd::app::Shutdown {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut usr2)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::user_defined2()),
    ) else {
        // Without signal handlers we can only run until killed.
        return std::future::pending().await;
    };
    let (reason, for_restart) = tokio::select! {
        _ = term.recv() => ("vipd stopped (SIGTERM)", false),
        _ = int.recv() => ("vipd stopped (SIGINT)", false),
        _ = usr2.recv() => ("vipd stopped for a restart (SIGUSR2)", true),
    };
    vipd::app::Shutdown {
        reason: reason.to_string(),
        for_restart,
    }
}
