//! The `Authorization: Basic` header.

use base64::Engine;

/// Account and password from a Basic authorization header value; `None` if malformed.
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (account, password) = text.split_once(':')?;
    Some((account.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::parse_basic;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            parse_basic("Basic Y2UuMDc1MjQwMUM6YWJjOmQ="),
            Some(("ce.0752401C".into(), "abc:d".into()))
        );
        assert_eq!(parse_basic("Bearer xyz"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Basic bm9jb2xvbg=="), None);
    }
}
