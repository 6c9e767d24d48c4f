//! Mentions in the composer and in the text, as pure functions: the `@word`
//! being typed at the caret, the members it may mean, putting the chosen
//! name in the text, and which chosen members the text still mentions when
//! it is sent (the text's `@name`s are highlighted by `markdown`'s
//! renderer). Indexes are byte offsets into the text; the browser's caret
//! counts UTF-16 units ([`utf16_to_byte`], [`byte_to_utf16`]).

use crate::protocol::UserId;

/// Longest `@word` that still opens suggestions.
const MAX_QUERY_CHARS: usize = 32;

/// The `@word` the caret is in: the byte index of its `@` and the text
/// typed after it. `None` when the caret is not in one (an `@` inside a
/// word, as in an e-mail address, opens nothing).
pub fn mention_query(text: &str, caret: usize) -> Option<(usize, String)> {
    let before = text.get(..caret)?;
    let at = before.rfind('@')?;
    let typed = &before[at + 1..];
    if typed.chars().any(char::is_whitespace) || typed.chars().count() > MAX_QUERY_CHARS {
        return None;
    }
    let starts_word = before[..at]
        .chars()
        .next_back()
        .is_none_or(|c| c.is_whitespace() || "([{\"'".contains(c));
    starts_word.then(|| (at, typed.to_string()))
}

/// The members `query` may mean (not the viewer), best first: names that
/// start with it, then names with a later word that does; by name within
/// each; at most `limit`.
pub fn candidates(
    members: &[(UserId, String)],
    query: &str,
    me: UserId,
    limit: usize,
) -> Vec<(UserId, String)> {
    let q = query.to_lowercase();
    let mut ranked: Vec<(u8, &(UserId, String))> = members
        .iter()
        .filter(|(id, _)| *id != me)
        .filter_map(|m| {
            let name = m.1.to_lowercase();
            if name.starts_with(&q) {
                Some((0, m))
            } else if name.split_whitespace().skip(1).any(|w| w.starts_with(&q)) {
                Some((1, m))
            } else {
                None
            }
        })
        .collect();
    ranked.sort_by(|a, b| (a.0, &a.1 .1).cmp(&(b.0, &b.1 .1)));
    ranked
        .into_iter()
        .take(limit)
        .map(|(_, m)| m.clone())
        .collect()
}

/// Puts `@name ` in place of the `@word` from `at` to `caret`; returns the
/// new text and the caret after the inserted name.
pub fn complete(text: &str, at: usize, caret: usize, name: &str) -> (String, usize) {
    let inserted = format!("@{name} ");
    let mut out = String::with_capacity(text.len() + inserted.len());
    out.push_str(&text[..at]);
    out.push_str(&inserted);
    let caret_after = out.len();
    out.push_str(&text[caret.min(text.len())..]);
    (out, caret_after)
}

/// Of the members chosen while writing, those the text still names as
/// `@name` (each once, in the order chosen): what the message declares.
pub fn mentioned_ids(text: &str, chosen: &[(UserId, String)]) -> Vec<UserId> {
    let mut ids = Vec::new();
    for (id, name) in chosen {
        if !ids.contains(id) && text.contains(&format!("@{name}")) {
            ids.push(*id);
        }
    }
    ids
}

/// The byte index of the `units`-th UTF-16 unit of `text` (the browser's
/// caret), clamped to the text.
pub fn utf16_to_byte(text: &str, units: u32) -> usize {
    let mut seen = 0u32;
    for (i, c) in text.char_indices() {
        if seen >= units {
            return i;
        }
        seen += c.len_utf16() as u32;
    }
    text.len()
}

/// The UTF-16 offset of byte index `byte` of `text`.
pub fn byte_to_utf16(text: &str, byte: usize) -> u32 {
    text[..byte.min(text.len())]
        .chars()
        .map(|c| c.len_utf16() as u32)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_at_word_at_the_caret_is_a_query_and_an_email_is_not() {
        assert_eq!(mention_query("hi @bo", 6), Some((3, "bo".into())));
        assert_eq!(mention_query("@", 1), Some((0, String::new())));
        assert_eq!(mention_query("(@al", 4), Some((1, "al".into())));
        assert_eq!(mention_query("mail bob@example.com", 20), None);
        assert_eq!(mention_query("@bob done", 9), None, "a space ended it");
        assert_eq!(mention_query("no at here", 5), None);
        assert_eq!(mention_query("hi @bo", 2), None, "the caret is before it");
    }

    #[test]
    fn candidates_rank_name_starts_first_and_leave_me_out() {
        let me = UserId::new_random();
        let (a, b, c) = (
            UserId::new_random(),
            UserId::new_random(),
            UserId::new_random(),
        );
        let members = vec![
            (me, "Bob Me".to_string()),
            (a, "Carol Bobbins".to_string()),
            (b, "Bob".to_string()),
            (c, "Alice".to_string()),
        ];
        let names = |v: Vec<(UserId, String)>| v.into_iter().map(|(_, n)| n).collect::<Vec<_>>();
        assert_eq!(
            names(candidates(&members, "bo", me, 5)),
            ["Bob", "Carol Bobbins"]
        );
        assert_eq!(names(candidates(&members, "", me, 2)), ["Alice", "Bob"]);
        assert!(candidates(&members, "zed", me, 5).is_empty());
    }

    #[test]
    fn completing_puts_the_name_and_a_space_and_moves_the_caret() {
        assert_eq!(
            complete("hi @bo there", 3, 6, "Bob"),
            ("hi @Bob  there".into(), 8)
        );
        assert_eq!(
            complete("@", 0, 1, "Carol Jones"),
            ("@Carol Jones ".into(), 13)
        );
    }

    #[test]
    fn only_names_still_in_the_text_are_mentioned() {
        let (a, b) = (UserId::new_random(), UserId::new_random());
        let chosen = vec![
            (a, "Alice".to_string()),
            (b, "Bob".to_string()),
            (a, "Alice".to_string()),
        ];
        assert_eq!(mentioned_ids("thanks @Alice", &chosen), [a]);
        assert_eq!(mentioned_ids("@Bob and @Alice", &chosen), [a, b]);
        assert!(mentioned_ids("nobody", &chosen).is_empty());
    }

    #[test]
    fn carets_convert_between_utf16_and_bytes() {
        let text = "é😀a";
        assert_eq!(utf16_to_byte(text, 0), 0);
        assert_eq!(utf16_to_byte(text, 1), 2);
        assert_eq!(utf16_to_byte(text, 3), 6);
        assert_eq!(utf16_to_byte(text, 99), text.len());
        assert_eq!(byte_to_utf16(text, 6), 3);
    }
}
