//! The fuzz targets in the normal test run: every seed of the corpus, then
//! a bounded number of deterministic mutations of each (bit flips, byte
//! insertions and deletions, splices of two seeds, interesting values). Not
//! coverage-guided: `fuzz/run.sh` runs the same targets under AFL++ for that.

use std::path::Path;

const MUTATIONS_PER_SEED: usize = 3000;

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(name);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("entry").path();
            (
                path.display().to_string(),
                std::fs::read(&path).expect("seed"),
            )
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 3, "the {name} corpus has seeds");
    seeds.into_iter().map(|(_, bytes)| bytes).collect()
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"\\u0000",
    b"\xFF",
    b"\xC3",
    b"\xE2\x82",
    b"-1e309",
    b"1e999",
    b"NaN",
    b"null",
    b"\"\"\"",
    b"\t",
    b"\0",
    "é".as_bytes(),
    "👍".as_bytes(),
    b"9223372036854775808",
];

fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(8) {
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(out.len() + 1);
                let value = INTERESTING[rng.below(INTERESTING.len())];
                out.splice(i..i, value.iter().copied());
            }
            2 if !out.is_empty() => {
                let i = rng.below(out.len());
                let n = rng.below(out.len() - i).min(16) + 1;
                out.drain(i..(i + n).min(out.len()));
            }
            3 if !other.is_empty() => {
                let cut = rng.below(out.len() + 1);
                let from = rng.below(other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            4 if !out.is_empty() => {
                // Repeat a chunk: long rows, deep nesting, many columns.
                let i = rng.below(out.len());
                let n = rng.below(out.len() - i).min(32) + 1;
                let chunk = out[i..(i + n).min(out.len())].to_vec();
                for _ in 0..rng.below(64) {
                    out.extend_from_slice(&chunk);
                }
            }
            _ => {
                let i = rng.below(out.len() + 1);
                out.insert(i, rng.next() as u8);
            }
        }
    }
    out
}

fn run(name: &str, target: fn(&[u8])) {
    let seeds = corpus(name);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (i, seed) in seeds.iter().enumerate() {
        target(seed);
        let other = &seeds[(i + 1) % seeds.len()];
        for _ in 0..MUTATIONS_PER_SEED {
            let input = mutate(&mut rng, seed, other);
            target(&input);
        }
    }
}

#[test]
fn files_target_holds_on_the_corpus_and_its_mutations() {
    run("files", chat_fuzz::files_target);
}

#[test]
fn context_target_holds_on_the_corpus_and_its_mutations() {
    run("context", chat_fuzz::context_target);
}
