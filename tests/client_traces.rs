//! The request sequences real desktop clients send (`/work/shared/data/client-traces.md`,
//! behaviours 1–10), replayed byte for byte over raw HTTP/1.1 as the school ARBRE SEC under the
//! default policy: Windows Explorer's mini-redirector, macOS Finder and davfs2. Each test checks
//! every status, the headers those clients depend on, and what ends up stored.

mod common;
#[path = "common/raw_http.rs"]
mod raw_http;

use std::time::Duration;

use common::*;
use ppms_depot::auth::IssuedKey;
use raw_http::{chunk, Conn, Request, Response, LAST_CHUNK};
use xmltree::{Element, XMLNode};

const WINDOWS: &str = "Microsoft-WebDAV-MiniRedir/10.0.19045";
const FINDER: &str = "WebDAVFS/3.0.0 (03008000) Darwin/22.1.0 (arm64)";
const DAVFS2: &str = "davfs2/1.7.0 neon/0.32.5";

/// ARBRE SEC's folder as clients address it.
const FOLDER: &str = "/dav/75001/E%20E%20PU%20ARBRE%20SEC/";
/// The same folder, decoded.
const FOLDER_DECODED: &str = "/dav/75001/E E PU ARBRE SEC/";
/// The default policy's quota per school (`policies/deposit.toml`).
const DEFAULT_QUOTA: u64 = 1_073_741_824;
/// How long a read may take while a write lock is held or an upload is in progress.
const READ_PROMPTLY: Duration = Duration::from_secs(3);

const MS_NS: &str = "urn:schemas-microsoft-com:";
const WIN32_PROPS: [&str; 4] = [
    "Win32CreationTime",
    "Win32LastAccessTime",
    "Win32LastModifiedTime",
    "Win32FileAttributes",
];

// ---------------------------------------------------------------------------------------------
// Clients

/// One client program on one keep-alive connection (reopened when the server closes it).
struct Client {
    addr: String,
    agent: &'static str,
    auth: Option<String>,
    conn: Option<Conn>,
}

fn basic(key: &IssuedKey) -> String {
    use base64::Engine;
    let raw = format!("{}:{}", key.account, key.secret);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

impl Client {
    fn new(server: &TestServer, agent: &'static str, key: Option<&IssuedKey>) -> Client {
        Client {
            addr: server.base.trim_start_matches("http://").to_string(),
            agent,
            auth: key.map(basic),
            conn: None,
        }
    }

    /// The same client on a new connection (a second request in parallel).
    fn another(&self) -> Client {
        Client {
            addr: self.addr.clone(),
            agent: self.agent,
            auth: self.auth.clone(),
            conn: None,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request with the headers this client always sends.
    fn req(&self, method: &str, target: &str) -> Request {
        let mut req = Request::new(method, target).header("Host", &self.addr);
        req = match self.agent {
            WINDOWS => req
                .header("Connection", "Keep-Alive")
                .header("User-Agent", WINDOWS)
                .header("translate", "f"),
            FINDER => req
                .header("Accept", "*/*")
                .header("User-Agent", FINDER)
                .header("Connection", "keep-alive"),
            _ => req
                .header("User-Agent", self.agent)
                .header("Keep-Alive", "")
                .header("Connection", "TE, Keep-Alive")
                .header("TE", "trailers"),
        };
        match &self.auth {
            Some(auth) => req.header("Authorization", auth),
            None => req,
        }
    }

    async fn conn(&mut self) -> &mut Conn {
        if let Some(conn) = self.conn.as_mut() {
            if conn.closed_by_server().await {
                self.conn = None;
            }
        }
        if self.conn.is_none() {
            self.conn = Some(Conn::connect(&self.addr).await);
        }
        self.conn.as_mut().unwrap()
    }

    async fn send(&mut self, req: &Request) -> Response {
        let response = self.conn().await.exchange(req).await;
        if std::env::var_os("CLIENT_TRACES_LOG").is_some() {
            eprintln!(
                "{}: {} {} -> {}",
                self.agent, req.method, req.target, response
            );
        }
        if response.closes {
            self.conn = None;
        }
        response
    }

    /// Sends `req` and checks its status is one of `statuses`.
    async fn expect(&mut self, step: &str, req: Request, statuses: &[u16]) -> Response {
        let response = self.send(&req).await;
        assert!(
            statuses.contains(&response.status()),
            "{step}: {} {} answered {}, expected {statuses:?}\n{response}",
            req.method,
            req.target,
            response.status()
        );
        response
    }
}

// ---------------------------------------------------------------------------------------------
// Bodies as the clients send them

const XML: &str = "text/xml; charset=\"utf-8\"";

fn windows_propfind() -> &'static str {
    "<?xml version=\"1.0\" encoding=\"utf-8\" ?><D:propfind xmlns:D=\"DAV:\">\
     <D:prop xmlns:Z=\"urn:schemas-microsoft-com:\"><D:getcontentlength/><D:getlastmodified/>\
     <D:creationdate/><D:resourcetype/><D:displayname/><Z:Win32FileAttributes/>\
     <Z:Win32CreationTime/><Z:Win32LastAccessTime/><Z:Win32LastModifiedTime/></D:prop>\
     </D:propfind>"
}

fn allprop() -> &'static str {
    "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\
     <D:propfind xmlns:D=\"DAV:\"><D:allprop/></D:propfind>"
}

fn propname() -> &'static str {
    "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\
     <D:propfind xmlns:D=\"DAV:\"><D:propname/></D:propfind>"
}

fn finder_propfind() -> &'static str {
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:propfind xmlns:D=\"DAV:\">\n<D:prop>\n\
     <D:getlastmodified/>\n<D:getcontentlength/>\n<D:creationdate/>\n<D:resourcetype/>\n\
     </D:prop>\n</D:propfind>\n"
}

fn davfs2_propfind() -> &'static str {
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<propfind xmlns=\"DAV:\"><prop>\
     <getlastmodified xmlns=\"DAV:\"/><getcontentlength xmlns=\"DAV:\"/>\
     <resourcetype xmlns=\"DAV:\"/><getetag xmlns=\"DAV:\"/><executable \
     xmlns=\"http://apache.org/dav/props/\"/></prop></propfind>\n"
}

