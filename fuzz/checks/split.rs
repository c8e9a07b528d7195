//! Ways to cut one input into successive reads, for the parsers that are fed in pieces.
//!
//! Every cutting is derived from the input alone (the pseudo-random read sizes are seeded
//! by a hash of it), so a failing corpus file reproduces without any other state.

/// Inputs up to this long are also cut in two at every position; longer ones at a
/// spread of positions (a target adds the positions it cares about).
const EVERY_CUT: usize = 256;

/// Cuttings of an input of `len` bytes: each is the strictly increasing positions,
/// inside `1..len`, where one read ends and the next begins. The first is no cut at all
/// (one read), the second a read per byte.
pub fn cuttings(data: &[u8]) -> Vec<Vec<usize>> {
    let n = data.len();
    let mut out = vec![Vec::new(), (1..n).collect()];
    let step = n / EVERY_CUT + 1;
    out.extend((1..n).step_by(step).map(|i| vec![i]));
    let mut state = fnv1a(data) | 1;
    for max in [3, 8, 64, 1024] {
        let mut cuts = Vec::new();
        let mut at = 0;
        loop {
            state = xorshift(state);
            at += 1 + (state % max) as usize;
            if at >= n {
                break;
            }
            cuts.push(at);
        }
        out.push(cuts);
    }
    out
}

/// The reads `cuts` makes of `data`.
pub fn pieces<'a>(data: &'a [u8], cuts: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let starts = std::iter::once(0).chain(cuts.iter().copied());
    let ends = cuts.iter().copied().chain(std::iter::once(data.len()));
    starts.zip(ends).map(move |(a, b)| &data[a..b])
}

/// A 64-bit FNV-1a hash: the seed of an input's pseudo-random choices.
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The next state of a xorshift64 generator (`state` must not be 0).
pub fn xorshift(mut state: u64) -> u64 {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    state
}
