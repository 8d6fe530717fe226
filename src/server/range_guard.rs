//! The `Range` header every file download passes through before the WebDAV crate reads it
//! (WebDAV GET and the crisis cell's `/cellule/fichier/...`): a request asking for many ranges,
//! or for ranges that overlap, would get a multipart answer many times the file's size, so its
//! `Range` is dropped and the whole file is sent with a 200, which RFC 9110 §14.2 allows.

use http::{header, HeaderMap};

/// Most ranges one request may ask for (PDF viewers ask for one at a time).
pub const MAX_RANGES: usize = 8;

/// One byte range as asked: `first-last`, `first-` (to the end) or `-suffix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    From { first: u64, last: Option<u64> },
    Suffix,
}

/// Removes the `Range` header from `headers` when it asks for more than [`MAX_RANGES`] ranges,
/// for ranges that overlap (or that cannot be shown apart without the file's length: a suffix
/// range among others), when it is unreadable, or when it is sent more than once. Returns
/// whether it was removed.
pub fn tame_range(headers: &mut HeaderMap) -> bool {
    let mut values = headers.get_all(header::RANGE).iter();
    let Some(first) = values.next() else {
        return false;
    };
    let acceptable = values.next().is_none()
        && first
            .to_str()
            .ok()
            .and_then(parse)
            .is_some_and(|specs| reasonable(&specs));
    if !acceptable {
        tracing::debug!("Range header dropped: too many, overlapping or unreadable ranges");
        headers.remove(header::RANGE);
        headers.remove(header::IF_RANGE);
    }
    !acceptable
}

/// The ranges of a `bytes=` value, `None` if unreadable or over [`MAX_RANGES`].
fn parse(value: &str) -> Option<Vec<Spec>> {
    let (unit, list) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut specs = Vec::new();
    for part in list.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        if specs.len() == MAX_RANGES {
            return None;
        }
        let (first, last) = part.split_once('-')?;
        let number = |s: &str| s.trim().parse::<u64>().ok();
        let spec = match (first.trim().is_empty(), last.trim().is_empty()) {
            (true, false) => {
                number(last)?;
                Spec::Suffix
            }
            (false, true) => Spec::From {
                first: number(first)?,
                last: None,
            },
            (false, false) => Spec::From {
                first: number(first)?,
                last: Some(number(last)?),
            },
            (true, true) => return None,
        };
        specs.push(spec);
    }
    (!specs.is_empty()).then_some(specs)
}

/// Whether the ranges are pairwise apart.
fn reasonable(specs: &[Spec]) -> bool {
    if specs.len() == 1 {
        return true;
    }
    let mut spans = Vec::with_capacity(specs.len());
    for spec in specs {
        match *spec {
            Spec::Suffix => return false,
            Spec::From { first, last } => spans.push((first, last.unwrap_or(u64::MAX))),
        }
    }
    spans.sort_unstable();
    spans.windows(2).all(|pair| pair[0].1 < pair[1].0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(value: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, value.parse().unwrap());
        !tame_range(&mut headers) && headers.contains_key(header::RANGE)
    }

    #[test]
    fn single_and_disjoint_ranges_are_kept() {
        assert!(kept("bytes=0-8"));
        assert!(kept("bytes=100-"));
        assert!(kept("bytes=-500"));
        assert!(kept("bytes=0-9, 20-29, 40-"));
        let eight: Vec<String> = (0..8)
            .map(|i| format!("{}-{}", i * 10, i * 10 + 5))
            .collect();
        assert!(kept(&format!("bytes={}", eight.join(","))));
    }

    #[test]
    fn many_overlapping_or_unreadable_ranges_are_dropped() {
        assert!(!kept(&format!("bytes={}", vec!["0-"; 1000].join(","))));
        let nine: Vec<String> = (0..9)
            .map(|i| format!("{}-{}", i * 10, i * 10 + 5))
            .collect();
        assert!(!kept(&format!("bytes={}", nine.join(","))));
        assert!(!kept("bytes=0-10,5-20"));
        assert!(!kept("bytes=0-,100-200"));
        assert!(!kept("bytes=0-10,-5"));
        assert!(!kept("bytes=abc"));
        assert!(!kept("items=0-10"));
    }

    #[test]
    fn no_range_nothing_done() {
        let mut headers = HeaderMap::new();
        assert!(!tame_range(&mut headers));
    }
}