fn quota_propfind() -> &'static str {
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<propfind xmlns=\"DAV:\"><prop>\
     <quota-available-bytes/><quota-used-bytes/></prop></propfind>\n"
}

/// Explorer's PROPPATCH of the four Win32 times/attributes, plus `extra` properties.
fn win32_proppatch(extra: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?><D:propertyupdate xmlns:D=\"DAV:\" \
         xmlns:Z=\"urn:schemas-microsoft-com:\"><D:set><D:prop>\
         <Z:Win32CreationTime>Mon, 02 Jun 2025 08:15:30 GMT</Z:Win32CreationTime>\
         <Z:Win32LastAccessTime>Mon, 02 Jun 2025 08:15:30 GMT</Z:Win32LastAccessTime>\
         <Z:Win32LastModifiedTime>Fri, 30 May 2025 16:42:07 GMT</Z:Win32LastModifiedTime>\
         <Z:Win32FileAttributes>00000020</Z:Win32FileAttributes>{extra}\
         </D:prop></D:set></D:propertyupdate>"
    )
}

fn lockinfo(owner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?><D:lockinfo xmlns:D=\"DAV:\">\
         <D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>\
         <D:owner>{owner}</D:owner></D:lockinfo>"
    )
}

fn davfs2_lockinfo() -> &'static str {
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<lockinfo xmlns='DAV:'>\n \
     <lockscope><exclusive/></lockscope>\n<locktype><write/></locktype>\
     <owner>davfs2</owner></lockinfo>\n"
}

/// A macOS AppleDouble resource fork as Finder writes it beside a copied file (4096 bytes).
fn apple_double() -> Vec<u8> {
    let mut fork = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02".to_vec();
    fork.extend_from_slice(b"\x00\x00\x00\x09\x00\x00\x00\x32\x00\x00\x0e\xb0");
    fork.extend_from_slice(b"\x00\x00\x00\x02\x00\x00\x0e\xe2\x00\x00\x01\x1e");
    fork.extend_from_slice(b"ATTR\x00\x00\x00\x00com.apple.quarantine");
    fork.resize(4096, 0);
    fork
}

/// A `.DS_Store` as Finder writes it (6148 bytes).
fn ds_store() -> Vec<u8> {
    let mut store = b"\x00\x00\x00\x01Bud1\x00\x00\x10\x00\x00\x00\x08\x00".to_vec();
    store.extend_from_slice(b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00icvp");
    store.resize(6148, 0);
    store
}

/// A small Office Open XML file: a zip with one stored entry.
fn docx(text: &str) -> Vec<u8> {
    let name = b"[Content_Types].xml";
    let mut zip = b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    zip.extend_from_slice(&[0, 0, 0, 0]);
    zip.extend_from_slice(&(text.len() as u32).to_le_bytes());
    zip.extend_from_slice(&(text.len() as u32).to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&[0, 0]);
    zip.extend_from_slice(name);
    zip.extend_from_slice(text.as_bytes());
    zip
}

// ---------------------------------------------------------------------------------------------
// Reading answers

/// One property in a 207 answer, with the status of its propstat.
#[derive(Debug, Clone)]
struct PropResult {
    namespace: String,
    name: String,
    status: u16,
    value: String,
    /// Names of the value's child elements (`collection` in a `resourcetype`).
    children: Vec<String>,
}

/// One `<D:response>` of a 207 answer.
#[derive(Debug, Clone)]
struct DavResponse {
    href: String,
    props: Vec<PropResult>,
}

impl DavResponse {
    fn prop(&self, namespace: &str, name: &str) -> Option<&PropResult> {
        self.props
            .iter()
            .find(|p| p.namespace == namespace && p.name == name)
    }

    fn is_collection(&self) -> bool {
        self.prop("DAV:", "resourcetype")
            .is_some_and(|p| p.status == 200 && p.children.iter().any(|c| c == "collection"))
    }
}

fn children(e: &Element) -> impl Iterator<Item = &Element> {
    e.children.iter().filter_map(|n| match n {
        XMLNode::Element(child) => Some(child),
        _ => None,
    })
}

fn is_dav(e: &Element, name: &str) -> bool {
    e.name == name && e.namespace.as_deref() == Some("DAV:")
}

fn status_code(line: &str) -> u16 {
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status {line:?}"))
}

fn text_of(e: &Element) -> String {
    e.get_text()
        .map(|t| t.trim().to_string())
        .unwrap_or_default()
}

/// Checks a 207 answer (status, XML Content-Type, well-formed namespaced XML) and reads it.
fn multistatus(response: &Response) -> Vec<DavResponse> {
    assert_eq!(response.status(), 207, "{response}");
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/xml") || content_type.starts_with("text/xml"),
        "207 without an XML Content-Type: {response}"
    );
    let root = Element::parse(response.body.as_slice())
        .unwrap_or_else(|e| panic!("207 body is not well-formed XML ({e}):\n{response}"));
    assert!(
        is_dav(&root, "multistatus"),
        "root is not DAV:multistatus: {response}"
    );
    let mut out = Vec::new();
    for r in children(&root).filter(|e| is_dav(e, "response")) {
        let hrefs: Vec<String> = children(r)
            .filter(|e| is_dav(e, "href"))
            .map(text_of)
            .collect();
        assert_eq!(hrefs.len(), 1, "one href per response: {response}");
        let mut props = Vec::new();
        for propstat in children(r).filter(|e| is_dav(e, "propstat")) {
            let status = children(propstat)
                .find(|e| is_dav(e, "status"))
                .map(|e| status_code(&text_of(e)))
                .unwrap_or_else(|| panic!("propstat without status: {response}"));
            for prop in children(propstat).filter(|e| is_dav(e, "prop")) {
                for p in children(prop) {
                    let namespace = p.namespace.clone().unwrap_or_else(|| {
                        panic!("property <{}> has no namespace: {response}", p.name)
                    });
                    props.push(PropResult {
                        namespace,
                        name: p.name.clone(),
                        status,
                        value: text_of(p),
                        children: children(p).map(|c| c.name.clone()).collect(),
                    });
                }
            }
        }
        out.push(DavResponse {
            href: hrefs[0].clone(),
            props,
        });
    }
    assert!(!out.is_empty(), "207 without any response: {response}");
    out
}

