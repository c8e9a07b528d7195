//! Access and error logs, written by one logger thread so that no worker ever blocks on a
//! disk or a pipe: workers format a line and hand it over a channel.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::confc::model::LogTarget;

enum Msg {
    Line(LogTarget, String),
    /// Open a log file now, not at its first line.
    Open(PathBuf),
    Flush(Sender<()>),
}

struct Logger {
    tx: Mutex<Sender<Msg>>,
    /// Least severe error-log level written (index into LOG_LEVELS).
    level: std::sync::atomic::AtomicUsize,
    error_target: Mutex<LogTarget>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

fn logger() -> &'static Logger {
    LOGGER.get_or_init(|| {
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("webserv-log".into())
            .spawn(move || writer(rx))
            .expect("spawn logger thread");
        Logger {
            tx: Mutex::new(tx),
            level: std::sync::atomic::AtomicUsize::new(3),
            error_target: Mutex::new(LogTarget::Stderr),
        }
    })
}

fn writer(rx: Receiver<Msg>) {
    let mut files: HashMap<PathBuf, BufWriter<File>> = HashMap::new();
    let mut stdout = BufWriter::new(std::io::stdout());
    let mut stderr = std::io::stderr();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line(target, line) => match target {
                    LogTarget::Off => {}
                    LogTarget::Stdout => {
                        let _ = stdout.write_all(line.as_bytes());
                    }
                    LogTarget::Stderr => {
                        let _ = stderr.write_all(line.as_bytes());
                    }
                    LogTarget::File(p) => {
                        if let Some(f) = open_log(&mut files, &p, &mut stderr) {
                            let _ = f.write_all(line.as_bytes());
                        }
                    }
                },
                Msg::Open(p) => {
                    open_log(&mut files, &p, &mut stderr);
                }
                Msg::Flush(done) => {
                    let _ = stdout.flush();
                    for f in files.values_mut() {
                        let _ = f.flush();
                    }
                    let _ = done.send(());
                }
            }
            next = rx.try_recv().ok();
        }
        // The channel is drained: write out what is buffered.
        let _ = stdout.flush();
        for f in files.values_mut() {
            let _ = f.flush();
        }
    }
}

/// The open log file at `p`, opened (and kept) if it is not yet.
fn open_log<'a>(
    files: &'a mut HashMap<PathBuf, BufWriter<File>>,
    p: &PathBuf,
    stderr: &mut std::io::Stderr,
) -> Option<&'a mut BufWriter<File>> {
    if !files.contains_key(p) {
        match OpenOptions::new().create(true).append(true).open(p) {
            Ok(f) => {
                files.insert(p.clone(), BufWriter::new(f));
            }
            Err(e) => {
                let _ = writeln!(stderr, "webserv: cannot open log {}: {e}", p.display());
                return None;
            }
        }
    }
    files.get_mut(p)
}

/// Opens a log file now rather than at its first line: a server out of descriptors
/// (the moment it has most to say) could no longer open it.
pub fn open(target: &LogTarget) {
    if let LogTarget::File(p) = target
        && let Ok(tx) = logger().tx.lock()
    {
        let _ = tx.send(Msg::Open(p.clone()));
    }
}

/// Sets the error log destination and level (from the table's main settings).
pub fn configure(target: LogTarget, level: usize) {
    let l = logger();
    l.level.store(level, std::sync::atomic::Ordering::Relaxed);
    if let Ok(mut t) = l.error_target.lock() {
        *t = target;
    }
}

/// Hands a finished line (with its newline) to the logger thread.
pub fn write(target: &LogTarget, line: String) {
    if *target == LogTarget::Off {
        return;
    }
    if let Ok(tx) = logger().tx.lock() {
        let _ = tx.send(Msg::Line(target.clone(), line));
    }
}

/// An error-log line at a level (index into LOG_LEVELS: 0 debug … 7 emerg).
pub fn error_log(level: usize, msg: &str) {
    if level < logger().level.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    error_log_line(level, msg);
}

/// A lifecycle event (a reload that took effect), written at `notice` whatever the
/// configured level: whoever sent the signal needs to see that it worked.
pub fn lifecycle(msg: &str) {
    error_log_line(2, msg);
}

fn error_log_line(level: usize, msg: &str) {
    let l = logger();
    let target = l
        .error_target
        .lock()
        .map(|t| t.clone())
        .unwrap_or(LogTarget::Stderr);
    let name = crate::confc::model::LOG_LEVELS
        .get(level)
        .copied()
        .unwrap_or("error");
    write(
        &target,
        format!("{} [{name}] {msg}\n", local_time(now_secs())),
    );
}

/// A log line that can come in floods (running out of descriptors): the first is
/// written at once, repeats within the next `every` are only counted, and the count is
/// written in one line when that time is over (which starts a new window).
pub struct Throttle {
    every: std::time::Duration,
    /// When the current window started; none while quiet.
    window: Option<std::time::Instant>,
    repeats: u32,
}

impl Throttle {
    pub const fn new(every: std::time::Duration) -> Throttle {
        Throttle {
            every,
            window: None,
            repeats: 0,
        }
    }

    /// One occurrence: true when its line is to be written now.
    pub fn hit(&mut self, now: std::time::Instant) -> bool {
        match self.window {
            Some(start) if now.saturating_duration_since(start) < self.every => {
                self.repeats += 1;
                false
            }
            _ => {
                self.window = Some(now);
                self.repeats = 0;
                true
            }
        }
    }

    /// The repeats to report, once their window is over.
    pub fn due(&mut self, now: std::time::Instant) -> Option<u32> {
        let start = self.window?;
        if now.saturating_duration_since(start) < self.every {
            return None;
        }
        let n = std::mem::take(&mut self.repeats);
        self.window = (n > 0).then_some(now);
        (n > 0).then_some(n)
    }
}

/// Waits until everything sent so far is written (at shutdown, and in tests).
pub fn flush() {
    let (tx, rx) = channel();
    if let Ok(s) = logger().tx.lock() {
        let _ = s.send(Msg::Flush(tx));
    }
    let _ = rx.recv_timeout(std::time::Duration::from_secs(2));
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `25/Nov/2026:22:00:00 +0000`, the combined log format's time (in UTC).
pub fn local_time(unix: i64) -> String {
    let d = super::http::response::http_date(unix);
    // "Wed, 25 Nov 2026 22:00:00 GMT" → "25/Nov/2026:22:00:00 +0000"
    let p: Vec<&str> = d.split(' ').collect();
    if p.len() == 6 {
        format!("{}/{}/{}:{} +0000", p[1], p[2], p[3], p[4])
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::Throttle;
    use std::time::{Duration, Instant};

    #[test]
    fn a_flood_is_one_line_then_one_count_per_window() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut t = Throttle::new(Duration::from_secs(10));
        assert!(t.hit(at(0)));
        assert_eq!(t.due(at(5)), None);
        // 100 a second for the rest of the window: counted, not written.
        for i in 1..1000 {
            assert!(!t.hit(at(i * 10)));
        }
        assert_eq!(t.due(at(9_999)), None);
        assert_eq!(t.due(at(10_000)), Some(999));
        // The flood goes on: the next window counts again.
        assert!(!t.hit(at(10_001)));
        assert!(!t.hit(at(19_000)));
        assert_eq!(t.due(at(20_000)), Some(2));
        // Quiet for a window: nothing to report, and the next one is written at once.
        assert_eq!(t.due(at(30_000)), None);
        assert_eq!(t.due(at(40_000)), None);
        assert!(t.hit(at(40_001)));
    }
}
