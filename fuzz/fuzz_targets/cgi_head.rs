//! The properties are in `fuzz/checks/cgi_head.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../checks/cgi_head.rs"]
mod cgi_head;

libfuzzer_sys::fuzz_target!(|data: &[u8]| cgi_head::check(data));