/// The only `<D:response>` of a Depth 0 answer.
fn single(response: &Response) -> DavResponse {
    let responses = multistatus(response);
    assert_eq!(responses.len(), 1, "{response}");
    responses.into_iter().next().unwrap()
}

/// `getcontentlength` of a Depth 0 PROPFIND answer.
fn content_length(response: &Response) -> u64 {
    let entry = single(response);
    let prop = entry
        .prop("DAV:", "getcontentlength")
        .unwrap_or_else(|| panic!("no getcontentlength: {response}"));
    assert_eq!(prop.status, 200, "{response}");
    prop.value.parse().unwrap()
}

/// The lock token of a LOCK answer, checked against its body and headers.
fn lock_token(response: &Response) -> String {
    let header = response
        .header("lock-token")
        .unwrap_or_else(|| panic!("LOCK answer without Lock-Token: {response}"));
    assert!(
        header.starts_with('<') && header.ends_with('>'),
        "Lock-Token is not a Coded-URL: {header}"
    );
    let token = header[1..header.len() - 1].to_string();
    let scheme = token.split(':').next().unwrap_or_default();
    assert!(
        token.len() > scheme.len() + 1 && scheme.chars().all(|c| c.is_ascii_alphanumeric()),
        "lock token is not an absolute URI: {token}"
    );
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(content_type.contains("xml"), "{response}");
    let root = Element::parse(response.body.as_slice())
        .unwrap_or_else(|e| panic!("LOCK body is not well-formed XML ({e}): {response}"));
    assert!(is_dav(&root, "prop"), "{response}");
    assert!(
        response.text().contains(&token),
        "lockdiscovery does not carry the token: {response}"
    );
    token
}

/// Checks that `header` (a comma-separated list) holds every one of `wanted`.
fn assert_list_has(response: &Response, header: &str, wanted: &[&str]) {
    let value = response
        .header(header)
        .unwrap_or_else(|| panic!("no {header} header: {response}"));
    let items: Vec<String> = value
        .split(',')
        .map(|s| s.trim().to_ascii_uppercase())
        .collect();
    for w in wanted {
        assert!(
            items.iter().any(|i| i == &w.to_ascii_uppercase()),
            "{header}: {value} lacks {w}"
        );
    }
}

/// The files one deposit leaves: the latest copy and version 1 with its record.
fn deposit_files(name: &str) -> Vec<String> {
    let stored = format!("{ARBRE_SEC}-{name}");
    vec![
        format!("{ARBRE_SEC}/{stored}"),
        format!("{ARBRE_SEC}/.versions/{stored}/1"),
        format!("{ARBRE_SEC}/.versions/{stored}/1.json"),
    ]
}

/// The store holds exactly these deposits of ARBRE SEC, each in one version with its bytes.
fn assert_deposits(server: &TestServer, deposits: &[(&str, &[u8])]) {
    let mut expected: Vec<String> = deposits
        .iter()
        .flat_map(|(name, _)| deposit_files(name))
        .collect();
    expected.sort();
    assert_eq!(server.stored_files(), expected, "stored files");
    for (name, content) in deposits {
        let stored = format!("{ARBRE_SEC}-{name}");
        let latest = std::fs::read(server.data_dir().join(ARBRE_SEC).join(&stored)).unwrap();
        assert_eq!(&latest, content, "{stored}: stored bytes");
        let version = server
            .data_dir()
            .join(ARBRE_SEC)
            .join(".versions")
            .join(&stored)
            .join("1");
        assert_eq!(
            &std::fs::read(version).unwrap(),
            content,
            "{stored}: version 1"
        );
    }
}

fn assert_no_deposit(server: &TestServer) {
    assert!(
        server.stored_files().is_empty(),
        "{:?}",
        server.stored_files()
    );
}

/// Runs one read with a deadline: reads must never wait on a write lock or an upload.
async fn promptly<T>(what: &str, read: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(READ_PROMPTLY, read)
        .await
        .unwrap_or_else(|_| panic!("{what} waited more than {READ_PROMPTLY:?}"))
}

// ---------------------------------------------------------------------------------------------
// 1. Windows Explorer mounting the drive

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_mount_options_without_credentials() {
    let server = TestServer::start().await;
    let mut anonymous = Client::new(&server, WINDOWS, None);
    for target in ["/", "/dav", "/dav/"] {
        let response = anonymous
            .expect(
                "OPTIONS without credentials",
                anonymous.req("OPTIONS", target),
                &[200],
            )
            .await;
        assert!(response.header("www-authenticate").is_none(), "{response}");
        assert_list_has(&response, "DAV", &["1", "2"]);
        assert_list_has(
            &response,
            "Allow",
            &[
                "OPTIONS",
                "PROPFIND",
                "PROPPATCH",
                "LOCK",
                "UNLOCK",
                "PUT",
                "GET",
            ],
        );
    }

    // The first PROPFIND without credentials gets the challenge that makes Explorer ask.
    let probe = anonymous
        .req("PROPFIND", "/dav")
        .header("Depth", "0")
        .body("");
    let response = anonymous
        .expect("PROPFIND without credentials", probe, &[401])
        .await;
    let challenge = response
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("401 without WWW-Authenticate: {response}"));
    assert!(challenge.starts_with("Basic "), "{challenge}");
    assert!(challenge.contains("realm="), "{challenge}");

    // With the mount key: OPTIONS still class 2, the root is a collection with a `/` href.
    let mut explorer = Client::new(&server, WINDOWS, Some(&server.arbre_sec));
    let response = explorer
        .expect("OPTIONS", explorer.req("OPTIONS", "/dav"), &[200])
        .await;
    assert_list_has(&response, "DAV", &["1", "2"]);
    for target in ["/dav", "/dav/"] {
        let propfind = explorer
            .req("PROPFIND", target)
            .header("Depth", "0")
            .body("");
        let response = explorer.expect("PROPFIND root", propfind, &[207]).await;
        let root = single(&response);
        assert_eq!(root.href, "/dav/", "{response}");
        assert!(root.is_collection(), "{response}");
    }
    let listing = explorer
        .req("PROPFIND", "/dav/")
        .header("Depth", "1")
        .header("Content-Type", XML)
        .body(windows_propfind());
    let response = explorer
        .expect("PROPFIND root Depth 1", listing, &[207])
        .await;
    let hrefs: Vec<String> = multistatus(&response).into_iter().map(|r| r.href).collect();
    assert_eq!(hrefs, ["/dav/", "/dav/75001/"], "{response}");
    assert_no_deposit(&server);
}

