//! Sections to passages: split on headings and paragraphs, bounded in
//! tokens (the prompt's estimate, so the knowledge budget adds up), with an
//! overlap so a sentence cut at a boundary is whole in one of the two.

use chat_core::prompt::{CHARS_PER_TOKEN, estimate_token_count};

use crate::ExtractedDoc;

/// Passage sizes, in tokens as `chat_core::prompt::estimate_token_count`
/// counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    pub max_tokens: usize,
    /// Tokens of the previous passage of the same section repeated at the
    /// start of the next; smaller than `max_tokens`.
    pub overlap_tokens: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self {
            max_tokens: 200,
            overlap_tokens: 30,
        }
    }
}

/// One passage: what the index stores and the prompt quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Its position in the document (0, 1, ...): stable for the same
    /// document and options.
    pub chunk_id: u32,
    pub title: String,
    /// The heading path joined with " > ", without a first heading that is
    /// the title; empty before the first heading.
    pub heading: String,
    pub url: Option<String>,
    pub text: String,
}

/// The document's sections cut into passages of at most `max_tokens`,
/// never empty. A passage breaks only at a heading or a paragraph (or, for
/// a paragraph too long for one, at a sentence): short sections share a
/// passage, each after the first under its heading line, because a help
/// page of five two-line sections reads, and ranks, better as one passage
/// than as five fragments. A passage that continues the section of the one
/// before starts with that one's last `overlap_tokens`.
pub fn chunk(doc: &ExtractedDoc, opts: &ChunkOptions) -> Vec<Chunk> {
    let max = opts.max_tokens.max(1);
    let overlap = opts.overlap_tokens.min(max / 2);
    let mut passages: Vec<Passage> = Vec::new();
    for (section, heading) in doc.sections.iter().zip(headings(doc)) {
        let pieces = section
            .text
            .split("\n\n")
            .map(str::trim)
            .filter(|paragraph| !paragraph.is_empty())
            .flat_map(|paragraph| fit(paragraph, max));
        for (i, piece) in pieces.enumerate() {
            add_piece(&mut passages, &heading, piece, i == 0, max, overlap);
        }
    }
    passages
        .into_iter()
        .enumerate()
        .map(|(i, passage)| Chunk {
            chunk_id: i as u32,
            title: doc.title.clone(),
            heading: passage.heading,
            url: doc.url.clone(),
            text: passage.text,
        })
        .collect()
}

struct Passage {
    heading: String,
    /// The heading of the section its text ends in.
    last_heading: String,
    text: String,
}

/// Each section's heading path joined with " > ", without a first heading
/// that is the title: the title is a field of its own, and repeating it
/// in every heading would count its words twice.
fn headings(doc: &ExtractedDoc) -> Vec<String> {
    doc.sections
        .iter()
        .map(|section| match section.heading_path.split_first() {
            Some((first, rest)) if *first == doc.title => rest.join(" > "),
            _ => section.heading_path.join(" > "),
        })
        .collect()
}

/// Appends a piece (it fits `max` by itself) to the last passage, or starts
/// a new one.
fn add_piece(
    passages: &mut Vec<Passage>,
    heading: &str,
    piece: String,
    starts_section: bool,
    max: usize,
    overlap: usize,
) {
    if let Some(last) = passages.last_mut() {
        let addition = if starts_section && !heading.is_empty() {
            format!("{heading}\n\n{piece}")
        } else {
            piece.clone()
        };
        let joined = format!("{}\n\n{addition}", last.text);
        if estimate_token_count(&joined) <= max {
            last.text = joined;
            last.last_heading = heading.to_owned();
            return;
        }
    }
    let continues = !starts_section
        && passages
            .last()
            .is_some_and(|last| last.last_heading == heading);
    let room = max
        .saturating_sub(estimate_token_count(&piece) + 1)
        .min(overlap);
    let tail = match passages.last() {
        Some(last) if continues => tail_words(&last.text, room),
        _ => "",
    };
    let text = if tail.is_empty() {
        piece
    } else {
        format!("{tail} {piece}")
    };
    passages.push(Passage {
        heading: heading.to_owned(),
        last_heading: heading.to_owned(),
        text,
    });
}

/// A paragraph cut to pieces of at most `max` tokens: at sentence ends, then
/// at spaces, then (a run without spaces) at characters.
fn fit(paragraph: &str, max: usize) -> Vec<String> {
    if estimate_token_count(paragraph) <= max {
        return vec![paragraph.to_owned()];
    }
    let sentences = split_sentences(paragraph);
    if sentences.len() > 1 {
        let fitted: Vec<String> = sentences
            .iter()
            .flat_map(|sentence| fit(sentence, max))
            .collect();
        return pack(fitted, " ", max);
    }
    let words: Vec<&str> = paragraph.split_whitespace().collect();
    if words.len() > 1 {
        let fitted: Vec<String> = words.iter().flat_map(|word| fit(word, max)).collect();
        return pack(fitted, " ", max);
    }
    let chars: Vec<char> = paragraph.chars().collect();
    chars
        .chunks(max * CHARS_PER_TOKEN)
        .map(|run| run.iter().collect())
        .collect()
}

/// Greedy packing of pieces that each fit into as few as fit.
fn pack(pieces: Vec<String>, joiner: &str, max: usize) -> Vec<String> {
    let mut packed: Vec<String> = Vec::new();
    let mut current = String::new();
    for piece in pieces {
        let joined = if current.is_empty() {
            piece.clone()
        } else {
            format!("{current}{joiner}{piece}")
        };
        if estimate_token_count(&joined) <= max {
            current = joined;
        } else {
            packed.push(std::mem::replace(&mut current, piece));
        }
    }
    if !current.is_empty() {
        packed.push(current);
    }
    packed
}

