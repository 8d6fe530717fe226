//! Tests of `sniff`.

use super::*;

/// CRC-32 (IEEE), bit by bit: only to build real zip archives below.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// A complete zip archive of stored (uncompressed) entries, as `zip -0` writes it: local
/// headers and data, then the central directory and its end record.
fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let name_len = name.len() as u16;
        // Local file header.
        out.extend_from_slice(ZIP_LOCAL);
        out.extend_from_slice(&10u16.to_le_bytes()); // version needed: 1.0
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        out.extend_from_slice(&0x6000u16.to_le_bytes()); // time 12:00:00
        out.extend_from_slice(&0x5821u16.to_le_bytes()); // date 2024-01-01
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes()); // compressed size
        out.extend_from_slice(&size.to_le_bytes()); // uncompressed size
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        // Central directory header for the same entry.
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&10u16.to_le_bytes()); // version needed
        central.extend_from_slice(&0u16.to_le_bytes()); // flags
        central.extend_from_slice(&0u16.to_le_bytes()); // method
        central.extend_from_slice(&0x6000u16.to_le_bytes());
        central.extend_from_slice(&0x5821u16.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = out.len() as u32;
    let count = entries.len() as u16;
    out.extend_from_slice(&central);
    out.extend_from_slice(ZIP_EMPTY);
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

fn odt() -> Vec<u8> {
    stored_zip(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
    ])
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n".to_vec()
}

fn png() -> Vec<u8> {
    let mut bytes = PNG.to_vec();
    bytes.extend_from_slice(&13u32.to_be_bytes());
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&1u32.to_be_bytes()); // width
    bytes.extend_from_slice(&1u32.to_be_bytes()); // height
    bytes.extend_from_slice(&[8, 6, 0, 0, 0]); // depth, RGBA, compression, filter, interlace
    bytes
}