// ---------------------------------------------------------------------------------------------
// 2. Windows Explorer copying a file in

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_copy_sequence_on_original_name() {
    let server = TestServer::start().await;
    let mut explorer = Client::new(&server, WINDOWS, Some(&server.arbre_sec));
    let path = format!("{FOLDER}PPMS%202025.pdf");
    let content = pdf("PPMS 2025 copied by Explorer");

    let probe = explorer
        .req("PROPFIND", &path)
        .header("Depth", "0")
        .header("Content-Type", XML)
        .body(windows_propfind());
    explorer.expect("1 PROPFIND (absent)", probe, &[404]).await;

    let empty = explorer.req("PUT", &path).body("");
    explorer.expect("2 PUT 0 bytes", empty, &[201]).await;
    assert_no_deposit(&server);

    let lock = explorer
        .req("LOCK", &path)
        .header("Timeout", "Second-3600")
        .header("Content-Type", XML)
        .body(lockinfo("<D:href>ARBRE-SEC\\secretariat</D:href>"));
    let response = explorer.expect("3 LOCK", lock, &[200]).await;
    let token = lock_token(&response);
    assert!(
        response.text().contains("ARBRE-SEC\\secretariat"),
        "{response}"
    );
    let if_header = format!("(<{token}>)");

    let patch = explorer
        .req("PROPPATCH", &path)
        .header("If", &if_header)
        .header("Content-Type", XML)
        .body(win32_proppatch(""));
    let response = explorer.expect("4 PROPPATCH", patch, &[207]).await;
    assert_win32_ok(&response, &[]);

    let head = explorer.req("HEAD", &path);
    let response = explorer.expect("5 HEAD", head, &[200]).await;
    assert_eq!(response.header("content-length"), Some("0"), "{response}");

    let put = explorer
        .req("PUT", &path)
        .header("If", &if_header)
        .body(content.clone());
    explorer.expect("6 PUT content", put, &[201, 204]).await;
    assert_deposits(&server, &[("PPMS 2025.pdf", &content)]);

    let patch = explorer
        .req("PROPPATCH", &path)
        .header("If", &if_header)
        .header("Content-Type", XML)
        .body(win32_proppatch(""));
    let response = explorer.expect("7 PROPPATCH again", patch, &[207]).await;
    assert_win32_ok(&response, &[]);

    let unlock = explorer
        .req("UNLOCK", &path)
        .header("Lock-Token", &format!("<{token}>"));
    explorer.expect("8 UNLOCK", unlock, &[204]).await;

    // The original name still resolves, to the deposit.
    let check = explorer
        .req("PROPFIND", &path)
        .header("Depth", "0")
        .header("Content-Type", XML)
        .body(allprop());
    let response = explorer.expect("PROPFIND after copy", check, &[207]).await;
    assert_eq!(content_length(&response), content.len() as u64);
    assert_deposits(&server, &[("PPMS 2025.pdf", &content)]);
}

