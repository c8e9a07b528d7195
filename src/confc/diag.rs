//! Diagnostics: stable codes, labelled spans, help. Rendering lives in `render`.

use super::source::Span;

/// Error or warning. Warnings do not fail `check` unless `--deny-warnings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $slug:literal, $sev:ident, $title:literal, $explain:literal;)*) => {
        /// Every diagnostic webserv can emit. The slug is the stable, public code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code { $($variant),* }

        impl Code {
            /// All codes, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable code, e.g. `schema::unknown-directive`.
            pub fn slug(self) -> &'static str {
                match self { $(Code::$variant => $slug),* }
            }

            /// Whether this code is an error or a warning.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev),* }
            }

            /// One line saying what the code is about.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title),* }
            }

            /// A few sentences on what the code means and how to fix it (README, editor
            /// hover).
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$variant => $explain),* }
            }
        }
    };
}

codes! {
    Unreadable = "io::unreadable", Error, "a file (or an included file) cannot be read",
        "The file or an included file exists but cannot be read: a directory, missing permissions, or an I/O error. Fix the path or the permissions.";
    InvalidUtf8 = "syntax::invalid-utf8", Error, "the file is not valid UTF-8",
        "Config files are UTF-8. The first invalid byte is marked; the rest of that file is not checked, because its tokens cannot be trusted.";
    UnterminatedString = "syntax::unterminated-string", Error, "a quoted string is never closed",
        "A `\"` or `'` opens a string that runs to the end of the file. Everything after the quote is inside the string, so nothing after it is checked.";
    UnclosedBlock = "syntax::unclosed-block", Error, "a `{` has no matching `}`",
        "Each `{` needs a `}`. The innermost unclosed block is marked, with its unclosed parents and the end of the file.";
    StrayBrace = "syntax::stray-brace", Error, "a `}` closes no block",
        "A `}` appears where no block is open, usually one `}` too many or a `{` lost earlier.";
    MissingSemicolon = "syntax::missing-semicolon", Error, "a directive is not ended by `;`",
        "A simple directive ends with `;`. Without it the next line is read as more arguments; webserv notices when the next word is a directive name or starts a new line.";
    StraySemicolon = "syntax::stray-semicolon", Error, "a `;` ends no directive",
        "A `;` with no directive before it. A run of them is one mistake.";
    AnonymousBlock = "syntax::anonymous-block", Error, "a `{` opens a block that has no directive name",
        "A block belongs to a directive (`server { }`, `location /x { }`); a bare `{` has nothing to belong to.";
    TooDeep = "syntax::nesting-too-deep", Error, "blocks nest deeper than 64 levels",
        "Blocks nested more than 64 deep are refused and the rest of the file is not checked. No real config nests that far.";
    UnknownDirective = "schema::unknown-directive", Error, "no directive has this name",
        "No directive in webserv's table has this name. A close match is suggested; nginx's `http { }`, `events { }` and `stream { }` wrappers do not exist in webserv.";
    NotAllowedHere = "schema::not-allowed-here", Error, "the directive exists but not in this context",
        "The directive exists but not in this block. The help lists the contexts (main, server, location) where it is allowed.";
    WrongArity = "schema::wrong-arity", Error, "too few or too many arguments",
        "The directive has too few or too many arguments for its syntax; the syntax line is shown.";
    BlockExpected = "schema::block-expected", Error, "the directive takes a `{ }` block, not `;`",
        "`server` and `location` open a `{ }` block; they cannot end with `;`.";
    BlockUnexpected = "schema::block-unexpected", Error, "the directive ends with `;`, it takes no block",
        "A simple directive ends with `;`; it cannot open a block.";
    DuplicateDirective = "schema::duplicate-directive", Error, "a non-repeatable directive is set twice in one block",
        "A directive that is not repeatable appears twice in one block (possibly through an include). The first one is marked; remove one of them.";
    IncludeNotFound = "include::not-found", Error, "an include names a file that does not exist",
        "An `include` without wildcards names a file that does not exist. Relative paths start at the directory of the file that holds the include.";
    IncludeCycle = "include::cycle", Error, "a file includes itself, directly or not",
        "A file includes itself, directly or through other files. The include that closes the cycle is marked and skipped.";
    IncludeGlob = "include::bad-glob", Error, "an include pattern is not a valid glob",
        "The include pattern is not a valid glob (for example an unclosed `[`).";
    BadSize = "value::size", Error, "not a size (`512`, `10k`, `8m`, `1g`)",
        "Sizes are whole numbers of bytes with an optional unit `k`, `m` or `g` (powers of 1024); `0` means no limit.";
    BadTime = "value::time", Error, "not a time (`500ms`, `30s`, `5m`, `1h`, `1d`)",
        "Times are numbers with a unit (`ms`, `s`, `m`, `h`, `d`), or a bare number of seconds, or a sequence like `1m30s`; at most one year.";
    BadPort = "value::port", Error, "not a port number 1-65535",
        "Ports are whole numbers from 1 to 65535.";
    BadAddress = "value::address", Error, "not a listen address (`[addr:]port`, `*:port`, `[::1]:port`)",
        "`listen` takes `port`, `addr:port`, `*:port` or `[ipv6]:port`; host names other than `localhost` are not resolved.";
    BadStatus = "value::status", Error, "not a valid status code for this directive",
        "A three-digit status code in the range the directive accepts: 100-599 for `return`, 300-599 for `error_page`.";
    BadMethod = "value::method", Error, "not an HTTP method webserv knows",
        "Methods are case-sensitive and one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH.";
    BadFlag = "value::flag", Error, "not `on` or `off`",
        "Flags are exactly `on` or `off`; words like `yes`, `true` or `1` are not accepted.";
    BadNumber = "value::number", Error, "not a number in range",
        "A whole number inside the range the directive accepts.";
    BadRegex = "value::regex", Error, "a regular expression does not compile",
        "The regular expression does not compile. webserv uses Rust regex syntax, close to PCRE without look-around or backreferences.";
    BadServerName = "value::server-name", Error, "a server name wildcard is malformed",
        "A wildcard name has one `*` at the start (`*.example.com`) or at the end (`mail.*`); `.example.com` also matches the bare name; `~` starts a regex.";
    BadExtension = "value::cgi-extension", Error, "a CGI extension must look like `.py`",
        "`cgi` takes an extension that starts with `.` followed by letters, digits, `_` or `-`.";
    BadLogLevel = "value::log-level", Error, "not an error_log level",
        "`error_log` levels are debug, info, notice, warn, error, crit, alert, emerg.";
    BadLocationModifier = "value::location-modifier", Error, "not a location modifier (`=`, `^~`, `~`, `~*`)",
        "A location modifier is `=` (exact), `^~` (prefix, no regex), `~` (regex) or `~*` (case-insensitive regex); named locations (`@x`) are not supported.";
    BadParameter = "value::parameter", Error, "an argument has no meaning here",
        "An argument that the directive does not understand here, such as an empty path, an unknown listen parameter or an index name with `/`.";
    BadVariable = "value::variable", Error, "a `$` that starts no variable name, or a regex capture",
        "A `$` starts a variable: `$name` or `${name}`. nginx has no escape for a literal `$`, and webserv has no regex captures (`$1`): build the value from `$uri`, `$request_uri` or `$args`.";
    UnknownVariable = "value::unknown-variable", Error, "no variable has this name",
        "Variables webserv knows: `$scheme $host $server_name $server_port $request_uri $uri $document_uri $args $query_string $is_args $request_method $remote_addr $remote_port $content_type $content_length`, `$arg_NAME` and `$http_NAME`.";
    BadHeader = "value::header", Error, "not a header field name, or a header the server writes itself",
        "`add_header` takes a field name (letters, digits, `-`) and a one-line value. `Content-Length`, `Transfer-Encoding` and `Connection` frame the response and are written by the server only.";
    BadMimeType = "value::mime-type", Error, "not a media type (`type/subtype`)",
        "`default_type`, `gzip_types` and `types { }` entries are media types like `text/css` or `application/json`.";
    BadAccessRule = "value::access-rule", Error, "not an IP address, a CIDR block or `all`",
        "`allow` and `deny` take an IPv4 or IPv6 address, a CIDR block (`10.0.0.0/8`, `2001:db8::/32`) or `all`; host names are not resolved.";
    BadTlsProtocol = "value::ssl-protocol", Error, "not a TLS protocol name webserv speaks",
        "`ssl_protocols` takes `TLSv1.2` and `TLSv1.3`. A name that is neither is an error, and so is a list that holds only versions webserv refuses (see `tls::old-protocol`).";
    NoServer = "resolve::no-server", Error, "the config defines no `server`",
        "A config must define at least one `server { }` block, or there is nothing to serve.";
    DuplicateServer = "resolve::duplicate-server", Error, "two servers share a listen address and a server name",
        "Two servers listen on the same address with the same name: the second could never be chosen. Both are marked.";
    DuplicateListen = "resolve::duplicate-listen", Error, "one server lists the same address twice",
        "One server lists the same listen address twice.";
    DuplicateDefault = "resolve::duplicate-default-server", Error, "two servers are `default_server` for one address",
        "Only one server per listen address can be its `default_server`.";
    DuplicateLocation = "resolve::duplicate-location", Error, "two locations with the same modifier and pattern in one block",
        "Two locations in one block have the same modifier and pattern (`/x` and `^~ /x` count as the same prefix); the second is never used.";
    NestedOutside = "resolve::nested-location", Error, "a nested location its parent can never hand a request to",
        "A nested location its parent never hands a request to: a prefix that does not start with the parent's prefix, or anything inside an exact (`=`) location.";
    RootAndAlias = "resolve::root-and-alias", Error, "`root` and `alias` in the same block",
        "`root` appends the URI to a path, `alias` replaces the location's prefix: a block can use one of them, not both.";
    AliasInRegex = "resolve::alias-in-regex", Error, "`alias` inside a regex location",
        "`alias` needs a literal prefix to replace; in a regex location webserv has no captures to build the path from. Use `root` there.";
    ErrorPageTarget = "resolve::error-page-target", Error, "an error_page target that no location serves",
        "An `error_page` URI is served by a location that answers with `return` or does not allow GET, so the error page itself could never be shown.";
    TlsMixedPort = "tls::mixed-port", Error, "one port is `ssl` for one server and plain for another",
        "A port speaks TLS or plain HTTP, not both: every `listen` of one port must have `ssl`, or none. Both listens are marked; use another port for the other protocol (nginx would silently make them all `ssl`).";
    NoCertificate = "tls::no-certificate", Error, "an `ssl` listen without `ssl_certificate` and `ssl_certificate_key`",
        "A server with `listen ... ssl` needs a certificate and its key, set in the server or in the main context; a certificate also needs its key. Without them no TLS handshake could succeed.";
    CertUnreadable = "tls::unreadable", Error, "a certificate or key file is missing or cannot be read",
        "The file named by `ssl_certificate` or `ssl_certificate_key` does not exist or cannot be read (a directory, permissions). Relative paths start at the directory of the config file that names them. `check` reads these files as the server would.";
    BadPem = "tls::bad-pem", Error, "a certificate or key file holds no usable certificate or key",
        "`ssl_certificate` needs a PEM file with at least one `CERTIFICATE` block that parses; `ssl_certificate_key` needs a PEM private key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`), not encrypted, of a kind TLS can sign with (RSA, ECDSA P-256/P-384, Ed25519). The two files swapped is a common cause.";
    KeyMismatch = "tls::key-mismatch", Error, "the private key does not belong to the certificate",
        "The key named by `ssl_certificate_key` is not the key of the first certificate in `ssl_certificate`, so every handshake would fail. Either the wrong key file is named, or the chain file does not start with the server's own certificate.";
    CertExpired = "tls::expired", Warning, "a certificate has expired or is not valid yet",
        "A certificate of the chain is outside its validity period on this machine's clock (the date is shown): browsers refuse it. Renew it, or check the clock.";
    CertExpiresSoon = "tls::expires-soon", Warning, "a certificate expires within 14 days",
        "A certificate of the chain expires within 14 days (the date is shown). Renew it; `webserv` reads the new files on reload (SIGHUP).";
    NameNotCovered = "tls::name-not-covered", Warning, "a server_name the certificate does not cover",
        "A `server_name` of a server with an `ssl` listen is not among the certificate's DNS names (subject alternative names; `*.example.com` covers one label), so browsers would refuse the connection for that name. Regex and `mail.*` names are not checked.";
    ChainOrder = "tls::chain-order", Warning, "the certificates of a chain are out of order",
        "After the server's own certificate, each certificate in the `ssl_certificate` file should be the issuer of the one before it. Some clients cannot build the chain from a file out of order; put the intermediates in order, leaf first.";
    OldTlsProtocol = "tls::old-protocol", Warning, "`ssl_protocols` names a version webserv does not speak",
        "`SSLv2`, `SSLv3`, `TLSv1` and `TLSv1.1` are broken or deprecated and webserv never speaks them; the name is ignored. Every current client speaks TLSv1.2.";
    UnreachableLocation = "lint::unreachable-location", Warning, "a location no request can reach",
        "A regex location that an earlier regex always wins over (regexes are tried in file order), or an exact copy of one.";
    MissingDirectory = "lint::missing-directory", Warning, "a root or alias directory does not exist",
        "A `root` or `alias` directory does not exist on this machine; requests there would get 404. Relative paths start at the config file's directory.";
    CgiInterpreter = "lint::cgi-interpreter", Warning, "a CGI interpreter is missing or not executable",
        "The interpreter named by `cgi` is missing or not executable, so every script of that extension would fail with 502.";
    UploadStore = "lint::upload-store", Warning, "an upload_store directory is missing or not writable",
        "The `upload_store` directory is missing or not writable by this user, so uploads would fail with 500.";
    HiddenServer = "lint::hidden-server", Warning, "a server on `*:port` is hidden by an IP-specific listen",
        "nginx semantics: a `listen` on a specific IP takes every connection to that IP and port, so a server on `*:port` is not reachable through that IP.";
    UnreachableRule = "lint::unreachable-rule", Warning, "an allow/deny rule after `all`, which never matches",
        "`allow` and `deny` rules are checked in order and the first that matches decides; a rule after `allow all` or `deny all` is never reached.";
    HtpasswdEntry = "lint::htpasswd-entry", Warning, "an htpasswd line webserv cannot verify",
        "webserv verifies apr1 (`htpasswd -m`, the default), bcrypt (`-B`), `{SHA}` (`-s`) and crypt SHA-256/512 (`-2`, `-5`). A user with a plain-text, DES or MD5-crypt hash cannot log in.";
}

