//! Content families and the incremental magic-bytes check: does a stream's beginning look like
//! the family its extension promises? Bounded memory (at most `SNIFF_WINDOW` bytes are kept);
//! no parsing beyond the first bytes, so a well-forged file passes (see each family).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::refusal::Refusal;

/// Most bytes a sniffer ever keeps, whatever the family: 4 KiB.
pub const SNIFF_WINDOW: usize = 4096;

/// Where a PDF header may start: `%PDF-` must lie within the first 1024 bytes. Acrobat
/// documents that it looks for the header that far, other readers do the same, and some
/// producers do prepend bytes; refusing them would refuse files that readers open. The cost: a
/// file with a PDF header in its first KiB passes as a PDF whatever precedes it.
pub const PDF_HEADER_WINDOW: usize = 1024;

/// What the first bytes of a deposit must look like. In TOML: `pdf`, `png`, `jpeg`, `gif`,
/// `tiff`, `webp`, `zip`, `opendocument`, `ooxml`, `heic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentFamily {
    /// `%PDF-` within the first `PDF_HEADER_WINDOW` bytes.
    Pdf,
    /// The 8-byte PNG signature.
    Png,
    /// `FF D8 FF` (start of image, then any marker).
    Jpeg,
    /// `GIF87a` or `GIF89a`.
    Gif,
    /// `II*\0` or `MM\0*`, and their BigTIFF forms `II+\0`, `MM\0+`.
    Tiff,
    /// `RIFF`, a 4-byte size, `WEBP`.
    Webp,
    /// A zip local file header `PK\3\4`, or `PK\5\6` (end record of an empty archive).
    Zip,
    /// A zip whose first entry is the uncompressed `mimetype` file, starting with
    /// `application/vnd.oasis.opendocument` (the layout ODF mandates so types can be sniffed).
    #[serde(rename = "opendocument")]
    OpenDocument,
    /// docx, xlsx, pptx: a zip local file header, nothing more.
    // Limitation: only the zip signature is checked (`[Content_Types].xml` may be any entry,
    // and the central directory that lists them is at the end of the stream).
    #[serde(rename = "ooxml")]
    OfficeOpenXml,
    /// An ISO media file (`ftyp` box) whose major brand is a HEIF/HEIC one.
    Heic,
    /// Not checked at all; what a policy with `allow_any_extension` gives to unlisted names.
    /// Cannot be written in a policy file.
    #[serde(skip_deserializing)]
    Any,
}

impl ContentFamily {
    /// How many leading bytes decide this family; a sniffer keeps no more than this.
    fn window(self) -> usize {
        match self {
            ContentFamily::Pdf => PDF_HEADER_WINDOW,
            ContentFamily::Png => PNG.len(),
            ContentFamily::Jpeg => JPEG.len(),
            ContentFamily::Gif => 6,
            ContentFamily::Tiff => 4,
            ContentFamily::Webp => 12,
            ContentFamily::Zip | ContentFamily::OfficeOpenXml => 4,
            ContentFamily::OpenDocument => SNIFF_WINDOW,
            ContentFamily::Heic => 12,
            ContentFamily::Any => 0,
        }
    }

    /// Name of the format, the same in English and French ("PDF", "OpenDocument").
    pub fn display_name(self) -> &'static str {
        match self {
            ContentFamily::Pdf => "PDF",
            ContentFamily::Png => "PNG",
            ContentFamily::Jpeg => "JPEG",
            ContentFamily::Gif => "GIF",
            ContentFamily::Tiff => "TIFF",
            ContentFamily::Webp => "WebP",
            ContentFamily::Zip => "ZIP",
            ContentFamily::OpenDocument => "OpenDocument",
            ContentFamily::OfficeOpenXml => "Office Open XML",
            ContentFamily::Heic => "HEIC",
            ContentFamily::Any => "any",
        }
    }

    /// Judges `head` (the stream's first bytes, possibly all of them) at once; the same verdict
    /// a `ContentSniffer` fed with `head` gives.
    pub fn sniff(self, head: &[u8], at_end: bool) -> Sniff {
        let mut sniffer = ContentSniffer::new(self);
        sniffer.feed(head);
        sniffer.verdict(at_end)
    }
}

impl fmt::Display for ContentFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// The verdict on a stream's beginning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// Not enough bytes yet; feed more (never returned at end of stream).
    Undecided,
    /// The bytes are those of the family.
    Match,
    /// The bytes are not those of the family (or the stream ended too early to tell).
    Mismatch,
}

/// Incremental check of a stream against one family: feed chunks as they arrive, ask for a
/// verdict after each one and stop the upload on `Mismatch`; at end of stream the verdict is
/// final. Keeps only the bytes the family needs, at most `SNIFF_WINDOW`.
#[derive(Debug, Clone)]
pub struct ContentSniffer {
    family: ContentFamily,
    /// The first bytes of the stream, up to the family's window; emptied once decided.
    head: Vec<u8>,
    /// Set once the bytes seen decide, whatever follows.
    settled: Option<Sniff>,
}

impl ContentSniffer {
    pub fn new(family: ContentFamily) -> Self {
        ContentSniffer {
            family,
            head: Vec::new(),
            settled: None,
        }
    }

    pub fn family(&self) -> ContentFamily {
        self.family
    }

