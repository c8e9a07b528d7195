//! The config compiler (`confc::compile_bytes`), every renderer and the formatter, on any
//! bytes. Properties: no panic; a table iff no error; every span inside its file, on char
//! boundaries; `fmt` idempotent.

use std::path::PathBuf;

use webserv::confc::diag::Severity;
use webserv::confc::render::{Format, HumanStyle, render};
use webserv::confc::{CompileOptions, compile_bytes, parse};

pub fn check(data: &[u8]) {
    let c = compile_bytes(
        PathBuf::from("fuzz.conf"),
        data.to_vec(),
        &CompileOptions::hermetic(),
    );
    let has_errors = c.diags.list.iter().any(|d| d.severity == Severity::Error);
    assert_eq!(c.table.is_some(), !has_errors);
    for d in &c.diags.list {
        let spans = std::iter::once(d.span).chain(d.secondary.iter().map(|l| l.span));
        for s in spans {
            let text = &c.sources.file(s.file).text;
            assert!(s.start <= s.end, "{d:?}");
            assert!(text.is_char_boundary(s.start as usize), "{d:?}");
            assert!(text.is_char_boundary(s.end as usize), "{d:?}");
        }
    }
    let runs = [(&c.sources, c.diags.list.as_slice())];
    for format in [
        Format::Human,
        Format::Short,
        Format::Json,
        Format::Sarif,
        Format::Github,
    ] {
        for graphics in [false, true] {
            let style = HumanStyle {
                graphics,
                color: graphics,
                width: 80,
            };
            let _ = render(format, &runs, style);
            if format != Format::Human {
                break;
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(f) = parse::format(text)
    {
        assert_eq!(
            parse::format(&f).as_deref(),
            Some(f.as_str()),
            "fmt is not idempotent"
        );
    }
}
