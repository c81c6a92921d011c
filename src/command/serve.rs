//! `workflow serve --workflows DIR`: the arguments turned into a checked server configuration
//! (the directory exists, the address parses, a token guards anything but loopback), handed to
//! the server.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::cli::ServeArgs;
use crate::exit_code::ExitCode;
use crate::serve::{ServeConfig, serve};

pub fn run(args: &ServeArgs, stderr: &mut dyn Write) -> ExitCode {
    match config(args) {
        Ok(config) => serve(config, stderr),
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            ExitCode::Usage
        }
    }
}

/// Why the arguments cannot make a server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ServeArgsError {
    #[error("--workflows {0}: not a directory")]
    NotADirectory(String),
    #[error("--listen {0}: not an address to listen on (expected HOST:PORT, e.g. 127.0.0.1:8080)")]
    Address(String),
    #[error(
        "--listen {0} is not a loopback address: give a token (--token or WORKFLOW_TOKEN) that \
         API requests must carry"
    )]
    TokenNeeded(String),
    #[error("--cron-timezone {0}: not an IANA time zone name (e.g. UTC, Europe/Paris)")]
    TimeZone(String),
    #[error("--token is empty")]
    EmptyToken,
}

fn config(args: &ServeArgs) -> Result<ServeConfig, ServeArgsError> {
    if !args.workflows.is_dir() {
        return Err(ServeArgsError::NotADirectory(
            args.workflows.display().to_string(),
        ));
    }
    let listen: SocketAddr = args
        .listen
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| ServeArgsError::Address(args.listen.clone()))?;
    let token = args.token.clone();
    if token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(ServeArgsError::EmptyToken);
    }
    if token.is_none() && !listen.ip().is_loopback() {
        return Err(ServeArgsError::TokenNeeded(args.listen.clone()));
    }
    let cron_timezone: chrono_tz::Tz = args
        .cron_timezone
        .parse()
        .map_err(|_| ServeArgsError::TimeZone(args.cron_timezone.clone()))?;
    Ok(ServeConfig {
        workflows: std::path::absolute(&args.workflows).unwrap_or_else(|_| args.workflows.clone()),
        listen,
        state_dir: crate::journal::state_dir(args.state.state_dir.as_deref()),
        brokers: args.brokers.clone(),
        token,
        max_concurrent_runs: args.max_concurrent_runs.max(1),
        grace: Duration::from_secs(args.grace),
        secrets: args.secrets.clone(),
        max_steps: args.max_steps,
        reload_interval: Duration::from_millis(args.reload_interval.max(50)),
        cron_timezone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(extra: &[&str]) -> Result<ServeConfig, ServeArgsError> {
        let dir = std::env::temp_dir();
        let dir = dir.display().to_string();
        let mut argv = vec!["workflow", "serve", "--workflows", dir.as_str()];
        argv.extend(extra);
        let cli = crate::cli::Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}"));
        match cli.command {
            crate::cli::Command::Serve(args) => config(&args),
            _ => panic!("not serve"),
        }
    }

    #[test]
    fn anything_but_loopback_needs_a_token() {
        assert!(parse(&["--listen", "127.0.0.1:0"]).is_ok());
        assert!(matches!(
            parse(&["--listen", "0.0.0.0:0"]),
            Err(ServeArgsError::TokenNeeded(_))
        ));
        assert!(parse(&["--listen", "0.0.0.0:0", "--token", "s3cret"]).is_ok());
        assert!(matches!(
            parse(&["--listen", "nowhere"]),
            Err(ServeArgsError::Address(_))
        ));
    }

    #[test]
    fn the_cron_zone_is_an_iana_name() {
        let config = parse(&["--cron-timezone", "Europe/Paris"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.cron_timezone, chrono_tz::Europe::Paris);
        assert_eq!(
            parse(&[]).map(|config| config.cron_timezone),
            Ok(chrono_tz::UTC)
        );
        assert!(matches!(
            parse(&["--cron-timezone", "Mars/Olympus"]),
            Err(ServeArgsError::TimeZone(_))
        ));
    }
}
