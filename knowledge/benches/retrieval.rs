//! The knowledge index at 20,000 passages (criterion, plus a printed
//! summary): `cargo bench -p chat-knowledge --bench retrieval`.
//!
//! The corpus is synthetic and deterministic: 1,000 Markdown documents of
//! 20 sections (one passage each), each section 80 words drawn with a Zipf-like skew
//! from a 30,000-word vocabulary plus the evaluation set's own words, so
//! postings have realistic lengths. Targets: p99 search <= 5 ms; the
//! summary also prints build throughput, blob size, the RSS a loaded index
//! adds, and the cold-load (`from_bytes`) time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chat_knowledge::{
    Chunk, ChunkOptions, Embedder, HashEmbedder, KnowledgeIndex, NewDocument, SourceKind, chunk,
    extract,
};
use criterion::Criterion;
use uuid::Uuid;

const DOCUMENTS: usize = 1_000;
const SECTIONS: usize = 20;
const WORDS_PER_SECTION: usize = 80;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Skewed towards small indexes, like word frequencies.
    fn zipf(&mut self, n: usize) -> usize {
        let uniform = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(uniform) as usize)
            .saturating_sub(1)
            .min(n - 1)
    }
}

fn vocabulary() -> Vec<String> {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ren", "sto", "var", "pel", "dun", "tri", "ose", "an", "qu", "bel",
        "gor", "fi", "nax", "ul", "pre", "sim", "tov",
    ];
    let eval = concat!(env!("CARGO_MANIFEST_DIR"), "/eval/docs");
    let mut words: Vec<String> = std::fs::read_dir(eval)
        .expect("eval/docs")
        .filter_map(|entry| std::fs::read_to_string(entry.expect("entry").path()).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|word| word.chars().all(char::is_alphabetic))
        .collect();
    words.sort();
    words.dedup();
    let mut rng = Rng(7);
    while words.len() < 30_000 {
        let parts = 2 + rng.next() as usize % 3;
        words.push(
            (0..parts)
                .map(|_| SYLLABLES[rng.next() as usize % SYLLABLES.len()])
                .collect(),
        );
    }
    words
}

fn corpus(vocabulary: &[String]) -> Vec<String> {
    let mut rng = Rng(42);
    (0..DOCUMENTS)
        .map(|d| {
            let mut text = format!(
                "# Document {d} {}\n\n",
                vocabulary[rng.zipf(vocabulary.len())]
            );
            for s in 0..SECTIONS {
                text.push_str(&format!(
                    "## Section {s} {}\n\n",
                    vocabulary[rng.zipf(vocabulary.len())]
                ));
                let words: Vec<&str> = (0..WORDS_PER_SECTION)
                    .map(|_| vocabulary[rng.zipf(vocabulary.len())].as_str())
                    .collect();
                text.push_str(&words.join(" "));
                text.push_str(".\n\n");
            }
            text
        })
        .collect()
}

/// Each document extracted and chunked, with its vectors if any.
type Prepared = Vec<(String, Vec<Chunk>, Option<Vec<Vec<f32>>>)>;

fn prepare(documents: &[String], embedder: Option<&HashEmbedder>) -> Prepared {
    documents
        .iter()
        .map(|markdown| {
            let doc =
                extract(markdown.as_bytes(), SourceKind::Markdown, "doc.md").expect("extract");
            let chunks = chunk(&doc, &ChunkOptions::default());
            let vectors = embedder.map(|embedder| {
                chunks
                    .iter()
                    .map(|chunk| embedder.embed(&chunk.text))
                    .collect()
            });
            (doc.title, chunks, vectors)
        })
        .collect()
}

/// One `add_documents` call for everything (a rebuild), or one
/// `add_document` per document (uploads one by one).
fn build(prepared: &Prepared, one_by_one: bool) -> KnowledgeIndex {
    let mut index = KnowledgeIndex::new().expect("index");
    let documents = prepared
        .iter()
        .enumerate()
        .map(|(i, (title, chunks, vectors))| NewDocument {
            document_id: Uuid::from_u128(i as u128),
            title,
            url: None,
            chunks,
            embeddings: vectors.clone(),
        });
    if one_by_one {
        for document in documents {
            index.add_documents(vec![document]).expect("add");
        }
    } else {
        index.add_documents(documents.collect()).expect("add");
    }
    index
}

