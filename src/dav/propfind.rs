//! PROPFIND of Depth 0 or 1 answered by this server itself, written straight into one buffer.
//! The WebDAV crate builds an XML tree per property of every listed entry, parses each of this
//! server's own properties back from XML text and asks the lock system about every entry: a
//! folder of 500 deposits took ~15 ms, nearly all of it there. The answer written here is the
//! crate's, property for property, for what a deposit box holds (no dead properties, no locks
//! in force); anything else (`propname`, Depth infinity or absent, a policy with dead
//! properties, an active lock, a path the file system refuses) is left to the crate.
//!
//! Two differences from the crate, both towards RFC 4918: a `prop` request gets the properties
//! it names and no others (the crate adds this server's own ones to every answer, twice when
//! named), and `resourcetype` and `current-user-principal` always carry the `D:` prefix.

use std::fmt::Write as _;
use std::time::SystemTime;

use dav_server::davpath::DavPath;
use dav_server::fs::DavMetaData;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use xmltree::{Element, XMLNode};

use super::context::DavContext;
use super::fs::{DepositFs, PROPS_NS};
use super::meta::Meta;

// Limitation: while any lock is in force (Windows and Finder lock what they are writing, for an
// hour at most), every PROPFIND goes to the crate again: ~15 ms for 500 deposits instead of
// ~1 ms. Answering lockdiscovery here per entry would need the lock table by path.
const NS_DAV: &str = "DAV:";
const NS_APACHE: &str = "http://apache.org/dav/props/";
const NS_MS: &str = "urn:schemas-microsoft-com:";
const NS_NEXTCLOUD: &str = "http://nextcloud.org/ns";
const NS_OWNCLOUD: &str = "http://owncloud.org/ns";

/// What the crate leaves unencoded in an `href`.
const HREF_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The live properties of `<allprop/>`, in the crate's order (Windows gets the Win32 ones).
const ALLPROP: &[(&str, &str)] = &[
    (NS_DAV, "creationdate"),
    (NS_DAV, "displayname"),
    (NS_DAV, "getcontentlanguage"),
    (NS_DAV, "getcontentlength"),
    (NS_DAV, "getcontenttype"),
    (NS_DAV, "getetag"),
    (NS_DAV, "getlastmodified"),
    (NS_DAV, "lockdiscovery"),
    (NS_DAV, "resourcetype"),
    (NS_DAV, "supportedlock"),
];
const MS_ALLPROP_EXTRA: &[(&str, &str)] = &[
    (NS_MS, "Win32CreationTime"),
    (NS_MS, "Win32FileAttributes"),
    (NS_MS, "Win32LastAccessTime"),
    (NS_MS, "Win32LastModifiedTime"),
];

const SUPPORTED_LOCK: &str = "<D:supportedlock><D:lockentry><D:lockscope><D:exclusive>\
    </D:exclusive></D:lockscope><D:locktype><D:write></D:write></D:locktype></D:lockentry>\
    <D:lockentry><D:lockscope><D:shared></D:shared></D:lockscope><D:locktype><D:write>\
    </D:write></D:locktype></D:lockentry></D:supportedlock>";

/// The properties a request asks for.
enum Wanted {
    /// Every live property, then all of this server's own.
    All,
    /// The named ones, in order: (namespace, name).
    Named(Vec<(Option<String>, String)>),
}

/// What the request is answered with, per listed resource.
struct Writer<'a> {
    out: String,
    wanted: &'a [(Option<String>, String)],
    all: bool,
    user_agent: &'a str,
    account: &'a str,
    /// Bytes used and the quota, for a school's own view.
    quota: Option<(u64, u64)>,
}

/// One resource to describe.
struct Resource<'a> {
    href: &'a str,
    meta: &'a Meta,
    /// Its name starts with a dot (Windows' hidden attribute).
    dotted: bool,
    /// The request path is the root (`quota-used-bytes` is then the whole usage).
    root: bool,
    props: &'a [(&'static str, String)],
}

/// Parses a PROPFIND body the way the crate does; `None` when the crate should answer.
fn wanted(body: &[u8]) -> Option<Wanted> {
    if body.is_empty() {
        return Some(Wanted::All);
    }
    let root = Element::parse(body).ok()?;
    if root.name != "propfind" || root.namespace.as_deref() != Some(NS_DAV) {
        return None;
    }
    let mut children = root.children.iter().filter_map(XMLNode::as_element);
    if children.clone().any(|e| e.name == "includes") {
        return None;
    }
    let found = children.find(|e| matches!(e.name.as_str(), "propname" | "prop" | "allprop"))?;
    match found.name.as_str() {
        "allprop" => Some(Wanted::All),
        "prop" => Some(Wanted::Named(
            found
                .children
                .iter()
                .filter_map(XMLNode::as_element)
                .map(|e| (e.namespace.clone(), e.name.clone()))
                .collect(),
        )),
        _ => None,
    }
}

fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

fn http_date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

/// The content type the crate derives from a file name's extension, for the types a deposit
/// can have; others are `application/octet-stream`, as for an unknown extension.
fn content_type(name: &str) -> &'static str {
    let Some((_, ext)) = name.rsplit_once('.') else {
        return "application/octet-stream";
    };
    match ext.to_ascii_lowercase().as_str() {
        "pdf" => "application/pdf",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "odp" => "application/vnd.oasis.opendocument.presentation",
        "odg" => "application/vnd.oasis.opendocument.graphics",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "doc" => "application/msword",
        "xls" => "application/vnd.ms-excel",
        "ppt" => "application/vnd.ms-powerpoint",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "tif" | "tiff" => "image/tiff",
        "webp" => "image/webp",
        "zip" => "application/zip",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

impl Writer<'_> {
    fn element(&mut self, prefix: &str, name: &str, text: &str) {
        let _ = write!(self.out, "<{prefix}:{name}>");
        escape(&mut self.out, text);
        let _ = write!(self.out, "</{prefix}:{name}>");
    }

    /// Writes one property of `res` if it has a value (the crate leaves out the others).
    fn property(&mut self, ns: Option<&str>, name: &str, res: &Resource<'_>) {
        let meta = res.meta;
        match ns {
            Some(NS_DAV) => match name {
                "getetag" => {
                    if let Some(etag) = meta.etag() {
                        self.element("D", name, &etag);
                    }
                }
                "getcontentlength" if !meta.is_dir => {
                    self.element("D", name, &meta.len.to_string());
                }
                "getcontenttype" => {
                    let kind = if meta.is_dir {
                        "httpd/unix-directory"
                    } else {
                        let leaf = res.href.rsplit('/').next().unwrap_or_default();
                        let leaf = percent_encoding::percent_decode_str(leaf).decode_utf8_lossy();
                        content_type(&leaf)
                    };
                    self.element("D", name, kind);
                }
                "getlastmodified" => self.element("D", name, &http_date(meta.modified)),
                "resourcetype" if meta.is_dir => {
                    self.out
                        .push_str("<D:resourcetype><D:collection></D:collection></D:resourcetype>");
                }
                "resourcetype" => self.out.push_str("<D:resourcetype></D:resourcetype>"),
                "current-user-principal" => {
                    self.out.push_str("<D:current-user-principal><D:href>");
                    escape(&mut self.out, self.account);
                    self.out.push_str("</D:href></D:current-user-principal>");
                }
                "supportedlock" => self.out.push_str(SUPPORTED_LOCK),
                "lockdiscovery" => self.out.push_str("<D:lockdiscovery></D:lockdiscovery>"),
                "quota-available-bytes" | "quota-used-bytes" => {
                    let Some((total_used, quota)) = self.quota else {
                        return;
                    };
                    let used = if res.root { total_used } else { meta.len };
                    let text = if name == "quota-available-bytes" {
                        quota.saturating_sub(used).to_string()
                    } else if self.user_agent.contains("WebDAVFS") {
                        format!("{used:014}")
                    } else {
                        used.to_string()
                    };
                    self.element("D", name, &text);
                }
                _ => {}
            },
            Some(NS_MS) => match name {
                "Win32LastModifiedTime" => self.element("Z", name, &http_date(meta.modified)),
                "Win32FileAttributes" => {
                    let hidden = if res.dotted { 0x02 } else { 0 };
                    let kind = if meta.is_dir { 0x10 } else { 0x20 };
                    self.element("Z", name, &format!("{:08x}", hidden | kind));
                }
                _ => {}
            },
            Some(PROPS_NS) => {
                if let Some((_, value)) = res.props.iter().find(|(n, _)| *n == name) {
                    self.own(name, value);
                }
            }
            _ => {}
        }
    }

    fn own(&mut self, name: &str, value: &str) {
        let _ = write!(self.out, "<P:{name} xmlns:P=\"{PROPS_NS}\">");
        escape(&mut self.out, value);
        let _ = write!(self.out, "</P:{name}>");
    }

    fn resource(&mut self, res: &Resource<'_>, ms: bool) {
        self.out.push_str("<D:response><D:href>");
        self.out.push_str(res.href);
        self.out.push_str("</D:href>");
        let start = self.out.len();
        self.out.push_str("<D:propstat><D:prop>");
        let opened = self.out.len();
        if self.all {
            for (ns, name) in ALLPROP {
                self.property(Some(ns), name, res);
            }
            if ms {
                for (ns, name) in MS_ALLPROP_EXTRA {
                    self.property(Some(ns), name, res);
                }
            }
            for (name, value) in res.props {
                self.own(name, value);
            }
        } else {
            for (ns, name) in self.wanted {
                self.property(ns.as_deref(), name, res);
            }
        }
        if self.out.len() == opened {
            // Nothing found: the crate writes no propstat at all.
            self.out.truncate(start);
        } else {
            self.out
                .push_str("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>");
        }
        self.out.push_str("</D:response>");
    }
}

