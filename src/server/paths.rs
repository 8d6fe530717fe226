//! Checks of the raw request path before anything else reads it: one decoding, valid UTF-8,
//! no traversal in any encoding, no separator or NUL hidden in a segment.

/// Why a path is refused (the message is for the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPath(pub &'static str);

/// Validates the raw (still percent-encoded) path.
pub fn check_raw_path(raw: &str) -> Result<(), BadPath> {
    for segment in raw.split('/') {
        if segment.contains('\\') {
            return Err(BadPath("chemin invalide : barre oblique inverse"));
        }
        let decoded: Vec<u8> = percent_encoding::percent_decode_str(segment).collect();
        if decoded.contains(&0) {
            return Err(BadPath("chemin invalide : caractère nul"));
        }
        if decoded.contains(&b'/') || decoded.contains(&b'\\') {
            return Err(BadPath("chemin invalide : séparateur encodé dans un nom"));
        }
        if decoded == b".." || decoded == b"." {
            return Err(BadPath("chemin invalide : « . » ou « .. » interdit"));
        }
        let Ok(text) = std::str::from_utf8(&decoded) else {
            return Err(BadPath("chemin invalide : UTF-8 attendu"));
        };
        if text.chars().any(char::is_control) {
            return Err(BadPath("chemin invalide : caractère de contrôle"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_traversal_in_every_encoding() {
        for bad in [
            "/dav/../etc/passwd",
            "/dav/%2e%2e/x",
            "/dav/%2E%2E/x",
            "/dav/a%2fb",
            "/dav/a%2Fb",
            "/dav/a%5cb",
            "/dav/a\\b",
            "/dav/a%00b",
            "/dav/%c0%ae%c0%ae/x",
            "/dav/%ff.pdf",
            "/dav/a%0ab.pdf",
            "/dav/./x",
        ] {
            assert!(check_raw_path(bad).is_err(), "{bad} accepted");
        }
        for good in [
            "/dav/",
            "/dav/75001/E%20E%20PU%20ARBRE%20SEC/plan%20(1).pdf",
            "/dav/%25.pdf",
        ] {
            assert_eq!(check_raw_path(good), Ok(()), "{good} refused");
        }
    }
}
