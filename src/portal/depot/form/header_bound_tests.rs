//! Unit tests of the part-header bound: delimiters and headers cut anywhere across chunks,
//! long lines in file data, the limit at one byte either side.

use super::*;
use futures_util::{stream, StreamExt};

const BOUNDARY: &str = "----WebKitFormBoundaryXyZ";

fn part_head(name: &str) -> String {
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
}

/// Scans `body` cut into the given chunk sizes (the last one repeated).
fn scan_in(body: &[u8], sizes: &[usize], limit: usize) -> Result<(), PartHeadersTooLong> {
    let mut scanner = Scanner::new(BOUNDARY, limit);
    let mut rest = body;
    let mut sizes = sizes
        .iter()
        .copied()
        .chain(std::iter::repeat(sizes[sizes.len() - 1]));
    while !rest.is_empty() {
        let n = sizes.next().unwrap().clamp(1, rest.len());
        scanner.scan(&rest[..n])?;
        rest = &rest[n..];
    }
    Ok(())
}

fn normal_form() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(part_head("csrf").as_bytes());
    body.extend_from_slice(b"token\r\n");
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"fichiers\"; \
             filename=\"plan.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    // File data: a line far longer than the bound, CRLFs, blank lines, near-delimiters.
    body.extend(std::iter::repeat_n(b'a', 100_000));
    body.extend_from_slice(b"\r\n\r\n\r\n--");
    body.extend_from_slice(&BOUNDARY.as_bytes()[..10]);
    body.extend(std::iter::repeat_n(b'-', 20_000));
    body.extend_from_slice(b"\r\n");
    body.extend(std::iter::repeat_n(b'b', 50_000));
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

#[test]
fn a_normal_form_passes_in_any_chunking() {
    let body = normal_form();
    for sizes in [
        &[body.len()][..],
        &[1],
        &[2],
        &[3],
        &[7],
        &[13, 1, 64],
        &[4096],
    ] {
        assert_eq!(scan_in(&body, sizes, 256), Ok(()), "chunks {sizes:?}");
    }
}

#[test]
fn file_data_with_long_lines_is_not_refused() {
    let mut body = part_head("fichiers").into_bytes();
    body.extend(std::iter::repeat_n(b'x', 1 << 20));
    // Data after a close delimiter (epilogue) is not watched either.
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body.extend(std::iter::repeat_n(b'y', 100_000));
    assert_eq!(scan_in(&body, &[1000], 1024), Ok(()));
}

#[test]
fn over_long_headers_are_refused() {
    let mut body = part_head("csrf").into_bytes();
    body.extend_from_slice(b"token\r\n");
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\nX-Pad: ")
            .as_bytes(),
    );
    body.extend(std::iter::repeat_n(b'a', 10_000));
    body.extend_from_slice(b"\r\n\r\nppms\r\n");
    for sizes in [&[body.len()][..], &[1], &[5], &[4096]] {
        let err = scan_in(&body, sizes, MAX_PART_HEADER_BYTES).unwrap_err();
        assert!(!err.in_preamble, "{err}");
    }
    // Headers of exactly the bound pass, one byte more does not.
    let head = format!("--{BOUNDARY}\r\nX: ");
    let fill = 100 - (head.len() - 2 - BOUNDARY.len()) - 4;
    let exact = format!("{head}{}\r\n\r\ndata", "a".repeat(fill));
    assert_eq!(scan_in(exact.as_bytes(), &[3], 100), Ok(()));
    let over = format!("{head}{}\r\n\r\ndata", "a".repeat(fill + 1));
    assert!(scan_in(over.as_bytes(), &[3], 100).is_err());
}

#[test]
fn a_part_without_headers_needs_its_own_empty_line() {
    // As multer reads it, `--b CRLF CRLF` leaves the header search open after the line's
    // CRLF: the bytes that follow are still headers, and bounded.
    let mut body = format!("--{BOUNDARY}\r\n\r\n").into_bytes();
    body.extend(std::iter::repeat_n(b'a', 10_000));
    assert!(scan_in(&body, &[64], 1024).is_err());
}

#[test]
fn a_long_preamble_or_delimiter_line_is_refused() {
    let mut body = vec![b'p'; 5000];
    body.extend_from_slice(part_head("csrf").as_bytes());
    let err = scan_in(&body, &[100], 1024).unwrap_err();
    assert!(err.in_preamble);
    // A short preamble, even with the delimiter glued to it, is fine (multer accepts it).
    let mut body = b"preamble".to_vec();
    body.extend_from_slice(part_head("csrf").as_bytes());
    body.extend_from_slice(b"x");
    assert_eq!(scan_in(&body, &[3], 1024), Ok(()));
    // Transport padding after the delimiter counts toward the bound.
    let body = format!("--{BOUNDARY}{}\r\n\r\n", " ".repeat(5000));
    assert!(scan_in(body.as_bytes(), &[100], 1024).is_err());
}

#[test]
fn delimiters_and_header_ends_split_across_chunks_are_found() {
    // Every cut of the body into two chunks: no refusal, and every delimiter followed up
    // to the close one (a missed delimiter would leave the scanner in part data).
    let mut body = part_head("csrf").into_bytes();
    body.extend_from_slice(b"token");
    for name in ["kind", "fichiers"] {
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part_head(name).as_bytes());
        body.extend(std::iter::repeat_n(b'z', 60));
    }
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--").as_bytes());
    let limit = 64;
    for cut in 1..body.len() {
        let mut scanner = Scanner::new(BOUNDARY, limit);
        assert_eq!(scanner.scan(&body[..cut]), Ok(()), "cut at {cut}");
        assert_eq!(scanner.scan(&body[cut..]), Ok(()), "cut at {cut}");
        assert_eq!(scanner.stage, Stage::Closed, "cut at {cut}");
    }
}

#[test]
fn boundaries_that_overlap_themselves_are_found() {
    // `------a` inside `-------a`: a search restarting after a mismatch would miss it.
    let mut scanner = Scanner::new("----a", 16);
    scanner.scan(b"-------a\r\nX: y\r\n\r\nd").unwrap();
    assert_eq!(scanner.stage, Stage::Data);
    // `\r\n--` then `\r\n------a`: the second CR starts the delimiter over.
    let mut scanner = Scanner::new("----a", 16);
    scanner.scan(b"------a\r\n\r\n\r\n").unwrap();
    assert_eq!(scanner.stage, Stage::Data);
    scanner.scan(b"\r\n--\r\n------a--").unwrap();
    assert_eq!(scanner.stage, Stage::Closed);
}

#[tokio::test]
async fn the_stream_yields_the_refusal_then_ends() {
    let mut body = part_head("csrf").into_bytes();
    body.truncate(body.len() - 4);
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from(body)),
        Ok(Bytes::from(vec![b'a'; 4 * MAX_PART_HEADER_BYTES])),
        Ok(Bytes::from_static(b"\r\n\r\nx")),
    ];
    let mut bound = HeaderBound::new(stream::iter(chunks), BOUNDARY);
    assert!(matches!(bound.next().await, Some(Ok(_))));
    let err = bound.next().await.unwrap().unwrap_err();
    let err = err
        .downcast_ref::<PartHeadersTooLong>()
        .expect("the bound's error");
    assert_eq!(err.limit, MAX_PART_HEADER_BYTES);
    assert!(bound.next().await.is_none());
}
