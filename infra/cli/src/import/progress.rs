//! Progress of a long import, on stderr.

use std::time::{Duration, Instant};

use super::write::Ledger;

/// Progress lines on stderr, at most every two seconds.
pub struct Progress {
    enabled: bool,
    started: Instant,
    last: Instant,
}

impl Progress {
    pub fn new(enabled: bool) -> Self {
        let now = Instant::now();
        Self {
            enabled,
            started: now,
            last: now,
        }
    }

    pub fn tick(&mut self, pass: usize, name: &str, records: u64, ledger: &Ledger) {
        if !self.enabled || self.last.elapsed() < Duration::from_secs(2) {
            return;
        }
        self.last = Instant::now();
        let r = &ledger.report;
        eprintln!(
            "pass {pass}/3 ({name}): {records} records read; {} sessions, {} messages, {} files so far ({:.0?})",
            r.sessions.new + r.sessions.existing,
            r.messages.new + r.messages.existing,
            r.files.new + r.files.existing,
            self.started.elapsed()
        );
    }

    pub fn done(&self, ledger: &Ledger) {
        if self.enabled {
            eprintln!(
                "import finished in {:.1?} ({} records)",
                self.started.elapsed(),
                ledger.report.records
            );
        }
    }
}
