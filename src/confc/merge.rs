//! nginx inheritance: a value set in an outer block applies inside unless the inner block
//! sets it (lists are replaced, not merged). One line per field, as in nginx's
//! `ngx_conf_merge_*_value`: child if set, else parent (which already holds the default).

use std::fmt::Write as _;
use std::path::Path;

use super::diag::Diags;
use super::raw::{MainConf, Set, Settings};
use super::schema::{self, Apply, DIRECTIVES};
use super::source::{SourceMap, Span};
use super::table::{Effective, Origin, Sourced};

/// How a raw value's directive becomes its origin: a config file and line, or the
/// built-in default.
pub trait Provenance {
    fn origin(&self, span: Span) -> Origin;
}

impl Provenance for SourceMap {
    fn origin(&self, span: Span) -> Origin {
        Origin::Config {
            file: span.file,
            line: self.line(span),
        }
    }
}

/// Values lowered from the schema's `default` column.
struct Builtin;

impl Provenance for Builtin {
    fn origin(&self, _: Span) -> Origin {
        Origin::Default
    }
}

/// The built-in defaults, with one source: each schema row's `default` string, lowered
/// by the row's own setter as if written in the main context of a file in `config_dir`
/// (so `root html` is relative to the config's directory). Returns the inheritable
/// settings and the main-only ones (`error_log`, `worker_*`).
pub fn defaults(config_dir: &Path) -> (Effective, MainConf) {
    let mut text = String::new();
    for spec in DIRECTIVES {
        if let (Some(d), Apply::Setting(_) | Apply::Main(_)) = (spec.default, spec.apply) {
            let _ = writeln!(text, "{} {d};", spec.name);
        }
    }
    let mut sources = SourceMap::new();
    let id = sources.add(config_dir.join("(defaults)"), text.clone(), None);
    let mut diags = Diags::default();
    let items = super::parse::parse(id, &text, &schema::is_directive, &mut diags);
    let main = super::lower::lower(&items, &sources, &mut diags);
    debug_assert!(diags.list.is_empty(), "{:?}", diags.list);
    let settings = merge(&Effective::default(), &main.settings, &Builtin);
    (settings, main)
}

/// A main-only setting: as set in the config, else the built-in default (lowered from
/// the schema too).
pub fn pick_main<T: Clone + Default>(
    child: &Option<Set<T>>,
    builtin: &Option<Set<T>>,
    sources: &SourceMap,
) -> Sourced<T> {
    match (child, builtin) {
        (Some(s), _) => Sourced {
            value: s.value.clone(),
            origin: sources.origin(s.span),
        },
        (None, Some(b)) => Sourced::default_value(b.value.clone()),
        (None, None) => Sourced::default(),
    }
}

fn pick<T: Clone>(
    child: &Option<Set<T>>,
    parent: &Sourced<T>,
    sources: &impl Provenance,
) -> Sourced<T> {
    match child {
        Some(s) => Sourced {
            value: s.value.clone(),
            origin: sources.origin(s.span),
        },
        None => parent.clone(),
    }
}

fn pick_opt<T: Clone>(
    child: &Option<Set<T>>,
    parent: &Sourced<Option<T>>,
    sources: &impl Provenance,
) -> Sourced<Option<T>> {
    match child {
        Some(s) => Sourced {
            value: Some(s.value.clone()),
            origin: sources.origin(s.span),
        },
        None => parent.clone(),
    }
}

