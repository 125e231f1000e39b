//! PDF text with lopdf.

use super::{ExtractError, ExtractedDoc};

pub(super) fn extract(bytes: &[u8]) -> Result<ExtractedDoc, ExtractError> {
    let _ = bytes;
    todo!("PDF text with headings from font sizes")
}
