//! nginx inheritance: a value set in an outer block applies inside unless the inner block
//! sets it (lists are replaced, not merged). One line per field, as in nginx's
//! `ngx_conf_merge_*_value`: child if set, else parent (which already holds the default).

use std::path::Path;
use std::time::Duration;

use super::lower::{Set, Settings};
use super::model::{DocRoot, LogTarget, Methods};
use super::source::SourceMap;
use super::table::{Effective, Origin, Sourced};

/// The built-in defaults (the `default` column of the directive table).
pub fn defaults(config_dir: &Path) -> Effective {
    fn d<T>(v: T) -> Sourced<T> {
        Sourced::default_value(v)
    }
    Effective {
        root: d(DocRoot::Root(config_dir.join("html"))),
        index: d(vec!["index.html".to_string()]),
        autoindex: d(false),
        allow_methods: d(Methods(Methods::GET.0 | Methods::HEAD.0)),
        ret: d(None),
        error_pages: d(Vec::new()),
        client_max_body_size: d(1 << 20),
        upload_store: d(None),
        cgi: d(Vec::new()),
        cgi_timeout: d(Duration::from_secs(60)),
        keepalive_timeout: d(Duration::from_secs(75)),
        client_header_timeout: d(Duration::from_secs(60)),
        client_body_timeout: d(Duration::from_secs(60)),
        send_timeout: d(Duration::from_secs(60)),
        access_log: d(LogTarget::Off),
    }
}

/// Where a raw value came from.
pub fn origin<T>(set: &Set<T>, sources: &SourceMap) -> Origin {
    Origin::Config {
        file: set.span.file,
        line: sources.line(set.span),
    }
}

fn pick<T: Clone>(child: &Option<Set<T>>, parent: &Sourced<T>, sources: &SourceMap) -> Sourced<T> {
    match child {
        Some(s) => Sourced {
            value: s.value.clone(),
            origin: origin(s, sources),
        },
        None => parent.clone(),
    }
}

fn pick_opt<T: Clone>(
    child: &Option<Set<T>>,
    parent: &Sourced<Option<T>>,
    sources: &SourceMap,
) -> Sourced<Option<T>> {
    match child {
        Some(s) => Sourced {
            value: Some(s.value.clone()),
            origin: origin(s, sources),
        },
        None => parent.clone(),
    }
}

/// The effective settings of a block inside `parent`. `return` is not inherited: a
/// server-level `return` answers before location matching, a location's only there.
pub fn merge(parent: &Effective, child: &Settings, sources: &SourceMap) -> Effective {
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
        send_timeout: pick(&child.send_timeout, &parent.send_timeout, sources),
        access_log: pick(&child.access_log, &parent.access_log, sources),
    }
}
