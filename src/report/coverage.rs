//! Coverage: which plan kinds each establishment has deposited (latest versions only), per
//! postal code, with counts, last deposit dates, totals and, for each kind, the establishments
//! missing it. Serialised as JSON (serde) and as CSV ([`Coverage::to_csv`]).

use std::collections::BTreeMap;
use std::io;

use serde::Serialize;

use super::kind::{kind_of, OTHER};
use super::{later, Deposits};
use crate::directory::{Directory, Establishment, Rne};
use crate::policy::DepositPolicy;

/// Where an establishment absent from the directory is filed (as in the WebDAV tree).
pub const UNLISTED: &str = "RNE hors annuaire";

/// Columns of [`Coverage::to_csv`], in order.
pub const CSV_COLUMNS: &[&str] = &[
    "code_postal",
    "rne",
    "etablissement",
    "dossier",
    "commune",
    "secteur",
    "type_etablissement",
    "types_deposes",
    "types_manquants",
    "fichier",
    "type_plan",
    "octets",
    "sha256",
    "version",
    "versions_conservees",
    "depose_le",
];

/// One plan kind of the policy.
#[derive(Debug, Clone, Serialize)]
pub struct KindInfo {
    pub id: String,
    pub label: String,
    /// Whether establishments lacking it are listed as missing it (every kind but `autre`).
    pub expected: bool,
}

/// The latest version of one stored file, as the coverage sees it.
#[derive(Debug, Clone, Serialize)]
pub struct FileCoverage {
    /// Path relative to the school folder (the stored name, `RNE-…`).
    pub name: String,
    pub kind: String,
    pub bytes: u64,
    /// From the version's record.
    pub sha256: String,
    pub version: u32,
    pub versions_kept: u32,
    /// RFC 3339 (UTC) time of the latest version, from its record; empty if unreadable.
    pub deposited_at: String,
}

/// One establishment.
#[derive(Debug, Clone, Serialize)]
pub struct SchoolCoverage {
    pub rne: Rne,
    pub name: String,
    pub postal_code: String,
    /// Folder name in the tree (the RNE for an establishment absent from the directory).
    pub folder: String,
    pub commune: String,
    pub sector: String,
    /// Kind of establishment (elementaire, maternelle…), not of plan.
    pub establishment_kind: String,
    /// Number of current files (latest versions).
    pub deposits: usize,
    pub bytes: u64,
    pub last_deposit: Option<String>,
    /// Plan kinds present, in the policy's order.
    pub kinds: Vec<String>,
    /// Expected plan kinds absent, in the policy's order.
    pub missing: Vec<String>,
    pub files: Vec<FileCoverage>,
}

/// One postal code.
#[derive(Debug, Clone, Serialize)]
pub struct PostalCoverage {
    pub postal_code: String,
    pub establishments: usize,
    /// Establishments with at least one deposit.
    pub with_deposits: usize,
    pub deposits: usize,
    pub bytes: u64,
    pub last_deposit: Option<String>,
    /// For each kind id, how many establishments have it.
    pub per_kind: BTreeMap<String, usize>,
    /// For each expected kind id, the RNEs of the establishments missing it, in tree order.
    pub missing: BTreeMap<String, Vec<Rne>>,
    /// Establishments holding every expected kind.
    pub complete: usize,
    pub schools: Vec<SchoolCoverage>,
}

/// Totals over the whole directory (establishments absent from it not included).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub establishments: usize,
    pub with_deposits: usize,
    pub deposits: usize,
    pub bytes: u64,
    pub last_deposit: Option<String>,
    pub per_kind: BTreeMap<String, usize>,
    /// For each expected kind id, how many establishments miss it.
    pub missing: BTreeMap<String, usize>,
    pub complete: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub kinds: Vec<KindInfo>,
    pub totals: Totals,
    pub postal_codes: Vec<PostalCoverage>,
    /// Establishments with deposits but absent from the directory (filed under
    /// [`UNLISTED`]), sorted by RNE.
    pub unlisted: Vec<SchoolCoverage>,
}

