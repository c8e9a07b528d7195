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
#[path = "../fuzz/checks/compile.rs"]
mod compile;
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
fn compile_seeds() {
    seeds("compile", compile::check);
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

/// The chunked reference decoder's known answers: what the decoder is compared with.
#[test]
fn chunked_reference_answers() {
    use chunked::{End, reference};
    let done = |data: &[u8], n| (data.to_vec(), End::Done(n));
    assert_eq!(reference(b"5\r\nhello\r\n0\r\n\r\nGET"), done(b"hello", 15));
    assert_eq!(
        reference(b"2;a=b \t\r\nhi\r\n1 \r\n!\r\n0\r\nX: y\r\n\r\n"),
        done(b"hi!", 31)
    );
    assert_eq!(reference(b"5\r\nhel"), (b"hel".to_vec(), End::More));
    assert_eq!(reference(b"5\r\nhello\r"), (b"hello".to_vec(), End::More));
    assert_eq!(reference(b"5\r\nhelloX"), (b"hello".to_vec(), End::Error));
    assert_eq!(
        reference(b"0000000000000001\r\nx\r\n0\r\n\r\n"),
        done(b"x", 26)
    );
    assert_eq!(reference(b"00000000000000001\r\n"), (vec![], End::Error));
    assert_eq!(reference(b"5\nhello"), (vec![], End::Error));
    assert_eq!(reference(b"0\r\n: v\r\n\r\n"), (vec![], End::Error));
    let mut long = vec![b'1'];
    long.push(b';');
    long.resize(webserv::server::http::body::MAX_LINE - 1, b'x');
    assert_eq!(reference(&long), (vec![], End::More));
    long.extend_from_slice(b"\r\n");
    assert_eq!(
        reference(&long),
        (vec![], End::More),
        "a size line of MAX_LINE with its CR"
    );
    long.insert(2, b'x');
    assert_eq!(reference(&long), (vec![], End::Error), "one byte more");
}

/// The head check's reference path decoding and normalisation.
#[test]
fn head_reference_path_answers() {
    use head::reference_path;
    for (raw, want) in [
        ("", Some("/")),
        ("/", Some("/")),
        ("/a//b/./c/", Some("/a/b/c/")),
        ("/a/b/..", Some("/a/")),
        ("/a/..", Some("/")),
        ("/%2e%2E/x", None),
        ("/a/%2e%2e%2Fb", Some("/b")),
        ("/caf%C3%A9", Some("/caf\u{e9}")),
        ("/%ff", None),
        ("/a%00", None),
        ("/%4", None),
    ] {
        assert_eq!(reference_path(raw).as_deref(), want, "{raw:?}");
    }
}

/// The range check's reference answers (RFC 9110 §14.1.2, one range).
#[test]
fn range_reference_answers() {
    use range::reference;
    use webserv::server::handlers::RangeSpec::{None as Whole, Single, Unsatisfiable};
    for (value, size, want) in [
        ("bytes=0-9", 100, Single(0, 9)),
        ("bytes=90-", 100, Single(90, 99)),
        ("bytes=-10", 100, Single(90, 99)),
        ("bytes=-200", 100, Single(0, 99)),
        ("bytes=50-500", 100, Single(50, 99)),
        ("bytes=100-", 100, Unsatisfiable),
        ("bytes=-0", 100, Unsatisfiable),
        ("bytes=-1", 0, Unsatisfiable),
        ("bytes=0-1,5-6", 100, Whole),
        ("bytes=9-1", 100, Whole),
        ("items=0-1", 100, Whole),
        ("bytes=0-99999999999999999999", 100, Whole),
    ] {
        assert_eq!(reference(value.as_bytes(), size), want, "{value} of {size}");
    }
}

/// The trailer-section limit, out of the fuzzer's reach (its inputs stay under 4 KiB):
/// a section of exactly `MAX_TRAILERS` bytes (CRs counted, LFs not) is accepted, one
/// byte more is a 400, and the decoder agrees with the reference on both whatever the
/// read sizes.
#[test]
fn chunked_trailer_section_limit() {
    use chunked::{End, check, reference};
    use webserv::server::http::body::{MAX_LINE, MAX_TRAILERS};
    // A full-length trailer line: MAX_LINE bytes with its CR.
    let line = format!("X: {}\r\n", "v".repeat(MAX_LINE - 4));
    let counted = line.len() - 1;
    let mut body = b"0\r\n".to_vec();
    let mut used = 0;
    // Room is left for the final empty line's CR.
    while used + counted < MAX_TRAILERS {
        body.extend_from_slice(line.as_bytes());
        used += counted;
    }
    let last = MAX_TRAILERS - used - 1 - 1;
    body.extend_from_slice(format!("Y:{}\r\n\r\n", "w".repeat(last - 2)).as_bytes());
    assert_eq!(reference(&body), (vec![], End::Done(body.len())));
    check(&body);
    body.insert(body.len() - 4, b'w');
    assert_eq!(reference(&body), (vec![], End::Error));
    check(&body);
}
