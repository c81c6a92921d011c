//! Finding and opening the journal database: the state directory, a look at the file before
//! SQLite touches it, the connection settings (WAL, `synchronous=NORMAL`, a busy timeout for
//! concurrent processes) and the migration to the current schema.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::DATABASE_FILE;
use super::error::JournalError;
use super::migrate;

/// How long a connection waits for another process's write transaction before giving up. The
/// writer commits small batches, so a wait this long means something is stuck.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The page size of a new journal: SQLite's own default, stated so every new journal has it.
const PAGE_SIZE: i64 = 4 * 1024;

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// An open journal: one connection for reading runs back and for starting new ones. Each run
/// being recorded gets its own connection on its writer thread.
pub struct Journal {
    pub(crate) dir: PathBuf,
    pub(crate) path: PathBuf,
    pub(crate) connection: Connection,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

impl Journal {
    /// Opens the journal in `dir`, creating the directory and the database when they do not
    /// exist yet: what a run does before it starts.
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        let created_dir = !dir.exists();
        std::fs::create_dir_all(dir).map_err(|source| JournalError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DATABASE_FILE);
        // The checks of the existing file come first: nothing is created next to a damaged one.
        inspect(&path)?;
        if !path.is_dir() {
            make_private(dir, created_dir, &path).map_err(|error| JournalError::ReadOnly {
                path: path.clone(),
                detail: error.to_string(),
            })?;
        }
        Journal::open_file(dir, true)
    }

    /// Opens the journal in `dir` for reading runs back; [`JournalError::Missing`] when no run
    /// was ever recorded there (nothing is created).
    pub fn open_existing(dir: &Path) -> Result<Journal, JournalError> {
        if !dir.join(DATABASE_FILE).exists() {
            return Err(JournalError::Missing {
                dir: dir.to_path_buf(),
            });
        }
        Journal::open_file(dir, false)
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_file(dir: &Path, create: bool) -> Result<Journal, JournalError> {
        let path = dir.join(DATABASE_FILE);
        inspect(&path)?;
        let mut connection = connect(&path, create)?;
        migrate::migrate(&mut connection, &path)?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            path,
            connection,
        })
    }
}

/// A configured connection to the journal at `path`: its own for each writer thread.
pub(crate) fn connect(path: &Path, create: bool) -> Result<Connection, JournalError> {
    let sqlite = |error| JournalError::sqlite(path, error);
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let connection = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
    // The first read: a damaged file (a header promising more pages than the file holds, a
    // foreign format) is reported here, before anything is written.
    connection
        .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
        .map_err(sqlite)?;
    // Small pages: a commit writes (and checksums) every page it touched into the WAL, and a
    // commit after each task with side effects touches a few pages. Measured against 16 KiB
    // pages, the journal's overhead fell from 33 to 21 ms on 200 shell tasks and from 141 to
    // 102 ms on a 100k-iteration loop (whose events go in as a few large batch rows, which
    // gain nothing from big pages). Only a new database takes it; an existing one keeps its.
    connection
        .pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(sqlite)?;
    // WAL: readers never block the writer and a commit is one append. With it,
    // `synchronous=NORMAL` syncs only at checkpoints: a committed run survives the process
    // being killed; a power loss may lose the last commits but never corrupts the file.
    let mode: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(sqlite)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(JournalError::ReadOnly {
            path: path.to_path_buf(),
            detail: format!("the database stays in `{mode}` journal mode, not WAL"),
        });
    }
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(sqlite)?;
    Ok(connection)
}

