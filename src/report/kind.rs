//! The plan kind of a deposit (`ppms`, `plan-locaux`, `risques-majeurs`, `attentat-intrusion`,
//! `autre`: the `plan_kinds` ids of the policy). A kind declared with the deposit wins; without
//! one (WebDAV deposits, older records) it is inferred from the stored name.
//!
//! Inference rules, on the name folded (accents and case ignored, see [`super::fold`]) and cut
//! into words at every character that is not a letter or a digit. A keyword matches a word
//! that starts with it, so plurals match (`risques`, `crues`, `batiments`). The first rule that
//! matches wins:
//!
//! 1. `attentat-intrusion`: `attentat`, `intrusion`, or `pai`/`ppmsai`/`ppms-ai` spelt
//!    `ai` right after `ppms` (the PPMS attentat-intrusion, « PPMS-AI »);
//! 2. `risques-majeurs`: `risque`, `inondation`, `chimique`, `crue`, `seisme`, `tempete`,
//!    `nucleaire`, `technologique`, `submersion`;
//! 3. `plan-locaux`: `plan` together with `locaux`, `etage`, `rdc`, `batiment`, `niveau`,
//!    `masse` (plan de masse), `evacuation` or `sous-sol`;
//! 4. `ppms`: `ppms`;
//! 5. otherwise `autre`.
//!
//! Rule 1 comes first because « PPMS attentat-intrusion » is its own plan; rule 2 before 4
//! because a name that says which risk it covers is more specific than « PPMS ».

use super::fold;
use crate::policy::DepositPolicy;

/// Id of the catch-all kind.
pub const OTHER: &str = "autre";

const ATTACK: &[&str] = &["attentat", "intrusion"];
const RISKS: &[&str] = &[
    "risque",
    "inondation",
    "chimique",
    "crue",
    "seisme",
    "tempete",
    "nucleaire",
    "technologique",
    "submersion",
];
const PLAN: &str = "plan";
const PREMISES: &[&str] = &[
    "locaux",
    "etage",
    "rdc",
    "batiment",
    "niveau",
    "masse",
    "evacuation",
    "sous",
];

/// The kind a stored name suggests, by the rules of this module (always one of the five
/// default ids).
pub fn infer_kind(stored_name: &str) -> &'static str {
    let folded = fold(stored_name);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |keywords: &[&str]| {
        words
            .iter()
            .any(|w| keywords.iter().any(|k| w.starts_with(k)))
    };
    let ppms_ai = words.windows(2).any(|w| w[0] == "ppms" && w[1] == "ai")
        || words.iter().any(|w| *w == "pai" || *w == "ppmsai");
    if has(ATTACK) || ppms_ai {
        "attentat-intrusion"
    } else if has(RISKS) {
        "risques-majeurs"
    } else if has(&[PLAN]) && has(PREMISES) {
        "plan-locaux"
    } else if has(&["ppms"]) {
        "ppms"
    } else {
        OTHER
    }
}

/// The kind of a deposit: the declared one when it names a kind of the policy, else the
/// inferred one when the policy has it, else [`OTHER`].
pub fn kind_of(declared: Option<&str>, stored_name: &str, policy: &DepositPolicy) -> String {
    if let Some(kind) = declared.filter(|k| policy.plan_kind(k).is_some()) {
        return kind.to_string();
    }
    let inferred = infer_kind(stored_name);
    if policy.plan_kind(inferred).is_some() {
        inferred.to_string()
    } else {
        OTHER.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realistic_names() {
        let cases = [
            ("0752401C-PPMS 2025-2026.pdf", "ppms"),
            ("0752401C-ppms_ecole_arbre_sec_v3.pdf", "ppms"),
            ("0752401C-PPMS-AI.pdf", "attentat-intrusion"),
            (
                "0752401C-PPMS Attentat-Intrusion sept 2025.pdf",
                "attentat-intrusion",
            ),
            (
                "0752401C-Fiche INTRUSION confinement.docx",
                "attentat-intrusion",
            ),
            ("0752401C-PPMS risques majeurs.pdf", "risques-majeurs"),
            (
                "0752401C-Risque inondation crue Seine.pdf",
                "risques-majeurs",
            ),
            ("0752401C-RISQUE CHIMIQUE.odt", "risques-majeurs"),
            ("0752401C-Crues centennales.pdf", "risques-majeurs"),
            ("0752401C-Séisme et tempête.pdf", "risques-majeurs"),
            ("0752401C-Plan des locaux.pdf", "plan-locaux"),
            ("0752401C-PLAN RDC.png", "plan-locaux"),
            ("0752401C-plans_1er_étage.jpg", "plan-locaux"),
            ("0752401C-Plan bâtiment B.pdf", "plan-locaux"),
            ("0752401C-plan-de-masse.pdf", "plan-locaux"),
            ("0752401C-Plan d'évacuation.pdf", "plan-locaux"),
            ("0752401C-Plan de continuité.pdf", "autre"),
            ("0752401C-annuaire des personnels.xlsx", "autre"),
            ("0752401C-scan0001.pdf", "autre"),
            ("0752401C-paie.pdf", "autre"),
        ];
        for (name, kind) in cases {
            assert_eq!(infer_kind(name), kind, "{name}");
        }
    }

    #[test]
    fn a_declared_kind_wins_when_the_policy_knows_it() {
        let policy = DepositPolicy::embedded_default();
        let name = "0752401C-scan0001.pdf";
        assert_eq!(kind_of(Some("plan-locaux"), name, &policy), "plan-locaux");
        assert_eq!(kind_of(None, name, &policy), "autre");
        assert_eq!(
            kind_of(Some("inconnu"), "0752401C-PPMS.pdf", &policy),
            "ppms"
        );
    }
}
