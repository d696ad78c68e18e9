//! Notes are markdown. Raw HTML inside them is shown as text, never
//! interpreted, so a note cannot run script in a teammate's UI.

use pulldown_cmark::{Event, Options, Parser, html};

pub fn to_html(source: &str) -> String {
    let parser =
        Parser::new_ext(source, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS)
            .map(|event| match event {
                Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
                other => other,
            })
            .map(|event| match event {
                // Links may not run script either.
                Event::Start(pulldown_cmark::Tag::Link { link_type, dest_url, title, id })
                    if dest_url.trim().to_ascii_lowercase().starts_with("javascript:") =>
                {
                    Event::Start(pulldown_cmark::Tag::Link { link_type, dest_url: "#".into(), title, id })
                }
                other => other,
            });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_and_html_stays_text() {
        let cases = [
            ("**LR** dropped", "<p><strong>LR</strong> dropped</p>\n"),
            ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
            ("a <img src=x onerror=alert(1)> b", "<p>a &lt;img src=x onerror=alert(1)&gt; b</p>\n"),
            ("[x](javascript:alert(1))", "<p><a href=\"#\">x</a></p>\n"),
            ("| a |\n|---|\n| 1 |", "<table>"),
        ];
        for (source, expected) in cases {
            let html = to_html(source);
            assert!(html.contains(expected), "{source} -> {html}");
            assert!(!html.contains("<script") && !html.contains("<img"), "{source} -> {html}");
        }
    }
}
