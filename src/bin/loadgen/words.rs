//! Words for the messages the load generator sends and stores: drawn from
//! a Zipf-distributed vocabulary (a few words are in most messages, most
//! words in few), as people write, so the search index does its real work.

/// Distinct words.
pub const VOCABULARY: usize = 5_000;

/// A vocabulary's words by rank (0 most common) and their cumulative
/// Zipf weights (s = 1).
pub struct Vocabulary {
    /// The words, most common first.
    pub words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    /// The vocabulary (the same every run).
    pub fn new() -> Self {
        const SYLLABLES: [&str; 20] = [
            "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "da", "fe", "gu", "hi",
            "jo", "ku", "la", "me", "no", "pi",
        ];
        let words = (0..VOCABULARY)
            .map(|rank| {
                let mut n = rank + 20;
                let mut word = String::new();
                while n > 0 {
                    word.push_str(SYLLABLES[n % 20]);
                    n /= 20;
                }
                word
            })
            .collect();
        let mut total = 0.0;
        let cumulative = (1..=VOCABULARY)
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Vocabulary { words, cumulative }
    }

    /// A word drawn by frequency.
    pub fn draw(&self, rng: &mut fastrand::Rng) -> &str {
        let total = self.cumulative[VOCABULARY - 1];
        let x = rng.f64() * total;
        let rank = self.cumulative.partition_point(|&c| c < x);
        &self.words[rank.min(VOCABULARY - 1)]
    }

    /// A message of 6 to 18 words.
    pub fn message(&self, rng: &mut fastrand::Rng) -> String {
        let n = rng.usize(6..=18);
        let words: Vec<&str> = (0..n).map(|_| self.draw(rng)).collect();
        words.join(" ")
    }
}

/// Message texts for the senders: `len` characters from a long seeded
/// text of vocabulary words, starting at a word that changes with each
/// message (so messages differ and cost the index what real ones do).
#[derive(Debug, Clone)]
pub struct Padding {
    text: String,
    starts: Vec<usize>,
    len: usize,
}

impl Padding {
    /// A padding of `len` characters per message.
    pub fn new(len: usize) -> Self {
        let vocabulary = Vocabulary::new();
        let mut rng = fastrand::Rng::with_seed(0x9add);
        let mut text = String::new();
        let mut starts = Vec::new();
        while text.len() < 64 * 1024 + len {
            if !text.is_empty() {
                text.push(' ');
            }
            starts.push(text.len());
            text.push_str(vocabulary.draw(&mut rng));
        }
        starts.retain(|&s| s + len <= text.len());
        Padding { text, starts, len }
    }

    /// The padding of message number `n`.
    pub fn of(&self, n: u64) -> &str {
        if self.len == 0 || self.starts.is_empty() {
            return "";
        }
        let start = self.starts[(n.wrapping_mul(7919) % self.starts.len() as u64) as usize];
        &self.text[start..start + self.len]
    }
}
