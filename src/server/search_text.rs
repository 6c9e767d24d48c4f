//! The text side of search (PROTOCOL.md "Search"), the same for both
//! databases: how a message and a query are cut into words, and the
//! highlighted snippet of a hit.
//!
//! Both databases are handed words already cut here, never raw text: SQLite
//! FTS5 gets them space-separated (its tokenizer is told that every letter,
//! digit, mark and symbol is part of a word, so it splits on the spaces
//! alone) and Postgres gets an array it turns into a `tsvector` without
//! parsing. Neither engine's own parser (which differ: Postgres keeps
//! `foo-bar` and e-mail addresses whole, FTS5 does not) ever decides what a
//! word is, so the same data gives the same hits on both. No character of
//! a query reaches an engine as an operator: a query is words, and words
//! are letters and digits only.

use crate::protocol::SnippetPart;

/// The longest a word may be, in characters; longer runs are cut to this
/// (a 70-character word is found by its first 64).
pub const MAX_WORD_CHARS: usize = 64;

/// The most words of a query that are used.
pub const MAX_QUERY_WORDS: usize = 16;

/// The longest query, in characters (before cutting into words).
pub const MAX_QUERY_CHARS: usize = 200;

/// About how many characters a snippet shows.
pub const SNIPPET_CHARS: usize = 160;

/// Whether `c` is part of a word: Unicode letters and digits.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// The words of a text with their byte ranges in it, as found (not
/// lowercased). ASCII is classified by byte; other characters decoded.
fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut at = 0;
    // Whether the character at `i` is a word character, and its length.
    let class = move |i: usize| -> (bool, usize) {
        let b = bytes[i];
        if b.is_ascii() {
            (b.is_ascii_alphanumeric(), 1)
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            (is_word_char(c), c.len_utf8())
        }
    };
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let (word, len) = class(at);
            if word {
                break;
            }
            at += len;
        }
        if at >= bytes.len() {
            return None;
        }
        let start = at;
        while at < bytes.len() {
            let (word, len) = class(at);
            if !word {
                break;
            }
            at += len;
        }
        Some((start, at))
    })
}

/// A word as it is indexed and looked up: lowercased, cut to
/// [`MAX_WORD_CHARS`] characters. Lowercasing may add a combining mark
/// (`İ` becomes `i̇`); the mark stays part of the word on both sides.
fn normal_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    push_normal_word(word, &mut out);
    out
}

/// Marks the channel's word in the SQLite index: a private-use character,
/// which is never part of a word of a text or a query (only letters and
/// digits are), so no message can hold another channel's word.
const CHANNEL_MARK: char = '\u{E000}';

/// The word that puts a message in its channel in the SQLite index (the
/// mark and the channel id's lowercase hex digits), so a search in one
/// channel is an AND of two lists the index walks together rather than a
/// walk through every channel's newer hits.
pub fn channel_word(channel_hex: &str) -> String {
    let mut word = String::with_capacity(channel_hex.len() + 3);
    word.push(CHANNEL_MARK);
    word.extend(channel_hex.chars().map(|c| c.to_ascii_lowercase()));
    word
}

/// What the SQLite index holds for a message: its [`channel_word`], then
/// its [`index_words`].
pub fn sqlite_index_entry(channel_hex: &str, text: &str) -> String {
    let mut entry = channel_word(channel_hex);
    entry.reserve(text.len() + 1);
    entry.push(' ');
    let words_start = entry.len();
    push_index_words(text, &mut entry);
    if entry.len() == words_start {
        entry.pop();
    }
    entry
}

/// The words a message is indexed by, each once, space-separated (the
/// form both backends store; empty when the text has no word). A change
/// to how words are cut needs a migration that indexes every message
/// again.
pub fn index_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_index_words(text, &mut out);
    out
}

/// Calls `each` with every word of `text` as it is indexed (normalized,
/// repeats included) and its byte range in `text`, until `each` returns
/// `false`; a text that starts with a [`channel_word`] gives that word
/// first, whole (as written: channel words are made lowercase). The SQLite
/// index's tokenizer (`store::sqlite_words`), so the index cuts words
/// exactly as [`sqlite_index_entry`] and [`SearchQuery`] do. It runs for
/// every message stored: a word that is already in its indexed form (most
/// are) is handed over in place, without a copy.
pub fn each_index_word(text: &str, mut each: impl FnMut(&str, usize, usize) -> bool) {
    let mut rest_start = 0;
    if text.starts_with(CHANNEL_MARK) {
        let end = text.find(' ').unwrap_or(text.len());
        if !each(&text[..end], 0, end) {
            return;
        }
        rest_start = end;
    }
    each_text_word(&text[rest_start..], |word, start, end| {
        each(word, rest_start + start, rest_start + end)
    });
}

