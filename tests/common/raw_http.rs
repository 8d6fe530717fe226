//! A small raw HTTP/1.1 client over a tokio `TcpStream`: it sends exactly the bytes it is given
//! (so methods, header names and their case, paths and bodies reach the server untouched) and
//! parses status lines, headers and bodies (by `Content-Length`, chunked, or up to the close),
//! keeping any interim `1xx` answers it read before the final one.
#![allow(dead_code)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long any single read may wait before the test fails.
pub const READ_LIMIT: Duration = Duration::from_secs(10);

/// A request body as it goes on the wire.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body and no length header.
    None,
    /// A body with its `Content-Length`.
    Fixed(Vec<u8>),
    /// `Transfer-Encoding` chunked, one chunk per element (the header is the caller's).
    Chunked(Vec<Vec<u8>>),
}

/// One request, written byte for byte as built.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Request {
    pub fn new(method: &str, target: &str) -> Request {
        Request {
            method: method.to_string(),
            target: target.to_string(),
            headers: Vec::new(),
            body: Body::None,
        }
    }

    /// Adds a header exactly as written (name case kept).
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// A body sent with `Content-Length` (also for an empty body: `Content-Length: 0`).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Body::Fixed(body.into());
        self
    }

    /// A chunked body; the caller writes the `Transfer-Encoding` header in its own case.
    pub fn chunks(mut self, chunks: Vec<Vec<u8>>) -> Request {
        self.body = Body::Chunked(chunks);
        self
    }

    /// The request head (up to and including the blank line).
    pub fn head_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.target);
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Body::Fixed(body) = &self.body {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }

    /// The body as it goes on the wire.
    pub fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            Body::None => Vec::new(),
            Body::Fixed(body) => body.clone(),
            Body::Chunked(chunks) => {
                let mut out = Vec::new();
                for chunk in chunks.iter().filter(|c| !c.is_empty()) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
                out
            }
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.head_bytes();
        out.extend(self.body_bytes());
        out
    }
}

/// A status line and its headers.
#[derive(Debug, Clone)]
pub struct Head {
    pub status: u16,
    pub status_line: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of a header (name compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A final response, with the interim (`1xx`) heads read before it.
#[derive(Debug, Clone)]
pub struct Response {
    pub head: Head,
    pub interim: Vec<Head>,
    pub body: Vec<u8>,
    /// Whether the connection cannot carry another request.
    pub closes: bool,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.head.status
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.head.header_all(name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl std::fmt::Display for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for head in &self.interim {
            writeln!(f, "{}", head.status_line)?;
        }
        writeln!(f, "{}", self.head.status_line)?;
        for (name, value) in &self.head.headers {
            writeln!(f, "{name}: {value}")?;
        }
        writeln!(f)?;
        write!(f, "{}", self.text())
    }
}

/// One connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Conn {
    pub async fn connect(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr)
            .await
            .expect("connect to the test server");
        stream.set_nodelay(true).ok();
        Conn {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// Writes bytes as they are.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write request");
        self.stream.flush().await.expect("flush request");
    }

    /// Writes bytes, tolerating a server that already closed (it may answer before the body).
    pub async fn try_send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok() && self.stream.flush().await.is_ok()
    }

    /// Reads more bytes into the buffer; false at end of stream.
    async fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut chunk = [0u8; 16 * 1024];
        let read = tokio::time::timeout(READ_LIMIT, self.stream.read(&mut chunk))
            .await
            .expect("the server did not answer in time");
        match read {
            Ok(0) | Err(_) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Reads until `\r\n` and returns the line without it.
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..at]).into_owned();
                self.buf.drain(..at + 2);
                return Some(line);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    async fn exact(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(self.fill().await, "connection closed inside a body");
        }
        self.buf.drain(..n).collect()
    }

    /// Reads one status line and its headers (interim or final).
    pub async fn read_head(&mut self) -> Head {
        let status_line = self
            .line()
            .await
            .expect("connection closed before a status line");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not a status line: {status_line:?}"));
        assert!(
            status_line.starts_with("HTTP/1.1 ") || status_line.starts_with("HTTP/1.0 "),
            "not an HTTP/1.x status line: {status_line:?}"
        );
        let mut headers = Vec::new();
        loop {
            let line = self.line().await.expect("connection closed inside headers");
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("malformed header line: {line:?}"));
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        Head {
            status,
            status_line,
            headers,
        }
    }

    /// Reads the final response to a request of `method`, keeping interim heads.
    pub async fn read_response(&mut self, method: &str) -> Response {
        let mut interim = Vec::new();
        let head = loop {
            let head = self.read_head().await;
            if (100..200).contains(&head.status) && head.status != 101 {
                interim.push(head);
            } else {
                break head;
            }
        };
        self.read_body(head, interim, method).await
    }

    /// Reads the body that follows `head`.
    pub async fn read_body(&mut self, head: Head, interim: Vec<Head>, method: &str) -> Response {
        let connection = head.header("connection").unwrap_or("").to_ascii_lowercase();
        let mut closes = connection.contains("close");
        let no_body =
            method == "HEAD" || head.status == 204 || head.status == 304 || head.status < 200;
        let chunked = head
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = head
            .header("content-length")
            .map(|v| v.parse::<usize>().expect("numeric Content-Length"));
        let body = if no_body {
            Vec::new()
        } else if chunked {
            self.chunked_body().await
        } else if let Some(length) = length {
            self.exact(length).await
        } else {
            closes = true;
            while self.fill().await {}
            std::mem::take(&mut self.buf)
        };
        Response {
            head,
            interim,
            body,
            closes: closes || self.eof,
        }
    }

    async fn chunked_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line = self
                .line()
                .await
                .expect("connection closed inside a chunked body");
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
            if size == 0 {
                // Trailers, up to the blank line.
                while let Some(trailer) = self.line().await {
                    if trailer.is_empty() {
                        break;
                    }
                }
                return body;
            }
            body.extend(self.exact(size).await);
            let end = self.exact(2).await;
            assert_eq!(end, b"\r\n", "chunk not followed by CRLF");
        }
    }

    /// Sends a request and reads its response.
    pub async fn exchange(&mut self, request: &Request) -> Response {
        self.send(&request.to_bytes()).await;
        self.read_response(&request.method).await
    }

    /// Whether the server closed the connection (nothing more can be read).
    pub async fn closed_by_server(&mut self) -> bool {
        if self.eof {
            return true;
        }
        let mut byte = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(50), self.stream.peek(&mut byte)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        }
    }
}

/// One chunk of a chunked body as it goes on the wire.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// The end of a chunked body (no trailers).
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";
