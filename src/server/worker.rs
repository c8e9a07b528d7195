//! One worker thread: a mio `Poll`, the shared listeners, a slab of connections and one
//! timer heap that feeds the poll timeout. Everything is non-blocking and drained to
//! `WouldBlock`; nothing waits without a deadline.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use super::conn::{Conn, Next, Pool, WorkerCtx};
use super::handlers::HandlerCtx;
use super::http::request::HeadLimits;
use super::http::response::DateCache;
use super::{Shared, log};

/// Token of the waker that signals shutdown and reloads.
pub const WAKER: Token = Token(usize::MAX);
/// Connection tokens start here; listeners use the tokens below.
const CONN_BASE: usize = 1 << 16;
/// Tokens per connection: the socket, then CGI stdin, stdout, stderr and pidfd.
const SUBTOKENS: usize = 8;
/// After EMFILE with no connection to close, accepting pauses this long instead of
/// spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Out of descriptors, a worker holds this many fewer connections than it had when
/// `accept` failed, so that the requests it serves can still open files, temporary
/// files and CGI pipes...
const FD_HEADROOM: usize = 8;
/// ...for this long; then it tries the full table again.
const FD_CAP_HOLD: Duration = Duration::from_secs(10);
/// "Too many open files" is logged once, then as a count at most this often.
const FD_LOG_EVERY: Duration = Duration::from_secs(10);
// The log's count is written while the cap lasts: the cap must outlast its window.
const _: () = assert!(FD_CAP_HOLD.as_secs() >= FD_LOG_EVERY.as_secs());
/// Connections accepted (and served at once) per listener event before the loop turns
/// to the other connections' events: a flood of new clients cannot starve old ones.
const ACCEPT_BATCH: usize = 64;
/// Longest in-flight responses may take after SIGTERM.
pub const GRACE: Duration = Duration::from_secs(10);

/// A listening socket shared by all workers, and the port the config gave it.
pub struct Listener {
    pub sock: TcpListener,
    /// The configured port (differs from the bound one only with ephemeral test binds).
    pub config_port: u16,
    /// The bound IP, when it is not a wildcard (then `getsockname` is not needed).
    pub fixed_ip: Option<std::net::IpAddr>,
}

/// A connection's deadline in the timer heap: when, slot, generation.
type Timer = Reverse<(Instant, usize, u32)>;

struct Slot {
    conn: Conn,
    generation: u32,
    /// The deadline the timer heap holds for this connection, if any.
    armed: Option<Instant>,
    /// In the epoll set: from the first time the connection has to wait.
    registered: bool,
}

pub struct Worker {
    poll: Poll,
    listeners: Vec<Listener>,
    shared: Arc<Shared>,
    ctx: WorkerCtx,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    generations: Vec<u32>,
    live: usize,
    timers: BinaryHeap<Timer>,
    generation_seen: u64,
    max_conns: usize,
    /// Out of descriptors: the connections this worker holds at most, and until when.
    fd_cap: Option<(usize, Instant)>,
    fd_log: log::Throttle,
    /// Connections to close to make room, the first to go last (slot, generation): the
    /// lowest ranked of one scan, used for the rest of the accept batch.
    victims: Vec<(usize, u32)>,
    accept_paused_until: Option<Instant>,
    accept_blocked_by_cap: bool,
    /// A listener still had connections queued when its batch ended (its edge is spent).
    accept_more: bool,
    /// This worker has told the main thread how many connections it is draining.
    drain_reported: bool,
}