/// Calls `each` with every word of `text` in its indexed form ([`normal_word`],
/// repeats included) and its byte range, until `each` returns `false`. A
/// word already in that form (most are) is handed over in place, without a
/// copy.
fn each_text_word(text: &str, mut each: impl FnMut(&str, usize, usize) -> bool) {
    let mut word = String::new();
    for (start, end) in word_spans(text) {
        let found = &text[start..end];
        let normal = if found.len() <= MAX_WORD_CHARS
            && found
                .bytes()
                .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
        {
            found
        } else {
            word.clear();
            push_normal_word(found, &mut word);
            word.as_str()
        };
        if !each(normal, start, end) {
            return;
        }
    }
}

/// Below this many words a repeat is found by comparing with each earlier
/// word (cheaper than hashing for a chat message's few words); from it on,
/// by a set.
const WORDS_COMPARED_ONE_BY_ONE: usize = 32;

/// Appends [`index_words`] of `text` to `out`, written in place: this runs
/// for every message stored, so it allocates only for long texts.
fn push_index_words(text: &str, out: &mut String) {
    let base = out.len();
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut seen: Option<std::collections::HashSet<String>> = None;
    each_text_word(text, |word, _, _| {
        let repeat = match &mut seen {
            Some(seen) => !seen.insert(word.to_string()),
            None => taken.iter().any(|&(s, e)| &out[s..e] == word),
        };
        if !repeat {
            if out.len() > base {
                out.push(' ');
            }
            let start = out.len();
            out.push_str(word);
            taken.push((start, out.len()));
            if seen.is_none() && taken.len() >= WORDS_COMPARED_ONE_BY_ONE {
                seen = Some(taken.iter().map(|&(s, e)| out[s..e].to_string()).collect());
            }
        }
        true
    });
}

/// Appends [`normal_word`] of `word` to `out` (ASCII words lowercased in
/// place, without a char-by-char walk).
fn push_normal_word(word: &str, out: &mut String) {
    if word.is_ascii() {
        let start = out.len();
        out.push_str(&word[..word.len().min(MAX_WORD_CHARS)]);
        out[start..].make_ascii_lowercase();
    } else {
        out.extend(
            word.chars()
                .flat_map(char::to_lowercase)
                .take(MAX_WORD_CHARS),
        );
    }
}

/// A parsed search query: its distinct words, in the order typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    words: Vec<String>,
}

/// Why a query was refused (400 `INVALID_QUERY`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Nothing to look for: empty, or no letter or digit.
    #[error("the search query has no words (letters or digits)")]
    NoWords,
    /// Over [`MAX_QUERY_CHARS`].
    #[error("the search query is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
}

impl SearchQuery {
    /// Cuts a query into words: at most [`MAX_QUERY_WORDS`], each once.
    ///
    /// # Errors
    /// [`QueryError`] for an empty, wordless or too long query.
    pub fn parse(q: &str) -> Result<Self, QueryError> {
        let q = q.trim();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let mut words: Vec<String> = Vec::new();
        for (start, end) in word_spans(q) {
            let word = normal_word(&q[start..end]);
            if !words.contains(&word) {
                words.push(word);
            }
            if words.len() == MAX_QUERY_WORDS {
                break;
            }
        }
        if words.is_empty() {
            return Err(QueryError::NoWords);
        }
        Ok(SearchQuery { words })
    }

    /// The words, lowercased.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The query in FTS5's syntax: each word a quoted string, all required
    /// (words hold no `"`, so no quote can close early), and for a search
    /// in one channel its [`channel_word`] too.
    pub fn fts5(&self, channel_hex: Option<&str>) -> String {
        let mut terms: Vec<String> = Vec::new();
        if let Some(channel) = channel_hex {
            terms.push(format!("\"{}\"", channel_word(channel)));
        }
        terms.extend(self.words.iter().map(|w| format!("\"{w}\"")));
        terms.join(" AND ")
    }

    /// The query as a Postgres `tsquery` literal (cast with `::tsquery`,
    /// which takes lexemes as written, without a parser): each word a
    /// quoted lexeme, all required (words hold no `'` or `\`).
    pub fn tsquery(&self) -> String {
        let quoted: Vec<String> = self.words.iter().map(|w| format!("'{w}'")).collect();
        quoted.join(" & ")
    }

    /// Whether a word of a text (as found) is one of the query's.
    fn hits(&self, word: &str) -> bool {
        let word = normal_word(word);
        self.words.contains(&word)
    }

