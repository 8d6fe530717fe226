//! Paths of the data directory and the file-system steps behind each store operation, with an
//! in-memory index of each school's latest versions (filled on first use, kept by commits).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rand::RngCore;

use super::record::{DepositRecord, StoredFile};
use super::StoreError;
use crate::directory::Rne;

const TEMP_DIR: &str = ".tmp";
const VERSIONS_DIR: &str = ".versions";
/// Longest stored name: most file systems stop at 255 bytes per name.
pub const MAX_STORED_NAME_BYTES: usize = 255;

type SchoolIndex = Arc<Mutex<SchoolFiles>>;

/// The latest version of every file of one school, by path, and the same paths case-folded.
#[derive(Default)]
struct SchoolFiles {
    files: BTreeMap<String, StoredFile>,
    /// Lower-case path to the stored path (the first in order, where several differ only in
    /// case): every new name a school deposits is looked up here.
    folded: HashMap<String, String>,
}

impl SchoolFiles {
    fn insert(&mut self, file: StoredFile) {
        let key = file.path.to_lowercase();
        let first = self
            .folded
            .get(&key)
            .is_some_and(|known| *known <= file.path);
        if !first {
            self.folded.insert(key, file.path.clone());
        }
        self.files.insert(file.path.clone(), file);
    }

    fn remove(&mut self, path: &str) {
        self.files.remove(path);
        let key = path.to_lowercase();
        if self.folded.get(&key).is_some_and(|known| known == path) {
            self.folded.remove(&key);
            let other = self.files.keys().find(|p| p.to_lowercase() == key);
            if let Some(other) = other.cloned() {
                self.folded.insert(key, other);
            }
        }
    }
}

/// Where everything lives below the data directory.
pub struct Layout {
    root: PathBuf,
    index: Mutex<HashMap<Rne, SchoolIndex>>,
    /// Bytes each school keeps (all versions), once counted: every deposit checks the quota,
    /// and counting walks the school's whole history.
    usage: Mutex<HashMap<Rne, u64>>,
}

/// Refuses names that could escape the school folder or hide among the store's own entries.
pub fn check_stored_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(StoreError::BadName("empty or dot name"));
    }
    if name.starts_with('.') {
        return Err(StoreError::BadName("starts with a dot"));
    }
    if name.len() > MAX_STORED_NAME_BYTES {
        return Err(StoreError::BadName("longer than 255 bytes"));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return Err(StoreError::BadName("slash, backslash or control character"));
    }
    Ok(())
}

/// Checks a path relative to a school folder: `/`-separated segments, each a valid name.
pub fn check_stored_path(rel: &str) -> Result<(), StoreError> {
    if rel.is_empty() {
        return Err(StoreError::BadName("empty path"));
    }
    rel.split('/').try_for_each(check_stored_name)
}

/// Splits `dir/sub/name` into (`dir/sub`, `name`).
pub fn split_rel(rel: &str) -> (&str, &str) {
    match rel.rsplit_once('/') {
        Some((dir, name)) => (dir, name),
        None => ("", rel),
    }
}

