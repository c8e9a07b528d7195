//! The properties are in `fuzz/checks/explain_url.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../checks/explain_url.rs"]
mod explain_url;

libfuzzer_sys::fuzz_target!(|data: &[u8]| explain_url::check(data));
