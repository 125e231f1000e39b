//! AFL++ entry point: the context builder.
fn main() {
    afl::fuzz!(|data: &[u8]| chat_fuzz::context_target(data));
}
