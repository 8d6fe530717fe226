//! `ppms-depot key issue|list|revoke`: the helpdesk's hold on mount keys.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;

use ppms_depot::auth::KeySubject;
use ppms_depot::config::Config;
use ppms_depot::directory::Rne;
use ppms_depot::server::{load_directory, open_keys};

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Issue a key for a school (by RNE) or a crisis-cell member; the key is printed once.
    Issue {
        /// RNE of the school, e.g. 0752401C.
        #[arg(long, conflicts_with = "crisis_cell")]
        school: Option<String>,
        /// Personal id of a crisis-cell member.
        #[arg(long)]
        crisis_cell: Option<String>,
        /// Where the key is used, e.g. "PC secrétariat".
        #[arg(long, default_value = "")]
        label: String,
        /// Validity in days (default: key_validity_days of the configuration; 0: no expiry).
        #[arg(long)]
        days: Option<u64>,
    },
    /// List every key (no secrets).
    List,
    /// Revoke a key by id; it stops working on the next request.
    Revoke { id: String },
}

pub async fn run(config: Config, command: KeyCommand) -> anyhow::Result<()> {
    let keys = open_keys(&config).await?;
    match command {
        KeyCommand::Issue {
            school,
            crisis_cell,
            label,
            days,
        } => {
            let subject = match (school, crisis_cell) {
                (Some(code), None) => {
                    let rne = Rne::parse(&code).with_context(|| format!("RNE {code:?}"))?;
                    let directory = load_directory(&config)?;
                    let Some(school) = directory.get(&rne) else {
                        bail!("{rne} is not in the establishment directory");
                    };
                    let prefix = config
                        .school_account_prefixes
                        .first()
                        .cloned()
                        .unwrap_or_default();
                    eprintln!("school: {} ({})", school.name, school.postal_code);
                    KeySubject::School {
                        account: format!("{prefix}{rne}"),
                        rne,
                    }
                }
                (None, Some(id)) if !id.trim().is_empty() => KeySubject::CrisisCell {
                    account: id.trim().to_string(),
                },
                _ => bail!("give --school <RNE> or --crisis-cell <id>"),
            };
            let days = days.unwrap_or(config.key_validity_days);
            let validity = (days > 0).then(|| Duration::from_secs(days * 86_400));
            let issued = keys.issue(&subject, &label, validity).await?;
            println!("id:      {}", issued.id);
            println!("account: {}", issued.account);
            println!("key:     {}", issued.secret);
            eprintln!("The key is shown only now: give it to its holder.");
        }
        KeyCommand::List => {
            println!(
                "{:<12} {:<24} {:<11} {:<9} {:<8} {:<10} {:<10} {:<17} {:<15} label",
                "id",
                "account",
                "role",
                "rne",
                "state",
                "issued",
                "expires",
                "last used (UTC)",
                "from"
            );
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            for key in keys.list().await? {
                let state = if key.revoked_at.is_some() {
                    "revoked"
                } else if key.expires_at.is_some_and(|t| t <= now) {
                    "expired"
                } else {
                    "active"
                };
                let expires = key.expires_at.map(day).unwrap_or_else(|| "never".into());
                let used = key
                    .last_used_at
                    .map(minute)
                    .unwrap_or_else(|| "never".into());
                println!(
                    "{:<12} {:<24} {:<11} {:<9} {:<8} {:<10} {:<10} {:<17} {:<15} {}",
                    key.id,
                    key.account,
                    key.role,
                    key.rne.unwrap_or_default(),
                    state,
                    day(key.created_at),
                    expires,
                    used,
                    key.last_used_ip.as_deref().unwrap_or("-"),
                    key.label
                );
            }
        }
        KeyCommand::Revoke { id } => {
            if !keys.revoke(&id).await? {
                bail!("no active key with id {id}");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM` (UTC) of a Unix time.
fn minute(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute()))
        .unwrap_or_default()
}

/// `YYYY-MM-DD` of a Unix time.
fn day(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}
