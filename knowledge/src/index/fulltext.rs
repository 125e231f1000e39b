//! The BM25 half: a tantivy index in RAM over each passage's title, heading
//! and text. A passage is known to tantivy only by a `key` (a u64 fast
//! field) and its document (for deletion); the text to show lives in the
//! `KnowledgeIndex`, so the doc store stays empty and the blob small.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use tantivy::directory::{Directory, RamDirectory};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
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
const TITLE_BOOST: f32 = 2.0;
const HEADING_BOOST: f32 = 1.5;

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
    title: Field,
    heading: Field,
    body: Field,
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
        title: builder.add_text_field("title", text.clone()),
        heading: builder.add_text_field("heading", text.clone()),
        body: builder.add_text_field("body", text),
    };
    (builder.build(), fields)
}

/// English words: lowercased, accents folded, stop words out, stemmed (so
/// "refunds" finds "refund").
fn analyzer() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter);
    match StopWordFilter::new(Language::English) {
        Some(stop_words) => builder
            .filter(stop_words)
            .filter(Stemmer::new(Language::English))
            .build(),
        None => builder.filter(Stemmer::new(Language::English)).build(),
    }
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
            doc.add_text(self.fields.title, entry.title);
            doc.add_text(self.fields.heading, entry.heading);
            doc.add_text(self.fields.body, entry.text);
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

    /// Each distinct word of the query, in any of the three fields: a
    /// disjunction, so a paraphrase matching some words still ranks. Built
    /// from the analyzer's tokens, not a query parser, so visitors' text
    /// is never query syntax.
    fn query(&self, text: &str) -> Option<Box<dyn Query>> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        let mut seen = HashSet::new();
        while let Some(token) = stream.next() {
            if seen.insert(token.text.clone()) {
                words.push(token.text.clone());
            }
        }
        if words.is_empty() {
            return None;
        }
        let fields = [
            (self.fields.title, TITLE_BOOST),
            (self.fields.heading, HEADING_BOOST),
            (self.fields.body, 1.0),
        ];
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &words {
            for (field, boost) in fields {
                let term = TermQuery::new(
                    Term::from_field_text(field, word),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(term), boost)),
                ));
            }
        }
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
