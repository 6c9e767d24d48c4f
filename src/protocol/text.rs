//! `MessageText`: the one rule for what a sendable message is, shared by the
//! composer (to warn before sending) and the server (to refuse).

use serde::{Deserialize, Serialize};

/// Default maximum length of a message, in characters after trimming.
pub const DEFAULT_MAX_TEXT_CHARS: usize = 4000;

/// A trimmed, non-empty message text within the length limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageText(String);

/// Why a text cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing left after trimming whitespace.
    #[error("message text is empty")]
    Empty,
    /// Longer than the limit (in characters, after trimming).
    #[error("message is {len} characters; the limit is {max}")]
    TooLong {
        /// Characters after trimming.
        len: usize,
        /// The configured limit.
        max: usize,
    },
}

impl MessageText {
    /// Trims `raw` and checks it against `max_chars` (Unicode scalar values,
    /// so "é" and "😀" count as one character each).
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, TextError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(TextError::Empty);
        }
        // Count at most max+1 characters: a 1 MiB frame costs no more than needed.
        let len = trimmed.chars().take(max_chars + 1).count();
        if len > max_chars {
            return Err(TextError::TooLong {
                len: trimmed.chars().count(),
                max: max_chars,
            });
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The validated text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The validated text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_only_text_is_empty() {
        assert_eq!(MessageText::parse(" \n\t ", 10), Err(TextError::Empty));
    }

    #[test]
    fn text_is_trimmed() {
        assert_eq!(MessageText::parse("  hi \n", 10).unwrap().as_str(), "hi");
    }

    #[test]
    fn length_is_counted_in_characters_after_trimming() {
        let at_limit = format!("  {}  ", "é".repeat(5));
        assert!(MessageText::parse(&at_limit, 5).is_ok());
        assert_eq!(
            MessageText::parse(&"😀".repeat(6), 5),
            Err(TextError::TooLong { len: 6, max: 5 })
        );
    }
}
