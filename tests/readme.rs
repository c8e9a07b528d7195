//! README.md's directive reference and diagnostic-code table are generated from the
//! directive table and the code list; this test fails when they drift
//! (`BLESS=1 cargo test --test readme` rewrites them).

use std::path::Path;

use webserv::confc::diag::{Code, Severity};
use webserv::confc::schema::{Ctx, DIRECTIVES};

fn directives() -> String {
    let mut out = String::new();
    for s in DIRECTIVES {
        let ctx: Vec<&str> = s.contexts.iter().map(|c: &Ctx| c.as_str()).collect();
        let mut flags = Vec::new();
        if s.repeatable {
            flags.push("repeatable");
        }
        if s.inherited {
            flags.push("inherited");
        }
        out.push_str(&format!(
            "- **`{}`** — in {}; default {}{}. {}\n",
            s.syntax,
            ctx.join(", "),
            s.default.map_or("none".to_string(), |d| format!("`{d}`")),
            if flags.is_empty() {
                String::new()
            } else {
                format!("; {}", flags.join(", "))
            },
            s.doc
        ));
    }
    out
}

/// The first snapshot case that shows each code.
fn example(code: Code) -> Option<String> {
    let mut stack = vec![Path::new("tests/conf_cases").to_path_buf()];
    let mut found: Vec<String> = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "stderr")
                && std::fs::read_to_string(&p)
                    .is_ok_and(|t| t.lines().any(|l| l.trim() == code.slug()))
            {
                found.push(p.with_extension("conf").display().to_string());
            }
        }
    }
    found.sort();
    found.into_iter().next()
}

fn codes() -> String {
    let mut out = String::from("| code | severity | meaning | example |\n|---|---|---|---|\n");
    for &c in Code::ALL {
        let sev = if c.severity() == Severity::Error {
            "error"
        } else {
            "warning"
        };
        let ex = example(c).map_or("—".to_string(), |p| {
            format!("[{}]({p})", p.trim_start_matches("tests/conf_cases/"))
        });
        // The anchor is what `diag::doc_url` links to (SARIF `helpUri`, editors).
        out.push_str(&format!(
            "| <a id=\"{}\"></a>`{}` | {sev} | **{}.** {} | {ex} |\n",
            c.doc_anchor(),
            c.slug(),
            c.title().replace('|', "\\|"),
            c.explanation().replace('|', "\\|")
        ));
    }
    out
}

fn splice(text: &str, name: &str, body: &str) -> String {
    let begin = format!("<!-- {name}:begin -->\n");
    let end = format!("<!-- {name}:end -->");
    let (Some(a), Some(b)) = (text.find(&begin), text.find(&end)) else {
        panic!("README.md lacks the markers {begin:?} and {end:?}");
    };
    format!("{}{begin}{body}{}", &text[..a], &text[b..])
}

#[test]
fn readme_reference_matches_the_tables() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let want = splice(
        &splice(&readme, "directives", &directives()),
        "codes",
        &codes(),
    );
    if std::env::var_os("BLESS").is_some() {
        std::fs::write("README.md", &want).expect("write README.md");
        return;
    }
    assert!(
        readme == want,
        "README.md's directive or code reference is out of date: run `BLESS=1 cargo test --test readme`"
    );
}
