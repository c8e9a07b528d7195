//! The properties are in `fuzz/checks/chunked.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../checks/chunked.rs"]
mod chunked;
#[path = "../checks/split.rs"]
mod split;

libfuzzer_sys::fuzz_target!(|data: &[u8]| chunked::check(data));