/// The environment variable that says where the project's documentation (README.md)
/// is published, e.g. `https://example.org/webserv/README.md`.
pub const DOCS_URL_ENV: &str = "WEBSERV_DOCS_URL";

/// Where the project's documentation (README.md) is published: `WEBSERV_DOCS_URL` at
/// run time, else Cargo.toml's `homepage` at build time. `None` when neither says: then
/// diagnostics name no documentation address at all rather than a made-up one.
pub fn docs_url() -> Option<&'static str> {
    static URL: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let at_run = std::env::var(DOCS_URL_ENV).ok();
        let at_build = Some(env!("CARGO_PKG_HOMEPAGE").to_string());
        [at_run, at_build]
            .into_iter()
            .flatten()
            .map(|u| u.trim().to_string())
            .find(|u| !u.is_empty())
            .map(|u| u.split('#').next().unwrap_or_default().to_string())
    })
    .as_deref()
}

impl Code {
    /// The anchor of this code's row in the README's diagnostic-code table:
    /// `schema::unknown-directive` → `schema-unknown-directive`.
    pub fn doc_anchor(self) -> String {
        self.slug().replace("::", "-")
    }
}

/// The documentation of a code: its row in the README's diagnostic-code table under
/// [`docs_url`] (`…/README.md#schema-unknown-directive`). The one source of a code's
/// documentation address, for SARIF's `helpUri` and an editor's `codeDescription`.
pub fn doc_url(code: Code) -> Option<String> {
    docs_url().map(|base| format!("{base}#{}", code.doc_anchor()))
}

