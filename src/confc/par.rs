//! Running independent pieces of one compilation on several threads (large configs
//! only: parse segments, runs of server blocks to lower, runs of servers to resolve).

/// Threads a compilation may use: one per core, at most 8.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// `f` applied to every item, results in item order: the first item on the calling
/// thread, the others on scoped threads. A panic in any of them is raised again here.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let Some((first, rest)) = items.split_first() else {
        return Vec::new();
    };
    let f = &f;
    std::thread::scope(|s| {
        let others: Vec<_> = rest.iter().map(|item| s.spawn(move || f(item))).collect();
        let mut out = Vec::with_capacity(items.len());
        out.push(f(first));
        for h in others {
            out.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}
