//! The retrieval evaluation: the fictional help centre in `eval/docs` (48
//! documents: Markdown, HTML, PDF) and the questions in
//! `eval/questions.tsv`, each naming the document that answers it.
//!
//! `cargo test -p chat-knowledge --release --test eval -- --nocapture`
//! prints recall@1, recall@3 and MRR for BM25 alone and for the hybrid
//! (the deterministic HashEmbedder), over all questions and over the
//! paraphrases alone; the test holds BM25's recall@3 to 0.90.
//!
//! Ranks count passages, as the prompt receives them: a hit at rank 3 is
//! the third passage, whatever documents the first two came from. A
//! question is a paraphrase when at most a third of its terms (as the
//! index analyses them) occur anywhere in the answering document.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chat_knowledge::{
    ChunkOptions, Embedder, HashEmbedder, KnowledgeIndex, SourceKind, chunk, extract, terms,
};
use uuid::Uuid;

struct Corpus {
    index: KnowledgeIndex,
    ids: HashMap<String, Uuid>,
    /// Each document's terms, to tell paraphrases.
    vocabulary: HashMap<String, HashSet<String>>,
}

struct Question {
    document: String,
    text: String,
    paraphrase: bool,
}

fn eval_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/eval"))
}

fn build(embedder: &HashEmbedder) -> Corpus {
    let mut corpus = Corpus {
        index: KnowledgeIndex::new().expect("index"),
        ids: HashMap::new(),
        vocabulary: HashMap::new(),
    };
    let mut paths: Vec<_> = std::fs::read_dir(eval_dir().join("docs"))
        .expect("eval/docs")
        .map(|entry| entry.expect("entry").path())
        .collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .expect("name")
            .to_owned();
        let bytes = std::fs::read(&path).expect("read");
        let kind = SourceKind::detect(Some(&name), None, &bytes).expect("known kind");
        let doc = extract(&bytes, kind, &name).unwrap_or_else(|error| panic!("{name}: {error}"));
        let chunks = chunk(&doc, &ChunkOptions::default());
        let vectors = chunks
            .iter()
            .map(|chunk| {
                embedder.embed(&format!("{} {} {}", chunk.title, chunk.heading, chunk.text))
            })
            .collect();
        let id = Uuid::new_v4();
        corpus
            .index
            .add_document(id, &doc.title, None, &chunks, Some(vectors))
            .expect("add");
        let words = chunks
            .iter()
            .flat_map(|chunk| terms(&format!("{} {} {}", chunk.title, chunk.heading, chunk.text)));
        corpus.vocabulary.insert(name.clone(), words.collect());
        corpus.ids.insert(name, id);
    }
    corpus
}

fn questions(corpus: &Corpus) -> Vec<Question> {
    std::fs::read_to_string(eval_dir().join("questions.tsv"))
        .expect("questions.tsv")
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (document, text) = line.split_once('\t').expect("document<TAB>question");
            let vocabulary = corpus
                .vocabulary
                .get(document)
                .unwrap_or_else(|| panic!("no document {document}"));
            let asked = terms(text);
            let shared = asked
                .iter()
                .filter(|term| vocabulary.contains(*term))
                .count();
            Question {
                document: document.to_owned(),
                text: text.to_owned(),
                paraphrase: shared * 3 <= asked.len(),
            }
        })
        .collect()
}

/// The rank (1-based) of the answering document's first passage, if in
/// the top 10.
fn ranks(
    corpus: &Corpus,
    questions: &[Question],
    embedder: Option<&HashEmbedder>,
) -> Vec<Option<usize>> {
    questions
        .iter()
        .map(|question| {
            let vector = embedder.map(|embedder| embedder.embed(&question.text));
            let hits = corpus
                .index
                .search(&question.text, 10, vector.as_deref())
                .expect("search");
            let expected = corpus.ids[&question.document];
            hits.iter()
                .position(|hit| hit.document_id == expected)
                .map(|at| at + 1)
        })
        .collect()
}

/// (recall@1, recall@3, MRR) over the ranks.
fn summary<'a>(ranks: impl Iterator<Item = &'a Option<usize>>) -> (f64, f64, f64, usize) {
    let (mut at_1, mut at_3, mut reciprocal, mut total) = (0usize, 0usize, 0.0f64, 0usize);
    for rank in ranks {
        total += 1;
        if let Some(rank) = rank {
            at_1 += usize::from(*rank == 1);
            at_3 += usize::from(*rank <= 3);
            reciprocal += 1.0 / *rank as f64;
        }
    }
    let n = total.max(1) as f64;
    (at_1 as f64 / n, at_3 as f64 / n, reciprocal / n, total)
}

fn report(name: &str, questions: &[Question], ranks: &[Option<usize>]) -> f64 {
    let (r1, r3, mrr, n) = summary(ranks.iter());
    println!("{name}: recall@1 {r1:.3}, recall@3 {r3:.3}, MRR {mrr:.3} ({n} questions)");
    let paraphrases = ranks
        .iter()
        .zip(questions)
        .filter(|(_, question)| question.paraphrase)
        .map(|(rank, _)| rank);
    let (p1, p3, pmrr, pn) = summary(paraphrases);
    println!(
        "  paraphrases only: recall@1 {p1:.3}, recall@3 {p3:.3}, MRR {pmrr:.3} ({pn} questions)"
    );
    for (rank, question) in ranks.iter().zip(questions) {
        if rank.is_none_or(|rank| rank > 3) {
            println!(
                "  not in the top 3: {} -> {} (rank {rank:?})",
                question.text, question.document
            );
        }
    }
    r3
}

#[test]
fn recall_at_3_with_bm25_alone_is_at_least_0_90() {
    let embedder = HashEmbedder::default();
    let corpus = build(&embedder);
    let questions = questions(&corpus);
    assert!(corpus.ids.len() >= 40, "{} documents", corpus.ids.len());
    assert!(questions.len() >= 80, "{} questions", questions.len());
    println!(
        "{} documents, {} passages, {} questions",
        corpus.ids.len(),
        corpus.index.len(),
        questions.len()
    );
    let bm25 = report("BM25", &questions, &ranks(&corpus, &questions, None));
    report(
        "hybrid (HashEmbedder)",
        &questions,
        &ranks(&corpus, &questions, Some(&embedder)),
    );
    assert!(bm25 >= 0.90, "BM25 recall@3 {bm25:.3}");
}

#[test]
#[ignore = "a tool: Q='question' cargo test -p chat-knowledge --test eval show_query -- --ignored --nocapture"]
fn show_query() {
    let corpus = build(&HashEmbedder::default());
    let query = std::env::var("Q").unwrap_or_default();
    for hit in corpus.index.search(&query, 5, None).expect("search") {
        println!(
            "{:.3} {} | {} | {}",
            hit.score, hit.title, hit.heading, hit.text
        );
    }
}