impl Coverage {
    /// Builds the report from the directory, the policy's kinds and the deposits (reads one
    /// small record per current file: run it off the async threads).
    // Limitation: rebuilt on every request, without a cache: its cost grows with the number of
    // current files (one small JSON read each).
    pub fn build(
        directory: &Directory,
        policy: &DepositPolicy,
        deposits: &Deposits<'_>,
    ) -> io::Result<Coverage> {
        let kinds = kind_infos(policy);
        let mut totals = Totals::default();
        let mut postal_codes = Vec::new();
        for code in directory.postal_codes() {
            let postal = postal(directory, code, &kinds, policy, deposits)?;
            totals.establishments += postal.establishments;
            totals.with_deposits += postal.with_deposits;
            totals.deposits += postal.deposits;
            totals.bytes += postal.bytes;
            totals.complete += postal.complete;
            if let Some(last) = &postal.last_deposit {
                totals.last_deposit = later(totals.last_deposit.take(), last);
            }
            for (kind, n) in &postal.per_kind {
                *totals.per_kind.entry(kind.clone()).or_default() += n;
            }
            for (kind, list) in &postal.missing {
                *totals.missing.entry(kind.clone()).or_default() += list.len();
            }
            postal_codes.push(postal);
        }
        let mut unlisted = Vec::new();
        for rne in deposits.schools()? {
            if directory.get(&rne).is_some() {
                continue;
            }
            let school = school(&stranger(&rne), rne.as_str(), &kinds, policy, deposits)?;
            if school.deposits > 0 {
                unlisted.push(school);
            }
        }
        Ok(Coverage {
            kinds,
            totals,
            postal_codes,
            unlisted,
        })
    }

    /// The report as CSV, one row per current file of each establishment, and one row with
    /// empty file columns for an establishment without deposits.
    ///
    /// Format: UTF-8 with a byte-order mark (so that Excel shows accents), `;` as separator
    /// (what French spreadsheets expect, and the official directory export uses), `\n` line
    /// ends, quoting by the `csv` crate where a field needs it. Columns are [`CSV_COLUMNS`]:
    /// postal code, RNE, establishment name, folder, commune, sector, establishment kind, the
    /// plan kinds it has and those it misses (ids joined with `|`, repeated on each of its
    /// rows), then the file: stored name, plan kind, bytes, sha256 and version from its record,
    /// versions kept, deposit time (RFC 3339 UTC). Rows follow the tree order (postal code,
    /// folder, file name), then establishments absent from the directory, by RNE.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = "\u{feff}".as_bytes().to_vec();
        {
            let mut writer = csv::WriterBuilder::new()
                .delimiter(b';')
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(&mut out);
            let write = |writer: &mut csv::Writer<&mut Vec<u8>>, row: &[&str]| {
                writer
                    .write_record(row)
                    .expect("writing CSV to memory cannot fail");
            };
            write(&mut writer, CSV_COLUMNS);
            let schools = self
                .postal_codes
                .iter()
                .flat_map(|p| &p.schools)
                .chain(&self.unlisted);
            for school in schools {
                let kinds = school.kinds.join("|");
                let missing = school.missing.join("|");
                let head = [
                    school.postal_code.as_str(),
                    school.rne.as_str(),
                    &school.name,
                    &school.folder,
                    &school.commune,
                    &school.sector,
                    &school.establishment_kind,
                    &kinds,
                    &missing,
                ];
                if school.files.is_empty() {
                    let mut row = head.to_vec();
                    row.extend(["", "", "", "", "", "", ""]);
                    write(&mut writer, &row);
                }
                for file in &school.files {
                    let (bytes, version, kept) = (
                        file.bytes.to_string(),
                        file.version.to_string(),
                        file.versions_kept.to_string(),
                    );
                    let mut row = head.to_vec();
                    row.extend([
                        file.name.as_str(),
                        &file.kind,
                        &bytes,
                        &file.sha256,
                        &version,
                        &kept,
                        &file.deposited_at,
                    ]);
                    write(&mut writer, &row);
                }
            }
            writer.flush().expect("flushing CSV to memory cannot fail");
        }
        out
    }
}

/// The plan kinds of the policy, as the report lists them.
pub fn kind_infos(policy: &DepositPolicy) -> Vec<KindInfo> {
    policy
        .plan_kinds
        .iter()
        .map(|k| KindInfo {
            id: k.id.clone(),
            label: k.label.clone(),
            expected: k.id != OTHER,
        })
        .collect()
}

/// The coverage of one postal code, or `None` when the directory does not have it.
pub fn postal_coverage(
    directory: &Directory,
    policy: &DepositPolicy,
    deposits: &Deposits<'_>,
    postal_code: &str,
) -> io::Result<Option<PostalCoverage>> {
    if directory.in_postal_code(postal_code).next().is_none() {
        return Ok(None);
    }
    let kinds = kind_infos(policy);
    postal(directory, postal_code, &kinds, policy, deposits).map(Some)
}

