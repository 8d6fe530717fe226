//! A bound on the header section of each part of a `multipart/form-data` body, watched on the
//! bytes before the parser sees them.
//!
//! `multer` keeps a part's headers in memory until their empty line arrives: its size limits
//! cover field data and the whole form, not headers, so one header line of hundreds of MiB
//! would be buffered (and re-scanned at each read) before the form is refused at its end.
//! [`HeaderBound`] wraps the body stream given to the parser and follows the multipart framing
//! as `multer` reads it: `--<boundary>` anywhere in the preamble, then `CRLF--<boundary>` in
//! part data. From the end of each delimiter, the rest of its line and the part's headers must
//! end (`CRLF CRLF`) within [`MAX_PART_HEADER_BYTES`]; the preamble before the first delimiter
//! has the same bound (browsers send none). Past the bound the stream yields
//! [`PartHeadersTooLong`] and ends: the parser fails at once, with at most the bound and one
//! chunk buffered. Only a few pattern states are carried from one chunk to the next, so
//! delimiters and header ends split across chunks are found; part data is not bounded here
//! (the parser's field limits do that), long lines in files are fine.

use std::error::Error;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

/// Longest header section of one part: from the end of its delimiter to its empty line
/// included. A browser's part headers take a few hundred bytes.
pub(crate) const MAX_PART_HEADER_BYTES: usize = 8 * 1024;

/// The stream's error when a part's headers (or the preamble) run past the bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartHeadersTooLong {
    /// The bound, in bytes.
    pub limit: usize,
    /// Whether the first delimiter was still awaited (a preamble too long).
    pub in_preamble: bool,
}

impl fmt::Display for PartHeadersTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.in_preamble {
            "multipart preamble"
        } else {
            "multipart part headers"
        };
        write!(f, "{what} longer than {} bytes", self.limit)
    }
}

impl Error for PartHeadersTooLong {}

/// A body stream whose parts' header sections are bounded (see the module documentation).
pub(crate) struct HeaderBound<S> {
    inner: S,
    scan: Scanner,
    failed: bool,
}

impl<S> HeaderBound<S> {
    /// Watches `inner`, the body of a form whose boundary is `boundary`.
    pub(crate) fn new(inner: S, boundary: &str) -> HeaderBound<S> {
        HeaderBound::with_limit(inner, boundary, MAX_PART_HEADER_BYTES)
    }

    fn with_limit(inner: S, boundary: &str, limit: usize) -> HeaderBound<S> {
        HeaderBound {
            inner,
            scan: Scanner::new(boundary, limit),
            failed: false,
        }
    }
}

impl<S, E> Stream for HeaderBound<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn Error + Send + Sync>>,
{
    type Item = Result<Bytes, Box<dyn Error + Send + Sync>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let item = match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        Poll::Ready(match item {
            Some(Ok(chunk)) => match self.scan.scan(&chunk) {
                Ok(()) => Some(Ok(chunk)),
                Err(err) => {
                    self.failed = true;
                    Some(Err(Box::new(err)))
                }
            },
            Some(Err(err)) => Some(Err(err.into())),
            None => None,
        })
    }
}

/// Where the scanner is in the multipart framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before the first `--<boundary>`, `seen` bytes in.
    Preamble { seen: usize },
    /// After a delimiter, up to the CRLF ending its line; `last` is the previous byte (a
    /// `--` right after the delimiter closes the form).
    Line { seen: usize, last: u8 },
    /// A part's headers, up to their empty line; `seen` counts from the delimiter's end.
    Headers { seen: usize },
    /// Part data, up to the next `CRLF--<boundary>`.
    Data,
    /// After the close delimiter: nothing more is watched.
    Closed,
}

/// The framing state carried from chunk to chunk: a stage and a few pattern positions.
struct Scanner {
    limit: usize,
    stage: Stage,
    /// `--<boundary>`, looked for anywhere in the preamble (as `multer` does).
    first: Matcher,
    /// `CRLF--<boundary>`, looked for in part data.
    delimiter: Matcher,
    /// `CRLF`, the end of a delimiter's line.
    line_end: Matcher,
    /// `CRLF CRLF`, the end of a part's headers.
    headers_end: Matcher,
}

