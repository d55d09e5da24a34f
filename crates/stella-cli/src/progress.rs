//! Progress on standard error while a scan runs: one line, rewritten in place, only when
//! stderr is a terminal and not in CI (`CI` set) or when `STELLA_NO_PROGRESS` is set, so logs
//! and pipes stay clean.

use std::io::{IsTerminal as _, Write as _};

/// The progress line.
pub struct Progress {
    on: bool,
}

impl Progress {
    /// Progress for this process: on only for a person watching a terminal.
    pub fn new() -> Self {
        let on = std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false")
            && std::env::var_os("STELLA_NO_PROGRESS").is_none();
        Progress { on }
    }

    /// Shows what is happening now.
    pub fn step(&self, what: &str) {
        if self.on {
            let mut e = std::io::stderr().lock();
            // carriage return and erase-line: the line is rewritten, never scrolled
            let _ = write!(e, "\r\x1b[2K{what}…");
            let _ = e.flush();
        }
    }

    /// Clears the line before the results are printed.
    pub fn done(&self) {
        if self.on {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K");
            let _ = e.flush();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done();
    }
}