fn queries(vocabulary: &[String]) -> Vec<String> {
    let mut rng = Rng(99);
    (0..2_000)
        .map(|_| {
            (0..5)
                .map(|_| vocabulary[rng.zipf(vocabulary.len())].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Each query timed three times: the slowest wall time of each (what a
/// caller saw, preemptions included) and the fastest (the query's own cost
/// on a machine shared with other work).
fn latencies(
    index: &KnowledgeIndex,
    queries: &[String],
    embedder: Option<&HashEmbedder>,
) -> String {
    let vectors: Vec<Option<Vec<f32>>> = queries
        .iter()
        .map(|query| embedder.map(|embedder| embedder.embed(query)))
        .collect();
    let (mut slowest, mut fastest): (Vec<Duration>, Vec<Duration>) = queries
        .iter()
        .zip(&vectors)
        .map(|(query, vector)| {
            let times: Vec<Duration> = (0..3)
                .map(|_| {
                    let started = Instant::now();
                    black_box(index.search(query, 5, vector.as_deref()).expect("search"));
                    started.elapsed()
                })
                .collect();
            (
                times.iter().max().copied().unwrap_or_default(),
                times.iter().min().copied().unwrap_or_default(),
            )
        })
        .unzip();
    slowest.sort();
    fastest.sort();
    let line = |sorted: &[Duration]| {
        format!(
            "p50 {:?}, p99 {:?}, max {:?}",
            percentile(sorted, 0.5),
            percentile(sorted, 0.99),
            percentile(sorted, 1.0)
        )
    };
    format!(
        "worst of 3 {}; best of 3 {}",
        line(&slowest),
        line(&fastest)
    )
}

/// Resident set size from /proc (Linux); 0 elsewhere.
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<usize>().ok()
        })
        .map_or(0, |kilobytes| kilobytes * 1024)
}

/// In a fresh process (this bench run again with `KB_BENCH_LOAD=<blob
/// file>`), so the figure is what loading adds, not what earlier work left
/// in the allocator: reads the blob, then loads it.
fn load_in_child(blob: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("kb-bench-{}.blob", std::process::id()));
    std::fs::write(&path, blob).expect("write blob");
    let output = std::process::Command::new(std::env::current_exe().expect("exe"))
        .env("KB_BENCH_LOAD", &path)
        .output()
        .expect("child");
    let _ = std::fs::remove_file(&path);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn child_load(path: &str) {
    let start = rss_bytes();
    let blob = std::fs::read(path).expect("blob");
    let read = rss_bytes();
    let started = Instant::now();
    let index = KnowledgeIndex::from_bytes(&blob).expect("from_bytes");
    let load = started.elapsed();
    let loaded = rss_bytes();
    drop(blob);
    let steady = rss_bytes();
    let mb = |bytes: usize| bytes as f64 / 1e6;
    println!(
        "from_bytes {load:?}; the index adds {:.1} MB of RSS (peak with the blob {:.1} MB, {:.1} MB once the blob is dropped; {} passages)",
        mb(loaded.saturating_sub(read)),
        mb(loaded.saturating_sub(start)),
        mb(steady.saturating_sub(start)),
        index.len()
    );
}

fn summary(
    label: &str,
    documents: &[String],
    queries: &[String],
    embedder: Option<&HashEmbedder>,
) -> Vec<u8> {
    let input_bytes: usize = documents.iter().map(String::len).sum();
    let megabytes = input_bytes as f64 / 1e6;
    let started = Instant::now();
    let prepared = prepare(documents, embedder);
    let preparing = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let index = build(&prepared, false);
    let bulk = started.elapsed().as_secs_f64();
    let started = Instant::now();
    drop(build(&prepared, true));
    let one_by_one = started.elapsed().as_secs_f64();
    let blob = index.to_bytes().expect("to_bytes");
    println!(
        "\n{label}: {} passages from {megabytes:.1} MB of Markdown",
        index.len()
    );
    println!(
        "  extract + chunk{}: {preparing:.2} s, {:.1} MB/s",
        if embedder.is_some() { " + embed" } else { "" },
        megabytes / preparing
    );
    println!(
        "  index in one batch: {bulk:.2} s, {:.1} MB/s",
        megabytes / bulk
    );
    println!(
        "  index one document at a time: {one_by_one:.2} s, {:.2} MB/s",
        megabytes / one_by_one
    );
    println!(
        "  search k=5 over {} queries: {}",
        queries.len(),
        latencies(&index, queries, embedder)
    );
    println!(
        "  blob {:.1} MB; in a fresh process: {}",
        blob.len() as f64 / 1e6,
        load_in_child(&blob)
    );
    blob
}

fn main() {
    if let Ok(path) = std::env::var("KB_BENCH_LOAD") {
        return child_load(&path);
    }
    let vocabulary = vocabulary();
    let documents = corpus(&vocabulary);
    let queries = queries(&vocabulary);
    let embedder = HashEmbedder::default();
    let bm25_blob = summary("BM25 only", &documents, &queries, None);
    let hybrid_blob = summary(
        "BM25 + 256-dimension vectors",
        &documents,
        &queries,
        Some(&embedder),
    );

    let mut criterion = Criterion::default().configure_from_args();
    let bm25 = KnowledgeIndex::from_bytes(&bm25_blob).expect("load");
    let hybrid = KnowledgeIndex::from_bytes(&hybrid_blob).expect("load");
    let query_vectors: Vec<Vec<f32>> = queries.iter().map(|query| embedder.embed(query)).collect();
    let mut i = 0;
    criterion.bench_function("search_bm25_20k", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(bm25.search(&queries[i], 5, None).expect("search"))
        })
    });
    criterion.bench_function("search_hybrid_20k", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(
                hybrid
                    .search(&queries[i], 5, Some(&query_vectors[i]))
                    .expect("search"),
            )
        })
    });
    let mut group = criterion.benchmark_group("cold_load");
    group.sample_size(10);
    group.bench_function("from_bytes_bm25_20k", |b| {
        b.iter(|| KnowledgeIndex::from_bytes(black_box(&bm25_blob)))
    });
    group.bench_function("from_bytes_hybrid_20k", |b| {
        b.iter(|| KnowledgeIndex::from_bytes(black_box(&hybrid_blob)))
    });
    group.finish();
    criterion.final_summary();
}
