//! `scheduler-server`: parse the configuration, build, serve.

use clap::Parser;
use scheduler_server::JwtAuth;
use scheduler_server::cli::{Cli, Command};
use scheduler_server::{Server, healthcheck, init_logging, shutdown_signal};
use std::process::ExitCode;

// glibc's allocator spent about a fifth of the server's CPU in malloc, free
// and free-list consolidation while dispatching thousands of fires a second
// (docs/decisions.md); mimalloc keeps per-thread free lists.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.load_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("scheduler-server: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Token { subject, scope, ttl }) = &cli.command {
        let Some(secret) = config.auth.jwt_secret.as_deref() else {
            eprintln!("scheduler-server: auth.jwt_secret is not set (config file or SCHEDULER_AUTH__JWT_SECRET)");
            return ExitCode::from(2);
        };
        return match JwtAuth::new(secret).mint_scoped(subject, *scope, *ttl) {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("scheduler-server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::Healthcheck { url, timeout }) = &cli.command {
        let url = match url {
            Some(u) => Ok(u.clone()),
            None => healthcheck::healthz_url(&config.api),
        };
        return match url {
            Ok(url) => match healthcheck::check(&url, *timeout).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("scheduler-server: unhealthy: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("scheduler-server: {e}");
                ExitCode::from(2)
            }
        };
    }
    init_logging(config.log.format);
    let server = match Server::build(&config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scheduler-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match server.run(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scheduler-server: server error: {e}");
            ExitCode::FAILURE
        }
    }
}
