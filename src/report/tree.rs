//! The crisis cell's tree, as the `/cellule/` pages and `/api/v1/tree` show it: postal codes
//! with their counts, the establishments of one postal code with theirs, and (through
//! [`super::coverage::school_coverage`]) one establishment's current files. Summaries of the
//! coverage report rather than a second walk of the store, so pages, JSON and CSV agree.

use std::collections::BTreeMap;

use serde::Serialize;

use super::coverage::{Coverage, KindInfo, PostalCoverage, SchoolCoverage, Totals};
use crate::directory::Rne;

/// One postal code, without its establishments.
#[derive(Debug, Clone, Serialize)]
pub struct PostalSummary {
    pub postal_code: String,
    pub establishments: usize,
    /// Establishments with at least one deposit.
    pub with_deposits: usize,
    /// Current files (latest versions) of all its establishments.
    pub deposits: usize,
    pub bytes: u64,
    /// RFC 3339 (UTC) time of the latest deposit, if any.
    pub last_deposit: Option<String>,
    /// Establishments holding every expected plan kind.
    pub complete: usize,
}

/// One establishment, without its files.
#[derive(Debug, Clone, Serialize)]
pub struct SchoolSummary {
    pub rne: Rne,
    /// Empty for an establishment absent from the directory.
    pub name: String,
    pub postal_code: String,
    pub folder: String,
    pub commune: String,
    /// public, privé… as the directory says.
    pub sector: String,
    /// elementaire, maternelle… as the directory says.
    pub establishment_kind: String,
    pub deposits: usize,
    pub bytes: u64,
    pub last_deposit: Option<String>,
    /// Plan kinds present, in the policy's order.
    pub kinds: Vec<String>,
    /// Expected plan kinds absent, in the policy's order.
    pub missing: Vec<String>,
}

/// The top of the tree: every postal code, then the establishments absent from the directory.
#[derive(Debug, Clone, Serialize)]
pub struct TreeOverview {
    pub kinds: Vec<KindInfo>,
    pub totals: Totals,
    pub postal_codes: Vec<PostalSummary>,
    /// Establishments with deposits but absent from the directory (« RNE hors annuaire »).
    pub unlisted: Vec<SchoolSummary>,
}

/// One postal code and its establishments.
#[derive(Debug, Clone, Serialize)]
pub struct PostalTree {
    #[serde(flatten)]
    pub summary: PostalSummary,
    /// For each plan kind id, how many establishments have it.
    pub per_kind: BTreeMap<String, usize>,
    /// For each expected kind id, the RNEs of the establishments missing it.
    pub missing: BTreeMap<String, Vec<Rne>>,
    pub schools: Vec<SchoolSummary>,
}

impl PostalSummary {
    pub fn of(postal: &PostalCoverage) -> PostalSummary {
        PostalSummary {
            postal_code: postal.postal_code.clone(),
            establishments: postal.establishments,
            with_deposits: postal.with_deposits,
            deposits: postal.deposits,
            bytes: postal.bytes,
            last_deposit: postal.last_deposit.clone(),
            complete: postal.complete,
        }
    }
}

impl SchoolSummary {
    pub fn of(school: &SchoolCoverage) -> SchoolSummary {
        SchoolSummary {
            rne: school.rne.clone(),
            name: school.name.clone(),
            postal_code: school.postal_code.clone(),
            folder: school.folder.clone(),
            commune: school.commune.clone(),
            sector: school.sector.clone(),
            establishment_kind: school.establishment_kind.clone(),
            deposits: school.deposits,
            bytes: school.bytes,
            last_deposit: school.last_deposit.clone(),
            kinds: school.kinds.clone(),
            missing: school.missing.clone(),
        }
    }
}

impl TreeOverview {
    pub fn of(coverage: &Coverage) -> TreeOverview {
        TreeOverview {
            kinds: coverage.kinds.clone(),
            totals: coverage.totals.clone(),
            postal_codes: coverage
                .postal_codes
                .iter()
                .map(PostalSummary::of)
                .collect(),
            unlisted: coverage.unlisted.iter().map(SchoolSummary::of).collect(),
        }
    }
}

impl PostalTree {
    pub fn of(postal: &PostalCoverage) -> PostalTree {
        PostalTree {
            summary: PostalSummary::of(postal),
            per_kind: postal.per_kind.clone(),
            missing: postal.missing.clone(),
            schools: postal.schools.iter().map(SchoolSummary::of).collect(),
        }
    }
}
