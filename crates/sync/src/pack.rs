//! Packs: the text files of ops that travel through git.

use almanac_store::JournalEntry;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Packs larger than this are refused unread.
pub const MAX_PACK_BYTES: usize = 64 << 20;

/// Packs are cut at about this size when written, well under the limit.
pub const TARGET_PACK_BYTES: usize = 8 << 20;

#[derive(Serialize, Deserialize)]
struct Line<'a> {
    format: u32,
    op_id: std::borrow::Cow<'a, str>,
    entity_id: std::borrow::Cow<'a, str>,
    lamport: i64,
    writer: std::borrow::Cow<'a, str>,
    time_ms: i64,
    op: almanac_core::op::Op,
}

/// Encodes entries (of one writer) as a pack: its repository path and bytes.
pub fn encode(writer: &str, entries: &[JournalEntry]) -> Result<(String, Vec<u8>), serde_json::Error> {
    let mut bytes = Vec::new();
    for e in entries {
        let line = Line {
            format: FORMAT_VERSION,
            op_id: (&e.op_id[..]).into(),
            entity_id: (&e.entity_id[..]).into(),
            lamport: e.lamport,
            writer: (&e.writer[..]).into(),
            time_ms: e.time_ms,
            op: e.op.clone(),
        };
        serde_json::to_writer(&mut bytes, &line)?;
        bytes.push(b'\n');
    }
    let first = entries.first().map_or(0, |e| e.lamport);
    let last = entries.last().map_or(0, |e| e.lamport);
    let hash = hex::encode(Sha256::digest(&bytes));
    Ok((format!("ops/{writer}/{first:016}-{last:016}-{}.jsonl", &hash[..16]), bytes))
}

/// Encodes entries as as many packs as it takes to keep each near
/// `TARGET_PACK_BYTES`.
pub fn encode_split(writer: &str, entries: &[JournalEntry]) -> Result<Vec<(String, Vec<u8>)>, serde_json::Error> {
    let mut packs = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, e) in entries.iter().enumerate() {
        size += serde_json::to_vec(&e.op)?.len() + 200;
        if size >= TARGET_PACK_BYTES || i + 1 == entries.len() {
            packs.push(encode(writer, &entries[start..=i])?);
            start = i + 1;
            size = 0;
        }
    }
    Ok(packs)
}

/// Decodes a pack. Each bad line is refused on its own, with its number.
pub fn decode(bytes: &[u8]) -> (Vec<JournalEntry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut refused = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let format = serde_json::from_slice::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("format").and_then(|f| f.as_u64()));
        match format {
            Some(f) if f != FORMAT_VERSION as u64 => {
                refused.push(format!("line {}: unknown format version {f}", i + 1));
                continue;
            }
            _ => {}
        }
        match serde_json::from_slice::<Line>(line) {
            Ok(l) => entries.push(JournalEntry {
                seq: 0,
                op_id: l.op_id.into_owned(),
                entity_id: l.entity_id.into_owned(),
                lamport: l.lamport,
                writer: l.writer.into_owned(),
                time_ms: l.time_ms,
                op: l.op,
            }),
            Err(e) => refused.push(format!("line {}: malformed entry: {e}", i + 1)),
        }
    }
    (entries, refused)
}

/// The op ids of the model-version creations in a pack. Scans for the kind
/// before parsing, since most packs hold none.
pub fn version_creations(bytes: &[u8]) -> Vec<String> {
    const KIND: &[u8] = b"\"create_model_version\"";
    bytes
        .split(|b| *b == b'\n')
        .filter(|line| line.windows(KIND.len()).any(|w| w == KIND))
        .filter_map(|line| serde_json::from_slice::<Line>(line).ok())
        .filter(|l| matches!(l.op, almanac_core::op::Op::CreateModelVersion { .. }))
        .map(|l| l.op_id.into_owned())
        .collect()
}

/// Whether `path` is a pack path this format allows: `ops/<writer>/<name>.jsonl`
/// with plain names, so nothing read from a remote can name a path outside.
pub fn is_pack_path(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    matches!(parts.as_slice(), ["ops", writer, file]
        if plain(writer) && file.strip_suffix(".jsonl").is_some_and(plain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_core::op::Op;

    fn entry(lamport: i64) -> JournalEntry {
        JournalEntry {
            seq: 9,
            op_id: format!("{lamport:064}"),
            entity_id: "r".into(),
            lamport,
            writer: "w".into(),
            time_ms: 5,
            op: Op::DeleteRunTag { run_id: "r".into(), key: "k".into() },
        }
    }

    #[test]
    fn round_trip_and_content_named() {
        let entries = vec![entry(3), entry(4)];
        let (path, bytes) = encode("w", &entries).unwrap();
        assert!(path.starts_with("ops/w/0000000000000003-0000000000000004-"), "{path}");
        assert!(is_pack_path(&path));
        let (back, refused) = decode(&bytes);
        assert!(refused.is_empty());
        assert_eq!(back.iter().map(|e| e.lamport).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(encode("w", &entries).unwrap().0, path, "same content, same name");
    }

    #[test]
    fn bad_lines_are_refused_alone() {
        let (_, mut bytes) = encode("w", &[entry(1)]).unwrap();
        bytes.extend_from_slice(b"{not json\n");
        bytes.extend_from_slice(br#"{"format": 99, "op_id": "x"}"#);
        bytes.push(b'\n');
        let (entries, refused) = decode(&bytes);
        assert_eq!(entries.len(), 1);
        assert_eq!(refused.len(), 2);
        assert!(refused[1].contains("unknown format version 99"), "{refused:?}");
    }

    #[test]
    fn pack_paths() {
        for (p, ok) in [
            ("ops/abc/0-1-ff.jsonl", true),
            ("ops/../x.jsonl", false),
            ("ops/a/../../x.jsonl", false),
            ("FORMAT.md", false),
            ("ops/a/b/c.jsonl", false),
            ("ops/a/.jsonl", false),
        ] {
            assert_eq!(is_pack_path(p), ok, "{p}");
        }
    }
}