/// The write-ahead log next to the database at `path`.
fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Makes the state directory (when this call creates it) and the journal's files private to
/// the user: runs hold inputs and outputs, which other users of the machine must not read.
/// The database file is created here, empty and 0600, before SQLite opens it: SQLite gives its
/// log and shared-memory files the database's permissions. An existing journal readable by
/// others is narrowed to 0600 too; a directory that already existed keeps its permissions (it
/// may be the user's working directory).
#[cfg(unix)]
fn make_private(dir: &Path, created_dir: bool, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if created_dir {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(error),
    }
    for file in [path.to_path_buf(), wal_path(path), shm_path(path)] {
        if let Ok(metadata) = std::fs::symlink_metadata(&file)
            && metadata.is_file()
            && metadata.permissions().mode() & 0o077 != 0
        {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_dir: &Path, _created_dir: bool, _path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The shared-memory index next to the database at `path`.
fn shm_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-shm");
    PathBuf::from(name)
}

/// Looks at an existing file before SQLite opens it: a directory, or a file that does not start
/// like a SQLite database, is refused without being touched. (An empty file is a new database,
/// as SQLite sees it; damage past the header is SQLite's to find, on the first read.)
fn inspect(path: &Path) -> Result<(), JournalError> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => {
            return Err(JournalError::ReadOnly {
                path: path.to_path_buf(),
                detail: error.to_string(),
            });
        }
    };
    if metadata.is_dir() {
        return Err(JournalError::NotADatabase {
            path: path.to_path_buf(),
        });
    }
    if metadata.len() == 0 {
        // SQLite would take the empty file for a new database and delete the log, and with it
        // every run the log holds (a file truncated by a full disk or a careless copy).
        let wal = wal_path(path);
        if let Ok(log) = std::fs::metadata(&wal)
            && log.len() > 0
        {
            return Err(JournalError::OrphanedLog {
                path: path.to_path_buf(),
                wal,
                wal_bytes: log.len(),
            });
        }
        return Ok(());
    }
    let mut head = Vec::with_capacity(SQLITE_MAGIC.len());
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(SQLITE_MAGIC.len() as u64)
                .read_to_end(&mut head)
                .map(|_| ())
        })
        .map_err(|error| JournalError::ReadOnly {
            path: path.to_path_buf(),
            detail: error.to_string(),
        })?;
    if head.as_slice() != SQLITE_MAGIC {
        return Err(JournalError::NotADatabase {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn open_creates_the_directory_and_a_wal_database() {
        let dir = temp();
        let state = dir.path().join("nested/state");
        let journal = Journal::open(&state).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(journal.path(), state.join("journal.db"));
        let mode: String = journal
            .connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap_or_default();
        assert_eq!(mode, "wal");
        let version: i64 = journal
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap_or_default();
        assert_eq!(version, migrate::CURRENT_VERSION);
        let page_size: i64 = journal
            .connection
            .pragma_query_value(None, "page_size", |row| row.get(0))
            .unwrap_or_default();
        assert_eq!(page_size, PAGE_SIZE);
        drop(journal);
        // Reopening an existing journal works, for runs and for inspection.
        assert!(Journal::open(&state).is_ok());
        assert!(Journal::open_existing(&state).is_ok());
    }

    #[test]
    fn inspection_never_creates_a_journal() {
        let dir = temp();
        let error = Journal::open_existing(dir.path()).err();
        assert!(
            matches!(error, Some(JournalError::Missing { .. })),
            "{error:?}"
        );
        assert!(!dir.path().join("journal.db").exists());
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_refused_untouched() {
        let dir = temp();
        let path = dir.path().join("journal.db");
        let text = "these are my notes, not a database\n".repeat(200);
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        let error = Journal::open(dir.path()).err();
        assert!(
            matches!(error, Some(JournalError::NotADatabase { .. })),
            "{error:?}"
        );
        assert_eq!(std::fs::read_to_string(&path).ok(), Some(text));
        let short = dir.path().join("short");
        std::fs::create_dir(&short).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(short.join("journal.db"), "SQLite").unwrap_or_else(|e| panic!("{e}"));
        let error = Journal::open(&short).err();
        assert!(
            matches!(error, Some(JournalError::NotADatabase { .. })),
            "{error:?}"
        );
    }

    #[test]
    fn a_truncated_journal_is_reported_as_damaged_and_left_alone() {
        let dir = temp();
        {
            let journal = Journal::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
            // Enough rows to span many pages.
            journal
                .connection
                .execute_batch(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
                     INSERT INTO blobs (hash, data) SELECT 'h' || i, printf('%.200c', 'x') FROM n;",
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let path = dir.path().join("journal.db");
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(bytes.len() > 100_000, "{}", bytes.len());
        let half = bytes.get(..bytes.len() / 2).unwrap_or_default().to_vec();
        std::fs::write(&path, &half).unwrap_or_else(|e| panic!("{e}"));
        let error = Journal::open(dir.path()).err();
        assert!(
            matches!(error, Some(JournalError::Corrupt { .. })),
            "{error:?}"
        );
        assert_eq!(std::fs::read(&path).ok(), Some(half));
    }

    #[test]
    fn a_directory_in_the_way_is_refused() {
        let dir = temp();
        std::fs::create_dir(dir.path().join("journal.db")).unwrap_or_else(|e| panic!("{e}"));
        let error = Journal::open(dir.path()).err();
        assert!(
            matches!(error, Some(JournalError::NotADatabase { .. })),
            "{error:?}"
        );
    }

    #[test]
    fn a_state_dir_that_cannot_be_created_says_what_to_do() {
        let dir = temp();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, "x").unwrap_or_else(|e| panic!("{e}"));
        let message = Journal::open(&file.join("state"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("cannot create the state directory"),
            "{message}"
        );
        assert!(message.contains("--no-journal"), "{message}");
    }
}
