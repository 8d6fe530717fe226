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
#[path = "sniff_tests.rs"]
mod tests;