    /// The snippet of a found message: up to about [`SNIPPET_CHARS`]
    /// characters around its first hit, cut at word edges, `…` where cut,
    /// with the query's words as the hit parts. A text without a hit (it
    /// cannot be found, but an edit may race) gives its start.
    pub fn snippet(&self, text: &str) -> Vec<SnippetPart> {
        let spans: Vec<(usize, usize)> = word_spans(text).collect();
        let first_hit = spans
            .iter()
            .position(|&(s, e)| self.hits(&text[s..e]))
            .unwrap_or(0);
        // Start a few words before the first hit, so it has context.
        const LEAD_WORDS: usize = 4;
        let from = match first_hit.checked_sub(LEAD_WORDS) {
            Some(i) if i > 0 => spans[i].0,
            _ => 0,
        };
        // End at the last word that fits.
        let budget_end = text[from..]
            .char_indices()
            .nth(SNIPPET_CHARS)
            .map_or(text.len(), |(i, _)| from + i);
        let to = if budget_end == text.len() {
            text.len()
        } else {
            spans
                .iter()
                .take_while(|&&(_, e)| e <= budget_end)
                .last()
                .map_or(budget_end, |&(_, e)| e.max(from))
        };
        let mut parts = Vec::new();
        let push = |text: &str, hit: bool, parts: &mut Vec<SnippetPart>| {
            if text.is_empty() {
                return;
            }
            match parts.last_mut() {
                Some(SnippetPart { text: last, hit: h }) if *h == hit => last.push_str(text),
                _ => parts.push(SnippetPart {
                    text: text.to_owned(),
                    hit,
                }),
            }
        };
        if from > 0 {
            push("…", false, &mut parts);
        }
        let mut at = from;
        for &(s, e) in spans.iter().filter(|&&(s, e)| s >= from && e <= to) {
            push(&text[at..s], false, &mut parts);
            push(&text[s..e], self.hits(&text[s..e]), &mut parts);
            at = e;
        }
        push(&text[at..to], false, &mut parts);
        if to < text.len() {
            push("…", false, &mut parts);
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(parts: &[SnippetPart]) -> String {
        parts
            .iter()
            .map(|p| {
                if p.hit {
                    format!("[{}]", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn words_are_runs_of_letters_and_digits_lowercased_once() {
        assert_eq!(
            index_words("Deploy the API-v2 to prod, then DEPLOY again!"),
            "deploy the api v2 to prod then again"
        );
        assert_eq!(
            index_words("café Ünïcode 日本語 x_y"),
            "café ünïcode 日本語 x y"
        );
        assert_eq!(index_words("   ...!!! "), "");
        assert_eq!(index_words("mail bob@example.com"), "mail bob example com");
    }

    /// The in-place cutting gives what the plain definition gives: each
    /// word once in first-seen order, lowercased, cut; for short and long
    /// texts (over [`WORDS_COMPARED_ONE_BY_ONE`] words), ASCII or not.
    #[test]
    fn words_written_in_place_match_the_definition() {
        fn plain_spans(text: &str) -> Vec<(usize, usize)> {
            let mut spans = Vec::new();
            let mut start = None;
            for (i, c) in text.char_indices() {
                match (c.is_alphanumeric(), start) {
                    (true, None) => start = Some(i),
                    (false, Some(s)) => {
                        spans.push((s, i));
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = start {
                spans.push((s, text.len()));
            }
            spans
        }
        fn plain(text: &str) -> String {
            let mut seen = std::collections::HashSet::new();
            plain_spans(text)
                .into_iter()
                .map(|(s, e)| {
                    text[s..e]
                        .chars()
                        .flat_map(char::to_lowercase)
                        .take(MAX_WORD_CHARS)
                        .collect::<String>()
                })
                .filter(|w| seen.insert(w.clone()))
                .collect::<Vec<_>>()
                .join(" ")
        }
        let pieces = [
            "Deploy",
            "deploy",
            "İstanbul",
            "ÉCOLE",
            "école",
            "日本語",
            "x_y",
            "a1",
            "A1",
            "naïve",
            "ß",
            "Straße",
            "word",
            "WORD",
            "e\u{301}",
        ];
        let long_word = "Q".repeat(70) + "é";
        let mut texts = vec![
            String::new(),
            long_word.clone(),
            format!("{long_word} {long_word}"),
        ];
        for n in [1usize, 5, 31, 32, 33, 100] {
            let text: Vec<String> = (0..n)
                .map(|i| format!("{}{}", pieces[(i * 7) % pieces.len()], i % 40))
                .chain(pieces.iter().map(|p| p.to_string()))
                .collect();
            texts.push(text.join(", "));
        }
        texts.push("ends with a word".into());
        texts.push("é日本 ①² x".into());
        for text in &texts {
            assert_eq!(word_spans(text).collect::<Vec<_>>(), plain_spans(text));
            assert_eq!(index_words(text), plain(text), "{text}");
            let entry = sqlite_index_entry("ab", text);
            let words = plain(text);
            let expected = if words.is_empty() {
                channel_word("ab")
            } else {
                format!("{} {words}", channel_word("ab"))
            };
            assert_eq!(entry, expected);
        }
    }

    /// The tokenizer's walk over what the index is given gives the words of
    /// the entry, in order (repeats once each), the channel's word first,
    /// with ranges inside the text.
    #[test]
    fn the_index_walk_gives_the_entry_words() {
        for text in [
            "Hi, hi! OK ok",
            "",
            "İstanbul café 日本語",
            "\u{E000}ff in text",
        ] {
            let entry = sqlite_index_entry("AB12", text);
            // What the index is given: the channel's word, then the text.
            let raw = format!("{} {text}", channel_word("AB12"));
            let mut walked: Vec<String> = Vec::new();
            each_index_word(&raw, |w, s, e| {
                assert!(e <= raw.len() && s < e, "{w} at {s}..{e}");
                if !walked.iter().any(|x| x == w) {
                    walked.push(w.to_string());
                }
                true
            });
            assert_eq!(walked.join(" "), entry, "{text}");
        }
    }

    #[test]
    fn long_words_are_cut() {
        let long = "a".repeat(100);
        assert_eq!(index_words(&long).chars().count(), MAX_WORD_CHARS);
        let q = SearchQuery::parse(&long).unwrap();
        assert_eq!(q.words()[0].chars().count(), MAX_WORD_CHARS);
    }

    #[test]
    fn queries_never_carry_operators() {
        let q = SearchQuery::parse(r#""deploy" OR prod* NEAR(a b) :x & !y | (z) -w title:foo"#)
            .unwrap();
        assert_eq!(
            q.words(),
            ["deploy", "or", "prod", "near", "a", "b", "x", "y", "z", "w", "title", "foo"]
        );
        for w in q.words() {
            assert!(w.chars().all(char::is_alphanumeric), "{w}");
        }
        assert_eq!(
            SearchQuery::parse("Hello hello")
                .unwrap()
                .fts5(Some("ab12")),
            "\"\u{E000}ab12\" AND \"hello\""
        );
        assert_eq!(
            sqlite_index_entry("AB12", "Hi, hi! ok"),
            "\u{E000}ab12 hi ok"
        );
        assert_eq!(sqlite_index_entry("ab12", "!!"), "\u{E000}ab12");
        // No text can make a word that looks like a channel's.
        assert!(!index_words("\u{E000}ab12 x").contains('\u{E000}'));
        assert_eq!(SearchQuery::parse("a b").unwrap().tsquery(), "'a' & 'b'");
    }

    #[test]
    fn bad_queries_are_refused() {
        assert_eq!(SearchQuery::parse(""), Err(QueryError::NoWords));
        assert_eq!(SearchQuery::parse("  \"*:&!  "), Err(QueryError::NoWords));
        assert_eq!(
            SearchQuery::parse(&"x ".repeat(101)),
            Err(QueryError::TooLong)
        );
        let many: String = (0..40).map(|i| format!("w{i} ")).collect();
        assert_eq!(
            SearchQuery::parse(&many).unwrap().words().len(),
            MAX_QUERY_WORDS
        );
    }

    #[test]
    fn snippets_mark_the_words_and_cut_long_texts_at_word_edges() {
        let q = SearchQuery::parse("deploy").unwrap();
        assert_eq!(
            shown(&q.snippet("We Deploy on Fridays")),
            "We [Deploy] on Fridays"
        );
        let long = format!(
            "{}the deploy went fine {}",
            "word ".repeat(60),
            "tail ".repeat(60)
        );
        let parts = q.snippet(&long);
        let plain: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert!(plain.chars().count() <= SNIPPET_CHARS + 2, "{plain}");
        let s = shown(&parts);
        assert!(s.starts_with("…"), "{s}");
        assert!(s.ends_with('…'), "{s}");
        assert!(s.contains("word the [deploy] went fine"), "{s}");
        // Cut at word edges: no half words at either end.
        let inner = s.trim_matches('…');
        assert!(inner.starts_with("word ") && inner.ends_with("tail"), "{s}");
    }

    #[test]
    fn snippet_parts_join_to_the_text_they_show() {
        let q = SearchQuery::parse("b c").unwrap();
        let parts = q.snippet("a b c d");
        assert_eq!(shown(&parts), "a [b] [c] d");
        let text: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, "a b c d");
    }
}