impl Worker {
    pub fn new(
        poll: Poll,
        mut listeners: Vec<Listener>,
        shared: Arc<Shared>,
    ) -> io::Result<Worker> {
        for (i, l) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(&mut l.sock, Token(i), Interest::READABLE)?;
        }
        let table = shared.table();
        let tls = super::tls::configs(&table);
        let max_conns = table.main.worker_connections.value.max(1);
        // Reserved up front so the tables never grow by copying (which leaves the old
        // copies resident under mimalloc); capped, so a huge limit reserves no gigabytes.
        // One over the limit: a new client is served before another makes room for it.
        let reserve = (max_conns + 1).min(1 << 16);
        let generation_seen = shared.generation.load(Ordering::Acquire);
        let registry = poll.registry().try_clone()?;
        let slots: Vec<Option<Slot>> = Vec::with_capacity(reserve);
        small_pages(
            slots.as_ptr().cast(),
            slots.capacity() * size_of::<Option<Slot>>(),
        );
        let timers: BinaryHeap<Timer> = BinaryHeap::with_capacity(reserve);
        small_pages(
            timers.as_slice().as_ptr().cast(),
            timers.capacity() * size_of::<Timer>(),
        );
        let free: Vec<usize> = Vec::with_capacity(reserve);
        small_pages(free.as_ptr().cast(), free.capacity() * size_of::<usize>());
        let generations: Vec<u32> = Vec::with_capacity(reserve);
        small_pages(
            generations.as_ptr().cast(),
            generations.capacity() * size_of::<u32>(),
        );
        Ok(Worker {
            poll,
            listeners,
            shared,
            ctx: WorkerCtx {
                table,
                handlers: HandlerCtx::default(),
                date: DateCache::default(),
                pool: Pool::default(),
                limits: HeadLimits::default(),
                head_bufs: Default::default(),
                shutting_down: false,
                registry,
                zombies: Vec::new(),
                tls,
            },
            slots,
            free,
            generations,
            live: 0,
            timers,
            generation_seen,
            max_conns,
            fd_cap: None,
            fd_log: log::Throttle::new(FD_LOG_EVERY),
            victims: Vec::with_capacity(ACCEPT_BATCH),
            accept_paused_until: None,
            accept_blocked_by_cap: false,
            accept_more: false,
            drain_reported: false,
        })
    }

    /// Runs until shutdown completes.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut shutdown_deadline: Option<Instant> = None;
        loop {
            let timeout = self.next_timeout();
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                log::error_log(4, &format!("poll failed: {e}"));
                return;
            }
            let now = Instant::now();
            self.ctx.handlers.now = now;
            for ev in events.iter() {
                match ev.token() {
                    WAKER => {}
                    Token(i) if i < CONN_BASE => {
                        if !self.ctx.shutting_down {
                            self.accept(i, now);
                        }
                    }
                    Token(t) => {
                        let (slot, sub) =
                            ((t - CONN_BASE) / SUBTOKENS, (t - CONN_BASE) % SUBTOKENS);
                        if let Some(Some(s)) = self.slots.get_mut(slot) {
                            if sub != 0 {
                                s.conn.cgi_ready(sub);
                            } else {
                                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                                    s.conn.io.readable = true;
                                }
                                if ev.is_read_closed() || ev.is_error() {
                                    s.conn.io.read_closed = true;
                                }
                                if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                                    s.conn.io.writable = true;
                                }
                            }
                            self.drive(slot, now);
                        }
                    }
                }
            }
            self.check_shared(now, &mut shutdown_deadline);
            if !self.ctx.zombies.is_empty() {
                // Killed CGI children: reap the ones that are gone.
                self.ctx
                    .zombies
                    .retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_)) | Err(_)));
            }
            self.expire(now);
            self.ctx.handlers.files.sweep(now);
            if self.fd_cap.is_some() {
                self.fd_pressure_tick(now);
            }
            if self.accept_more && !self.ctx.shutting_down {
                self.accept_more = false;
                self.accept_all(now);
            }
            if let Some(until) = self.accept_paused_until
                && now >= until
            {
                self.accept_paused_until = None;
                self.accept_all(now);
            }
            if let Some(d) = shutdown_deadline
                && (self.live == 0 || now >= d)
            {
                return;
            }
        }
    }

    fn next_timeout(&self) -> Duration {
        let now = Instant::now();
        if self.accept_more {
            return Duration::ZERO;
        }
        let mut t = Duration::from_secs(1);
        if let Some(Reverse((at, _, _))) = self.timers.peek() {
            t = t.min(at.saturating_duration_since(now));
        }
        if let Some(until) = self.accept_paused_until {
            t = t.min(until.saturating_duration_since(now));
        }
        if !self.ctx.zombies.is_empty() {
            // Killed CGI children exit within milliseconds: reap them promptly.
            t = t.min(Duration::from_millis(20));
        }
        t
    }

    /// Reload and shutdown requests from the main thread.
    fn check_shared(&mut self, now: Instant, shutdown_deadline: &mut Option<Instant>) {
        let generation = self.shared.generation.load(Ordering::Acquire);
        if generation != self.generation_seen {
            self.generation_seen = generation;
            self.ctx.table = self.shared.table();
            // New handshakes use the new certificates; open connections keep theirs.
            self.ctx.tls = super::tls::configs(&self.ctx.table);
            // Group ids index the table: every connection's must come from the new one.
            for s in self.slots.iter_mut().flatten() {
                s.conn.refresh_group(&self.ctx.table);
            }
            self.ctx.handlers.roots.clear();
            // A reload may point a root at another tree (a deploy switching a symlink).
            self.ctx.handlers.files.clear();
            self.ctx.handlers.gz.clear();
            self.max_conns = self.ctx.table.main.worker_connections.value.max(1);
        }
        if self.shared.shutdown.load(Ordering::Acquire) && shutdown_deadline.is_none() {
            *shutdown_deadline = Some(now + GRACE);
            self.ctx.shutting_down = true;
            for l in &mut self.listeners {
                let _ = self.poll.registry().deregister(&mut l.sock);
            }
            self.listeners.clear();
        }
        if self.ctx.shutting_down {
            let idle: Vec<usize> = self
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_ref().filter(|s| s.conn.is_idle()).map(|_| i))
                .collect();
            for i in idle {
                self.close(i);
            }
            if !self.drain_reported {
                self.drain_reported = true;
                self.shared.report_draining(self.live);
            }
        }
    }

    fn accept_all(&mut self, now: Instant) {
        for i in 0..self.listeners.len() {
            self.accept(i, now);
        }
    }

    fn accept(&mut self, li: usize, now: Instant) {
        if self.accept_paused_until.is_some() {
            return;
        }
        // Ranked afresh for each batch, when the first connection must go.
        self.victims.clear();
        for _ in 0..ACCEPT_BATCH {
            if self.live >= self.capacity() && !self.has_victim(now) {
                // Every connection is busy with the server's own work: leave the rest in
                // the kernel's queue until one closes.
                self.accept_blocked_by_cap = true;
                return;
            }
            let Some(l) = self.listeners.get(li) else {
                return;
            };
            match l.sock.accept() {
                Ok((sock, peer)) => {
                    let ip = match l.fixed_ip {
                        Some(ip) => ip,
                        None => sock.local_addr().map(|a| a.ip()).unwrap_or(peer.ip()),
                    };
                    let local = SocketAddr::new(ip, l.config_port);
                    self.add(sock, peer, local, now);
                    // Full: the least useful connection makes room, once the new one has
                    // been served (a client that is already gone needed none).
                    if self.live > self.capacity() {
                        self.make_room(now);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let code = e.raw_os_error();
                    if code == Some(libc::EMFILE) || code == Some(libc::ENFILE) {
                        if self.out_of_descriptors(now) {
                            continue;
                        }
                        // Nothing to close: back off instead of spinning.
                        self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                        return;
                    }
                    if matches!(code, Some(libc::ECONNABORTED) | Some(libc::EPROTO)) {
                        continue;
                    }
                    log::error_log(4, &format!("accept failed: {e}"));
                    return;
                }
            }
        }
        // The batch ended with the queue perhaps not empty; no new edge will say so.
        self.accept_more = true;
    }

    /// The connections this worker may hold now: `worker_connections`, or fewer while
    /// descriptors are short.
    fn capacity(&self) -> usize {
        match self.fd_cap {
            Some((cap, _)) => cap.min(self.max_conns),
            None => self.max_conns,
        }
    }

    /// `accept` ran out of descriptors: log it (throttled), empty the file cache, hold
    /// [`FD_HEADROOM`] fewer connections than now, closing the least useful ones. False
    /// when none could be closed.
    fn out_of_descriptors(&mut self, now: Instant) -> bool {
        if self.fd_log.hit(now) {
            log::error_log(
                4,
                "accept: too many open files; closing the slowest connections to make room",
            );
        }
        self.ctx.handlers.files.clear();
        let cap = self.live.saturating_sub(FD_HEADROOM).max(1);
        self.fd_cap = Some((cap, now + FD_CAP_HOLD));
        let mut closed = false;
        while self.live >= cap && self.make_room(now) {
            closed = true;
        }
        closed
    }

    /// While descriptors are short: the throttled log's count, and the end of the cap
    /// (which outlasts the log's window: the count is always written).
    #[cold]
    fn fd_pressure_tick(&mut self, now: Instant) {
        if let Some(n) = self.fd_log.due(now) {
            let secs = FD_LOG_EVERY.as_secs();
            log::error_log(
                4,
                &format!("accept: too many open files {n} more times in the last {secs}s"),
            );
        }
        if let Some((_, until)) = self.fd_cap
            && now >= until
        {
            self.fd_cap = None;
        }
    }

    /// Closes the least useful connection (see `Conn::eviction_rank`) to make room. False
    /// when every connection is busy with the server's own work.
    fn make_room(&mut self, now: Instant) -> bool {
        if !self.has_victim(now) {
            return false;
        }
        match self.victims.pop() {
            Some((slot, _)) => {
                self.close(slot);
                true
            }
            None => false,
        }
    }

    /// Whether a connection may be closed to make room: the last of `victims` is one,
    /// still open (ranked again when they are used up, or not ranked yet in this batch).
    fn has_victim(&mut self, now: Instant) -> bool {
        for fresh in [false, true] {
            if fresh {
                self.rank_victims(now);
            }
            while let Some(&(slot, generation)) = self.victims.last() {
                if matches!(self.slots.get(slot), Some(Some(s)) if s.generation == generation) {
                    return true;
                }
                self.victims.pop();
            }
        }
        false
    }

    /// Ranks every connection that may be closed to make room and keeps the lowest
    /// [`ACCEPT_BATCH`] as `victims`, the first to go last.
    fn rank_victims(&mut self, now: Instant) {
        let mut ranked: Vec<(u64, usize, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = s.as_ref()?;
                let rank = s.conn.eviction_rank(&self.ctx, now)?;
                Some((rank, i, s.generation))
            })
            .collect();
        if ranked.len() > ACCEPT_BATCH {
            ranked.select_nth_unstable(ACCEPT_BATCH);
            ranked.truncate(ACCEPT_BATCH);
        }
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        self.victims.clear();
        self.victims
            .extend(ranked.into_iter().map(|(_, i, generation)| (i, generation)));
    }

    fn add(
        &mut self,
        sock: mio::net::TcpStream,
        peer: SocketAddr,
        local: SocketAddr,
        now: Instant,
    ) {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                self.generations.push(0);
                self.slots.len() - 1
            }
        };
        let mut conn = Conn::new(
            sock,
            peer,
            local,
            CONN_BASE + slot * SUBTOKENS,
            now,
            &self.ctx,
        );
        // A client sends its request right after the handshake, so it has usually
        // arrived by now: serve it at once. The socket joins the epoll set only when it
        // has to wait, so a `Connection: close` exchange never costs an epoll_ctl.
        conn.io.readable = true;
        self.generations[slot] = self.generations[slot].wrapping_add(1);
        self.slots[slot] = Some(Slot {
            conn,
            generation: self.generations[slot],
            armed: None,
            registered: false,
        });
        self.live += 1;
        self.drive(slot, now);
    }

    fn drive(&mut self, slot: usize, now: Instant) {
        let Some(Some(s)) = self.slots.get_mut(slot) else {
            return;
        };
        match s.conn.drive(&mut self.ctx, now) {
            Next::Wait if !s.registered => {
                let token = Token(s.conn.token_base);
                let interest = Interest::READABLE | Interest::WRITABLE;
                // Edge-triggered: readiness that is already there is reported by the
                // next poll, so nothing is lost between the failed read and this.
                if self
                    .poll
                    .registry()
                    .register(&mut s.conn.io.sock, token, interest)
                    .is_err()
                {
                    self.close(slot);
                    return;
                }
                s.registered = true;
                self.arm(slot);
            }
            Next::Wait => self.arm(slot),
            Next::Close => self.close(slot),
        }
    }

    /// Makes sure the timer heap will wake us by the connection's deadline.
    fn arm(&mut self, slot: usize) {
        let Some(Some(s)) = self.slots.get_mut(slot) else {
            return;
        };
        let d = s.conn.deadline;
        if s.armed.is_none_or(|a| d < a) {
            s.armed = Some(d);
            self.timers.push(Reverse((d, slot, s.generation)));
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(Reverse((at, slot, generation))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(Some(s)) = self.slots.get_mut(slot) else {
                continue;
            };
            if s.generation != generation || s.armed != Some(at) {
                continue; // stale entry
            }
            s.armed = None;
            if s.conn.deadline <= now {
                match s.conn.on_timeout(&mut self.ctx, now) {
                    Next::Wait => self.arm(slot),
                    Next::Close => self.close(slot),
                }
            } else {
                self.arm(slot);
            }
        }
    }

    fn close(&mut self, slot: usize) {
        let Some(mut s) = self.slots.get_mut(slot).and_then(Option::take) else {
            return;
        };
        // No explicit deregister: the socket is never duplicated, so closing it removes
        // it from the epoll set (one syscall less per connection).
        s.conn.release(&mut self.ctx);
        self.free.push(slot);
        self.live -= 1;
        if self.accept_blocked_by_cap && !self.ctx.shutting_down {
            // Accepted by the loop after this round of events (not from here: a close
            // inside `accept` would recurse).
            self.accept_blocked_by_cap = false;
            self.accept_more = true;
        }
    }
}

/// Keeps a reserved table on small pages: `bytes` from `start`. mimalloc hints its
/// arena for transparent huge pages, so a table that idle connections fill slot by slot
/// would grow the process in 2 MiB steps (10,000 idle connections cost 2 or 4 MiB by
/// where the table happened to start); on 4 KiB pages it costs what the slots take.
fn small_pages(start: *const u8, bytes: usize) {
    const PAGE: usize = 4096;
    let first = (start as usize).next_multiple_of(PAGE);
    let end = (start as usize + bytes) & !(PAGE - 1);
    if end > first {
        // SAFETY: the range lies inside an allocation this worker owns (page-aligned
        // inward); MADV_NOHUGEPAGE only changes how the kernel backs it, never its
        // contents or validity.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                end - first,
                libc::MADV_NOHUGEPAGE,
            );
        }
    }
}
