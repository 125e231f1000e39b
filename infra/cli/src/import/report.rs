//! What an import did: counts per kind of item and every record it left
//! out, with the reason.

use std::fmt;

/// Items of one kind: stored by this run, or found already stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub new: u64,
    pub existing: u64,
}

/// A record of the dump that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based position in the dump's array.
    pub index: u64,
    /// Byte offset of the record in the dump.
    pub offset: u64,
    /// `app.model`, when the record was readable that far.
    pub model: Option<String>,
    pub pk: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub dry_run: bool,
    /// Records in the dump, readable or not.
    pub records: u64,
    pub tenants: Tally,
    pub keys: Tally,
    /// Keys stored revoked: their client was inactive.
    pub revoked_keys: u64,
    pub sessions: Tally,
    pub messages: Tally,
    pub files: Tally,
    /// Files whose original was not under `--media-root`, rebuilt from the
    /// dump's `processed_data`.
    pub files_rebuilt: u64,
    pub skipped: Vec<Skipped>,
    /// Records imported with a part left out (a config value the settings
    /// refuse, kept as given).
    pub warnings: Vec<Skipped>,
    /// Writes that failed in the store; a re-run retries them.
    pub failed: Vec<Skipped>,
}

impl Report {
    /// Whether the run stored nothing (everything was already there).
    pub fn nothing_new(&self) -> bool {
        [
            self.tenants,
            self.keys,
            self.sessions,
            self.messages,
            self.files,
        ]
        .iter()
        .all(|t| t.new == 0)
    }

    fn line(&self, f: &mut fmt::Formatter<'_>, name: &str, tally: Tally) -> fmt::Result {
        writeln!(
            f,
            "  {name:<9} {} new, {} already there",
            tally.new, tally.existing
        )
    }
}

fn describe(f: &mut fmt::Formatter<'_>, s: &Skipped) -> fmt::Result {
    write!(f, "  record {} (byte {})", s.index, s.offset)?;
    if let Some(model) = &s.model {
        write!(f, " {model}")?;
    }
    if let Some(pk) = &s.pk {
        write!(f, " {pk}")?;
    }
    writeln!(f, ": {}", s.reason)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let heading = if self.dry_run {
            "Dry run: nothing written. The dump would import"
        } else {
            "Imported"
        };
        writeln!(f, "{heading} ({} records read):", self.records)?;
        self.line(f, "tenants", self.tenants)?;
        self.line(f, "keys", self.keys)?;
        if self.revoked_keys > 0 {
            writeln!(
                f,
                "            ({} of them revoked: inactive clients)",
                self.revoked_keys
            )?;
        }
        self.line(f, "sessions", self.sessions)?;
        self.line(f, "messages", self.messages)?;
        self.line(f, "files", self.files)?;
        if self.files_rebuilt > 0 {
            writeln!(
                f,
                "            ({} rebuilt from processed_data: original not under --media-root)",
                self.files_rebuilt
            )?;
        }
        writeln!(f, "Skipped records: {}", self.skipped.len())?;
        for s in &self.skipped {
            describe(f, s)?;
        }
        if !self.warnings.is_empty() {
            writeln!(f, "Imported with warnings: {}", self.warnings.len())?;
            for s in &self.warnings {
                describe(f, s)?;
            }
        }
        if !self.failed.is_empty() {
            writeln!(
                f,
                "Failed writes (run the import again to retry them): {}",
                self.failed.len()
            )?;
            for s in &self.failed {
                describe(f, s)?;
            }
        }
        if !self.dry_run && self.nothing_new() && self.failed.is_empty() {
            writeln!(
                f,
                "Nothing new: everything in the dump was already imported."
            )?;
        }
        Ok(())
    }
}
