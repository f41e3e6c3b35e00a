//! The enforcer's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while enforcing; each message names what was run or written.
#[derive(Debug, thiserror::Error)]
pub enum EnforceError {
    /// A program could not be started (not installed, not executable).
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// A program ran and failed.
    #[error("{command} failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status, as text.
        status: String,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },
    /// A program's output could not be understood.
    #[error("{command}: unexpected output: {message}")]
    Output {
        /// The command line.
        command: String,
        /// What was wrong.
        message: String,
    },
    /// The back end's settings are unusable (e.g. a set name nft would misread).
    #[error("invalid enforcer setting: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {op}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// What the system said.
        source: std::io::Error,
    },
}

impl EnforceError {
    /// True when the operation may succeed if retried later: a transient system
    /// condition (busy, interrupted, out of resources), not a missing program, a
    /// permission problem or a rejected rule.
    pub fn is_retryable(&self) -> bool {
        use std::io::ErrorKind as K;
        let io_retry = |e: &std::io::Error| {
            matches!(
                e.kind(),
                K::Interrupted | K::WouldBlock | K::TimedOut | K::ResourceBusy | K::StorageFull
            )
        };
        match self {
            EnforceError::Spawn { source, .. } => io_retry(source),
            EnforceError::Io { source, .. } => io_retry(source),
            EnforceError::Command { stderr, .. } => {
                let s = stderr.to_ascii_lowercase();
                [
                    "busy",
                    "temporarily",
                    "try again",
                    "interrupted",
                    "cannot allocate",
                    "no buffer space",
                    "locked",
                ]
                .iter()
                .any(|w| s.contains(w))
            }
            EnforceError::Output { .. } | EnforceError::Config { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_only_for_transient_conditions() {
        let cmd = |stderr: &str| EnforceError::Command {
            command: "nft -f -".into(),
            status: "exit status: 1".into(),
            stderr: stderr.into(),
        };
        assert!(cmd("netlink: Error: Device or resource busy").is_retryable());
        assert!(cmd("Another app is currently holding the xtables lock; try again").is_retryable());
        assert!(!cmd("Error: syntax error, unexpected junk").is_retryable());
        assert!(!cmd("Operation not permitted").is_retryable());
        let spawn = EnforceError::Spawn {
            program: "nft".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(!spawn.is_retryable());
        assert!(spawn.to_string().contains("cannot run nft"));
        let io = EnforceError::Io {
            path: "/x".into(),
            op: "write",
            source: std::io::Error::from(std::io::ErrorKind::Interrupted),
        };
        assert!(io.is_retryable());
    }
}
