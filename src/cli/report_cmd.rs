//! `ppms-depot report coverage [--csv|--json]`: the coverage report on standard output, read
//! from the data directory without touching it (safe beside a running server).

use std::io::Write;

use clap::Subcommand;

use ppms_depot::config::Config;
use ppms_depot::report::coverage::Coverage;
use ppms_depot::report::Deposits;
use ppms_depot::server::{load_directory, load_policy};

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Which establishments deposited which plan kinds, per postal code, with those missing.
    Coverage {
        /// CSV (`;`, UTF-8), the columns of GET /api/v1/coverage.csv.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// JSON, as GET /api/v1/coverage.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: Config, command: ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::Coverage { csv, json } = command;
    let directory = load_directory(&config)?;
    let policy = load_policy(&config)?;
    let deposits = Deposits::read_only(&config.data_dir);
    let report = Coverage::build(&directory, &policy, &deposits)?;
    let mut out = std::io::stdout().lock();
    if csv {
        out.write_all(&report.to_csv())?;
    } else if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write_summary(&mut out, &report)?;
    }
    out.flush()?;
    Ok(())
}

/// One line per postal code: establishments, how many deposited, how many hold every expected
/// kind, and how many miss each kind; then the totals.
fn write_summary(out: &mut impl Write, report: &Coverage) -> std::io::Result<()> {
    let expected: Vec<&str> = report
        .kinds
        .iter()
        .filter(|k| k.expected)
        .map(|k| k.id.as_str())
        .collect();
    let missing_header: Vec<String> = expected.iter().map(|k| format!("sans {k}")).collect();
    writeln!(
        out,
        "code postal\tétablissements\tavec dépôt\tcomplets\t{}\tdernier dépôt",
        missing_header.join("\t")
    )?;
    for postal in &report.postal_codes {
        let missing: Vec<String> = expected
            .iter()
            .map(|k| postal.missing.get(*k).map_or(0, Vec::len).to_string())
            .collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            postal.postal_code,
            postal.establishments,
            postal.with_deposits,
            postal.complete,
            missing.join("\t"),
            postal.last_deposit.as_deref().unwrap_or("-")
        )?;
    }
    let totals = &report.totals;
    let missing: Vec<String> = expected
        .iter()
        .map(|k| totals.missing.get(*k).copied().unwrap_or(0).to_string())
        .collect();
    writeln!(
        out,
        "total\t{}\t{}\t{}\t{}\t{}",
        totals.establishments,
        totals.with_deposits,
        totals.complete,
        missing.join("\t"),
        totals.last_deposit.as_deref().unwrap_or("-")
    )?;
    if !report.unlisted.is_empty() {
        writeln!(
            out,
            "{} établissement(s) hors annuaire avec des dépôts (voir --csv)",
            report.unlisted.len()
        )?;
    }
    Ok(())
}
