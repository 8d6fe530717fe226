//! Who a request acts for.

use crate::directory::Rne;

/// What a principal is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A school: sees and writes its own folder only.
    School(Rne),
    /// A crisis-cell member: reads everything, writes nothing.
    CrisisCell,
}

/// An authenticated account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account name as the key was issued for (e.g. `ce.0752401C`, `cellule.dupont`).
    pub account: String,
    pub role: Role,
    /// The mount key that authenticated this request, for audit and revocation.
    pub key_id: String,
}

impl Principal {
    pub fn school_rne(&self) -> Option<&Rne> {
        match &self.role {
            Role::School(rne) => Some(rne),
            Role::CrisisCell => None,
        }
    }

    pub fn role_name(&self) -> &'static str {
        match self.role {
            Role::School(_) => "school",
            Role::CrisisCell => "crisis_cell",
        }
    }
}
