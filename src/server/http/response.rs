//! Response heads: status lines, HTTP dates, content types.
//! Everything here appends to a caller-owned buffer; nothing allocates per call.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Reason phrase of a status code.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        _ => match status / 100 {
            1 => "Informational",
            2 => "Success",
            3 => "Redirection",
            4 => "Client Error",
            _ => "Server Error",
        },
    }
}

/// `HTTP/1.1 404 Not Found\r\n`.
pub fn status_line(out: &mut Vec<u8>, status: u16) {
    // The statuses of nearly every response, pre-rendered: one copy.
    let line: &[u8] = match status {
        200 => b"HTTP/1.1 200 OK\r\n",
        206 => b"HTTP/1.1 206 Partial Content\r\n",
        304 => b"HTTP/1.1 304 Not Modified\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        _ => return render_status_line(out, status),
    };
    out.extend_from_slice(line);
}

fn render_status_line(out: &mut Vec<u8>, status: u16) {
    debug_assert!((100..1000).contains(&status));
    let digit = |n: u16| b'0' + (n % 10) as u8;
    out.extend_from_slice(&[
        b'H',
        b'T',
        b'T',
        b'P',
        b'/',
        b'1',
        b'.',
        b'1',
        b' ',
        digit(status / 100),
        digit(status / 10),
        digit(status),
        b' ',
    ]);
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends a decimal number without allocating.
pub fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// `Name: value\r\n`. A value never ends its field line early: CR, LF and NUL (from
/// a config string or a script's output) are written as spaces.
pub fn header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    if value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        out.extend(value.iter().map(|&b| {
            if matches!(b, b'\r' | b'\n' | 0) {
                b' '
            } else {
                b
            }
        }));
    } else {
        out.extend_from_slice(value);
    }
    out.extend_from_slice(b"\r\n");
}

/// A file's representation header lines, as sent with its 200 or 206 (a 206 adds
/// `Content-Range`): `Content-Type`, `Last-Modified`, `ETag`, `Accept-Ranges`.
pub fn file_headers(out: &mut Vec<u8>, media: &str, last_modified: &str, etag: &str) {
    out.extend_from_slice(b"Content-Type: ");
    super::super::mime::push_content_type(out, media);
    out.extend_from_slice(b"\r\n");
    header(out, "Last-Modified", last_modified.as_bytes());
    header(out, "ETag", etag.as_bytes());
    header(out, "Accept-Ranges", b"bytes");
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 → (year, month 1-12, day 1-31). Howard Hinnant's civil_from_days.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7).
pub fn http_date(unix: i64) -> String {
    let mut out = Vec::with_capacity(29);
    push_http_date(&mut out, unix);
    String::from_utf8(out).expect("an HTTP date is ASCII")
}

/// Appends [`http_date`] to `out` without formatting machinery (it goes out with
/// every response of a block that has `expires`).
pub fn push_http_date(out: &mut Vec<u8>, unix: i64) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    if !(1000..=9999).contains(&y) {
        // Dates nobody sends (before 1000 or after 9999) keep the general path.
        let text = format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
            DAYS[days.rem_euclid(7) as usize],
            d,
            MONTHS[(m - 1) as usize],
            y,
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        );
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let two = |n: u32| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
    let y = y as u32;
    let (h, mi, se) = (
        secs as u32 / 3600,
        (secs as u32 % 3600) / 60,
        secs as u32 % 60,
    );
    out.extend_from_slice(DAYS[days.rem_euclid(7) as usize].as_bytes());
    out.extend_from_slice(b", ");
    out.extend_from_slice(&two(d));
    out.push(b' ');
    out.extend_from_slice(MONTHS[(m - 1) as usize].as_bytes());
    out.push(b' ');
    out.extend_from_slice(&two(y / 100));
    out.extend_from_slice(&two(y % 100));
    out.push(b' ');
    out.extend_from_slice(&two(h));
    out.push(b':');
    out.extend_from_slice(&two(mi));
    out.push(b':');
    out.extend_from_slice(&two(se));
    out.extend_from_slice(b" GMT");
}

