//! The command line: `serve`, `demo`, `key issue|list|revoke`, `directory import`. Wires the
//! library together; nothing imports it.

mod agent_cmd;
mod demo;
mod directory_cmd;
mod key_cmd;
mod report_cmd;
mod school_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use ppms_depot::config::Config;

#[derive(Parser)]
#[command(
    name = "ppms-depot",
    version,
    about = "Serveur de dépôt des PPMS et plans (WebDAV)"
)]
pub struct Cli {
    /// Configuration file (TOML) layered over the defaults; env PPMS_DEPOT_* wins over both.
    #[arg(long, global = true, env = "PPMS_DEPOT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve WebDAV (and /healthz) with the configuration.
    Serve,
    /// Run on embedded defaults with demo keys, in ./demo-data, on 127.0.0.1:8080.
    Demo(demo::DemoArgs),
    /// Mount keys: issue, list, revoke.
    #[command(subcommand)]
    Key(key_cmd::KeyCommand),
    /// The establishment directory.
    #[command(subcommand)]
    Directory(directory_cmd::DirectoryCommand),
    /// Agents of the staged login: add (token URI and QR code), set-password, list.
    #[command(subcommand)]
    Agent(agent_cmd::AgentCommand),
    /// School accounts: set-password (embedded store, when no LDAP).
    #[command(subcommand)]
    School(school_cmd::SchoolCommand),
    /// Reports: coverage of the plan kinds (text, --csv or --json).
    #[command(subcommand)]
    Report(report_cmd::ReportCommand),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let load = || -> anyhow::Result<Config> { Ok(Config::load(cli.config.as_deref())?) };
    match cli.command {
        Command::Serve => serve(load()?).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Key(command) => key_cmd::run(load()?, command).await,
        Command::Directory(command) => directory_cmd::run(load()?, command),
        Command::Agent(command) => agent_cmd::run(load()?, command).await,
        Command::School(command) => school_cmd::run(load()?, command).await,
        Command::Report(command) => report_cmd::run(load()?, command),
    }
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = ppms_depot::server::bind(&config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("listening on {}: {e}", config.listen))?;
    let app = std::sync::Arc::new(ppms_depot::server::App::build(config).await?);
    ppms_depot::server::reload_tls_on_sighup(&app)?;
    ppms_depot::server::serve(app, listener, shutdown_signal()).await?;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            tracing::warn!(error = %err, "no SIGTERM handler");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
