//! The properties are in `fuzz/checks/multipart.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../checks/multipart.rs"]
mod multipart;
#[path = "../checks/split.rs"]
mod split;

libfuzzer_sys::fuzz_target!(|data: &[u8]| multipart::check(data));