/// The effective settings of a block inside `parent`. `return` is not inherited: a
/// server-level `return` answers before location matching, a location's only there.
pub fn merge(parent: &Effective, child: &Settings, sources: &impl Provenance) -> Effective {
    Effective {
        root: pick(&child.root, &parent.root, sources),
        index: pick(&child.index, &parent.index, sources),
        autoindex: pick(&child.autoindex, &parent.autoindex, sources),
        allow_methods: pick(&child.allow_methods, &parent.allow_methods, sources),
        ret: pick_opt(&child.ret, &Sourced::default_value(None), sources),
        error_pages: pick(&child.error_pages, &parent.error_pages, sources),
        client_max_body_size: pick(
            &child.client_max_body_size,
            &parent.client_max_body_size,
            sources,
        ),
        upload_store: pick_opt(&child.upload_store, &parent.upload_store, sources),
        cgi: pick(&child.cgi, &parent.cgi, sources),
        cgi_timeout: pick(&child.cgi_timeout, &parent.cgi_timeout, sources),
        keepalive_timeout: pick(&child.keepalive_timeout, &parent.keepalive_timeout, sources),
        client_header_timeout: pick(
            &child.client_header_timeout,
            &parent.client_header_timeout,
            sources,
        ),
        client_body_timeout: pick(
            &child.client_body_timeout,
            &parent.client_body_timeout,
            sources,
        ),
        client_body_min_rate: pick(
            &child.client_body_min_rate,
            &parent.client_body_min_rate,
            sources,
        ),
        send_timeout: pick(&child.send_timeout, &parent.send_timeout, sources),
        access_log: pick(&child.access_log, &parent.access_log, sources),
        try_files: pick_opt(&child.try_files, &Sourced::default_value(None), sources),
        add_headers: pick(&child.add_headers, &parent.add_headers, sources),
        expires: pick(&child.expires, &parent.expires, sources),
        gzip: pick(&child.gzip, &parent.gzip, sources),
        gzip_static: pick(&child.gzip_static, &parent.gzip_static, sources),
        gzip_types: pick(&child.gzip_types, &parent.gzip_types, sources),
        gzip_min_length: pick(&child.gzip_min_length, &parent.gzip_min_length, sources),
        gzip_comp_level: pick(&child.gzip_comp_level, &parent.gzip_comp_level, sources),
        access: pick(&child.access, &parent.access, sources),
        auth_basic: pick(&child.auth_basic, &parent.auth_basic, sources),
        auth_basic_user_file: pick_opt(
            &child.auth_basic_user_file,
            &parent.auth_basic_user_file,
            sources,
        ),
        default_type: pick(&child.default_type, &parent.default_type, sources),
        types: pick_opt(&child.types, &parent.types, sources),
        ssl_certificate: pick_opt(&child.ssl_certificate, &parent.ssl_certificate, sources),
        ssl_certificate_key: pick_opt(
            &child.ssl_certificate_key,
            &parent.ssl_certificate_key,
            sources,
        ),
        ssl_protocols: pick(&child.ssl_protocols, &parent.ssl_protocols, sources),
        ssl_session_timeout: pick(
            &child.ssl_session_timeout,
            &parent.ssl_session_timeout,
            sources,
        ),
        ssl_session_tickets: pick(
            &child.ssl_session_tickets,
            &parent.ssl_session_tickets,
            sources,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confc::{CompileOptions, compile_str};

    /// Every schema default written out in `main`.
    fn written_out() -> String {
        let mut text = String::new();
        for spec in DIRECTIVES {
            if let (Some(d), Apply::Setting(_) | Apply::Main(_)) = (spec.default, spec.apply) {
                let _ = writeln!(text, "{} {d};", spec.name);
            }
        }
        text
    }

    /// A config that sets nothing and one that writes every schema default out get the
    /// same effective values: the defaults have no source but the schema rows.
    #[test]
    fn effective_defaults_are_the_schema_defaults_lowered() {
        let server = "server { listen 8080; }\n";
        let compile = |text: &str| {
            compile_str(text, &CompileOptions::hermetic())
                .table
                .expect("compiles")
        };
        let bare = compile(server);
        let explicit = compile(&format!("{}{server}", written_out()));
        let rows = |t: &super::super::table::RoutingTable| t.servers[0].settings.rows();
        let values = |r: Vec<(&'static str, String, Origin)>| {
            r.into_iter().map(|(n, v, _)| (n, v)).collect::<Vec<_>>()
        };
        assert_eq!(values(rows(&bare)), values(rows(&explicit)));
        assert!(rows(&bare).iter().all(|r| r.2 == Origin::Default));
        let m = |t: &super::super::table::RoutingTable| {
            (
                t.main.error_log.value.clone(),
                t.main.error_log_level.value,
                t.main.worker_processes.value,
                t.main.worker_connections.value,
            )
        };
        assert_eq!(m(&bare), m(&explicit));
        assert_eq!(bare.main.worker_connections.origin, Origin::Default);
        // Every inheritable directive has its row in `routes` and `explain`.
        let names: Vec<&str> = rows(&bare).iter().map(|r| r.0).collect();
        for spec in DIRECTIVES {
            if let Apply::Setting(_) = spec.apply {
                // `alias` shares `root`'s row, `allow` and `deny` share `allow/deny`.
                let shown = names
                    .iter()
                    .any(|n| n.split('/').any(|part| part == spec.name))
                    || (spec.name == "alias" && names.contains(&"root"));
                assert!(shown, "`{}` has no row in Effective::rows", spec.name);
            }
        }
    }
}