/// The multistatus start tag, declaring the namespaces of the properties asked for.
fn multistatus(names: &[(Option<String>, String)], ms: bool) -> String {
    let has = |ns: &str| names.iter().any(|(n, _)| n.as_deref() == Some(ns));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><D:multistatus");
    let declared = [
        ("A", NS_APACHE, has(NS_APACHE)),
        ("D", NS_DAV, true),
        ("Z", NS_MS, ms || has(NS_MS)),
        ("nc", NS_NEXTCLOUD, has(NS_NEXTCLOUD)),
        ("oc", NS_OWNCLOUD, has(NS_OWNCLOUD)),
    ];
    for (prefix, ns, on) in declared {
        if on {
            let _ = write!(out, " xmlns:{prefix}=\"{ns}\"");
        }
    }
    out.push('>');
    out
}

/// A PROPFIND answer this server wrote itself.
pub struct Multistatus {
    pub body: String,
    /// Set when the request named a folder without its final slash.
    pub content_location: Option<String>,
}

/// A PROPFIND request as the server read it.
pub struct PropfindAsk<'a> {
    /// The request path with its prefix (`/dav/...`), still percent-encoded.
    pub uri_path: &'a str,
    pub prefix: &'a str,
    /// Depth 1 (else 0).
    pub depth_one: bool,
    pub body: &'a [u8],
    pub user_agent: &'a str,
    /// No lock is in force anywhere: each entry's `lockdiscovery` is empty.
    pub locks_idle: bool,
}

impl DepositFs {
    /// Answers a PROPFIND of Depth 0 or 1, or `None` when the crate must.
    pub fn propfind(&self, ask: &PropfindAsk<'_>, ctx: &DavContext) -> Option<Multistatus> {
        let PropfindAsk {
            uri_path,
            prefix,
            depth_one,
            body,
            user_agent,
            locks_idle,
        } = *ask;
        if !locks_idle || self.policy().allow_dead_properties {
            return None;
        }
        let wanted = wanted(body)?;
        let mut path = DavPath::new(uri_path).ok()?;
        path.set_prefix(prefix).ok()?;
        let node = self.node(&path, ctx);
        let meta = self.meta_of(&node, ctx).ok()?;
        let mut href = path.with_prefix().as_url_string();
        let mut content_location = None;
        if meta.is_dir && !href.ends_with('/') {
            href.push('/');
            content_location = Some(href.clone());
        }
        let children = match depth_one && meta.is_dir {
            true => self.children(&node, ctx).ok()?,
            false => Vec::new(),
        };
        let ms = user_agent.contains("Microsoft");
        let (all, names) = match wanted {
            Wanted::All => (true, Vec::new()),
            Wanted::Named(names) => (false, names),
        };
        let quota = ctx.principal.school_rne().and_then(|rne| {
            let used = self.depositor().store().used_bytes(rne).ok()?;
            Some((used, self.policy().school_quota_bytes))
        });
        let mut writer = Writer {
            out: multistatus(&names, all && ms),
            wanted: &names,
            all,
            user_agent,
            account: &ctx.principal.account,
            quota,
        };
        writer.out.reserve(700 * (children.len() + 1));
        let own = self.custom_props(&node);
        let leaf = path.file_name().unwrap_or_default();
        let target = Resource {
            href: &href,
            meta: &meta,
            dotted: leaf.starts_with('.'),
            root: path.as_bytes() == b"/",
            props: &own,
        };
        writer.resource(&target, all && ms);
        let mut child_href = String::new();
        for entry in &children {
            child_href.clear();
            child_href.push_str(&href);
            if !child_href.ends_with('/') {
                child_href.push('/');
            }
            child_href.extend(utf8_percent_encode(&entry.name, HREF_KEEP));
            if entry.meta.is_dir {
                child_href.push('/');
            }
            let res = Resource {
                href: &child_href,
                meta: &entry.meta,
                dotted: entry.name.starts_with('.'),
                root: false,
                props: &entry.props,
            };
            writer.resource(&res, all && ms);
        }
        writer.out.push_str("</D:multistatus>");
        Some(Multistatus {
            body: writer.out,
            content_location,
        })
    }
}
