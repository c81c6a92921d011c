//! Masking what the `run` command prints once a run is over (the result object, the human
//! output, the closing summary and fault) and what `--dry-run` prints.

use std::io::Write;

use super::redact::Redactor;
use crate::runtime::Outcome;

impl Redactor {
    /// Masks the output or the error of a finished run (what `--format json` and the closing
    /// report show). The engine's own data was never touched.
    pub fn outcome(&self, outcome: &mut Outcome) {
        if !self.is_active() {
            return;
        }
        match outcome {
            Outcome::Completed(output) => self.json(output),
            Outcome::Faulted(error) => self.error(error),
            Outcome::Cancelled => {}
        }
    }

    /// Runs `write` against `out` with every secret masked from the text it writes: buffered,
    /// masked, then written whole. Straight through when there is nothing to mask. A second line
    /// of defence behind the structured masking: rendered text may quote the document or wrap
    /// lines, but a value masked before rendering cannot be split by the wrapping.
    ///
    /// Returns what `write` returned. Failing to pass the buffer on (a closed pipe) is ignored,
    /// as the commands do for direct writes: it cannot be reported anywhere useful.
    pub fn write_masked<R>(
        &self,
        out: &mut dyn Write,
        write: impl FnOnce(&mut dyn Write) -> R,
    ) -> R {
        if !self.is_active() {
            return write(out);
        }
        let mut buffer: Vec<u8> = Vec::new();
        let result = write(&mut buffer);
        let masked = self.bytes(&buffer);
        let _ = out.write_all(masked.as_deref().unwrap_or(&buffer));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{ErrorKind, WorkflowError};
    use serde_json::json;

    #[test]
    fn outcomes_are_masked() {
        let redactor = Redactor::new(&[json!("sekrit-1")]);
        let mut completed = Outcome::Completed(json!({"v": "sekrit-1"}));
        redactor.outcome(&mut completed);
        assert_eq!(completed, Outcome::Completed(json!({"v": "***"})));
        let error = WorkflowError::new(ErrorKind::Runtime, "x").with_detail("is sekrit-1");
        let mut faulted = Outcome::Faulted(error);
        redactor.outcome(&mut faulted);
        let Outcome::Faulted(error) = faulted else {
            panic!("changed kind");
        };
        assert_eq!(error.detail.as_deref(), Some("is ***"));
    }

    #[test]
    fn written_text_is_masked_and_results_kept() {
        let redactor = Redactor::new(&[json!("sekrit-1")]);
        let mut out = Vec::new();
        let written = redactor.write_masked(&mut out, |w| {
            let _ = write!(w, "a sekrit-");
            let _ = writeln!(w, "1 b");
            7
        });
        assert_eq!(written, 7);
        assert_eq!(String::from_utf8_lossy(&out), "a *** b\n");
        // Nothing to mask: written straight through.
        let inactive = Redactor::new(&[]);
        let mut out = Vec::new();
        let _ = inactive.write_masked(&mut out, |w| writeln!(w, "sekrit-1"));
        assert_eq!(String::from_utf8_lossy(&out), "sekrit-1\n");
    }
}
