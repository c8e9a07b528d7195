//! The `Range` header parser (`server::handlers::parse_range`), the input being the
//! header's value, against file sizes at the edges (0, 1, the largest) and on both sides
//! of every number in the value. Properties:
//!
//! - A range is inside the file: `start <= end < size`, so `end - start + 1` bytes from
//!   `start` can be sent and `Content-Range: bytes start-end/size` is true.
//! - The answer is the one RFC 9110 §14.1.2 gives for a single range, computed here from
//!   the value's grammar: `bytes=first-[last]` selects `first..=min(last, size-1)` and is
//!   unsatisfiable when `first >= size`; `bytes=-n` selects the last `n` bytes and is
//!   unsatisfiable when `n` or the file is empty; `last < first`, several ranges, another
//!   unit or anything malformed is ignored (the whole file).

use webserv::server::handlers::{RangeSpec, parse_range};

pub fn check(data: &[u8]) {
    let mut sizes = vec![0, 1, 2, 10, u64::MAX - 1, u64::MAX];
    for n in numbers(data) {
        sizes.extend([
            n.saturating_sub(1),
            n,
            n.saturating_add(1),
            n.saturating_add(2),
        ]);
    }
    sizes.sort_unstable();
    sizes.dedup();
    for size in sizes {
        let got = parse_range(data, size);
        if let RangeSpec::Single(start, end) = got {
            assert!(start <= end && end < size, "{start}-{end} of {size}");
        }
        assert_eq!(
            got,
            reference(data, size),
            "{:?} of {size} bytes",
            String::from_utf8_lossy(data)
        );
    }
}

/// Every run of ASCII digits, as a number (saturating).
fn numbers(data: &[u8]) -> Vec<u64> {
    data.split(|b| !b.is_ascii_digit())
        .filter(|d| !d.is_empty())
        .take(8)
        .map(|d| {
            d.iter().fold(0u64, |n, &c| {
                n.saturating_mul(10).saturating_add(u64::from(c - b'0'))
            })
        })
        .collect()
}

/// A single byte range of a file of `size` bytes, from the value's grammar: the whole
/// value and the range-spec may be surrounded by whitespace; positions are `1*DIGIT`
/// that fit in a u64.
pub fn reference(value: &[u8], size: u64) -> RangeSpec {
    let Ok(value) = std::str::from_utf8(value) else {
        return RangeSpec::None;
    };
    let Some(set) = value.trim().strip_prefix("bytes=") else {
        return RangeSpec::None;
    };
    let spec = set.trim();
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.bytes().try_fold(0u64, |n, c| {
            n.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        })
    };
    let Some(dash) = spec.find('-') else {
        return RangeSpec::None;
    };
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    if first.is_empty() {
        // suffix-range
        return match number(last) {
            None => RangeSpec::None,
            Some(0) => RangeSpec::Unsatisfiable,
            Some(_) if size == 0 => RangeSpec::Unsatisfiable,
            Some(n) => RangeSpec::Single(size - n.min(size), size - 1),
        };
    }
    let Some(first) = number(first) else {
        return RangeSpec::None;
    };
    let last = if last.is_empty() {
        None
    } else {
        match number(last) {
            Some(l) if l >= first => Some(l),
            _ => return RangeSpec::None,
        }
    };
    if first >= size {
        return RangeSpec::Unsatisfiable;
    }
    RangeSpec::Single(first, last.map_or(size - 1, |l| l.min(size - 1)))
}
