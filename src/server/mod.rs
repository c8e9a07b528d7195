//! The event-loop HTTP/1.1 server: `RoutingTable` → bytes on sockets. It never sees config
//! text: `run::run_cli` compiles, `start` binds and spawns the workers.

pub mod auth;
pub mod cgi;
pub mod conn;
pub mod dispatch;
pub mod filecache;
pub mod fs;
pub mod gzip;
pub mod handlers;
pub mod http;
pub mod log;
pub mod mime;
pub mod multipart;
pub mod pages;
pub mod router;
pub mod run;
pub mod tls;
pub mod upload;
pub mod vars;
pub mod worker;

pub use run::{Serve, run_cli};

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use mio::{Poll, Waker};

use crate::confc::table::RoutingTable;

/// State the main thread shares with the workers: the current table (replaced on
/// SIGHUP) and the shutdown flag. Workers read it only when woken, never per request.
pub struct Shared {
    table: RwLock<Arc<RoutingTable>>,
    pub generation: AtomicU64,
    pub shutdown: AtomicBool,
    /// Filled by the workers once, when they see the shutdown: how many have reported
    /// and how many connections they still have to finish.
    draining: Mutex<Draining>,
    drained: Condvar,
}

#[derive(Default)]
struct Draining {
    workers: usize,
    connections: usize,
}

impl Shared {
    /// A worker's answer to the shutdown: the connections it is still finishing (its
    /// idle ones are closed by then). Counted only at shutdown, never per connection.
    pub fn report_draining(&self, connections: usize) {
        let mut d = self.draining.lock().unwrap_or_else(|p| p.into_inner());
        d.workers += 1;
        d.connections += connections;
        self.drained.notify_all();
    }

    pub fn table(&self) -> Arc<RoutingTable> {
        self.table
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

/// How to start.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Worker threads; 0 = `worker_processes` from the table (`auto` = cores).
    pub workers: usize,
    /// Bind every listen address on port 0 (tests); `ServerHandle::addr` says where.
    pub ephemeral_ports: bool,
}

/// A running server.
pub struct ServerHandle {
    shared: Arc<Shared>,
    wakers: Vec<Waker>,
    threads: Vec<JoinHandle<()>>,
    /// (configured address, bound address) of every listening socket.
    pub bound: Vec<(SocketAddr, SocketAddr)>,
}

impl ServerHandle {
    /// Where the socket configured as `port` is bound (the first one with that port).
    pub fn addr(&self, port: u16) -> Option<SocketAddr> {
        self.bound
            .iter()
            .find(|(c, _)| c.port() == port)
            .map(|(_, b)| *b)
    }

    /// Serves new requests with a new table; established connections stay open.
    pub fn reload(&self, table: RoutingTable) {
        if let Ok(mut t) = self.shared.table.write() {
            *t = Arc::new(table);
        }
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        self.wake();
    }

    fn wake(&self) {
        for w in &self.wakers {
            let _ = w.wake();
        }
    }

    /// Stops accepting, lets in-flight responses finish (bounded), joins the workers.
    pub fn shutdown(self) {
        self.stop_accepting();
        self.join();
    }

    /// Tells the workers to stop accepting and to close their idle connections;
    /// returns how many connections they are still finishing (each has at most
    /// `worker::GRACE`). Waits for every worker's count, at most a second.
    pub fn stop_accepting(&self) -> usize {
        self.shared.shutdown.store(true, Ordering::Release);
        self.wake();
        let d = self
            .shared
            .draining
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (d, _) = self
            .shared
            .drained
            .wait_timeout_while(d, Duration::from_secs(1), |d| {
                d.workers < self.threads.len()
            })
            .unwrap_or_else(|p| p.into_inner());
        d.connections
    }

    /// Waits for the workers to finish (after [`ServerHandle::stop_accepting`]).
    pub fn join(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        log::flush();
    }
}

fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    // Linux copies TCP_NODELAY to every accepted socket: set once here, not once per
    // connection.
    sock.set_nodelay(true)?;
    defer_accept(&sock);
    sock.bind(&addr.into())?;
    sock.listen(libc::SOMAXCONN)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

/// Asks Linux to hand a connection to `accept` only once its first bytes have arrived
/// (`TCP_DEFER_ACCEPT`, 1 s; h2o's default, nginx's `listen ... deferred`). An HTTP
/// client speaks first, so the accept turn can read and answer the request at once
/// instead of parking the socket in epoll until the request follows the handshake.
/// A client that connects and stays silent is handed over anyway once the kernel has
/// retransmitted its SYN-ACK (after about a second), and then gets the usual header
/// timeout. Best effort: where the option is missing, connections come as before.
fn defer_accept(sock: &socket2::Socket) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::AsRawFd;
        let secs: libc::c_int = 1;
        // SAFETY: a valid socket fd and a c_int option value of the size passed.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_DEFER_ACCEPT,
                std::ptr::addr_of!(secs).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = sock;
}

/// Binds every listen address of the table and starts the workers.
pub fn start(table: RoutingTable, opts: Options) -> io::Result<ServerHandle> {
    let mut sockets = Vec::new();
    let mut bound = Vec::new();
    for b in &table.binds {
        let want = if opts.ephemeral_ports {
            SocketAddr::new(b.addr.ip(), 0)
        } else {
            b.addr
        };
        let sock = bind(want)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {}: {e}", b.addr)))?;
        let actual = sock.local_addr()?;
        bound.push((b.addr, actual));
        let fixed_ip = if b.addr.ip().is_unspecified() {
            None
        } else {
            Some(b.addr.ip())
        };
        sockets.push((sock, b.addr.port(), fixed_ip));
    }
    let workers = match opts.workers {
        0 => match table.main.worker_processes.value {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        },
        n => n,
    };
    log::configure(
        table.main.error_log.value.clone(),
        table.main.error_log_level.value,
    );
    log::open(&table.main.error_log.value);
    let access_logs = table.servers.iter().map(|s| &s.settings);
    for settings in access_logs.chain(table.locations.iter().map(|l| &l.settings)) {
        log::open(&settings.access_log.value);
    }
    let shared = Arc::new(Shared {
        table: RwLock::new(Arc::new(table)),
        generation: AtomicU64::new(0),
        shutdown: AtomicBool::new(false),
        draining: Mutex::new(Draining::default()),
        drained: Condvar::new(),
    });
    let mut wakers = Vec::new();
    let mut threads = Vec::new();
    for i in 0..workers {
        let poll = Poll::new()?;
        wakers.push(Waker::new(poll.registry(), worker::WAKER)?);
        let mut listeners = Vec::new();
        for (s, port, ip) in &sockets {
            listeners.push(worker::Listener {
                sock: mio::net::TcpListener::from_std(s.try_clone()?),
                config_port: *port,
                fixed_ip: *ip,
            });
        }
        let w = worker::Worker::new(poll, listeners, shared.clone())?;
        threads.push(
            std::thread::Builder::new()
                .name(format!("webserv-worker-{i}"))
                .spawn(move || w.run())?,
        );
    }
    Ok(ServerHandle {
        shared,
        wakers,
        threads,
        bound,
    })
}

/// Marks every descriptor this process inherited (beyond stdio) close-on-exec, so CGI
/// children get nothing but their pipes. Done once at start instead of in the child,
/// which keeps spawning on the fast posix_spawn path.
pub(crate) fn close_inherited_fds_on_exec() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: F_GETFD/F_SETFD only change the descriptor's flags; a stale number
        // (the read_dir handle itself, now closed) just fails with EBADF.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}
