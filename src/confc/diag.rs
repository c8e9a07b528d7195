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
    ($($variant:ident = $slug:literal, $sev:ident, $title:literal;)*) => {
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
        }
    };
}

codes! {
    Unreadable = "io::unreadable", Error, "a file (or an included file) cannot be read";
    InvalidUtf8 = "syntax::invalid-utf8", Error, "the file is not valid UTF-8";
    UnterminatedString = "syntax::unterminated-string", Error, "a quoted string is never closed";
    UnclosedBlock = "syntax::unclosed-block", Error, "a `{` has no matching `}`";
    StrayBrace = "syntax::stray-brace", Error, "a `}` closes no block";
    MissingSemicolon = "syntax::missing-semicolon", Error, "a directive is not ended by `;`";
    StraySemicolon = "syntax::stray-semicolon", Error, "a `;` ends no directive";
    AnonymousBlock = "syntax::anonymous-block", Error, "a `{` opens a block that has no directive name";
    TooDeep = "syntax::nesting-too-deep", Error, "blocks nest deeper than 64 levels";
    UnknownDirective = "schema::unknown-directive", Error, "no directive has this name";
    NotAllowedHere = "schema::not-allowed-here", Error, "the directive exists but not in this context";
    WrongArity = "schema::wrong-arity", Error, "too few or too many arguments";
    BlockExpected = "schema::block-expected", Error, "the directive takes a `{ }` block, not `;`";
    BlockUnexpected = "schema::block-unexpected", Error, "the directive ends with `;`, it takes no block";
    DuplicateDirective = "schema::duplicate-directive", Error, "a non-repeatable directive is set twice in one block";
    IncludeNotFound = "include::not-found", Error, "an include names a file that does not exist";
    IncludeCycle = "include::cycle", Error, "a file includes itself, directly or not";
    IncludeGlob = "include::bad-glob", Error, "an include pattern is not a valid glob";
    BadSize = "value::size", Error, "not a size (`512`, `10k`, `8m`, `1g`)";
    BadTime = "value::time", Error, "not a time (`500ms`, `30s`, `5m`, `1h`, `1d`)";
    BadPort = "value::port", Error, "not a port number 1-65535";
    BadAddress = "value::address", Error, "not a listen address (`[addr:]port`, `*:port`, `[::1]:port`)";
    BadStatus = "value::status", Error, "not a valid status code for this directive";
    BadMethod = "value::method", Error, "not an HTTP method webserv knows";
    BadFlag = "value::flag", Error, "not `on` or `off`";
    BadNumber = "value::number", Error, "not a number in range";
    BadRegex = "value::regex", Error, "a regular expression does not compile";
    BadServerName = "value::server-name", Error, "a server name wildcard is malformed";
    BadExtension = "value::cgi-extension", Error, "a CGI extension must look like `.py`";
    BadLogLevel = "value::log-level", Error, "not an error_log level";
    BadLocationModifier = "value::location-modifier", Error, "not a location modifier (`=`, `^~`, `~`, `~*`)";
    BadParameter = "value::parameter", Error, "an argument has no meaning here";
    NoServer = "resolve::no-server", Error, "the config defines no `server`";
    DuplicateServer = "resolve::duplicate-server", Error, "two servers share a listen address and a server name";
    DuplicateListen = "resolve::duplicate-listen", Error, "one server lists the same address twice";
    DuplicateDefault = "resolve::duplicate-default-server", Error, "two servers are `default_server` for one address";
    DuplicateLocation = "resolve::duplicate-location", Error, "two locations with the same modifier and pattern in one block";
    NestedOutside = "resolve::nested-location", Error, "a nested location its parent can never hand a request to";
    RootAndAlias = "resolve::root-and-alias", Error, "`root` and `alias` in the same block";
    AliasInRegex = "resolve::alias-in-regex", Error, "`alias` inside a regex location";
    ErrorPageTarget = "resolve::error-page-target", Error, "an error_page target that no location serves";
    UnreachableLocation = "lint::unreachable-location", Warning, "a location no request can reach";
    MissingDirectory = "lint::missing-directory", Warning, "a root or alias directory does not exist";
    CgiInterpreter = "lint::cgi-interpreter", Warning, "a CGI interpreter is missing or not executable";
    UploadStore = "lint::upload-store", Warning, "an upload_store directory is missing or not writable";
    HiddenServer = "lint::hidden-server", Warning, "a server on `*:port` is hidden by an IP-specific listen";
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