fn jpeg() -> Vec<u8> {
    // Start of image, then a JFIF APP0 segment.
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    bytes.extend_from_slice(b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    bytes
}

fn gif89a() -> Vec<u8> {
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec()
}

fn tiff_little_endian() -> Vec<u8> {
    b"II*\0\x08\0\0\0".to_vec()
}

fn webp() -> Vec<u8> {
    let mut bytes = b"RIFF".to_vec();
    bytes.extend_from_slice(&26u32.to_le_bytes());
    bytes.extend_from_slice(b"WEBPVP8L");
    bytes.extend_from_slice(&13u32.to_le_bytes());
    bytes
}

fn heic() -> Vec<u8> {
    let mut bytes = 24u32.to_be_bytes().to_vec();
    bytes.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    bytes
}

/// Feeds `bytes` one byte at a time and returns the verdict at end of stream, checking on
/// the way that a decision, once taken, never changes.
fn stream(family: ContentFamily, bytes: &[u8]) -> Sniff {
    let mut sniffer = ContentSniffer::new(family);
    let mut decided = None;
    for byte in bytes {
        sniffer.feed(std::slice::from_ref(byte));
        let verdict = sniffer.verdict(false);
        if let Some(earlier) = decided {
            assert_eq!(verdict, earlier, "{family}: verdict changed");
        } else if verdict != Sniff::Undecided {
            decided = Some(verdict);
        }
    }
    sniffer.verdict(true)
}

#[test]
fn test_zip_builder_writes_a_real_archive() {
    // The builder's output was checked once with `unzip -t`, Python's `zipfile` and `file`
    // (which names the odt() archive "OpenDocument Text"); this pins its layout: the CRC
    // check value, and header sizes of 30 (local), 46 (central) and 22 (end) bytes.
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    let zip = stored_zip(&[("a.txt", b"hello")]);
    assert_eq!(zip.len(), 30 + 5 + 5 + 46 + 5 + 22);
}

#[test]
fn each_family_matches_its_own_format() {
    let samples: Vec<(ContentFamily, Vec<u8>)> = vec![
        (ContentFamily::Pdf, pdf()),
        (ContentFamily::Png, png()),
        (ContentFamily::Jpeg, jpeg()),
        (ContentFamily::Gif, gif89a()),
        (
            ContentFamily::Gif,
            b"GIF87a\x01\x00\x01\x00\x00\x00\x00".to_vec(),
        ),
        (ContentFamily::Tiff, tiff_little_endian()),
        (ContentFamily::Tiff, b"MM\0*\0\0\0\x08".to_vec()),
        (ContentFamily::Tiff, b"II+\0\x08\0\0\0".to_vec()),
        (ContentFamily::Webp, webp()),
        (ContentFamily::Zip, stored_zip(&[("a.txt", b"hello")])),
        (ContentFamily::Zip, stored_zip(&[])),
        (ContentFamily::OpenDocument, odt()),
        (
            ContentFamily::OfficeOpenXml,
            stored_zip(&[("[Content_Types].xml", b"<x/>")]),
        ),
        (ContentFamily::Heic, heic()),
    ];
    for (family, bytes) in samples {
        assert_eq!(stream(family, &bytes), Sniff::Match, "{family}");
        assert_eq!(family.sniff(&bytes, true), Sniff::Match, "{family}");
    }
}

#[test]
fn each_family_refuses_the_others() {
    let samples: Vec<(ContentFamily, Vec<u8>)> = vec![
        (ContentFamily::Pdf, pdf()),
        (ContentFamily::Png, png()),
        (ContentFamily::Jpeg, jpeg()),
        (ContentFamily::Gif, gif89a()),
        (ContentFamily::Tiff, tiff_little_endian()),
        (ContentFamily::Webp, webp()),
        (ContentFamily::Zip, stored_zip(&[("a.txt", b"hello")])),
        (ContentFamily::Heic, heic()),
    ];
    for (family, _) in &samples {
        for (other, bytes) in &samples {
            if family != other {
                assert_eq!(
                    stream(*family, bytes),
                    Sniff::Mismatch,
                    "{other} as {family}"
                );
            }
        }
    }
}

#[test]
fn png_content_under_a_pdf_name_is_a_mismatch() {
    assert_eq!(ContentFamily::Pdf.sniff(&png(), true), Sniff::Mismatch);
}

#[test]
fn decides_as_soon_as_the_signature_is_seen() {
    let mut sniffer = ContentSniffer::new(ContentFamily::Png);
    sniffer.feed(&png()[..7]);
    assert_eq!(sniffer.verdict(false), Sniff::Undecided);
    sniffer.feed(&png()[7..8]);
    assert_eq!(sniffer.verdict(false), Sniff::Match);

    let mut sniffer = ContentSniffer::new(ContentFamily::Png);
    sniffer.feed(b"\x89PX");
    assert_eq!(
        sniffer.verdict(false),
        Sniff::Mismatch,
        "wrong third byte decides"
    );

    let mut sniffer = ContentSniffer::new(ContentFamily::Pdf);
    sniffer.feed(b"%PDF-");
    assert_eq!(sniffer.verdict(false), Sniff::Match);
}

#[test]
fn short_or_empty_streams_are_a_mismatch_at_end() {
    for family in [
        ContentFamily::Pdf,
        ContentFamily::Png,
        ContentFamily::Jpeg,
        ContentFamily::Zip,
        ContentFamily::OpenDocument,
        ContentFamily::Webp,
    ] {
        assert_eq!(family.sniff(b"", false), Sniff::Undecided, "{family}");
        assert_eq!(family.sniff(b"", true), Sniff::Mismatch, "{family}");
    }
    assert_eq!(ContentFamily::Pdf.sniff(b"%PD", false), Sniff::Undecided);
    assert_eq!(ContentFamily::Pdf.sniff(b"%PD", true), Sniff::Mismatch);
    assert_eq!(
        ContentFamily::Jpeg.sniff(b"\xff\xd8", true),
        Sniff::Mismatch
    );
    assert_eq!(
        ContentFamily::Webp.sniff(b"RIFF\0\0\0\0WEB", true),
        Sniff::Mismatch
    );
}

#[test]
fn pdf_header_may_follow_leading_bytes_within_1024() {
    let mut late = vec![b' '; PDF_HEADER_WINDOW - 5];
    late.extend_from_slice(&pdf());
    assert_eq!(stream(ContentFamily::Pdf, &late), Sniff::Match);

    let mut too_late = vec![b' '; PDF_HEADER_WINDOW - 4];
    too_late.extend_from_slice(&pdf());
    assert_eq!(stream(ContentFamily::Pdf, &too_late), Sniff::Mismatch);
}

#[test]
fn pdf_without_header_is_refused_after_the_window_not_at_end() {
    let mut sniffer = ContentSniffer::new(ContentFamily::Pdf);
    sniffer.feed(&vec![b'x'; PDF_HEADER_WINDOW - 1]);
    assert_eq!(sniffer.verdict(false), Sniff::Undecided);
    sniffer.feed(b"x");
    assert_eq!(sniffer.verdict(false), Sniff::Mismatch);
}

#[test]
fn memory_stays_bounded_on_large_streams() {
    for family in [
        ContentFamily::Pdf,
        ContentFamily::OpenDocument,
        ContentFamily::Any,
    ] {
        let mut sniffer = ContentSniffer::new(family);
        // A zip header announcing an extra field too long to sniff past, then filler.
        let mut start = b"PK\x03\x04\0\0\0\0\0\0".to_vec();
        start.resize(26, 0);
        start.extend_from_slice(&8u16.to_le_bytes());
        start.extend_from_slice(&u16::MAX.to_le_bytes());
        start.extend_from_slice(b"mimetype");
        sniffer.feed(&start);
        for _ in 0..256 {
            sniffer.feed(&[0u8; 4096]);
            assert!(sniffer.head.len() <= SNIFF_WINDOW, "{family}");
        }
        let expected = if family == ContentFamily::Any {
            Sniff::Match
        } else {
            Sniff::Mismatch
        };
        assert_eq!(sniffer.verdict(false), expected, "{family}");
    }
}

#[test]
fn opendocument_needs_the_stored_mimetype_entry_first() {
    assert_eq!(stream(ContentFamily::OpenDocument, &odt()), Sniff::Match);

    let content_first = stored_zip(&[
        ("content.xml", b"<x/>"),
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
    ]);
    assert_eq!(
        stream(ContentFamily::OpenDocument, &content_first),
        Sniff::Mismatch
    );
    // Still an acceptable plain zip and, by its signature alone, Office Open XML.
    assert_eq!(stream(ContentFamily::Zip, &content_first), Sniff::Match);
    assert_eq!(
        stream(ContentFamily::OfficeOpenXml, &content_first),
        Sniff::Match
    );

    let other_type = stored_zip(&[("mimetype", b"application/epub+zip")]);
    assert_eq!(
        stream(ContentFamily::OpenDocument, &other_type),
        Sniff::Mismatch
    );

    let mut deflated = odt();
    deflated[8] = 8; // method: deflate
    assert_eq!(
        stream(ContentFamily::OpenDocument, &deflated),
        Sniff::Mismatch
    );

    let empty = stored_zip(&[]);
    assert_eq!(stream(ContentFamily::OpenDocument, &empty), Sniff::Mismatch);
    assert_eq!(
        stream(ContentFamily::OfficeOpenXml, &empty),
        Sniff::Mismatch
    );
}

#[test]
fn opendocument_skips_an_extra_field() {
    let mut with_extra = odt();
    with_extra[28..30].copy_from_slice(&4u16.to_le_bytes());
    with_extra.splice(38..38, [0xCA, 0xFE, 0, 0]);
    assert_eq!(
        stream(ContentFamily::OpenDocument, &with_extra),
        Sniff::Match
    );
}

#[test]
fn check_turns_a_mismatch_into_a_refusal() {
    let mut sniffer = ContentSniffer::new(ContentFamily::Pdf);
    sniffer.feed(b"%PD");
    assert_eq!(sniffer.check(false), Ok(()));
    let refusal = sniffer.check(true).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::ContentMismatch {
            family: ContentFamily::Pdf
        }
    );
    assert_eq!(refusal.http_status(), 415);
    sniffer.feed(b"F-1.4\n");
    assert_eq!(sniffer.check(true), Ok(()));
}

#[test]
fn any_accepts_everything_even_empty() {
    assert_eq!(ContentFamily::Any.sniff(b"", true), Sniff::Match);
    assert_eq!(ContentFamily::Any.sniff(b"#!/bin/sh", false), Sniff::Match);
}

#[test]
fn any_cannot_be_written_in_a_policy() {
    #[derive(Deserialize)]
    struct Probe {
        family: ContentFamily,
    }
    assert!(toml::from_str::<Probe>("family = \"any\"").is_err());
    let parsed: Probe = toml::from_str("family = \"ooxml\"").unwrap();
    assert_eq!(parsed.family, ContentFamily::OfficeOpenXml);
}
