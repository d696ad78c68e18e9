//! How an artifact is previewed, from its name; and a small CSV reader for
//! showing tables. Pure.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Json,
    Csv(u8),
    Text,
    Other,
}

/// Files larger than this are offered for download instead of previewed.
pub const MAX_PREVIEW_BYTES: i64 = 5 * 1024 * 1024;

pub fn kind(path: &str) -> Kind {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name == "MLmodel" || name == "requirements.txt" || name == "conda.yaml" || name == "python_env.yaml" {
        return Kind::Text;
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "svg" | "webp" | "bmp" => Kind::Image,
        "json" => Kind::Json,
        "csv" => Kind::Csv(b','),
        "tsv" => Kind::Csv(b'\t'),
        "txt" | "log" | "md" | "yaml" | "yml" | "py" | "toml" | "cfg" | "ini" | "sh" | "html" | "xml" | "sql"
        | "rs" | "ipynb" | "jsonl" => Kind::Text,
        _ => Kind::Other,
    }
}

/// Rows of a CSV text (quoted fields, doubled quotes, newlines in quotes),
/// at most `max_rows`.
pub fn csv(text: &str, sep: u8, max_rows: usize) -> Vec<Vec<String>> {
    let sep = sep as char;
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            c if c == sep => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                if rows.len() >= max_rows {
                    return rows;
                }
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// JSON pretty-printed, or the text as it is when it is not JSON.
pub fn pretty_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_names() {
        let cases = [
            ("model/MLmodel", Kind::Text),
            ("plots/roc.PNG", Kind::Image),
            ("eval/table.json", Kind::Json),
            ("data/x.csv", Kind::Csv(b',')),
            ("data/x.tsv", Kind::Csv(b'\t')),
            ("model/conda.yaml", Kind::Text),
            ("model/model.pkl", Kind::Other),
            ("noext", Kind::Other),
        ];
        for (path, expected) in cases {
            assert_eq!(kind(path), expected, "{path}");
        }
    }

    #[test]
    fn csv_reads_quotes_and_newlines() {
        let text = "a,b\n1,\"x, y\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\r\n4,";
        assert_eq!(
            csv(text, b',', 100),
            vec![vec!["a", "b"], vec!["1", "x, y"], vec!["2", "say \"hi\""], vec!["3", "two\nlines"], vec!["4", ""],]
        );
        assert_eq!(csv(text, b',', 2).len(), 2);
        assert_eq!(csv("", b',', 10), Vec::<Vec<String>>::new());
    }
}
