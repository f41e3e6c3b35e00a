//! The store's one error type.

use rusqlite::ErrorCode;
use std::path::PathBuf;

/// Everything that can go wrong in the store; each message names the database and the operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory that should hold the database could not be created.
    #[error("cannot create directory {} for the store: {source}", dir.display())]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// An SQLite call failed.
    #[error("store {}: {op}: {source}", path.display())]
    Sqlite {
        /// The database path (`:memory:` for an in-memory store).
        path: PathBuf,
        /// What the store was doing, e.g. `save run`.
        op: &'static str,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer scantriage with a schema this one does not know.
    #[error(
        "store {}: store schema version {found} is newer than this scantriage ({supported}); \
         upgrade scantriage or point it at another database",
        path.display()
    )]
    NewerSchema {
        /// The database path.
        path: PathBuf,
        /// The version found in the database.
        found: i64,
        /// The newest version this build understands.
        supported: i64,
    },
    /// A person's verdict that cannot be recorded (its action does not apply to its scope).
    #[error("store {}: {source}", path.display())]
    InvalidVerdict {
        /// The database path.
        path: PathBuf,
        /// What is wrong with the verdict.
        source: scantriage_core::VerdictError,
    },
    /// The file is an SQLite database, but not one that scantriage created.
    #[error(
        "store {}: not a scantriage store (it already holds tables of another program); \
         choose another path with --db or SCANTRIAGE_DB",
        path.display()
    )]
    NotAStore {
        /// The database path.
        path: PathBuf,
    },
}

impl StoreError {
    /// True when the operation may succeed if retried later (the database was busy or locked).
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32) -> StoreError {
        StoreError::Sqlite {
            path: PathBuf::from("/tmp/x.db"),
            op: "save run",
            source: rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None),
        }
    }

    #[test]
    fn busy_and_locked_are_retryable_others_not() {
        assert!(sqlite(rusqlite::ffi::SQLITE_BUSY).is_retryable());
        assert!(sqlite(rusqlite::ffi::SQLITE_LOCKED).is_retryable());
        assert!(!sqlite(rusqlite::ffi::SQLITE_CONSTRAINT).is_retryable());
        assert!(!sqlite(rusqlite::ffi::SQLITE_CORRUPT).is_retryable());
        let newer = StoreError::NewerSchema {
            path: PathBuf::from("/tmp/x.db"),
            found: 9,
            supported: 1,
        };
        assert!(!newer.is_retryable());
    }

    #[test]
    fn messages_name_path_and_operation() {
        let msg = sqlite(rusqlite::ffi::SQLITE_BUSY).to_string();
        assert!(msg.contains("/tmp/x.db"), "{msg}");
        assert!(msg.contains("save run"), "{msg}");
    }
}
