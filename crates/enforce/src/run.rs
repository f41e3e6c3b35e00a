//! Running the firewall tools.

use crate::EnforceError;
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs programs, optionally behind a prefix (e.g. `ip netns exec NS`, `sudo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runner {
    /// Words put before every command.
    pub prefix: Vec<String>,
}

impl Runner {
    /// A runner that puts `prefix` before every command.
    pub fn with_prefix(prefix: Vec<String>) -> Self {
        Runner { prefix }
    }

    /// Runs `program args...`, feeding `stdin` when given; returns stdout on success.
    pub fn run(
        &self,
        program: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<String, EnforceError> {
        let mut words: Vec<&str> = self.prefix.iter().map(String::as_str).collect();
        words.push(program);
        words.extend_from_slice(args);
        let command = words.join(" ");
        let mut cmd = Command::new(words[0]);
        cmd.args(&words[1..])
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|source| EnforceError::Spawn {
            program: words[0].to_string(),
            source,
        })?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A program that exits early closes the pipe; its status tells why.
            let _ = pipe.write_all(text.as_bytes());
        }
        let out = child
            .wait_with_output()
            .map_err(|source| EnforceError::Spawn {
                program: words[0].to_string(),
                source,
            })?;
        if !out.status.success() {
            return Err(EnforceError::Command {
                command,
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
