//! One site used by the hover, completion, navigation and editing tests.

use std::path::PathBuf;

use crate::client::Dir;

/// Line numbers (0-based) are referred to by the tests.
pub const SITE: &str = "\
root .;
server {
    listen 8080;
    server_name a.example.com;
    error_page 404 /errors/404.html;
    location / {
        autoindex on;
        index index.html;
    }
    location /errors/ {
        root .;
    }
}
";

/// A directory with `site.conf`, `errors/404.html`, `www/`, `inc/a.conf`, `inc/b.conf`.
pub fn site() -> (Dir, PathBuf) {
    let d = Dir::new();
    let p = d.write("site.conf", SITE);
    d.write("errors/404.html", "not found\n");
    d.write("www/index.html", "hi\n");
    d.write("inc/a.conf", "autoindex on;\n");
    d.write("inc/b.conf", "index x.html;\n");
    (d, p)
}