fn split_sentences(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, byte) in bytes.iter().enumerate() {
        let ends = matches!(byte, b'.' | b'!' | b'?')
            && bytes.get(i + 1).is_some_and(|next| *next == b' ');
        if ends {
            sentences.push(text[start..=i].trim());
            start = i + 1;
        }
    }
    sentences.push(text[start..].trim());
    sentences.retain(|sentence| !sentence.is_empty());
    sentences
}

/// The last words of `text` making at most `tokens` tokens.
fn tail_words(text: &str, tokens: usize) -> &str {
    let budget = tokens * CHARS_PER_TOKEN;
    if tokens == 0 {
        return "";
    }
    let total = text.chars().count();
    if total <= budget {
        return text;
    }
    let start = text
        .char_indices()
        .nth(total - budget)
        .map_or(0, |(index, _)| index);
    let rest = &text[start..];
    // Start on a word boundary: drop the partial first word.
    match rest.find(char::is_whitespace) {
        Some(space) => rest[space..].trim_start(),
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Section;

    fn doc(sections: &[(&[&str], &str)]) -> ExtractedDoc {
        ExtractedDoc {
            title: "Guide".into(),
            sections: sections
                .iter()
                .map(|(path, text)| Section {
                    heading_path: path.iter().map(|heading| (*heading).to_owned()).collect(),
                    text: (*text).to_owned(),
                })
                .collect(),
            url: Some("https://help.example/guide".into()),
        }
    }

    fn words(from: usize, count: usize) -> String {
        (from..from + count)
            .map(|i| format!("w{i:04}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn short_sections_share_a_passage_under_their_headings() {
        let doc = doc(&[
            (&["Guide", "Standard"], "Three days."),
            (&["Guide", "Express"], "Next day."),
        ]);
        let chunks = chunk(&doc, &ChunkOptions::default());
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].heading, "Standard");
        assert_eq!(chunks[0].text, "Three days.\n\nExpress\n\nNext day.");
        assert_eq!(chunks[0].title, "Guide");
        assert_eq!(chunks[0].url.as_deref(), Some("https://help.example/guide"));
    }

    #[test]
    fn a_long_section_splits_at_paragraphs_with_overlap() {
        // Three paragraphs of 25 words (149 characters, 37 tokens each).
        let text = [words(0, 25), words(25, 25), words(50, 25)].join("\n\n");
        let opts = ChunkOptions {
            max_tokens: 80,
            overlap_tokens: 10,
        };
        let chunks = chunk(&doc(&[(&["Guide", "Long"], &text)]), &opts);
        assert_eq!(chunks.len(), 2);
        assert!(
            chunks
                .iter()
                .all(|chunk| estimate_token_count(&chunk.text) <= 80)
        );
        assert_eq!(chunks[0].text, [words(0, 25), words(25, 25)].join("\n\n"));
        // The second starts with the first's last whole words within 10
        // tokens (40 characters: 6 words).
        assert!(
            chunks[1]
                .text
                .starts_with(&format!("{} w0050", words(44, 6))),
            "{}",
            chunks[1].text
        );
        assert_eq!(
            chunks
                .iter()
                .map(|chunk| chunk.chunk_id)
                .collect::<Vec<_>>(),
            [0, 1]
        );
        assert!(chunks.iter().all(|chunk| chunk.heading == "Long"));
    }

    #[test]
    fn a_new_section_never_starts_with_the_previous_sections_words() {
        let opts = ChunkOptions {
            max_tokens: 40,
            overlap_tokens: 10,
        };
        let chunks = chunk(
            &doc(&[(&["A"], &words(0, 25)), (&["B"], &words(100, 25))]),
            &opts,
        );
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[1].heading, "B");
        assert_eq!(chunks[1].text, words(100, 25));
    }

    #[test]
    fn a_huge_paragraph_is_split_at_sentences_then_words_then_characters() {
        let sentences: String = (0..60)
            .map(|i| format!("Sentence number {i} says something. "))
            .collect();
        let no_spaces = "x".repeat(2_000);
        let opts = ChunkOptions {
            max_tokens: 50,
            overlap_tokens: 5,
        };
        for text in [sentences.trim(), words(0, 400).as_str(), no_spaces.as_str()] {
            let chunks = chunk(&doc(&[(&[], text)]), &opts);
            assert!(chunks.len() > 3);
            for chunk in &chunks {
                assert!(
                    estimate_token_count(&chunk.text) <= 50,
                    "{} tokens",
                    estimate_token_count(&chunk.text)
                );
                assert!(!chunk.text.trim().is_empty());
            }
        }
        let chunks = chunk(&doc(&[(&[], sentences.trim())]), &opts);
        assert!(
            chunks[0].text.ends_with("says something."),
            "{}",
            chunks[0].text
        );
    }

    #[test]
    fn no_empty_passages_and_ids_are_stable() {
        let doc = doc(&[
            (&["Guide"], "\n\n  \n\nReal text.\n\n \n\n"),
            (&["Guide", "Empty"], "   "),
        ]);
        let chunks = chunk(&doc, &ChunkOptions::default());
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].text, "Real text.");
        assert_eq!(chunks[0].heading, "");
        assert_eq!(chunks, chunk(&doc, &ChunkOptions::default()));
        assert!(chunk(&ExtractedDoc::default(), &ChunkOptions::default()).is_empty());
    }
}
