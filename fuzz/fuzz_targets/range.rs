//! The properties are in `fuzz/checks/range.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../checks/range.rs"]
mod range;

libfuzzer_sys::fuzz_target!(|data: &[u8]| range::check(data));
