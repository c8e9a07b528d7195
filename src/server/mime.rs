//! Media types by file extension: nginx's `mime.types` (the list Debian's nginx 1.22
//! ships) with a few newer entries, overridable per block with `types { }`, and
//! `default_type` for extensions nobody knows.
//!
//! Deliberate differences from nginx's list: `.js` and `.mjs` are `text/javascript`
//! (RFC 9239), and `.md`, `.csv`, `.conf`, `.log`, `.yaml`, `.toml`, `.ttf`, `.otf`,
//! `.wav`, `.flac`, `.gz`, `.tar` and `.webmanifest` are known. Every `text/*` type is
//! sent with `; charset=utf-8` (nginx needs `charset utf-8;` for that).

use crate::confc::table::Effective;

/// (extension, type), sorted by extension: looked up by binary search.
static TABLE: &[(&str, &str)] = &[
    ("3gp", "video/3gpp"),
    ("3gpp", "video/3gpp"),
    ("7z", "application/x-7z-compressed"),
    ("ai", "application/postscript"),
    ("asf", "video/x-ms-asf"),
    ("asx", "video/x-ms-asf"),
    ("atom", "application/atom+xml"),
    ("avi", "video/x-msvideo"),
    ("avif", "image/avif"),
    ("bin", "application/octet-stream"),
    ("bmp", "image/x-ms-bmp"),
    ("cco", "application/x-cocoa"),
    ("conf", "text/plain"),
    ("crt", "application/x-x509-ca-cert"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("deb", "application/octet-stream"),
    ("der", "application/x-x509-ca-cert"),
    ("dll", "application/octet-stream"),
    ("dmg", "application/octet-stream"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("ear", "application/java-archive"),
    ("eot", "application/vnd.ms-fontobject"),
    ("eps", "application/postscript"),
    ("exe", "application/octet-stream"),
    ("flac", "audio/flac"),
    ("flv", "video/x-flv"),
    ("gif", "image/gif"),
    ("gz", "application/gzip"),
    ("hqx", "application/mac-binhex40"),
    ("htc", "text/x-component"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/x-icon"),
    ("ics", "text/calendar"),
    ("img", "application/octet-stream"),
    ("iso", "application/octet-stream"),
    ("jad", "text/vnd.sun.j2me.app-descriptor"),
    ("jar", "application/java-archive"),
    ("jardiff", "application/x-java-archive-diff"),
    ("jng", "image/x-jng"),
    ("jnlp", "application/x-java-jnlp-file"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("kar", "audio/midi"),
    ("kml", "application/vnd.google-earth.kml+xml"),
    ("kmz", "application/vnd.google-earth.kmz"),
    ("log", "text/plain"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("m4a", "audio/x-m4a"),
    ("m4v", "video/x-m4v"),
    ("map", "application/json"),
    ("md", "text/markdown"),
    ("mid", "audio/midi"),
    ("midi", "audio/midi"),
    ("mjs", "text/javascript"),
    ("mml", "text/mathml"),
    ("mng", "video/x-mng"),
    ("mov", "video/quicktime"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("mpeg", "video/mpeg"),
    ("mpg", "video/mpeg"),
    ("msi", "application/octet-stream"),
    ("msm", "application/octet-stream"),
    ("msp", "application/octet-stream"),
    ("odg", "application/vnd.oasis.opendocument.graphics"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ogg", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("otf", "font/otf"),
    ("pdb", "application/x-pilot"),
    ("pdf", "application/pdf"),
    ("pem", "application/x-x509-ca-cert"),
    ("pl", "application/x-perl"),
    ("pm", "application/x-perl"),
    ("png", "image/png"),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("prc", "application/x-pilot"),
    ("ps", "application/postscript"),
    ("ra", "audio/x-realaudio"),
    ("rar", "application/x-rar-compressed"),
    ("rpm", "application/x-redhat-package-manager"),
    ("rss", "application/rss+xml"),
    ("rtf", "application/rtf"),
    ("run", "application/x-makeself"),
    ("sea", "application/x-sea"),
    ("shtml", "text/html"),
    ("sit", "application/x-stuffit"),
    ("svg", "image/svg+xml"),
    ("svgz", "image/svg+xml"),
    ("swf", "application/x-shockwave-flash"),
    ("tar", "application/x-tar"),
    ("tcl", "application/x-tcl"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("tk", "application/x-tcl"),
    ("toml", "text/plain"),
    ("ts", "video/mp2t"),
    ("ttf", "font/ttf"),
    ("txt", "text/plain"),
    ("war", "application/java-archive"),
    ("wasm", "application/wasm"),
    ("wav", "audio/wav"),
    ("wbmp", "image/vnd.wap.wbmp"),
    ("webm", "video/webm"),
    ("webmanifest", "application/manifest+json"),
    ("webp", "image/webp"),
    ("wml", "text/vnd.wap.wml"),
    ("wmlc", "application/vnd.wap.wmlc"),
    ("wmv", "video/x-ms-wmv"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("xhtml", "application/xhtml+xml"),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("xml", "text/xml"),
    ("xpi", "application/x-xpinstall"),
    ("xspf", "application/xspf+xml"),
    ("yaml", "text/yaml"),
    ("yml", "text/yaml"),
    ("zip", "application/zip"),
];

/// The built-in type of a lower-case extension.
pub fn builtin(ext: &str) -> Option<&'static str> {
    TABLE
        .binary_search_by(|(e, _)| (*e).cmp(ext))
        .ok()
        .map(|i| TABLE[i].1)
}

/// The extension of a file name, if any (`archive.tar.gz` → `gz`).
pub fn extension(name: &str) -> Option<&str> {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => Some(ext),
        _ => None,
    }
}

/// The built-in type of a file name, if the table knows its extension.
pub fn builtin_for(name: &str) -> Option<&'static str> {
    let ext = extension(name)?;
    if ext.bytes().any(|b| b.is_ascii_uppercase()) {
        builtin(&ext.to_ascii_lowercase())
    } else {
        builtin(ext)
    }
}

/// The media type of `name` where `settings` apply: the block's `types` table (which
/// replaces the built-in one), else the built-in table, else `default_type`.
pub fn media_type<'a>(name: &str, settings: &'a Effective) -> &'a str {
    let Some(ext) = extension(name) else {
        return &settings.default_type.value;
    };
    let lower;
    let ext = if ext.bytes().any(|b| b.is_ascii_uppercase()) {
        lower = ext.to_ascii_lowercase();
        lower.as_str()
    } else {
        ext
    };
    let found = match &settings.types.value {
        Some(t) => t.by_ext.get(ext).map(String::as_str),
        None => builtin(ext),
    };
    found.unwrap_or(&settings.default_type.value)
}

/// Appends the `Content-Type` value of a media type: `text/*` with its charset.
pub fn push_content_type(out: &mut Vec<u8>, media: &str) {
    out.extend_from_slice(media.as_bytes());
    if media.starts_with("text/") && !media.contains(';') {
        out.extend_from_slice(b"; charset=utf-8");
    }
}

/// The `Content-Type` value of a media type, as [`push_content_type`] writes it.
pub fn content_type(media: &str) -> String {
    let mut v = Vec::with_capacity(media.len() + 15);
    push_content_type(&mut v, media);
    String::from_utf8(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confc::{CompileOptions, compile_str};

    #[test]
    fn the_table_is_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(builtin("html"), Some("text/html"));
        assert_eq!(builtin("docx").map(|t| t.len()), Some(71));
        assert_eq!(builtin("js"), Some("text/javascript"));
        assert_eq!(builtin("nope"), None);
    }

    fn settings(conf: &str) -> Effective {
        let t = compile_str(conf, &CompileOptions::hermetic())
            .table
            .unwrap();
        t.servers[0].settings.clone()
    }

    #[test]
    fn types_replace_the_table_and_default_type_fills_in() {
        let plain = settings("server { listen 8080; }");
        assert_eq!(media_type("/a/b.HTML", &plain), "text/html");
        assert_eq!(media_type("/x.tar.gz", &plain), "application/gzip");
        assert_eq!(media_type("/README", &plain), "application/octet-stream");
        assert_eq!(media_type("/.hidden", &plain), "application/octet-stream");
        let custom = settings(
            "default_type text/plain;\nserver { listen 8080; types { text/markdown md; } }",
        );
        assert_eq!(media_type("/doc.md", &custom), "text/markdown");
        // The block replaces the built-in table, as in nginx.
        assert_eq!(media_type("/index.html", &custom), "text/plain");
        assert_eq!(content_type("text/plain"), "text/plain; charset=utf-8");
        assert_eq!(content_type("image/png"), "image/png");
        assert_eq!(
            content_type("text/html; charset=latin1"),
            "text/html; charset=latin1"
        );
    }
}
