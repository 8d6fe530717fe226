//! Windows Explorer's file times: after copying a file it sends `Win32LastModifiedTime` in a
//! PROPPATCH, which the WebDAV crate answers 200 without applying. Where the policy allows, the
//! time becomes the deposit's modification date.

use std::time::SystemTime;

use dav_server::davpath::DavPath;
use xmltree::{Element, XMLNode};

use super::context::DavContext;
use super::fs::DepositFs;
use super::view::Node;

const MS_NAMESPACE: &str = "urn:schemas-microsoft-com:";

/// The `Win32LastModifiedTime` a PROPPATCH body sets, if any.
pub fn win32_modified(body: &[u8]) -> Option<SystemTime> {
    let root = Element::parse(body).ok()?;
    find(&root).and_then(|text| httpdate::parse_http_date(text.trim()).ok())
}

fn find(element: &Element) -> Option<String> {
    let is_time = element.name == "Win32LastModifiedTime"
        && element.namespace.as_deref() == Some(MS_NAMESPACE);
    if is_time {
        return element.get_text().map(|t| t.into_owned());
    }
    element.children.iter().find_map(|child| match child {
        XMLNode::Element(e) => find(e),
        _ => None,
    })
}

impl DepositFs {
    /// Applies the time a PROPPATCH body carries to the school's own deposit at `path`.
    pub fn apply_client_time(&self, path: &DavPath, body: &[u8], ctx: &DavContext) {
        if !self.policy().apply_client_times {
            return;
        }
        let Some(time) = win32_modified(body) else {
            return;
        };
        if let Node::File { rne, stored } = self.node(path, ctx) {
            if ctx.principal.school_rne() != Some(&rne) {
                return;
            }
            if let Err(err) = self.depositor().store().set_modified(&rne, &stored, time) {
                tracing::warn!(rne = %rne, stored, error = %err, "client time not applied");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_explorers_time() {
        let body = br#"<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:"
            xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>
            <Z:Win32CreationTime>Mon, 01 Sep 2025 08:00:00 GMT</Z:Win32CreationTime>
            <Z:Win32LastModifiedTime>Tue, 02 Sep 2025 09:30:00 GMT</Z:Win32LastModifiedTime>
            </D:prop></D:set></D:propertyupdate>"#;
        let time = win32_modified(body).unwrap();
        assert_eq!(
            httpdate::fmt_http_date(time),
            "Tue, 02 Sep 2025 09:30:00 GMT"
        );
        assert!(win32_modified(b"<D:propertyupdate xmlns:D=\"DAV:\"/>").is_none());
        assert!(win32_modified(b"not xml").is_none());
    }
}
