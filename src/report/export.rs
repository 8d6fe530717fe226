//! Exports: the current plans of one establishment or one postal code as a single ZIP archive,
//! produced as a stream ([`ZipStream`] implements `Read`) whose exact length is known before
//! the first byte. Memory stays bounded whatever the sizes: one read buffer of the caller's,
//! one header at a time, and per entry only its name and a few numbers.
//!
//! Entries are stored (no compression: PDFs and images are compressed already) under
//! `<postal code>/<folder>/<stored name>`, names in UTF-8 (flag bit 11), times as MS-DOS
//! times in UTC. Each entry's CRC-32 is computed by reading the file once just before its
//! header is sent, so headers carry real sizes and CRCs and no data descriptor is needed:
//! streaming readers (Java's `ZipInputStream`, `unzip -` from a pipe) read it too. ZIP64 fields
//! appear only where a size, an offset or the entry count needs them.
//!
//! Why not the `zip` or `async_zip` crates: the HTTP face can only stream a body whose length
//! it announces first (see `api::reports`), and a stored archive's length is a function of
//! names and sizes that these crates do not expose; the format written here is the stored
//! subset, about a hundred lines, and the tests read it back with the `zip` crate.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::SystemTime;

use super::coverage::UNLISTED;
use super::Deposits;
use crate::directory::{Directory, Rne};

/// Read size while computing a CRC.
const CRC_BUF_BYTES: usize = 64 * 1024;
/// Beyond this a 32-bit size or offset field says "see the ZIP64 extra field".
const MAX_32: u64 = 0xFFFF_FFFF;
/// Beyond this the entry count needs the ZIP64 end record.
const MAX_16: u64 = 0xFFFF;
const LOCAL_HEADER: usize = 30;
const CENTRAL_HEADER: usize = 46;
const END_RECORD: usize = 22;
const ZIP64_END: usize = 56 + 20;
/// General purpose flag: names are UTF-8.
const FLAG_UTF8: u16 = 1 << 11;

/// One file to put in the archive.
#[derive(Debug, Clone)]
pub struct ExportEntry {
    /// Path inside the archive: `<postal code>/<folder>/<stored name>`.
    pub zip_path: String,
    /// Where to read it, tried in order.
    pub sources: Vec<PathBuf>,
    pub bytes: u64,
    pub modified: SystemTime,
}

/// The current files of one establishment (in the directory or only in the store), or `None`
/// when the RNE is in neither.
pub fn school_entries(
    directory: &Directory,
    deposits: &Deposits<'_>,
    rne: &Rne,
) -> io::Result<Option<Vec<ExportEntry>>> {
    let (prefix, known) = match (directory.get(rne), directory.folder_name(rne)) {
        (Some(school), Some(folder)) => (format!("{}/{folder}", school.postal_code), true),
        _ => (format!("{UNLISTED}/{rne}"), false),
    };
    let files = deposits.current_files(rne)?;
    if !known && files.is_empty() {
        return Ok(None);
    }
    Ok(Some(entries(deposits, rne, &prefix, files)))
}

/// The current files of every establishment of a postal code, in tree order; `None` for a
/// postal code the directory does not have.
// Limitation: establishments absent from the directory belong to no postal code and are
// exported one by one ([`school_entries`]).
pub fn postal_code_entries(
    directory: &Directory,
    deposits: &Deposits<'_>,
    postal_code: &str,
) -> io::Result<Option<Vec<ExportEntry>>> {
    let mut all = Vec::new();
    let mut found = false;
    for (folder, school) in directory.in_postal_code(postal_code) {
        found = true;
        let files = deposits.current_files(&school.rne)?;
        let prefix = format!("{postal_code}/{folder}");
        all.extend(entries(deposits, &school.rne, &prefix, files));
    }
    Ok(found.then_some(all))
}

fn entries(
    deposits: &Deposits<'_>,
    rne: &Rne,
    prefix: &str,
    files: Vec<crate::storage::StoredFile>,
) -> Vec<ExportEntry> {
    files
        .into_iter()
        .map(|file| ExportEntry {
            zip_path: format!("{prefix}/{}", file.path),
            sources: deposits.content_paths(rne, &file).to_vec(),
            bytes: file.bytes,
            modified: file.modified,
        })
        .collect()
}

/// What the archive holds for one entry once planned.
#[derive(Debug)]
struct Planned {
    entry: ExportEntry,
    offset: u64,
    dos_time: u16,
    dos_date: u16,
    crc: u32,
}

#[derive(Debug)]
enum Phase {
    /// Next: the local header of entry `i` (or the central directory when past the end).
    Header(usize),
    Data {
        index: usize,
        file: File,
        left: u64,
    },
    Central(usize),
    Done,
}

/// A stored ZIP archive, read as a stream. Blocking file I/O: read it off the async threads.
#[derive(Debug)]
pub struct ZipStream {
    planned: Vec<Planned>,
    central_offset: u64,
    central_size: u64,
    total: u64,
    phase: Phase,
    /// Header bytes ready to hand out, and how many were handed out already.
    pending: Vec<u8>,
    pending_pos: usize,
    sent: u64,
    /// Sizes and offsets at or over this use ZIP64 fields ([`MAX_32`]; lower in tests).
    limit32: u64,
    limit16: u64,
}

