//! `ppms-depot school set-password <account>`: the embedded password of a school account
//! (stage 3 of the login when no LDAP directory is configured), read from standard input.

use anyhow::{bail, Context};
use clap::Subcommand;

use ppms_depot::auth::password::PasswordStore;
use ppms_depot::config::Config;
use ppms_depot::directory::account_rne;
use ppms_depot::server::{load_directory, open_state};

#[derive(Subcommand)]
pub enum SchoolCommand {
    /// Set the password of a school account (e.g. ce.0752401C) from the first line of stdin.
    SetPassword { account: String },
}

pub async fn run(config: Config, command: SchoolCommand) -> anyhow::Result<()> {
    match command {
        SchoolCommand::SetPassword { account } => {
            let account = account.trim();
            let Some(rne) = account_rne(account, &config.school_account_prefixes) else {
                bail!(
                    "{account:?} is not a school account (prefixes {:?} then an RNE)",
                    config.school_account_prefixes
                );
            };
            let directory = load_directory(&config)?;
            let Some(school) = directory.get(&rne) else {
                bail!("{rne} is not in the establishment directory");
            };
            let password = super::agent_cmd::read_stdin_line("password")?;
            let (pool, _) = open_state(&config).await?;
            PasswordStore::new(pool)
                .set(account, &password)
                .await
                .context("setting the password")?;
            println!(
                "password set for {account} ({}, {})",
                school.name, school.postal_code
            );
        }
    }
    Ok(())
}