/// The coverage of one establishment, files included: one of the directory, or one absent
/// from it that has deposits (filed under [`UNLISTED`]); `None` otherwise.
pub fn school_coverage(
    directory: &Directory,
    policy: &DepositPolicy,
    deposits: &Deposits<'_>,
    rne: &Rne,
) -> io::Result<Option<SchoolCoverage>> {
    let kinds = kind_infos(policy);
    if let (Some(establishment), Some(folder)) = (directory.get(rne), directory.folder_name(rne)) {
        return school(establishment, folder, &kinds, policy, deposits).map(Some);
    }
    let found = school(&stranger(rne), rne.as_str(), &kinds, policy, deposits)?;
    Ok((found.deposits > 0).then_some(found))
}

/// An establishment absent from the directory, as the report files it.
fn stranger(rne: &Rne) -> Establishment {
    Establishment {
        rne: rne.clone(),
        name: String::new(),
        kind: String::new(),
        sector: String::new(),
        address: String::new(),
        postal_code: UNLISTED.to_string(),
        commune: String::new(),
    }
}

/// The coverage of the establishments of one postal code, in tree order.
fn postal(
    directory: &Directory,
    code: &str,
    kinds: &[KindInfo],
    policy: &DepositPolicy,
    deposits: &Deposits<'_>,
) -> io::Result<PostalCoverage> {
    let mut postal = PostalCoverage {
        postal_code: code.to_string(),
        establishments: 0,
        with_deposits: 0,
        deposits: 0,
        bytes: 0,
        last_deposit: None,
        per_kind: kinds.iter().map(|k| (k.id.clone(), 0)).collect(),
        missing: kinds
            .iter()
            .filter(|k| k.expected)
            .map(|k| (k.id.clone(), Vec::new()))
            .collect(),
        complete: 0,
        schools: Vec::new(),
    };
    for (folder, establishment) in directory.in_postal_code(code) {
        let school = school(establishment, folder, kinds, policy, deposits)?;
        postal.establishments += 1;
        postal.with_deposits += usize::from(school.deposits > 0);
        postal.deposits += school.deposits;
        postal.bytes += school.bytes;
        if let Some(last) = &school.last_deposit {
            postal.last_deposit = later(postal.last_deposit.take(), last);
        }
        for kind in &school.kinds {
            *postal.per_kind.entry(kind.clone()).or_default() += 1;
        }
        for kind in &school.missing {
            if let Some(list) = postal.missing.get_mut(kind) {
                list.push(school.rne.clone());
            }
        }
        postal.complete += usize::from(school.missing.is_empty());
        postal.schools.push(school);
    }
    Ok(postal)
}

/// The coverage of one establishment.
fn school(
    establishment: &Establishment,
    folder: &str,
    kinds: &[KindInfo],
    policy: &DepositPolicy,
    deposits: &Deposits<'_>,
) -> io::Result<SchoolCoverage> {
    let rne = &establishment.rne;
    let mut files = Vec::new();
    let mut last_deposit = None;
    let mut bytes = 0;
    for stored in deposits.current_files(rne)? {
        let record = deposits.latest_record(rne, &stored);
        let declared = record.as_ref().and_then(|r| r.kind.as_deref());
        let kind = kind_of(declared, &stored.name, policy);
        let (sha256, deposited_at) = match record {
            Some(record) => (record.sha256, record.deposited_at),
            None => (stored.sha256.clone(), String::new()),
        };
        if !deposited_at.is_empty() {
            last_deposit = later(last_deposit, &deposited_at);
        }
        bytes += stored.bytes;
        files.push(FileCoverage {
            name: stored.path,
            kind,
            bytes: stored.bytes,
            sha256,
            version: stored.version,
            versions_kept: stored.versions_kept,
            deposited_at,
        });
    }
    let present: Vec<String> = kinds
        .iter()
        .filter(|k| files.iter().any(|f| f.kind == k.id))
        .map(|k| k.id.clone())
        .collect();
    let missing = kinds
        .iter()
        .filter(|k| k.expected && !present.contains(&k.id))
        .map(|k| k.id.clone())
        .collect();
    Ok(SchoolCoverage {
        rne: rne.clone(),
        name: establishment.name.clone(),
        postal_code: establishment.postal_code.clone(),
        folder: folder.to_string(),
        commune: establishment.commune.clone(),
        sector: establishment.sector.clone(),
        establishment_kind: establishment.kind.clone(),
        deposits: files.len(),
        bytes,
        last_deposit,
        kinds: present,
        missing,
        files,
    })
}