fn needs64(value: u64, limit: u64) -> bool {
    value >= limit
}

impl ZipStream {
    /// Plans the archive; its length is [`ZipStream::len`] from now on.
    pub fn new(entries: Vec<ExportEntry>) -> ZipStream {
        ZipStream::with_limits(entries, MAX_32, MAX_16)
    }

    fn with_limits(entries: Vec<ExportEntry>, limit32: u64, limit16: u64) -> ZipStream {
        let mut stream = ZipStream {
            planned: Vec::with_capacity(entries.len()),
            central_offset: 0,
            central_size: 0,
            total: 0,
            phase: Phase::Header(0),
            pending: Vec::new(),
            pending_pos: 0,
            sent: 0,
            limit32,
            limit16,
        };
        let mut offset = 0u64;
        for entry in entries {
            let (dos_time, dos_date) = dos_time(entry.modified);
            let planned = Planned {
                entry,
                offset,
                dos_time,
                dos_date,
                crc: 0,
            };
            offset += stream.local_header(&planned).len() as u64 + planned.entry.bytes;
            stream.planned.push(planned);
        }
        stream.central_offset = offset;
        stream.central_size = (0..stream.planned.len())
            .map(|i| stream.central_header(i).len() as u64)
            .sum();
        stream.total = offset + stream.central_size + stream.end_records().len() as u64;
        stream
    }

    /// Exact length of the archive in bytes.
    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Number of files in the archive.
    pub fn entries(&self) -> usize {
        self.planned.len()
    }

    fn local_header(&self, p: &Planned) -> Vec<u8> {
        let name = p.entry.zip_path.as_bytes();
        let big = needs64(p.entry.bytes, self.limit32);
        let mut h = Vec::with_capacity(LOCAL_HEADER + name.len() + 20);
        put32(&mut h, 0x0403_4b50);
        put16(&mut h, if big { 45 } else { 20 });
        put16(&mut h, FLAG_UTF8);
        put16(&mut h, 0);
        put16(&mut h, p.dos_time);
        put16(&mut h, p.dos_date);
        put32(&mut h, p.crc);
        let size32 = if big { u32::MAX } else { p.entry.bytes as u32 };
        put32(&mut h, size32);
        put32(&mut h, size32);
        put16(&mut h, name.len() as u16);
        put16(&mut h, if big { 20 } else { 0 });
        h.extend_from_slice(name);
        if big {
            put16(&mut h, 0x0001);
            put16(&mut h, 16);
            put64(&mut h, p.entry.bytes);
            put64(&mut h, p.entry.bytes);
        }
        h
    }

    fn central_header(&self, i: usize) -> Vec<u8> {
        let p = &self.planned[i];
        let name = p.entry.zip_path.as_bytes();
        let big_size = needs64(p.entry.bytes, self.limit32);
        let big_offset = needs64(p.offset, self.limit32);
        let mut extra = Vec::new();
        if big_size {
            put64(&mut extra, p.entry.bytes);
            put64(&mut extra, p.entry.bytes);
        }
        if big_offset {
            put64(&mut extra, p.offset);
        }
        let zip64 = !extra.is_empty();
        let mut h = Vec::with_capacity(CENTRAL_HEADER + name.len() + extra.len() + 4);
        put32(&mut h, 0x0201_4b50);
        // Made by: Unix (3), so the external attributes below are a Unix mode.
        put16(&mut h, (3 << 8) | if zip64 { 45 } else { 20 });
        put16(&mut h, if zip64 { 45 } else { 20 });
        put16(&mut h, FLAG_UTF8);
        put16(&mut h, 0);
        put16(&mut h, p.dos_time);
        put16(&mut h, p.dos_date);
        put32(&mut h, p.crc);
        let size32 = if big_size {
            u32::MAX
        } else {
            p.entry.bytes as u32
        };
        put32(&mut h, size32);
        put32(&mut h, size32);
        put16(&mut h, name.len() as u16);
        put16(&mut h, if zip64 { extra.len() as u16 + 4 } else { 0 });
        put16(&mut h, 0);
        put16(&mut h, 0);
        put16(&mut h, 0);
        put32(&mut h, 0o100644 << 16);
        put32(
            &mut h,
            if big_offset {
                u32::MAX
            } else {
                p.offset as u32
            },
        );
        h.extend_from_slice(name);
        if zip64 {
            put16(&mut h, 0x0001);
            put16(&mut h, extra.len() as u16);
            h.extend_from_slice(&extra);
        }
        h
    }