impl Scanner {
    fn new(boundary: &str, limit: usize) -> Scanner {
        let first = format!("--{boundary}").into_bytes();
        let mut delimiter = b"\r\n".to_vec();
        delimiter.extend_from_slice(&first);
        Scanner {
            limit,
            stage: Stage::Preamble { seen: 0 },
            first: Matcher::new(first),
            delimiter: Matcher::new(delimiter),
            line_end: Matcher::new(b"\r\n".to_vec()),
            headers_end: Matcher::new(b"\r\n\r\n".to_vec()),
        }
    }

    /// Follows one chunk of the body.
    fn scan(&mut self, mut bytes: &[u8]) -> Result<(), PartHeadersTooLong> {
        while !bytes.is_empty() {
            match self.stage {
                Stage::Closed => return Ok(()),
                Stage::Data => match self.delimiter.find(bytes) {
                    Some(end) => {
                        bytes = &bytes[end..];
                        self.enter_line();
                    }
                    None => return Ok(()),
                },
                _ => {
                    self.step(bytes[0])?;
                    bytes = &bytes[1..];
                }
            }
        }
        Ok(())
    }

    fn enter_line(&mut self) {
        self.line_end.reset();
        self.stage = Stage::Line { seen: 0, last: 0 };
    }

    /// One byte in a bounded stage (preamble, delimiter line, headers).
    fn step(&mut self, byte: u8) -> Result<(), PartHeadersTooLong> {
        match self.stage {
            Stage::Preamble { seen } => {
                let seen = seen + 1;
                if self.first.push(byte) {
                    self.enter_line();
                } else if seen >= self.limit + self.first.pattern.len() {
                    return Err(self.too_long(true));
                } else {
                    self.stage = Stage::Preamble { seen };
                }
            }
            Stage::Line { seen, last } => {
                let seen = seen + 1;
                if seen == 2 && last == b'-' && byte == b'-' {
                    self.stage = Stage::Closed;
                } else if self.line_end.push(byte) {
                    self.headers_end.reset();
                    self.stage = Stage::Headers { seen };
                } else if seen >= self.limit {
                    return Err(self.too_long(false));
                } else {
                    self.stage = Stage::Line { seen, last: byte };
                }
            }
            Stage::Headers { seen } => {
                let seen = seen + 1;
                if self.headers_end.push(byte) {
                    self.delimiter.reset();
                    self.stage = Stage::Data;
                } else if seen >= self.limit {
                    return Err(self.too_long(false));
                } else {
                    self.stage = Stage::Headers { seen };
                }
            }
            Stage::Data | Stage::Closed => {}
        }
        Ok(())
    }

    fn too_long(&self, in_preamble: bool) -> PartHeadersTooLong {
        PartHeadersTooLong {
            limit: self.limit,
            in_preamble,
        }
    }
}

/// A pattern searched for across chunks (Knuth–Morris–Pratt): only the length of the pattern
/// prefix matched so far is carried.
struct Matcher {
    pattern: Vec<u8>,
    /// For each prefix length `i + 1`, the length of its longest proper border.
    borders: Vec<usize>,
    matched: usize,
}

impl Matcher {
    fn new(pattern: Vec<u8>) -> Matcher {
        let mut borders = vec![0; pattern.len()];
        let mut k = 0;
        for i in 1..pattern.len() {
            while k > 0 && pattern[i] != pattern[k] {
                k = borders[k - 1];
            }
            if pattern[i] == pattern[k] {
                k += 1;
            }
            borders[i] = k;
        }
        Matcher {
            pattern,
            borders,
            matched: 0,
        }
    }

    fn reset(&mut self) {
        self.matched = 0;
    }

    /// Feeds one byte; `true` when it completes the pattern (the matcher then starts over).
    fn push(&mut self, byte: u8) -> bool {
        while self.matched > 0 && self.pattern[self.matched] != byte {
            self.matched = self.borders[self.matched - 1];
        }
        if self.pattern[self.matched] == byte {
            self.matched += 1;
        }
        if self.matched == self.pattern.len() {
            self.matched = 0;
            return true;
        }
        false
    }

    /// Feeds `bytes` up to the first completion of the pattern: the index just past it.
    fn find(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < bytes.len() {
            if self.matched == 0 {
                // Nothing pending: skip straight to the next possible start.
                let start = bytes[i..].iter().position(|&b| b == self.pattern[0])?;
                i += start;
            }
            let byte = bytes[i];
            i += 1;
            if self.push(byte) {
                return Some(i);
            }
        }
        None
    }
}

#[cfg(test)]
#[path = "header_bound_tests.rs"]
mod tests;
