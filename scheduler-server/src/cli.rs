//! Command-line interface of the `scheduler-server` binary.

use crate::auth::Scope;
use crate::config::{Config, ConfigError, LogFormat, Overrides, parse_duration};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// Distributed task scheduler: REST API, engine and HTTP executors.
#[derive(Parser)]
#[command(name = "scheduler-server", version, about)]
pub struct Cli {
    /// YAML configuration file (keys in docs/reference/configuration.md).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address to listen on (api.host).
    #[arg(long, global = true)]
    pub host: Option<String>,
    /// Port to listen on (api.port).
    #[arg(long, global = true)]
    pub port: Option<u16>,
    /// Base of callback URLs given to executors (api.public_url).
    #[arg(long, global = true, value_name = "URL")]
    pub public_url: Option<String>,
    /// MySQL URL (database.url); without one the in-memory store is used.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Database pool size (database.max_connections).
    #[arg(long, global = true, value_name = "N")]
    pub max_connections: Option<u32>,
    /// This instance's id (scheduler.instance_id).
    #[arg(long, global = true, value_name = "ID")]
    pub instance_id: Option<String>,
    /// Log format (log.format); the level comes from RUST_LOG (default info).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves the API and runs the scheduler (the default).
    Serve,
    /// Prints an HS256 API token signed with auth.jwt_secret.
    Token {
        /// Who the token is for (the `sub` claim); for an executor token, the
        /// `instance_id` the executor registers with.
        #[arg(long)]
        subject: String,
        /// `admin` (everything) or `executor` (register and update its own executor).
        #[arg(long, value_enum, default_value = "admin")]
        scope: Scope,
        /// How long it is valid, e.g. 24h, 30m, 7d; at most 90d.
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        ttl: Duration,
    },
    /// Exits 0 when the configured server answers `GET /healthz` with a 2xx,
    /// 1 otherwise (for container health checks; no curl needed).
    Healthcheck {
        /// The URL to check instead of `/healthz` on the configured api.host
        /// and api.port (a wildcard host is checked on loopback).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// How long to wait for the answer, e.g. 2s, 500ms.
        #[arg(long, default_value = "2s", value_parser = parse_duration)]
        timeout: Duration,
    },
}

impl std::fmt::Debug for Cli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The overrides hide the database password.
        f.debug_struct("Cli")
            .field("config", &self.config)
            .field("overrides", &self.overrides())
            .field("command", &self.command)
            .finish()
    }
}

impl Cli {
    /// The flags that override configuration keys.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            host: self.host.clone(),
            port: self.port,
            public_url: self.public_url.clone(),
            database_url: self.database_url.clone(),
            max_connections: self.max_connections,
            instance_id: self.instance_id.clone(),
            log_format: self.log_format,
        }
    }

    /// Loads the configuration: file, then the process environment, then flags.
    pub fn load_config(&self) -> Result<Config, ConfigError> {
        Config::load(self.config.as_deref(), std::env::vars(), &self.overrides())
    }
}
