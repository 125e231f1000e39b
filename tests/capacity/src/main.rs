//! Prints the generated part of docs/SCALE.md; with `--write`, puts it in.

use std::process::ExitCode;

fn main() -> ExitCode {
    let generated = match chat_capacity::generate() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::args().nth(1).as_deref() != Some("--write") {
        print!("{generated}");
        return ExitCode::SUCCESS;
    }
    let path = chat_capacity::doc_path();
    let written = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|doc| {
            chat_capacity::splice(&doc, &generated).ok_or_else(|| "no generated markers".into())
        })
        .and_then(|doc| std::fs::write(&path, doc).map_err(|e| e.to_string()));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
