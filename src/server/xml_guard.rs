//! A check of request XML before the WebDAV crate parses it: its parser recurses per nesting
//! level, so a deeply nested body could exhaust a worker's stack. WebDAV bodies nest a handful
//! of levels; anything deeper is refused.

/// Deepest element nesting accepted in a request body.
pub const MAX_XML_DEPTH: usize = 64;

/// Whether the elements of `xml` nest deeper than `max`. A rough scan (it does not validate):
/// it counts start and end tags, skipping comments, processing instructions, declarations and
/// CDATA, which is enough to bound what the real parser will recurse into.
pub fn too_deep(xml: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(offset) = xml[i..].iter().position(|&b| b == b'<') {
        i += offset;
        let rest = &xml[i..];
        let skip_to = |end: &[u8]| {
            rest.windows(end.len())
                .position(|w| w == end)
                .map(|p| p + end.len())
                .unwrap_or(rest.len())
        };
        let step = if rest.starts_with(b"<!--") {
            skip_to(b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            skip_to(b"]]>")
        } else if rest.starts_with(b"<?") || rest.starts_with(b"<!") {
            skip_to(b">")
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            skip_to(b">")
        } else {
            let end = skip_to(b">");
            let self_closing = end >= 2 && rest[end - 2] == b'/';
            if !self_closing {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            end
        };
        i += step.max(1);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_nesting() {
        let ok = b"<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:prop><D:getetag/>\
                   </D:prop><!-- <a><a><a> --></D:propfind>";
        assert!(!too_deep(ok, 2));
        assert!(too_deep(ok, 1));
        let deep = format!("<a>{}{}</a>", "<b>".repeat(100), "</b>".repeat(100));
        assert!(too_deep(deep.as_bytes(), MAX_XML_DEPTH));
        let flat = "<a/>".repeat(10_000);
        assert!(!too_deep(flat.as_bytes(), 1));
        assert!(!too_deep(b"<![CDATA[<a><a><a>]]>", 1));
    }
}
