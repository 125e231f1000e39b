//! The BM25 half: a tantivy index in RAM over each passage's title, heading
//! and text, as one field: on the evaluation set one field ranked better
//! than three (recall@3 0.865 against 0.844), as short title and heading
//! fields give a word found there a spiky score that swamps the text. A passage is known to tantivy only by a `key` (a u64 fast
//! field) and its document (for deletion); the text to show lives in the
//! `KnowledgeIndex`, so the doc store stays empty and the blob small.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use tantivy::directory::{Directory, RamDirectory};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::IndexError;

const TOKENIZER: &str = "kb_en";
/// tantivy's minimum: the writer lives for one call, so it costs only then.
const WRITER_MEMORY: usize = 15_000_000;
/// A query term found in a title or heading says more than one in the text.

/// A passage to index.
pub(super) struct Entry<'a> {
    pub key: u64,
    pub document: &'a str,
    pub title: &'a str,
    pub heading: &'a str,
    pub text: &'a str,
}

#[derive(Clone, Copy)]
struct Fields {
    key: Field,
    document: Field,
    text: Field,
}

pub(super) struct FullText {
    directory: RamDirectory,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

fn schema() -> (Schema, Fields) {
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let mut builder = Schema::builder();
    let fields = Fields {
        key: builder.add_u64_field("key", FAST),
        document: builder.add_text_field("document", STRING),
        text: builder.add_text_field("text", text),
    };
    (builder.build(), fields)
}

/// English words: lowercased, accents folded, stop words out, stemmed (so
/// "refunds" finds "refund").
fn analyzer() -> TextAnalyzer {
    let stop_words = StopWordFilter::remove(
        super::stop_words::ENGLISH
            .iter()
            .map(|word| (*word).to_owned()),
    );
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(stop_words)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The terms BM25 sees in `text` (lowercased, folded, without stop words,
/// stemmed), in order: for diagnostics and the evaluation.
pub fn terms(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    while let Some(token) = stream.next() {
        terms.push(token.text.clone());
    }
    terms
}

impl FullText {
    pub(super) fn new() -> Result<Self, IndexError> {
        let directory = RamDirectory::create();
        let (schema, _) = schema();
        let index = Index::create(directory.clone(), schema, tantivy::IndexSettings::default())?;
        Self::open(directory, index)
    }

    fn open(directory: RamDirectory, index: Index) -> Result<Self, IndexError> {
        let (_, fields) = schema();
        index.tokenizers().register(TOKENIZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            directory,
            index,
            reader,
            fields,
        })
    }

    /// Removes `remove` documents and adds `entries` in one commit: a
    /// replaced document is never seen twice or not at all.
    pub(super) fn apply(
        &mut self,
        remove: &[&str],
        entries: &[Entry<'_>],
    ) -> Result<(), IndexError> {
        let mut writer: IndexWriter<TantivyDocument> =
            self.index.writer_with_num_threads(1, WRITER_MEMORY)?;
        for document in remove {
            writer.delete_term(Term::from_field_text(self.fields.document, document));
        }
        for entry in entries {
            let mut doc = TantivyDocument::default();
            doc.add_u64(self.fields.key, entry.key);
            doc.add_text(self.fields.document, entry.document);
            for value in [entry.title, entry.heading, entry.text] {
                doc.add_text(self.fields.text, value);
            }
            writer.add_document(doc)?;
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(())
    }

    /// The keys of the best `limit` passages, best first, with BM25 scores.
    pub(super) fn search(&self, query: &str, limit: usize) -> Result<Vec<(u64, f32)>, IndexError> {
        let Some(query) = self.query(query) else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &query,
            &tantivy::collector::TopDocs::with_limit(limit.max(1)),
        )?;
        let mut results = Vec::with_capacity(top.len());
        for (
            score,
            DocAddress {
                segment_ord,
                doc_id,
            },
        ) in top
        {
            let keys = searcher
                .segment_reader(segment_ord)
                .fast_fields()
                .u64("key")?;
            if let Some(key) = keys.first(doc_id) {
                results.push((key, score));
            }
        }
        Ok(results)
    }

    /// Each distinct word of the query, as a
    /// disjunction, so a paraphrase matching some words still ranks. Built
    /// from the analyzer's tokens, not a query parser, so visitors' text
    /// is never query syntax.
    fn query(&self, text: &str) -> Option<Box<dyn Query>> {
        let mut seen = HashSet::new();
        let words: Vec<String> = terms(text)
            .into_iter()
            .filter(|word| seen.insert(word.clone()))
            .collect();
        if words.is_empty() {
            return None;
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = words
            .iter()
            .map(|word| {
                let term = Term::from_field_text(self.fields.text, word);
                let query: Box<dyn Query> =
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                (Occur::Should, query)
            })
            .collect();
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    /// The index's files: `meta.json` and every live segment's components.
    pub(super) fn files(&self) -> Result<Vec<(String, Vec<u8>)>, IndexError> {
        let mut paths: Vec<PathBuf> = vec![PathBuf::from("meta.json")];
        for segment in self.index.searchable_segment_metas()? {
            paths.extend(segment.list_files());
        }
        paths.sort();
        paths.dedup();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            if !self
                .directory
                .exists(&path)
                .map_err(|error| IndexError::Blob(error.to_string()))?
            {
                continue;
            }
            let bytes = self
                .directory
                .atomic_read(&path)
                .map_err(|error| IndexError::Blob(error.to_string()))?;
            files.push((path.to_string_lossy().into_owned(), bytes));
        }
        Ok(files)
    }

    pub(super) fn from_files(files: &[(String, Vec<u8>)]) -> Result<Self, IndexError> {
        let directory = RamDirectory::create();
        for (path, bytes) in files {
            directory
                .atomic_write(Path::new(path), bytes)
                .map_err(|error| IndexError::Blob(format!("{path}: {error}")))?;
        }
        let index = Index::open(directory.clone())?;
        Self::open(directory, index)
    }
}