/// `2026-12-04 17:32 UTC`: a listing's modification time, to the minute, with its zone.
pub fn utc_minute(unix: i64) -> String {
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil(unix.div_euclid(86_400));
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// Parses the three HTTP date formats (IMF-fixdate, RFC 850, asctime) to Unix seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let parts: Vec<&str> = s.split([' ', ',', '-']).filter(|p| !p.is_empty()).collect();
    let (day, mon, year, time) = match parts.as_slice() {
        // Sun, 06 Nov 1994 08:49:37 GMT  /  Sunday, 06-Nov-94 08:49:37 GMT
        [_, d, m, y, t, "GMT"] => (*d, *m, *y, *t),
        // Sun Nov  6 08:49:37 1994
        [_, m, d, t, y] => (*d, *m, *y, *t),
        _ => return None,
    };
    let day: u32 = day.parse().ok()?;
    let month = MONTHS.iter().position(|x| *x == mon)? as i64 + 1;
    let mut year: i64 = year.parse().ok()?;
    if year < 100 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    let t: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    let [h, mi, se] = t.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || *h > 23 || *mi > 59 || *se > 60 {
        return None;
    }
    // days_from_civil
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

/// The `Date` header value, rendered at most once per second per worker, inside the
/// `Server` and `Date` lines every response starts with.
#[derive(Default)]
pub struct DateCache {
    /// The monotonic time at which the wall clock enters the next second.
    until: Option<Instant>,
    /// `Server: webserv\r\nDate: <IMF-fixdate>\r\n`.
    lines: String,
}

const SERVER_DATE: &str = "Server: webserv\r\nDate: ";

impl DateCache {
    /// The `Date` value at `now` (the worker turn's clock). The wall clock is read once
    /// per second, not once per response: between reads the value is kept until the
    /// monotonic clock reaches the instant at which the next second began.
    pub fn get(&mut self, now: Instant) -> &str {
        let lines = self.server_and_date(now);
        &lines[SERVER_DATE.len()..lines.len() - 2]
    }

    /// `Server: webserv\r\nDate: <value at now>\r\n`, as one piece.
    pub fn server_and_date(&mut self, now: Instant) -> &str {
        self.get_with(now, || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
        })
    }

    /// [`DateCache::server_and_date`] with the wall clock (time since the Unix epoch)
    /// passed in.
    fn get_with(&mut self, now: Instant, wall: impl FnOnce() -> Duration) -> &str {
        if self.until.is_none_or(|u| now >= u) {
            let wall = wall();
            self.lines.clear();
            self.lines.push_str(SERVER_DATE);
            self.lines.push_str(&http_date(wall.as_secs() as i64));
            self.lines.push_str("\r\n");
            let rest =
                Duration::from_secs(1) - Duration::from_nanos(u64::from(wall.subsec_nanos()));
            self.until = Some(now + rest);
        }
        &self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784111777)
        );
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(784111777)
        );
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(784111777));
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(2_145_916_555), "Thu, 31 Dec 2037 23:55:55 GMT");
        assert_eq!(http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
        assert_eq!(http_date(1_733_356_800), "Thu, 05 Dec 2024 00:00:00 GMT");
        assert_eq!(http_date(253_402_300_800), "Sat, 01 Jan 10000 00:00:00 GMT");
        assert_eq!(http_date(-30_610_224_000), "Wed, 01 Jan 1000 00:00:00 GMT");
    }

    /// The wall clock is read when the cached second may have ended, and only then.
    #[test]
    fn date_cache_reads_the_wall_clock_once_per_second() {
        let mut d = DateCache::default();
        let t0 = Instant::now();
        let at = |secs: u64, ms: u64| move || Duration::from_secs(secs) + Duration::from_millis(ms);
        // 08:49:37.300: the value holds until 08:49:38.000, 700 ms later.
        assert_eq!(
            d.get_with(t0, at(784111777, 300)),
            "Server: webserv\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        );
        let unread = || -> Duration { panic!("the wall clock was read within the second") };
        assert_eq!(
            d.get_with(t0 + Duration::from_millis(699), unread),
            "Server: webserv\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        );
        assert_eq!(
            d.get_with(t0 + Duration::from_millis(700), at(784111778, 0)),
            "Server: webserv\r\nDate: Sun, 06 Nov 1994 08:49:38 GMT\r\n"
        );
        // A wall clock set back is followed at the next second too.
        assert_eq!(
            d.get_with(t0 + Duration::from_millis(1700), at(784111700, 0)),
            "Server: webserv\r\nDate: Sun, 06 Nov 1994 08:48:20 GMT\r\n"
        );
        assert_eq!(
            d.get(t0 + Duration::from_millis(1701)),
            "Sun, 06 Nov 1994 08:48:20 GMT"
        );
    }

    /// The pre-rendered status lines say what the general rendering says.
    #[test]
    fn common_status_lines_match_the_general_rendering() {
        for status in [200, 206, 304, 404] {
            let (mut fast, mut general) = (Vec::new(), Vec::new());
            status_line(&mut fast, status);
            render_status_line(&mut general, status);
            assert_eq!(fast, general, "{status}");
        }
        let mut v = Vec::new();
        status_line(&mut v, 418);
        assert_eq!(v, b"HTTP/1.1 418 Client Error\r\n");
        v.clear();
        status_line(&mut v, 507);
        assert_eq!(v, b"HTTP/1.1 507 Insufficient Storage\r\n");
    }

    #[test]
    fn a_header_value_stays_on_its_line() {
        let mut v = Vec::new();
        header(&mut v, "Location", b"/a\r\nSet-Cookie: x=1\0");
        assert_eq!(v, b"Location: /a  Set-Cookie: x=1 \r\n");
    }

    #[test]
    fn numbers_and_types() {
        let mut v = Vec::new();
        push_u64(&mut v, 0);
        push_u64(&mut v, 1234567890);
        assert_eq!(v, b"01234567890");
    }
}
