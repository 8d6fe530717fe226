//! Tests of `export`.

use super::*;

fn sample(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let files = vec![
        (
            "75001/E E PU ARBRE SEC/0752401C-plan.pdf".to_string(),
            b"%PDF-1.4 a".to_vec(),
        ),
        ("75001/École é/0750132L-vide.pdf".to_string(), Vec::new()),
        (
            "75002/X/0754825M-gros.bin".to_string(),
            (0..200_000u32).map(|i| i as u8).collect(),
        ),
    ];
    for (i, (_, content)) in files.iter().enumerate() {
        std::fs::write(dir.join(i.to_string()), content).unwrap();
    }
    files
}

fn entries(dir: &std::path::Path, files: &[(String, Vec<u8>)]) -> Vec<ExportEntry> {
    files
        .iter()
        .enumerate()
        .map(|(i, (path, content))| ExportEntry {
            zip_path: path.clone(),
            sources: vec![dir.join("missing"), dir.join(i.to_string())],
            bytes: content.len() as u64,
            modified: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600),
        })
        .collect()
}

fn check(stream: ZipStream, files: &[(String, Vec<u8>)]) {
    let planned = stream.len();
    let mut bytes = Vec::new();
    // Odd buffer sizes cross every header boundary.
    let mut stream = stream;
    let mut buf = [0u8; 777];
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
    }
    assert_eq!(bytes.len() as u64, planned);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(archive.len(), files.len());
    for (path, content) in files {
        let mut entry = archive.by_name(path).unwrap();
        assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
        let mut read = Vec::new();
        entry.read_to_end(&mut read).unwrap();
        assert_eq!(&read, content, "{path}");
    }
}

#[test]
fn archive_reads_back_entry_by_entry() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    check(ZipStream::new(entries(dir.path(), &files)), &files);
}

#[test]
fn zip64_fields_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    check(
        ZipStream::with_limits(entries(dir.path(), &files), 5, 2),
        &files,
    );
}

#[test]
fn an_empty_archive_is_valid() {
    check(ZipStream::new(Vec::new()), &[]);
}

#[test]
fn a_changed_file_stops_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    let stream = ZipStream::new(entries(dir.path(), &files));
    std::fs::write(dir.path().join("0"), b"longer other size").unwrap();
    let mut stream = stream;
    assert!(std::io::copy(&mut stream, &mut std::io::sink()).is_err());
}

#[test]
fn dos_times() {
    let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600 + 3_723);
    // 2026-01-01 01:02:03 UTC.
    assert_eq!(
        dos_time(t),
        ((1 << 11) | (2 << 5) | 1, (46 << 9) | (1 << 5) | 1)
    );
    assert_eq!(dos_time(SystemTime::UNIX_EPOCH), (0, 33));
}