/// A secondary place in the source that explains the primary one.
#[derive(Clone, Debug)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// A change that resolves a diagnostic: replace `span` with `text` (an editor's quick
/// fix: the did-you-mean word, a missing `;`, a closing `}`, a duplicate removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub span: Span,
    pub text: String,
}

/// One diagnostic: a code, a message, a primary labelled span, secondary labels, help.
#[derive(Clone, Debug)]
pub struct Diag {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    pub fix: Option<Box<Fix>>,
}

impl Diag {
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diag {
        Diag {
            code,
            severity: code.severity(),
            message: message.into(),
            span,
            label: String::new(),
            secondary: Vec::new(),
            help: None,
            fix: None,
        }
    }

    /// Text under the primary span.
    pub fn label(mut self, text: impl Into<String>) -> Diag {
        self.label = text.into();
        self
    }

    /// Another place involved in the same mistake.
    pub fn with(mut self, span: Span, text: impl Into<String>) -> Diag {
        self.secondary.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Diag {
        self.help = Some(text.into());
        self
    }

    /// The change that resolves it: `span` becomes `text`.
    pub fn fix(mut self, title: impl Into<String>, span: Span, text: impl Into<String>) -> Diag {
        self.fix = Some(Box::new(Fix {
            title: title.into(),
            span,
            text: text.into(),
        }));
        self
    }
}

/// The diagnostics of one compilation, in the order they were found.
#[derive(Debug, Default)]
pub struct Diags {
    pub list: Vec<Diag>,
    /// Diagnostics past [`MAX_DIAGS`], counted but not kept: (errors, warnings).
    pub omitted: (usize, usize),
}

/// Diagnostics kept per compilation. A pathological file (64 MiB of `a;`) would
/// otherwise hold millions of them in memory; nobody reads past the first thousands.
pub const MAX_DIAGS: usize = 10_000;

impl Diags {
    /// Moves `other`'s diagnostics (and its omitted counts) after these, keeping the cap.
    pub fn append(&mut self, other: Diags) {
        for d in other.list {
            self.push(d);
        }
        self.omitted.0 += other.omitted.0;
        self.omitted.1 += other.omitted.1;
    }

    pub fn push(&mut self, d: Diag) {
        if self.list.len() < MAX_DIAGS {
            self.list.push(d);
        } else if d.severity == Severity::Error {
            self.omitted.0 += 1;
        } else {
            self.omitted.1 += 1;
        }
    }

    pub fn errors(&self) -> usize {
        self.omitted.0
            + self
                .list
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count()
    }

    pub fn warnings(&self) -> usize {
        self.omitted.1
            + self
                .list
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .count()
    }

    pub fn has_errors(&self) -> bool {
        self.omitted.0 > 0 || self.list.iter().any(|d| d.severity == Severity::Error)
    }

    /// Sorted by file and position, so output is stable whatever pass found what.
    pub fn sort(&mut self) {
        self.list
            .sort_by_key(|d| (d.span.file, d.span.start, d.span.end, d.code.slug()));
    }
}

/// "did you mean" for a misspelt word among candidates (jaro-winkler > 0.8, as jj does).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
