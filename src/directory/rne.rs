//! The RNE (UAI) code of an establishment: parsing, the check-letter rule, and the mapping from a
//! school's account name (`ce.0752401C`) to its RNE. Knows nothing of names or postal codes.

use std::fmt;
use std::str::FromStr;

/// The 23 letters a check letter may be: the alphabet without I, O and Q (too close to 1 and 0).
const CHECK_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPRSTUVWXYZ";

/// A validated RNE/UAI code.
///
/// Invariant: exactly 7 ASCII digits followed by the upper-case check letter
/// `CHECK_LETTERS[n mod 23]`, where `n` is the 7 digits read as a number. Any `Rne` value
/// therefore names a real code shape and is safe as a path segment or a map key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rne(String);

/// Why a string is not an RNE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RneError {
    /// Not 7 digits and a letter (after trimming and upper-casing).
    #[error("an RNE is 7 digits and a letter, got {0:?}")]
    Format(String),
    /// The shape is right but the letter does not match the digits: a typo in the code.
    #[error("RNE {code}: check letter should be {expected}")]
    CheckLetter { code: String, expected: char },
}

impl Rne {
    /// Parses and validates an RNE, accepting a lower-case letter and surrounding spaces.
    pub fn parse(text: &str) -> Result<Rne, RneError> {
        Rne::parse_exact(text.trim()).map_err(|err| match err {
            // Report what the caller gave, not the trimmed copy.
            RneError::Format(_) => RneError::Format(text.to_string()),
            other => other,
        })
    }

    /// Parses an RNE with nothing around it; the letter may be lower case.
    fn parse_exact(text: &str) -> Result<Rne, RneError> {
        let code = text.to_ascii_uppercase();
        let bytes = code.as_bytes();
        let shaped = bytes.len() == 8
            && bytes[..7].iter().all(u8::is_ascii_digit)
            && bytes[7].is_ascii_uppercase();
        if !shaped {
            return Err(RneError::Format(text.to_string()));
        }
        let expected = check_letter(&code[..7]);
        if bytes[7] != expected as u8 {
            return Err(RneError::CheckLetter { code, expected });
        }
        Ok(Rne(code))
    }

    /// The code, upper case, e.g. `0752401C`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The check letter of 7 ASCII digits.
fn check_letter(digits: &str) -> char {
    let n = digits
        .bytes()
        .fold(0u32, |n, digit| n * 10 + u32::from(digit - b'0'));
    char::from(CHECK_LETTERS[(n % 23) as usize])
}

impl fmt::Display for Rne {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Rne {
    type Err = RneError;

    fn from_str(text: &str) -> Result<Rne, RneError> {
        Rne::parse(text)
    }
}

impl AsRef<str> for Rne {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Rne {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Deserialising validates like [`Rne::parse`], so a bad code in a config or a request body is
/// refused where it is read rather than deep inside a handler.
impl<'de> serde::Deserialize<'de> for Rne {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Rne, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Rne::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The RNE behind a school account name such as `ce.0752401C` or `ecole.0940176f`.
///
/// The account must be one of `prefixes` (compared ignoring ASCII case) immediately followed by
/// a valid RNE and nothing else: no spaces, no `@domain` (strip a mail domain before calling).
/// An empty prefix in the list accepts the bare RNE as an account name. Prefixes are tried in
/// order; the first that leaves a valid RNE wins.
pub fn account_rne(account: &str, prefixes: &[String]) -> Option<Rne> {
    prefixes.iter().find_map(|prefix| {
        // `get` returns None when the cut would fall inside a multi-byte character.
        let head = account.get(..prefix.len())?;
        if !head.eq_ignore_ascii_case(prefix) {
            return None;
        }
        Rne::parse_exact(&account[prefix.len()..]).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Vec<String> {
        vec!["ce.".to_string(), "ecole.".to_string()]
    }

    #[test]
    fn real_codes_pass_the_check_letter() {
        // From data/etablissements-paris.csv and data/annuaire-education-94-ecoles.csv.
        for code in [
            "0750132L", "0750136R", "0752401C", "0940176F", "0940198E", "0941874B",
        ] {
            assert_eq!(Rne::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn lower_case_and_spaces_are_accepted() {
        let rne = Rne::parse("  0940176f \t").unwrap();
        assert_eq!(rne.as_str(), "0940176F");
        assert_eq!(rne.to_string(), "0940176F");
        assert_eq!("0940176f".parse::<Rne>().unwrap(), rne);
    }

    #[test]
    fn a_wrong_letter_names_the_expected_one() {
        assert_eq!(
            Rne::parse("0940176G"),
            Err(RneError::CheckLetter {
                code: "0940176G".to_string(),
                expected: 'F'
            })
        );
        let message = Rne::parse("0940176g").unwrap_err().to_string();
        assert!(message.contains("should be F"), "{message}");
    }

    #[test]
    fn bad_shapes_are_format_errors() {
        for text in [
            "",
            "094017F",
            "09401766F",
            "0940176",
            "A940176F",
            "09401 6F",
            "0940176É",
            "0940176-",
        ] {
            assert_eq!(
                Rne::parse(text),
                Err(RneError::Format(text.to_string())),
                "{text:?}"
            );
        }
    }

    #[test]
    fn serde_uses_the_plain_string() {
        let rne = Rne::parse("0752401C").unwrap();
        assert_eq!(serde_json::to_string(&rne).unwrap(), "\"0752401C\"");
        let back: Rne = serde_json::from_str("\"0752401c\"").unwrap();
        assert_eq!(back, rne);
        assert!(serde_json::from_str::<Rne>("\"0752401D\"").is_err());
    }

    #[test]
    fn account_names_map_to_their_rne() {
        let rne = Rne::parse("0752401C").unwrap();
        assert_eq!(account_rne("ce.0752401C", &prefixes()), Some(rne.clone()));
        assert_eq!(account_rne("CE.0752401c", &prefixes()), Some(rne.clone()));
        assert_eq!(
            account_rne("ecole.0940176f", &prefixes()),
            Some(Rne::parse("0940176F").unwrap())
        );
        assert_eq!(account_rne("0752401C", &prefixes()), None);
        assert_eq!(account_rne("0752401C", &[String::new()]), Some(rne));
    }

    #[test]
    fn other_accounts_have_no_rne() {
        for account in [
            "ce.0752401D",
            "ce.0752401C@ac-paris.fr",
            "ce. 0752401C",
            "ien.0752401C",
            "jean.dupont",
            "ce.",
            "é",
            "",
        ] {
            assert_eq!(account_rne(account, &prefixes()), None, "{account:?}");
        }
    }
}