    fn end_records(&self) -> Vec<u8> {
        let count = self.planned.len() as u64;
        let zip64 = needs64(count, self.limit16)
            || needs64(self.central_offset, self.limit32)
            || needs64(self.central_size, self.limit32);
        let mut h = Vec::with_capacity(END_RECORD + ZIP64_END);
        if zip64 {
            let record_offset = self.central_offset + self.central_size;
            put32(&mut h, 0x0606_4b50);
            put64(&mut h, 44);
            put16(&mut h, (3 << 8) | 45);
            put16(&mut h, 45);
            put32(&mut h, 0);
            put32(&mut h, 0);
            put64(&mut h, count);
            put64(&mut h, count);
            put64(&mut h, self.central_size);
            put64(&mut h, self.central_offset);
            put32(&mut h, 0x0706_4b50);
            put32(&mut h, 0);
            put64(&mut h, record_offset);
            put32(&mut h, 1);
        }
        let count16 = if zip64 { u16::MAX } else { count as u16 };
        put32(&mut h, 0x0605_4b50);
        put16(&mut h, 0);
        put16(&mut h, 0);
        put16(&mut h, count16);
        put16(&mut h, count16);
        put32(
            &mut h,
            if zip64 {
                u32::MAX
            } else {
                self.central_size as u32
            },
        );
        put32(
            &mut h,
            if zip64 {
                u32::MAX
            } else {
                self.central_offset as u32
            },
        );
        put16(&mut h, 0);
        h
    }

    /// Opens entry `i`'s content, checks its size and computes its CRC-32.
    // Limitation: each file is read twice, once for its CRC and once to send it (the second
    // read usually comes from the page cache); the store keeps SHA-256, not CRC-32.
    fn open_entry(&mut self, i: usize) -> io::Result<File> {
        let entry = &self.planned[i].entry;
        let mut last_error = io::Error::from(io::ErrorKind::NotFound);
        for source in &entry.sources {
            let mut file = match File::open(source) {
                Ok(file) => file,
                Err(err) => {
                    last_error = err;
                    continue;
                }
            };
            if file.metadata()?.len() != entry.bytes {
                last_error = io::Error::other("content changed since the export was planned");
                continue;
            }
            let mut hasher = crc32fast::Hasher::new();
            let mut buf = vec![0u8; CRC_BUF_BYTES];
            let mut read = 0u64;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                read += n as u64;
            }
            if read != entry.bytes {
                return Err(io::Error::other(format!(
                    "{}: {read} bytes read, {} planned",
                    entry.zip_path, entry.bytes
                )));
            }
            file.seek(SeekFrom::Start(0))?;
            self.planned[i].crc = hasher.finalize();
            return Ok(file);
        }
        Err(io::Error::new(
            last_error.kind(),
            format!("{}: {last_error}", entry.zip_path),
        ))
    }

    /// Moves to the next phase, filling `pending` with the header bytes it starts with.
    fn advance(&mut self) -> io::Result<()> {
        self.pending.clear();
        self.pending_pos = 0;
        self.phase = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Header(i) if i < self.planned.len() => {
                let file = self.open_entry(i)?;
                if self.sent != self.planned[i].offset {
                    return Err(io::Error::other("archive offsets diverged from the plan"));
                }
                self.pending = self.local_header(&self.planned[i]);
                let left = self.planned[i].entry.bytes;
                Phase::Data {
                    index: i,
                    file,
                    left,
                }
            }
            Phase::Header(_) => Phase::Central(0),
            Phase::Data { index, .. } => Phase::Header(index + 1),
            Phase::Central(i) if i < self.planned.len() => {
                self.pending = self.central_header(i);
                Phase::Central(i + 1)
            }
            Phase::Central(_) => {
                self.pending = self.end_records();
                Phase::Done
            }
            Phase::Done => Phase::Done,
        };
        Ok(())
    }
}

impl Read for ZipStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.pending_pos < self.pending.len() {
                let n = (self.pending.len() - self.pending_pos).min(buf.len());
                buf[..n].copy_from_slice(&self.pending[self.pending_pos..self.pending_pos + n]);
                self.pending_pos += n;
                self.sent += n as u64;
                return Ok(n);
            }
            match &mut self.phase {
                Phase::Data { file, left, .. } if *left > 0 => {
                    let want = (*left).min(buf.len() as u64) as usize;
                    let n = file.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "deposit shorter than planned",
                        ));
                    }
                    *left -= n as u64;
                    self.sent += n as u64;
                    return Ok(n);
                }
                Phase::Done => {
                    if self.sent != self.total {
                        return Err(io::Error::other("archive length differs from the plan"));
                    }
                    return Ok(0);
                }
                _ => self.advance()?,
            }
        }
    }
}

/// MS-DOS time and date of a UTC time (1980-01-01 for anything earlier).
// Limitation: MS-DOS times have no time zone and a 2-second step; archives show UTC times
// (no extended-timestamp field is written).
fn dos_time(time: SystemTime) -> (u16, u16) {
    let t = time::OffsetDateTime::from(time);
    if t.year() < 1980 {
        return (0, (1 << 5) | 1);
    }
    let year = (t.year() - 1980).min(127) as u16;
    let date = (year << 9) | ((t.month() as u16) << 5) | t.day() as u16;
    let clock = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | (t.second() as u16 / 2);
    (clock, date)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