/// Each Win32 property appears once, answered 200; each of `refused` once, answered 403.
fn assert_win32_ok(response: &Response, refused: &[(&str, &str)]) {
    let entry = single(response);
    for name in WIN32_PROPS {
        let found: Vec<&PropResult> = entry
            .props
            .iter()
            .filter(|p| p.namespace == MS_NS && p.name == name)
            .collect();
        assert_eq!(found.len(), 1, "{name} once: {response}");
        assert_eq!(found[0].status, 200, "{name}: {response}");
    }
    for (namespace, name) in refused {
        let found: Vec<&PropResult> = entry
            .props
            .iter()
            .filter(|p| p.namespace == *namespace && p.name == *name)
            .collect();
        assert_eq!(found.len(), 1, "{name} once: {response}");
        assert_eq!(found[0].status, 403, "{name}: {response}");
    }
    assert_eq!(
        entry.props.len(),
        WIN32_PROPS.len() + refused.len(),
        "one answer per property sent: {response}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. PROPPATCH answered property by property

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_proppatch_answers_207_per_property() {
    let server = TestServer::start().await;
    let mut explorer = Client::new(&server, WINDOWS, Some(&server.arbre_sec));
    let path = format!("{FOLDER}plan%20des%20locaux.pdf");
    let content = pdf("plan des locaux");
    let put = explorer.req("PUT", &path).body(content.clone());
    explorer.expect("PUT", put, &[201]).await;

    // Office adds its own document property: refused inside the 207, Win32 ones still 200.
    let office = "<O:Author xmlns:O=\"urn:schemas-microsoft-com:office:office\">\
                  Secrétariat</O:Author>";
    let patch = explorer
        .req("PROPPATCH", &path)
        .header("Content-Type", XML)
        .body(win32_proppatch(office));
    let response = explorer.expect("PROPPATCH file", patch, &[207]).await;
    assert_win32_ok(
        &response,
        &[("urn:schemas-microsoft-com:office:office", "Author")],
    );
    let entry = single(&response);
    assert_eq!(
        entry.href, path,
        "the href is the name the request used: {response}"
    );

    // Explorer sets the attributes of folders too.
    let patch = explorer
        .req("PROPPATCH", FOLDER)
        .header("Content-Type", XML)
        .body(win32_proppatch(""));
    let response = explorer.expect("PROPPATCH folder", patch, &[207]).await;
    assert_win32_ok(&response, &[]);

    // The refused property was not stored.
    let names = explorer
        .req("PROPFIND", &path)
        .header("Depth", "0")
        .header("Content-Type", XML)
        .body(propname());
    let response = explorer.expect("PROPFIND propname", names, &[207]).await;
    let entry = single(&response);
    assert!(
        entry.prop("DAV:", "getcontentlength").is_some(),
        "{response}"
    );
    assert!(!response.text().contains("Author"), "{response}");
    assert_deposits(&server, &[("plan des locaux.pdf", &content)]);
}

// ---------------------------------------------------------------------------------------------
// 4. New folder, rename, Office's save-through-temp-files

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_new_folder_and_office_save_are_refused_cleanly() {
    let server = TestServer::start().await;
    let mut explorer = Client::new(&server, WINDOWS, Some(&server.arbre_sec));
    let folder = format!("{FOLDER}Nouveau%20dossier");
    let refused = |response: &Response| {
        assert!(!response.text().trim().is_empty(), "bare 403: {response}");
        assert!(response.header("www-authenticate").is_none(), "{response}");
    };

    let response = explorer
        .expect("MKCOL", explorer.req("MKCOL", &folder), &[403])
        .await;
    refused(&response);
    let probe = explorer
        .req("PROPFIND", &format!("{folder}/"))
        .header("Depth", "0")
        .body("");
    explorer.expect("PROPFIND new folder", probe, &[404]).await;

    let doc = format!("{FOLDER}rapport.docx");
    let content = docx("<Types/>");
    let put = explorer.req("PUT", &doc).body(content.clone());
    explorer.expect("PUT rapport.docx", put, &[201]).await;

    // Word's owner file is desktop junk: accepted quietly, never a deposit.
    let owner = format!("{FOLDER}~$rapport.docx");
    let mut owner_bytes = b"\x0bSecretariat".to_vec();
    owner_bytes.resize(162, b' ');
    let put = explorer.req("PUT", &owner).body(owner_bytes);
    explorer
        .expect("PUT ~$rapport.docx", put, &[201, 204])
        .await;

    let moves = [
        ("MOVE", format!("{FOLDER}~WRL0001.tmp")),
        ("MOVE", format!("{FOLDER}rapport%20v2.docx")),
        ("COPY", format!("{FOLDER}rapport%20-%20Copie.docx")),
    ];
    for (method, destination) in moves {
        let req = explorer
            .req(method, &doc)
            .header("Destination", &explorer.url(&destination))
            .header("Overwrite", "T");
        let response = explorer.expect(method, req, &[403]).await;
        refused(&response);
    }
    let response = explorer
        .expect("DELETE deposit", explorer.req("DELETE", &doc), &[403])
        .await;
    refused(&response);
    let req = explorer
        .req("MOVE", &folder)
        .header("Destination", &explorer.url(&format!("{FOLDER}Plans")))
        .header("Overwrite", "F");
    let response = explorer.send(&req).await;
    assert!(
        matches!(response.status(), 403 | 404),
        "MOVE of the refused folder: {response}"
    );

    // Word tidies its owner file: allowed, and it is gone.
    explorer
        .expect("DELETE ~$", explorer.req("DELETE", &owner), &[204])
        .await;
    let probe = explorer
        .req("PROPFIND", &owner)
        .header("Depth", "0")
        .body("");
    explorer
        .expect("PROPFIND ~$ after DELETE", probe, &[404])
        .await;

    assert!(!server
        .data_dir()
        .join(ARBRE_SEC)
        .join("Nouveau dossier")
        .exists());
    assert_deposits(&server, &[("rapport.docx", &content)]);
}

// ---------------------------------------------------------------------------------------------
// 5. Finder reads while it holds a write lock

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finder_reads_never_wait_on_its_own_write_lock() {
    let server = TestServer::start().await;
    let mut finder = Client::new(&server, FINDER, Some(&server.arbre_sec));
    let response = finder
        .expect("OPTIONS", finder.req("OPTIONS", "/dav/"), &[200])
        .await;
    assert_list_has(&response, "DAV", &["2"]);

    let other = format!("{FOLDER}ancien.pdf");
    let other_content = pdf("ancien");
    let put = finder
        .req("PUT", &other)
        .header("Transfer-Encoding", "chunked")
        .header("X-Expected-Entity-Length", &other_content.len().to_string())
        .chunks(vec![other_content.clone()]);
    finder.expect("PUT ancien.pdf", put, &[201]).await;

    let path = format!("{FOLDER}plan.pdf");
    let lock = finder
        .req("LOCK", &path)
        .header("Content-Type", XML)
        .header("Depth", "0")
        .header("Timeout", "Second-600")
        .body(lockinfo("<D:href>http://www.apple.com/webdav_fs/</D:href>"));
    let response = finder.expect("LOCK new name", lock, &[201]).await;
    let token = lock_token(&response);

    // The upload starts and stalls half-way, holding the lock.
    let content = pdf(&"plan written by Finder ".repeat(40));
    let (first, rest) = content.split_at(content.len() / 2);
    let put = finder
        .req("PUT", &path)
        .header("If", &format!("(<{token}>)"))
        .header("Transfer-Encoding", "chunked")
        .header("X-Expected-Entity-Length", &content.len().to_string());
    let mut upload = Conn::connect(&finder.addr).await;
    upload.send(&put.head_bytes()).await;
    upload.send(&chunk(first)).await;

    // Reads without If, of the locked name, of another file, of the folder.
    let mut reader = finder.another();
    let check = |r: &Client, target: &str, depth: &str| {
        r.req("PROPFIND", target)
            .header("Depth", depth)
            .header("Content-Type", XML)
            .body(finder_propfind())
    };
    let req = check(&reader, &path, "0");
    let response = promptly("PROPFIND locked", reader.expect("PROPFIND", req, &[207])).await;
    assert_eq!(
        content_length(&response),
        0,
        "placeholder until the upload ends"
    );
    let req = reader.req("GET", &path);
    let response = promptly("GET locked", reader.expect("GET locked", req, &[200])).await;
    assert!(response.body.is_empty(), "{response}");
    let req = check(&reader, &other, "0");
    promptly(
        "PROPFIND other",
        reader.expect("PROPFIND other", req, &[207]),
    )
    .await;
    let req = reader.req("GET", &other);
    // No read-back under the default policy: refused with a reason, at once.
    let response = promptly("GET other", reader.expect("GET other", req, &[403])).await;
    assert!(!response.text().trim().is_empty(), "{response}");
    let req = check(&reader, FOLDER, "1");
    let response = promptly(
        "PROPFIND folder",
        reader.expect("PROPFIND folder", req, &[207]),
    )
    .await;
    assert!(multistatus(&response).len() >= 2, "{response}");
    let mut cell = Client::new(&server, FINDER, Some(&server.crisis));
    let req = check(&cell, FOLDER, "1");
    promptly(
        "crisis cell listing",
        cell.expect("cell PROPFIND", req, &[207]),
    )
    .await;

    let mut tail = chunk(rest);
    tail.extend_from_slice(LAST_CHUNK);
    upload.send(&tail).await;
    let response = upload.read_response("PUT").await;
    assert!(
        matches!(response.status(), 201 | 204),
        "PUT under lock: {response}"
    );

    // Still locked: reads of the new deposit answer at once.
    let req = check(&reader, &path, "0");
    let response = promptly("PROPFIND deposit", reader.expect("PROPFIND", req, &[207])).await;
    assert_eq!(content_length(&response), content.len() as u64);
    let req = reader.req("GET", &path);
    promptly("GET deposit", reader.expect("GET deposit", req, &[403])).await;

    let unlock = finder
        .req("UNLOCK", &path)
        .header("Lock-Token", &format!("<{token}>"));
    finder.expect("UNLOCK", unlock, &[204]).await;
    assert_deposits(
        &server,
        &[("ancien.pdf", &other_content), ("plan.pdf", &content)],
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Finder's chunked uploads

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finder_chunked_put_with_expected_entity_length() {
    let server = TestServer::start().await;
    let mut finder = Client::new(&server, FINDER, Some(&server.arbre_sec));

    let one = pdf("one chunk");
    let put = finder
        .req("PUT", &format!("{FOLDER}plan%20finder.pdf"))
        .header("Content-Type", "application/octet-stream")
        .header("Transfer-Encoding", "chunked")
        .header("X-Expected-Entity-Length", &one.len().to_string())
        .chunks(vec![one.clone()]);
    finder.expect("chunked PUT", put, &[201]).await;

    // Header names and values in another case, several chunks.
    let many = pdf(&"plusieurs morceaux ".repeat(500));
    let pieces: Vec<Vec<u8>> = many.chunks(1000).map(<[u8]>::to_vec).collect();
    assert!(pieces.len() > 3);
    let put = finder
        .req("PUT", &format!("{FOLDER}morceaux.pdf"))
        .header("transfer-encoding", "Chunked")
        .header("x-expected-entity-length", &many.len().to_string())
        .chunks(pieces);
    finder.expect("chunked PUT, other case", put, &[201]).await;

    // An announced size over the limit is refused before the body is sent.
    let too_big = 104_857_601u64;
    let put = finder
        .req("PUT", &format!("{FOLDER}enorme.pdf"))
        .header("Transfer-Encoding", "chunked")
        .header("X-Expected-Entity-Length", &too_big.to_string());
    let mut conn = Conn::connect(&finder.addr).await;
    conn.send(&put.head_bytes()).await;
    conn.send(&chunk(&pdf("start of a huge scan"))).await;
    let response = promptly("early 413", conn.read_response("PUT")).await;
    assert_eq!(response.status(), 413, "{response}");
    assert!(!response.text().trim().is_empty(), "{response}");

    assert_deposits(
        &server,
        &[("morceaux.pdf", &many), ("plan finder.pdf", &one)],
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Finder's AppleDouble and .DS_Store files

/// Finder's write of one file: 0-byte PUT, LOCK, chunked PUT under the lock, UNLOCK.
async fn finder_write(finder: &mut Client, path: &str, content: &[u8]) {
    let empty = finder.req("PUT", path).body("");
    finder.expect("PUT 0 bytes", empty, &[201]).await;
    let lock = finder
        .req("LOCK", path)
        .header("Content-Type", XML)
        .header("Depth", "0")
        .header("Timeout", "Second-600")
        .body(lockinfo("<D:href>http://www.apple.com/webdav_fs/</D:href>"));
    let response = finder.expect("LOCK", lock, &[200]).await;
    let token = lock_token(&response);
    let put = finder
        .req("PUT", path)
        .header("If", &format!("(<{token}>)"))
        .header("Transfer-Encoding", "chunked")
        .header("X-Expected-Entity-Length", &content.len().to_string())
        .chunks(vec![content.to_vec()]);
    finder.expect("PUT under lock", put, &[201, 204]).await;
    let unlock = finder
        .req("UNLOCK", path)
        .header("Lock-Token", &format!("<{token}>"));
    finder.expect("UNLOCK", unlock, &[204]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finder_appledouble_and_ds_store_are_accepted_never_deposited() {
    let server = TestServer::start().await;
    let mut finder = Client::new(&server, FINDER, Some(&server.arbre_sec));
    let path = format!("{FOLDER}plan.pdf");
    let fork_path = format!("{FOLDER}._plan.pdf");
    let store_path = format!("{FOLDER}.DS_Store");
    let content = pdf("copied by Finder");
    let (fork, store) = (apple_double(), ds_store());
    let propfind = |finder: &Client, target: &str| {
        finder
            .req("PROPFIND", target)
            .header("Depth", "0")
            .header("Content-Type", XML)
            .body(finder_propfind())
    };

    for target in [&path, &fork_path] {
        let req = propfind(&finder, target);
        finder.expect("probe", req, &[404]).await;
    }
    finder_write(&mut finder, &path, &content).await;
    finder_write(&mut finder, &fork_path, &fork).await;
    let put = finder
        .req("PUT", &store_path)
        .header("Transfer-Encoding", "chunked")
        .header("X-Expected-Entity-Length", &store.len().to_string())
        .chunks(vec![store.clone()]);
    finder.expect("PUT .DS_Store", put, &[201, 204]).await;

    // Answered consistently for the rest of the session, and read back intact.
    for _ in 0..2 {
        for (target, bytes) in [(&fork_path, &fork), (&store_path, &store)] {
            let req = propfind(&finder, target);
            let response = finder.expect("PROPFIND junk", req, &[207]).await;
            assert_eq!(content_length(&response), bytes.len() as u64);
            let response = finder
                .expect("GET junk", finder.req("GET", target), &[200])
                .await;
            assert_eq!(&response.body, bytes, "{target} read back");
        }
    }
    let req = propfind(&finder, &path);
    let response = finder.expect("PROPFIND plan", req, &[207]).await;
    assert_eq!(content_length(&response), content.len() as u64);

    let (status, listing) = server.list(&server.crisis, ARBRE_SEC_FOLDER).await;
    assert_eq!(status.as_u16(), 207, "{listing}");
    assert!(listing.contains("0752401C-plan.pdf"), "{listing}");
    assert!(
        !listing.contains("._") && !listing.contains("DS_Store"),
        "{listing}"
    );
    assert_deposits(&server, &[("plan.pdf", &content)]);
}

// ---------------------------------------------------------------------------------------------
// 8. davfs2: LOCK on a new name, If headers, quota

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn davfs2_lock_on_new_name_then_put_and_unlock() {
    let server = TestServer::start().await;
    let mut davfs = Client::new(&server, DAVFS2, Some(&server.arbre_sec));
    let lock = |davfs: &Client, path: &str| {
        davfs
            .req("LOCK", path)
            .header("Timeout", "Second-1800")
            .header("Depth", "0")
            .header("Content-Type", "application/xml")
            .body(davfs2_lockinfo())
    };

    // Untagged If.
    let path = format!("{FOLDER}plan.pdf");
    let content = pdf("written through davfs2");
    let probe = davfs
        .req("PROPFIND", &path)
        .header("Depth", "0")
        .header("Content-Type", "application/xml")
        .body(davfs2_propfind());
    davfs.expect("PROPFIND (absent)", probe, &[404]).await;
    let response = davfs
        .expect("LOCK new name", lock(&davfs, &path), &[201])
        .await;
    let token = lock_token(&response);
    assert!(
        response.text().contains("davfs2"),
        "owner echoed: {response}"
    );
    let wrong = davfs
        .req("PUT", &path)
        .header("If", "(<urn:uuid:00000000-0000-4000-8000-000000000000>)")
        .body(content.clone());
    davfs
        .expect("PUT with a wrong token", wrong, &[412, 423])
        .await;
    let put = davfs
        .req("PUT", &path)
        .header("If", &format!("(<{token}>)"))
        .body(content.clone());
    davfs.expect("PUT If: (<token>)", put, &[201, 204]).await;
    let probe = davfs
        .req("PROPFIND", &path)
        .header("Depth", "0")
        .header("Content-Type", "application/xml")
        .body(davfs2_propfind());
    let response = davfs.expect("PROPFIND after PUT", probe, &[207]).await;
    assert_eq!(content_length(&response), content.len() as u64);
    let unlock = davfs
        .req("UNLOCK", &path)
        .header("Lock-Token", &format!("<{token}>"));
    davfs.expect("UNLOCK", unlock, &[204]).await;

    // Tagged If with the absolute URL.
    let path2 = format!("{FOLDER}plan%20d%27%C3%A9vacuation.pdf");
    let content2 = pdf("évacuation");
    let response = davfs
        .expect("LOCK new name", lock(&davfs, &path2), &[201])
        .await;
    let token2 = lock_token(&response);
    let put = davfs
        .req("PUT", &path2)
        .header("If", &format!("<{}> (<{token2}>)", davfs.url(&path2)))
        .body(content2.clone());
    davfs
        .expect("PUT If: <url> (<token>)", put, &[201, 204])
        .await;
    let unlock = davfs
        .req("UNLOCK", &path2)
        .header("Lock-Token", &format!("<{token2}>"));
    davfs.expect("UNLOCK", unlock, &[204]).await;

    // `cp` interrupted between LOCK and PUT: nothing is stored.
    let path3 = format!("{FOLDER}abandon.pdf");
    let response = davfs
        .expect("LOCK new name", lock(&davfs, &path3), &[201])
        .await;
    let token3 = lock_token(&response);
    let unlock = davfs
        .req("UNLOCK", &path3)
        .header("Lock-Token", &format!("<{token3}>"));
    davfs.expect("UNLOCK", unlock, &[204]).await;

    let deposited = [
        ("plan d'évacuation.pdf", content2.as_slice()),
        ("plan.pdf", content.as_slice()),
    ];
    assert_deposits(&server, &deposited);

    // Free space as davfs2 reads it: real numbers or 404, never 0 available.
    let deposited_bytes: u64 = deposited.iter().map(|(_, c)| c.len() as u64).sum();
    for target in ["/dav/", FOLDER] {
        let req = davfs
            .req("PROPFIND", target)
            .header("Depth", "0")
            .header("Content-Type", "application/xml")
            .body(quota_propfind());
        let response = davfs.expect("PROPFIND quota", req, &[207]).await;
        let entry = single(&response);
        let number = |name: &str| {
            let prop = entry
                .prop("DAV:", name)
                .unwrap_or_else(|| panic!("{name} not answered: {response}"));
            match prop.status {
                200 => Some(
                    prop.value
                        .parse::<u64>()
                        .unwrap_or_else(|_| panic!("{name} is not a number: {response}")),
                ),
                404 => None,
                other => panic!("{name} answered {other}: {response}"),
            }
        };
        let (available, used) = (number("quota-available-bytes"), number("quota-used-bytes"));
        if let Some(available) = available {
            assert!(
                available > 0 && available <= DEFAULT_QUOTA - deposited_bytes,
                "{target}: quota-available-bytes {available} with {deposited_bytes} bytes \
                 deposited of a {DEFAULT_QUOTA}-byte quota: {response}"
            );
        }
        if let Some(used) = used {
            assert!(
                used >= deposited_bytes,
                "{target}: quota-used-bytes {used} with {deposited_bytes} bytes deposited: \
                 {response}"
            );
        }
        if let (Some(available), Some(used)) = (available, used) {
            assert_eq!(used + available, DEFAULT_QUOTA, "{target}: {response}");
        }
    }
    assert_deposits(&server, &deposited);
}

// ---------------------------------------------------------------------------------------------
// 9. Expect: 100-continue

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_100_continue_bodies_arrive_and_401_comes_first() {
    let server = TestServer::start().await;
    let content = pdf("sent after 100 Continue");
    let path = format!("{FOLDER}continue.pdf");

    // Without credentials, then with a wrong key: 401 first, no 100 Continue before it.
    let wrong = IssuedKey {
        secret: "aaaa-bbbb-cccc-dddd-eeee-ffff-gggg-hhhh".into(),
        ..server.arbre_sec.clone()
    };
    for key in [None, Some(&wrong)] {
        let client = Client::new(&server, WINDOWS, key);
        let put = client
            .req("PUT", &path)
            .header("Expect", "100-continue")
            .body(content.clone());
        let mut conn = Conn::connect(&client.addr).await;
        conn.send(&put.head_bytes()).await;
        let head = promptly("401 before the body", conn.read_head()).await;
        assert_eq!(head.status, 401, "first answer: {}", head.status_line);
        let challenge = head.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Basic "), "{head:?}");
    }
    assert_no_deposit(&server);

    // With the key: 100 Continue, then the body arrives whole.
    let client = Client::new(&server, WINDOWS, Some(&server.arbre_sec));
    let put = client
        .req("PUT", &path)
        .header("Expect", "100-continue")
        .body(content.clone());
    let mut conn = Conn::connect(&client.addr).await;
    conn.send(&put.head_bytes()).await;
    let head = promptly("100 Continue", conn.read_head()).await;
    assert_eq!(head.status, 100, "{}", head.status_line);
    conn.send(&put.body_bytes()).await;
    let response = conn.read_response("PUT").await;
    assert_eq!(response.status(), 201, "{response}");

    // Chunked, as Finder would send it.
    let chunked = pdf("chunked after 100 Continue");
    let finder = Client::new(&server, FINDER, Some(&server.arbre_sec));
    let put = finder
        .req("PUT", &format!("{FOLDER}continue%20chunked.pdf"))
        .header("Expect", "100-continue")
        .header("Transfer-Encoding", "chunked")
        .header("X-Expected-Entity-Length", &chunked.len().to_string())
        .chunks(vec![chunked[..10].to_vec(), chunked[10..].to_vec()]);
    let mut conn = Conn::connect(&finder.addr).await;
    conn.send(&put.head_bytes()).await;
    let head = promptly("100 Continue", conn.read_head()).await;
    assert_eq!(head.status, 100, "{}", head.status_line);
    conn.send(&put.body_bytes()).await;
    let response = conn.read_response("PUT").await;
    assert_eq!(response.status(), 201, "{response}");

    assert_deposits(
        &server,
        &[
            ("continue chunked.pdf", &chunked),
            ("continue.pdf", &content),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// 10. Names: percent-encoding, NFD and NFC, spaces, parentheses, `#`, `%25`

/// Checks an href is percent-encoded (nothing raw that a URL cannot hold) and decodes it once.
fn decode_href(href: &str) -> String {
    let bytes = href.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        assert!(
            b.is_ascii_graphic() && !b"#?\"<>\\^`{|}[]".contains(b),
            "href not percent-encoded: {href:?}"
        );
        if *b == b'%' {
            let hex = bytes.get(i + 1..i + 3).unwrap_or_default();
            assert!(
                hex.len() == 2 && hex.iter().all(u8::is_ascii_hexdigit),
                "stray % in href {href:?}"
            );
        }
    }
    let decoded = percent_encoding::percent_decode_str(href)
        .decode_utf8()
        .unwrap_or_else(|_| panic!("href is not UTF-8 once decoded: {href:?}"))
        .into_owned();
    use unicode_normalization::UnicodeNormalization;
    let nfc: String = decoded.nfc().collect();
    assert_eq!(decoded, nfc, "href not in NFC: {href:?}");
    decoded
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_percent_encoded_nfd_nfc_decoded_once() {
    let server = TestServer::start().await;
    let mut finder = Client::new(&server, FINDER, Some(&server.arbre_sec));
    let mut explorer = Client::new(&server, WINDOWS, Some(&server.arbre_sec));

    // NFD from the Mac, looked up in NFC from Windows (and in NFD again).
    let nfd = format!("{FOLDER}e%CC%81vacuation%20(2025).pdf");
    let nfc = format!("{FOLDER}%C3%A9vacuation%20(2025).pdf");
    let evacuation = pdf("évacuation");
    let put = finder
        .req("PUT", &nfd)
        .header("Transfer-Encoding", "chunked")
        .header("X-Expected-Entity-Length", &evacuation.len().to_string())
        .chunks(vec![evacuation.clone()]);
    finder.expect("PUT NFD", put, &[201]).await;
    for (client, target) in [(&mut explorer, &nfc), (&mut finder, &nfd)] {
        let req = client
            .req("PROPFIND", target)
            .header("Depth", "0")
            .header("Content-Type", XML)
            .body(allprop());
        let response = client.expect("PROPFIND NFC/NFD", req, &[207]).await;
        assert_eq!(content_length(&response), evacuation.len() as u64);
    }

    let percent = pdf("cent pour cent");
    let hash = pdf("dièse");
    let literal = pdf("%25 littéral");
    let cases = [
        ("100%25%20s%C3%BBr.pdf", &percent),
        ("plan%23RDC.pdf", &hash),
        ("50%2525.pdf", &literal),
    ];
    for (name, content) in cases {
        let put = explorer
            .req("PUT", &format!("{FOLDER}{name}"))
            .body(content.clone());
        explorer.expect("PUT encoded name", put, &[201]).await;
    }

    let listing = explorer
        .req("PROPFIND", FOLDER)
        .header("Depth", "1")
        .header("Content-Type", XML)
        .body(allprop());
    let response = explorer.expect("PROPFIND folder", listing, &[207]).await;
    let mut hrefs: Vec<String> = multistatus(&response)
        .iter()
        .map(|r| {
            let decoded = decode_href(&r.href);
            assert_eq!(r.href.ends_with('/'), r.is_collection(), "{response}");
            decoded
        })
        .collect();
    hrefs.sort();
    let mut expected: Vec<String> = [
        "",
        "0752401C-100% sûr.pdf",
        "0752401C-50%25.pdf",
        "0752401C-plan#RDC.pdf",
        "0752401C-évacuation (2025).pdf",
    ]
    .iter()
    .map(|n| format!("{FOLDER_DECODED}{n}"))
    .collect();
    expected.sort();
    assert_eq!(hrefs, expected, "{response}");

    let root = explorer
        .req("PROPFIND", "/dav/")
        .header("Depth", "1")
        .header("Content-Type", XML)
        .body(allprop());
    let response = explorer.expect("PROPFIND root", root, &[207]).await;
    for entry in multistatus(&response) {
        assert!(entry.is_collection(), "{response}");
        assert!(entry.href.ends_with('/'), "collection href {}", entry.href);
        decode_href(&entry.href);
    }

    assert_deposits(
        &server,
        &[
            ("100% sûr.pdf", &percent),
            ("50%25.pdf", &literal),
            ("plan#RDC.pdf", &hash),
            ("évacuation (2025).pdf", &evacuation),
        ],
    );
}
