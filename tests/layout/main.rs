//! The module map has no cycles: among the modules of one parent (the
//! crate's top-level modules, or the children of a directory module), no
//! module refers to another that refers back to it, directly or through
//! others. References are paths the source names: `use crate::a::b`,
//! `crate::a::{b, c}`, `super::x` and inline `crate::a::f()`; a parent using
//! its own children (and children their parent) is not a cycle.
//!
//! The source is read as text (comments and string literals blanked), so the
//! check needs no compiler internals and runs in milliseconds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crates whose modules are checked, relative to the workspace root.
const CRATES: &[&str] = &["shared/src", "core/src", "infra/cli/src"];

type ModPath = Vec<String>;

/// Every module file under `src`, by module path (`lib.rs`/`main.rs` is []).
fn module_files(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(src.to_path_buf(), Vec::<String>::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                let mut p = prefix.clone();
                p.push(name);
                stack.push((path, p));
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut p = prefix.clone();
                let is_root = prefix.is_empty() && (stem == "lib" || stem == "main");
                if stem != "mod" && !is_root {
                    p.push(stem.to_owned());
                }
                if prefix.is_empty() && stem == "main" && out.contains_key(&p) {
                    continue; // a crate with both: the library is the root
                }
                out.insert(p, path);
            }
        }
    }
    out
}

/// The source with comments, string and char literals replaced by spaces.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'r' && matches!(b.get(i + 1), Some(b'"' | b'#')) && !ident_byte(b, i) {
            // Raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while j < b.len() && b[j] == b'#' {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            j += 1;
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = j + close.len();
            out.push(' ');
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(' ');
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            i += 3; // 'x'
            out.push(' ');
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            i += 2;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else {
            let ch = src[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn ident_byte(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// Reads `a::b::{c, d::e}` at the start of `s` (after a `crate::`/`super::`):
/// every path it names, each as its segments.
fn paths_at(s: &str) -> Vec<ModPath> {
    let s = s.trim_start();
    if let Some(inner) = s.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        let mut out = Vec::new();
        for (i, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    out.extend(paths_at(&inner[start..i]));
                    return out;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.extend(paths_at(&inner[start..i]));
                    start = i + 1;
                }
                _ => {}
            }
        }
        return out;
    }
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    if end == 0 {
        return Vec::new();
    }
    let head = s[..end].to_owned();
    match s[end..].strip_prefix("::") {
        Some(rest) => {
            let tails = paths_at(rest);
            if tails.is_empty() {
                vec![vec![head]]
            } else {
                tails
                    .into_iter()
                    .map(|t| std::iter::once(head.clone()).chain(t).collect())
                    .collect()
            }
        }
        None => vec![vec![head]],
    }
}

/// Every absolute module path `file` (module `here`) refers to.
fn references(code: &str, here: &ModPath) -> Vec<ModPath> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    for (i, _) in code.match_indices("::") {
        // The keyword chain right before this `::`: crate, super(::super)*.
        let before = &code[..i];
        let word_start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |p| p + 1);
        let word = &before[..][word_start..];
        if word_start > 0 && b[word_start - 1] == b':' {
            continue; // part of a longer path, counted from its start
        }
        let rest = &code[i + 2..];
        let (base, rest) = match word {
            "crate" => (Vec::new(), rest),
            "super" => {
                let mut up = 1;
                let mut rest = rest;
                while let Some(r) = rest.strip_prefix("super::") {
                    up += 1;
                    rest = r;
                }
                // `foo.rs` and `foo/mod.rs` are both module `foo`: `super`
                // is its parent either way.
                let keep = here.len().saturating_sub(up);
                (here[..keep].to_vec(), rest)
            }
            "self" => (here.clone(), rest),
            _ => continue,
        };
        for p in paths_at(rest) {
            out.push(base.iter().cloned().chain(p).collect());
        }
    }
    out
}

/// The longest known module that `path` lies in.
fn owning_module(path: &ModPath, modules: &BTreeSet<ModPath>) -> ModPath {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
        .unwrap_or_default()
}

/// Cycles among siblings: for each parent, edges child -> child.
fn sibling_cycles(files: &BTreeMap<ModPath, PathBuf>) -> Vec<String> {
    let modules: BTreeSet<ModPath> = files.keys().cloned().collect();
    let mut edges: BTreeMap<ModPath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (here, file) in files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for target in references(&code_only(&text), here) {
            let target = owning_module(&target, &modules);
            // The deepest common ancestor, and the child of it on each side.
            let common = here.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common < here.len() && common < target.len() {
                edges
                    .entry(here[..common].to_vec())
                    .or_default()
                    .entry(here[common].clone())
                    .or_default()
                    .insert(target[common].clone());
            }
        }
    }
    let mut found = Vec::new();
    for (parent, graph) in &edges {
        let mut members_seen = BTreeSet::new();
        for start in graph.keys() {
            // Each cycle once, whichever member it was found from.
            let cycle = cycle_from(start, graph)
                .filter(|c| members_seen.insert(c.iter().cloned().collect::<BTreeSet<_>>()));
            if let Some(cycle) = cycle {
                let name = if parent.is_empty() {
                    "crate".to_owned()
                } else {
                    parent.join("::")
                };
                found.push(format!("in {name}: {}", cycle.join(" -> ")));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// A path start -> ... -> start, if there is one (breadth-first, shortest).
fn cycle_from(start: &str, graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in graph.get(node).into_iter().flatten() {
            if next == start {
                let mut path = vec![start.to_owned()];
                let mut at = node;
                let mut back = vec![];
                while at != start {
                    back.push(at.to_owned());
                    at = seen[at];
                }
                path.extend(back.into_iter().rev());
                path.push(start.to_owned());
                return Some(path);
            }
            if next != start && !seen.contains_key(next.as_str()) {
                seen.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut problems = Vec::new();
    let mut checked = 0;
    for krate in CRATES {
        let src = root.join(krate);
        if !src.is_dir() {
            continue;
        }
        let files = module_files(&src);
        checked += files.len();
        problems.extend(
            sibling_cycles(&files)
                .into_iter()
                .map(|c| format!("{krate}: {c}")),
        );
    }
    assert!(checked > 20, "found only {checked} module files to check");
    assert!(
        problems.is_empty(),
        "module cycles:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_checker_sees_cycles_and_their_shapes() {
    let here = vec!["http".to_owned()];
    let refs = references(
        &code_only(
            "use crate::{auth::Caller, store::{keys, repo::Repository}}; // crate::fake\nlet s = \"crate::nope\"; super::x::y();",
        ),
        &here,
    );
    let want: Vec<ModPath> = [
        vec!["auth", "Caller"],
        vec!["store", "keys"],
        vec!["store", "repo", "Repository"],
        vec!["x", "y"],
    ]
    .iter()
    .map(|p| p.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(refs, want);

    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    std::fs::create_dir_all(src.join("http")).expect("dir");
    std::fs::write(
        src.join("lib.rs"),
        "pub mod auth; pub mod http; pub mod leaf;",
    )
    .expect("lib");
    std::fs::write(src.join("auth.rs"), "use crate::http::AppError;").expect("auth");
    std::fs::write(
        src.join("http/mod.rs"),
        "mod error; use crate::auth::Caller;",
    )
    .expect("http");
    std::fs::write(
        src.join("http/error.rs"),
        "use crate::leaf::X; use super::Y;",
    )
    .expect("err");
    std::fs::write(src.join("leaf.rs"), "pub struct X;").expect("leaf");
    let cycles = sibling_cycles(&module_files(src));
    assert_eq!(cycles, vec!["in crate: auth -> http -> auth"]);
}