pub(super) fn join_rel(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

impl Layout {
    pub fn new(root: PathBuf) -> Layout {
        Layout {
            root,
            index: Mutex::default(),
            usage: Mutex::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the directories and empties the temp directory of uploads a crash interrupted.
    pub fn prepare(&self) -> io::Result<()> {
        fs::create_dir_all(self.root.join(TEMP_DIR))?;
        for entry in fs::read_dir(self.root.join(TEMP_DIR))? {
            let entry = entry?;
            tracing::info!(file = %entry.path().display(), "removing interrupted upload");
            fs::remove_file(entry.path())?;
        }
        Ok(())
    }

    pub fn temp_path(&self) -> PathBuf {
        let mut id = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut id);
        self.root.join(TEMP_DIR).join(hex::encode(id))
    }

    pub fn school_dir(&self, rne: &Rne) -> PathBuf {
        self.root.join(rne.as_str())
    }

    pub fn latest_path(&self, rne: &Rne, name: &str) -> PathBuf {
        self.school_dir(rne).join(name)
    }

    /// `<school>/<dir>/.versions/<name>` for the path `<dir>/<name>`.
    pub fn versions_dir(&self, rne: &Rne, rel: &str) -> PathBuf {
        let (dir, name) = split_rel(rel);
        self.school_dir(rne).join(dir).join(VERSIONS_DIR).join(name)
    }

    pub fn schools(&self) -> io::Result<Vec<Rne>> {
        let mut schools = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Ok(rne) = Rne::parse(name) {
                if rne.as_str() == name && entry.file_type()?.is_dir() {
                    schools.push(rne);
                }
            }
        }
        schools.sort();
        Ok(schools)
    }

    /// Version numbers with content present, ascending.
    pub fn version_numbers(&self, rne: &Rne, name: &str) -> io::Result<Vec<u32>> {
        let dir = self.versions_dir(rne, name);
        let mut numbers = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(numbers),
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            if let Some(n) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            {
                numbers.push(n);
            }
        }
        numbers.sort_unstable();
        Ok(numbers)
    }

    pub fn read_record(&self, rne: &Rne, name: &str, version: u32) -> io::Result<DepositRecord> {
        let path = self.versions_dir(rne, name).join(format!("{version}.json"));
        let text = fs::read(&path)?;
        serde_json::from_slice(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    pub fn versions(&self, rne: &Rne, name: &str) -> io::Result<Vec<DepositRecord>> {
        self.version_numbers(rne, name)?
            .into_iter()
            .map(|n| self.read_record(rne, name, n))
            .collect()
    }

    fn load_file(&self, rne: &Rne, name: &str) -> io::Result<Option<StoredFile>> {
        let meta = match fs::metadata(self.latest_path(rne, name)) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => return Ok(None),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let numbers = self.version_numbers(rne, name)?;
        let Some(&latest) = numbers.last() else {
            return Ok(None);
        };
        let record = self.read_record(rne, name, latest)?;
        Ok(Some(StoredFile {
            name: split_rel(name).1.to_string(),
            path: name.to_string(),
            bytes: meta.len(),
            modified: meta.modified()?,
            sha256: record.sha256,
            version: latest,
            versions_kept: numbers.len() as u32,
        }))
    }

    fn school_index(&self, rne: &Rne) -> io::Result<SchoolIndex> {
        if let Some(index) = self.lock_index().get(rne) {
            return Ok(index.clone());
        }
        let mut found = Vec::new();
        self.scan(rne, "", &mut found)?;
        let mut files = SchoolFiles::default();
        found.into_iter().for_each(|file| files.insert(file));
        let index = Arc::new(Mutex::new(files));
        Ok(self
            .lock_index()
            .entry(rne.clone())
            .or_insert(index)
            .clone())
    }

    /// Indexes the files of one folder and, recursively, of its sub-folders.
    fn scan(&self, rne: &Rne, dir: &str, files: &mut Vec<StoredFile>) -> io::Result<()> {
        let entries = match fs::read_dir(self.school_dir(rne).join(dir)) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let rel = join_rel(dir, &name);
            if entry.file_type()?.is_dir() {
                self.scan(rne, &rel, files)?;
            } else if let Some(file) = self.load_file(rne, &rel)? {
                files.push(file);
            }
        }
        Ok(())
    }

    /// Files and sub-folders directly in `dir` of a school.
    pub fn list_dir(&self, rne: &Rne, dir: &str) -> io::Result<(Vec<StoredFile>, Vec<String>)> {
        let index = self.school_index(rne)?;
        let files: Vec<StoredFile> = {
            let all = index.lock().unwrap_or_else(|e| e.into_inner());
            all.files
                .values()
                .filter(|f| split_rel(&f.path).0 == dir)
                .cloned()
                .collect()
        };
        let mut folders = Vec::new();
        if let Ok(entries) = fs::read_dir(self.school_dir(rne).join(dir)) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if !name.starts_with('.') && entry.file_type().is_ok_and(|t| t.is_dir()) {
                    folders.push(name);
                }
            }
        }
        folders.sort();
        Ok((files, folders))
    }

    /// A stored path equal to `rel` ignoring case: one lookup in the case-folded index (it
    /// runs for every new name a school deposits, several times per PUT).
    pub fn find_any_case(&self, rne: &Rne, rel: &str) -> io::Result<Option<String>> {
        let index = self.school_index(rne)?;
        let files = index.lock().unwrap_or_else(|e| e.into_inner());
        Ok(files.folded.get(&rel.to_lowercase()).cloned())
    }

    /// Forgets a school's index; the next read rebuilds it from disk.
    pub fn invalidate(&self, rne: &Rne) {
        self.lock_index().remove(rne);
        self.lock_usage().remove(rne);
    }

    fn lock_usage(&self) -> std::sync::MutexGuard<'_, HashMap<Rne, u64>> {
        self.usage.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adjusts a counted usage after a version was added (positive) or pruned (negative).
    pub fn adjust_usage(&self, rne: &Rne, delta: i64) {
        if let Some(used) = self.lock_usage().get_mut(rne) {
            *used = used.saturating_add_signed(delta);
        }
    }

    fn lock_index(&self) -> std::sync::MutexGuard<'_, HashMap<Rne, SchoolIndex>> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stat(&self, rne: &Rne, name: &str) -> io::Result<Option<StoredFile>> {
        let index = self.school_index(rne)?;
        let files = index.lock().unwrap_or_else(|e| e.into_inner());
        Ok(files.files.get(name).cloned())
    }

    /// Puts the latest version of one name in the index, as a commit just stored it.
    pub fn put(&self, rne: &Rne, file: StoredFile) -> io::Result<()> {
        let index = self.school_index(rne)?;
        let mut files = index.lock().unwrap_or_else(|e| e.into_inner());
        files.insert(file);
        Ok(())
    }

    /// Re-reads one name into the index after a commit changed it.
    pub fn refresh(&self, rne: &Rne, name: &str) -> io::Result<()> {
        let index = self.school_index(rne)?;
        let file = self.load_file(rne, name)?;
        let mut files = index.lock().unwrap_or_else(|e| e.into_inner());
        match file {
            Some(file) => files.insert(file),
            None => files.remove(name),
        }
        Ok(())
    }

    pub fn used_bytes(&self, rne: &Rne) -> io::Result<u64> {
        if let Some(used) = self.lock_usage().get(rne) {
            return Ok(*used);
        }
        let used = self.count_used_bytes(rne)?;
        self.lock_usage().insert(rne.clone(), used);
        Ok(used)
    }

    fn count_used_bytes(&self, rne: &Rne) -> io::Result<u64> {
        let mut total = 0;
        for versions in self.versions_dirs(rne)? {
            for name in fs::read_dir(&versions)? {
                for version in fs::read_dir(name?.path())? {
                    let version = version?;
                    let numbered = version
                        .file_name()
                        .to_str()
                        .is_some_and(|s| s.parse::<u32>().is_ok());
                    if numbered {
                        total += version.metadata()?.len();
                    }
                }
            }
        }
        Ok(total)
    }

    /// Every `.versions` directory of a school (one per folder holding deposits), with the
    /// relative folder it belongs to.
    pub(super) fn versions_dirs(&self, rne: &Rne) -> io::Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        let mut pending = vec![self.school_dir(rne)];
        while let Some(dir) = pending.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            for entry in entries {
                let entry = entry?;
                if !entry.file_type()?.is_dir() {
                    continue;
                }
                if entry.file_name() == VERSIONS_DIR {
                    found.push(entry.path());
                } else if !entry.file_name().to_string_lossy().starts_with('.') {
                    pending.push(entry.path());
                }
            }
        }
        Ok(found)
    }
}

/// Makes a directory's entries durable (new names, renames).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}
