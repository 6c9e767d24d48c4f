//! The `Range` header of a file download (RFC 9110 §14), as far as a chat
//! needs it: one range, so a browser can seek in a video or resume a
//! download. Several ranges in one request are answered with the whole
//! file, which the RFC allows and no browser minds.

use std::ops::Range;

/// What a download answers to its `Range` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No usable range: the whole file (200).
    Whole,
    /// One range of bytes (206 with `Content-Range`).
    Part(Range<u64>),
    /// A range that lies wholly past the end (416 with
    /// `Content-Range: bytes */size`).
    Unsatisfiable,
}

/// Reads a `Range` header against a file of `size` bytes: `bytes=a-b`,
/// `bytes=a-` and `bytes=-n` (the last `n` bytes). Anything else (another
/// unit, several ranges, a malformed value) is ignored: the whole file.
pub fn parse_range(header: Option<&str>, size: u64) -> RangeAnswer {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAnswer::Whole;
    };
    if spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // bytes=-n: the last n bytes.
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                RangeAnswer::Unsatisfiable
            } else {
                RangeAnswer::Part(size.saturating_sub(n)..size)
            }
        }
        (false, Some(start), end) => {
            if !last.trim().is_empty() && end.is_none() {
                return RangeAnswer::Whole;
            }
            if start >= size {
                return RangeAnswer::Unsatisfiable;
            }
            match end {
                Some(end) if end < start => RangeAnswer::Whole,
                Some(end) => RangeAnswer::Part(start..end.saturating_add(1).min(size)),
                None => RangeAnswer::Part(start..size),
            }
        }
        _ => RangeAnswer::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_range_in_each_form() {
        assert_eq!(
            parse_range(Some("bytes=0-99"), 1000),
            RangeAnswer::Part(0..100)
        );
        assert_eq!(
            parse_range(Some("bytes=900-"), 1000),
            RangeAnswer::Part(900..1000)
        );
        assert_eq!(
            parse_range(Some("bytes=-100"), 1000),
            RangeAnswer::Part(900..1000)
        );
        // An end past the file is cut to it; a suffix longer than the file
        // is the whole file.
        assert_eq!(
            parse_range(Some("bytes=990-2000"), 1000),
            RangeAnswer::Part(990..1000)
        );
        assert_eq!(
            parse_range(Some("bytes=-5000"), 1000),
            RangeAnswer::Part(0..1000)
        );
    }

    #[test]
    fn past_the_end_is_unsatisfiable() {
        assert_eq!(
            parse_range(Some("bytes=1000-"), 1000),
            RangeAnswer::Unsatisfiable
        );
        assert_eq!(
            parse_range(Some("bytes=5000-6000"), 1000),
            RangeAnswer::Unsatisfiable
        );
        assert_eq!(
            parse_range(Some("bytes=-0"), 1000),
            RangeAnswer::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=0-"), 0), RangeAnswer::Unsatisfiable);
    }

    #[test]
    fn anything_else_is_the_whole_file() {
        for header in [
            None,
            Some(""),
            Some("items=0-1"),
            Some("bytes=0-1,5-6"),
            Some("bytes=abc"),
            Some("bytes=5-1"),
            Some("bytes=-"),
            Some("bytes=1-x"),
            Some("bytes=+1-2"),
            Some("bytes=99999999999999999999999-"),
        ] {
            assert_eq!(parse_range(header, 1000), RangeAnswer::Whole, "{header:?}");
        }
    }
}
