//! Progress on standard error while a scan runs: for a person at a terminal one line,
//! rewritten in place; in CI (`CI` set) plain lines, one per step with the time since the
//! start, so a pipeline's log shows where a slow scan spends its time; otherwise (a pipe, a
//! file) nothing, and `STELLA_NO_PROGRESS` turns it off everywhere.

use std::io::{IsTerminal as _, Write as _};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Off,
    /// One line, rewritten (a terminal).
    Line,
    /// A plain line per step (CI logs: no cursor tricks).
    Log,
}

/// The progress of one command.
pub struct Progress {
    mode: Mode,
    started: std::time::Instant,
    last: std::cell::RefCell<String>,
}

impl Progress {
    /// Progress for this process.
    pub fn new() -> Self {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        let mode = if std::env::var_os("STELLA_NO_PROGRESS").is_some() {
            Mode::Off
        } else if ci {
            Mode::Log
        } else if std::io::stderr().is_terminal() {
            Mode::Line
        } else {
            Mode::Off
        };
        Progress {
            mode,
            started: std::time::Instant::now(),
            last: std::cell::RefCell::new(String::new()),
        }
    }

    /// Shows what is happening now.
    pub fn step(&self, what: &str) {
        let mut e = std::io::stderr().lock();
        match self.mode {
            Mode::Off => {}
            Mode::Line => {
                // carriage return and erase-line: the line is rewritten, never scrolled
                let _ = write!(e, "\r\x1b[2K{what}…");
                let _ = e.flush();
            }
            Mode::Log => {
                let mut last = self.last.borrow_mut();
                if *last != what {
                    let _ = writeln!(
                        e,
                        "stella: {what} ({:.1} s)",
                        self.started.elapsed().as_secs_f64()
                    );
                    what.clone_into(&mut last);
                }
            }
        }
    }

    /// Clears the line before the results are printed.
    pub fn done(&self) {
        if self.mode == Mode::Line {
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
