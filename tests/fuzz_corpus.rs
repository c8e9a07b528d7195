//! The fuzz targets' property checks on their committed seeds, without nightly: every file
//! of `fuzz/seeds/<target>/` goes through the same `fuzz/checks/<target>.rs` function the
//! cargo-fuzz target calls, so a crash or a property failure once found and added there
//! stays fixed. Plus a few known answers showing that the checks' reference
//! implementations are what they claim.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

#[path = "../fuzz/checks/cgi_head.rs"]
mod cgi_head;
#[path = "../fuzz/checks/chunked.rs"]
mod chunked;
#[path = "../fuzz/checks/explain_url.rs"]
mod explain_url;
#[path = "../fuzz/checks/head.rs"]
mod head;
#[path = "../fuzz/checks/multipart.rs"]
mod multipart;
#[path = "../fuzz/checks/range.rs"]
mod range;
#[path = "../fuzz/checks/split.rs"]
mod split;

/// Runs `check` on every seed of `target`, then fails naming each seed that failed.
fn seeds(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{}: too few seeds", dir.display());
    let failed: Vec<String> = files
        .iter()
        .filter(|f| {
            let data = std::fs::read(f).expect("a readable seed");
            catch_unwind(AssertUnwindSafe(|| check(&data))).is_err()
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(failed.is_empty(), "seeds failing their checks: {failed:#?}");
}

#[test]
fn head_seeds() {
    seeds("head", head::check);
}

#[test]
fn chunked_seeds() {
    seeds("chunked", chunked::check);
}

#[test]
fn multipart_seeds() {
    seeds("multipart", multipart::check);
}

#[test]
fn cgi_head_seeds() {
    seeds("cgi_head", cgi_head::check);
}

#[test]
fn range_seeds() {
    seeds("range", range::check);
}

#[test]
fn explain_url_seeds() {
    seeds("explain_url", explain_url::check);
}
