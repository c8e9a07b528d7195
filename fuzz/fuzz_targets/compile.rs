//! The properties are in `fuzz/checks/compile.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../checks/compile.rs"]
mod compile;

libfuzzer_sys::fuzz_target!(|data: &[u8]| compile::check(data));
