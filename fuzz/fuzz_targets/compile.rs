//! Any bytes through the config compiler, every renderer and the formatter: no panic,
//! a table iff no errors, spans inside their file, `fmt` idempotent.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use webserv::confc::diag::Severity;
use webserv::confc::render::{Format, HumanStyle, render};
use webserv::confc::{CompileOptions, compile_bytes, parse};

fuzz_target!(|data: &[u8]| {
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
});