    /// Takes the next chunk of the stream; bytes past the family's window are not kept.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.settled.is_some() {
            return;
        }
        let room = self.family.window().saturating_sub(self.head.len());
        self.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
        match self.judge(false) {
            Sniff::Undecided => {}
            decided => {
                self.settled = Some(decided);
                self.head = Vec::new();
            }
        }
    }

    /// The verdict on what was fed so far. With `at_end`, the stream is complete and the
    /// verdict is never `Undecided`: too few bytes to show the signature is a `Mismatch`.
    pub fn verdict(&self, at_end: bool) -> Sniff {
        self.settled.unwrap_or_else(|| self.judge(at_end))
    }

    /// The verdict as a check: `ContentMismatch` on a mismatch, `Ok` otherwise (so, before the
    /// end, `Ok` means "not refused yet").
    pub fn check(&self, at_end: bool) -> Result<(), Refusal> {
        match self.verdict(at_end) {
            Sniff::Mismatch => Err(self.refusal()),
            Sniff::Match | Sniff::Undecided => Ok(()),
        }
    }

    /// The refusal for content that does not match this sniffer's family.
    pub fn refusal(&self) -> Refusal {
        Refusal::ContentMismatch {
            family: self.family,
        }
    }

    fn judge(&self, at_end: bool) -> Sniff {
        match check(self.family, &self.head) {
            Need::Match => Sniff::Match,
            Need::Mismatch => Sniff::Mismatch,
            // A full window that still does not decide cannot be decided by later bytes.
            Need::More if at_end || self.head.len() >= self.family.window() => Sniff::Mismatch,
            Need::More => Sniff::Undecided,
        }
    }
}

/// The answer of a check on the bytes seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Match,
    Mismatch,
    More,
}

/// All conditions hold: a mismatch anywhere decides, then a pending one.
fn all(needs: &[Need]) -> Need {
    if needs.contains(&Need::Mismatch) {
        Need::Mismatch
    } else if needs.contains(&Need::More) {
        Need::More
    } else {
        Need::Match
    }
}

/// One condition holds: a match anywhere decides, then a pending one.
fn any(needs: &[Need]) -> Need {
    if needs.contains(&Need::Match) {
        Need::Match
    } else if needs.contains(&Need::More) {
        Need::More
    } else {
        Need::Mismatch
    }
}

/// Whether `magic` sits at `offset` in `head`, as far as `head` goes.
fn at(head: &[u8], offset: usize, magic: &[u8]) -> Need {
    let seen = head.get(offset..).unwrap_or(&[]);
    let n = seen.len().min(magic.len());
    if seen[..n] != magic[..n] {
        Need::Mismatch
    } else if n < magic.len() {
        Need::More
    } else {
        Need::Match
    }
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG: &[u8] = b"\xff\xd8\xff";
const ZIP_LOCAL: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY: &[u8] = b"PK\x05\x06";
const ODF_MIMETYPE_NAME: &[u8] = b"mimetype";
const ODF_MIME_PREFIX: &[u8] = b"application/vnd.oasis.opendocument";
/// Major brands of HEIF images (HEVC-coded or not), as written by phones and cameras.
const HEIF_BRANDS: &[&[u8]] = &[
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
];

fn check(family: ContentFamily, head: &[u8]) -> Need {
    match family {
        ContentFamily::Pdf => check_pdf(head),
        ContentFamily::Png => at(head, 0, PNG),
        ContentFamily::Jpeg => at(head, 0, JPEG),
        ContentFamily::Gif => any(&[at(head, 0, b"GIF87a"), at(head, 0, b"GIF89a")]),
        ContentFamily::Tiff => any(&[
            at(head, 0, b"II*\0"),
            at(head, 0, b"MM\0*"),
            at(head, 0, b"II+\0"),
            at(head, 0, b"MM\0+"),
        ]),
        ContentFamily::Webp => all(&[at(head, 0, b"RIFF"), at(head, 8, b"WEBP")]),
        ContentFamily::Zip => any(&[at(head, 0, ZIP_LOCAL), at(head, 0, ZIP_EMPTY)]),
        ContentFamily::OfficeOpenXml => at(head, 0, ZIP_LOCAL),
        ContentFamily::OpenDocument => check_odf(head),
        ContentFamily::Heic => {
            let brands: Vec<Need> = HEIF_BRANDS.iter().map(|b| at(head, 8, b)).collect();
            all(&[at(head, 4, b"ftyp"), any(&brands)])
        }
        ContentFamily::Any => Need::Match,
    }
}

fn check_pdf(head: &[u8]) -> Need {
    let marker = b"%PDF-";
    let window = &head[..head.len().min(PDF_HEADER_WINDOW)];
    if window.windows(marker.len()).any(|w| w == marker) {
        Need::Match
    } else if window.len() >= PDF_HEADER_WINDOW {
        Need::Mismatch
    } else {
        Need::More
    }
}

/// The first zip local file header must be the `mimetype` entry, stored (method 0), and its
/// data must start with the ODF media type prefix. Header layout (little endian): signature at
/// 0, compression method at 8, name length at 26, extra length at 28, name at 30, data after the
/// name and the extra field.
fn check_odf(head: &[u8]) -> Need {
    let name_len = (ODF_MIMETYPE_NAME.len() as u16).to_le_bytes();
    let header = all(&[
        at(head, 0, ZIP_LOCAL),
        at(head, 8, &[0, 0]),
        at(head, 26, &name_len),
        at(head, 30, ODF_MIMETYPE_NAME),
    ]);
    if header != Need::Match {
        return header;
    }
    // ODF forbids an extra field on this entry; it is skipped rather than refused, as long as
    // the media type still falls within the sniff window.
    let extra_len = usize::from(u16::from_le_bytes([head[28], head[29]]));
    let data = 30 + ODF_MIMETYPE_NAME.len() + extra_len;
    if data + ODF_MIME_PREFIX.len() > SNIFF_WINDOW {
        return Need::Mismatch;
    }
    at(head, data, ODF_MIME_PREFIX)
}

#[cfg(test)]
mod tests {
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
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            .to_vec()
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
}
