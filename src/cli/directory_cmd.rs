//! `ppms-depot directory import <file>`: checks a new directory (this project's CSV or the
//! official export), reports what changes, and saves it for the server. Deposits are keyed by
//! RNE: nothing stored is touched.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use ppms_depot::config::Config;
use ppms_depot::directory::{diff, Directory};
use ppms_depot::server::load_directory;

#[derive(Subcommand)]
pub enum DirectoryCommand {
    /// Check a directory file, report added/renamed/moved/removed establishments, save it.
    Import {
        file: PathBuf,
        /// Report only; save nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print every line of the report, not only the first ones of each list.
        #[arg(long)]
        full: bool,
    },
}

pub fn run(config: Config, command: DirectoryCommand) -> anyhow::Result<()> {
    let DirectoryCommand::Import {
        file,
        dry_run,
        full,
    } = command;
    let new = Directory::from_path(&file)?;
    let current = load_directory(&config)?;
    let report = diff(&current, &new);
    if full {
        println!("{report:#}");
    } else {
        println!("{report}");
    }
    let kept: Vec<String> = report
        .removed
        .iter()
        .filter(|e| config.data_dir.join(e.rne.as_str()).is_dir())
        .map(|e| format!("{} {}", e.rne, e.name))
        .collect();
    if !kept.is_empty() {
        println!(
            "warning: {} removed establishments hold deposits; their files stay in {} but leave \
             the tree, and their mount keys no longer reach a folder: {}",
            kept.len(),
            config.data_dir.display(),
            kept.join(", ")
        );
    }
    if dry_run {
        println!("dry run: nothing saved");
        return Ok(());
    }
    let target = config.imported_directory_path();
    std::fs::create_dir_all(&config.state_dir)
        .with_context(|| format!("creating {}", config.state_dir.display()))?;
    let temp = target.with_extension("csv.tmp");
    std::fs::write(&temp, new.to_csv()).with_context(|| format!("writing {}", temp.display()))?;
    std::fs::rename(&temp, &target).with_context(|| format!("saving {}", target.display()))?;
    println!(
        "saved {} establishments to {} (restart the server to serve them)",
        new.len(),
        target.display()
    );
    Ok(())
}
