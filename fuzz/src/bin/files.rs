//! AFL++ entry point: the CSV/JSON file processor.
fn main() {
    afl::fuzz!(|data: &[u8]| chat_fuzz::files_target(data));
}
