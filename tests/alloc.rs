//! A keep-alive GET of a cached file allocates nothing (ARCHITECTURE.md's invariant):
//! the real server, in this process, behind a global allocator that counts every
//! allocation, answers GETs on one connection from a client that itself allocates
//! nothing while it measures.
//!
//! Twice a second's worth of work may allocate on its own (the `Date` line is
//! rendered again when the second changes, the file cache opens the file again when
//! its 1 s trust runs out), so the requests are counted in batches and at least one
//! batch must have made no allocation at all: an allocation per request, or per few
//! requests, shows in every batch.
//!
//! Its own test binary (`harness = false`): the allocator is the whole process's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};

use webserv::confc::{CompileOptions, compile_file};
use webserv::server::{Options, start};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the counter is an
// atomic, which allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator, which is the system's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is the system's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const BATCH: usize = 100;
const BATCHES: usize = 20;

/// One GET on the connection; the answer is read whole into `buf` (its length is
/// known from the first answer). Allocates nothing.
fn get(sock: &mut TcpStream, request: &[u8], buf: &mut [u8], answer_len: usize) {
    sock.write_all(request).expect("send the request");
    sock.read_exact(&mut buf[..answer_len])
        .expect("read the answer");
    assert!(buf.starts_with(b"HTTP/1.1 200 "), "not a 200");
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("www")).unwrap();
    std::fs::write(dir.path().join("www/1k.txt"), [b'x'; 1024]).unwrap();
    let conf = dir.path().join("site.conf");
    std::fs::write(
        &conf,
        "access_log off;\nserver {\n    listen 127.0.0.1:8080;\n    root www;\n}\n",
    )
    .unwrap();
    let table = compile_file(&conf, &CompileOptions::hermetic())
        .expect("read config")
        .table
        .expect("config compiles");
    let server = start(
        table,
        Options {
            workers: 1,
            ephemeral_ports: true,
        },
    )
    .expect("start server");
    let addr = server.addr(8080).expect("bound");
    let mut sock = TcpStream::connect(addr).expect("connect");
    sock.set_nodelay(true).unwrap();
    let request = b"GET /1k.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";

    // The first answer: its length, and the file into the worker's cache.
    sock.write_all(request).unwrap();
    let mut buf = vec![0u8; 4096];
    let mut n = 0;
    let head_end = loop {
        n += sock.read(&mut buf[n..]).expect("read");
        if let Some(i) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let answer_len = head_end + 1024;
    while n < answer_len {
        n += sock.read(&mut buf[n..answer_len]).expect("read");
    }
    // Warm-up: pools, the head buffers, the cache, the connection's registration.
    for _ in 0..BATCH {
        get(&mut sock, request, &mut buf, answer_len);
    }

    let mut per_batch = [0u64; BATCHES];
    for count in per_batch.iter_mut() {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..BATCH {
            get(&mut sock, request, &mut buf, answer_len);
        }
        *count = ALLOCATIONS.load(Ordering::Relaxed) - before;
    }
    drop(sock);
    server.shutdown();
    let least = per_batch.iter().min().copied().unwrap_or(u64::MAX);
    assert_eq!(
        least, 0,
        "every batch of {BATCH} keep-alive GETs of a cached file allocated: {per_batch:?}"
    );
    println!(
        "keep-alive GET of a cached file: no allocation in {} of {BATCHES} batches of {BATCH} ({per_batch:?})",
        per_batch.iter().filter(|&&c| c == 0).count()
    );
}
