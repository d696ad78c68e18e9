//! Git bundles of the sync data: the same packs a remote holds, in one file
//! that travels on a USB stick. Applying one merges it exactly as fetching
//! it from a remote would.
//!
//! The file is a standard v2 git bundle (`git bundle verify` reads it): a
//! header naming `refs/almanac/data` and its commit, a blank line, then a
//! git packfile holding that commit's history.

use std::collections::HashSet;

use almanac_store::Store;
use git2::{Oid, Repository};

use crate::{DATA_REF, Result, SyncError, SyncReport, pack, repo};

const HEADER: &str = "# v2 git bundle\n";

/// Encodes the history of `tip` as a git bundle.
fn write(repo: &Repository, tip: Oid) -> Result<Vec<u8>> {
    let mut builder = repo.packbuilder()?;
    let mut walk = repo.revwalk()?;
    walk.push(tip)?;
    builder.insert_walk(&mut walk)?;
    let mut pack = git2::Buf::new();
    builder.write_buf(&mut pack)?;
    let mut out = format!("{HEADER}{tip} {DATA_REF}\n\n").into_bytes();
    out.extend_from_slice(&pack);
    Ok(out)
}

/// Unpacks a bundle's objects into `repo`. Returns the data ref's commit.
fn read(repo: &Repository, bytes: &[u8]) -> Result<Oid> {
    let bad = |why: &str| SyncError::Bundle(why.to_string());
    let rest = bytes.strip_prefix(HEADER.as_bytes()).ok_or_else(|| bad("not a v2 git bundle"))?;
    let end = rest.windows(2).position(|w| w == b"\n\n").ok_or_else(|| bad("the bundle header never ends"))?;
    let header = std::str::from_utf8(&rest[..end]).map_err(|_| bad("the bundle header is not text"))?;
    let mut tip = None;
    for line in header.lines() {
        if line.starts_with('-') {
            return Err(bad("the bundle needs history this store lacks (it has prerequisites)"));
        }
        if let Some((oid, name)) = line.split_once(' ')
            && name == DATA_REF
        {
            tip = Some(Oid::from_str(oid).map_err(|_| bad("the bundle names a malformed commit id"))?);
        }
    }
    let tip = tip.ok_or_else(|| bad("the bundle carries no Almanac data (no refs/almanac/data)"))?;
    let odb = repo.odb()?;
    let mut writer = odb.packwriter()?;
    std::io::Write::write_all(&mut writer, &rest[end + 2..]).map_err(|e| bad(&format!("cannot unpack: {e}")))?;
    writer.commit()?;
    repo.find_commit(tip).map_err(|_| bad("the bundle's pack lacks its own commit"))?;
    Ok(tip)
}

/// A bundle of everything this store holds: its own new ops are recorded
/// into its sync repository first, as a sync would, and the data ref's whole
/// history is bundled.
pub fn create_full(store: &Store, repo_dir: &std::path::Path, now_ms: i64) -> Result<Vec<u8>> {
    let repo = repo::open(repo_dir)?;
    crate::record_local_ops(store, &repo, now_ms)?;
    let tip = repo.refname_to_id(DATA_REF)?;
    write(&repo, tip)
}

/// A bundle of only the ops against `entities`, from every writer, as one
/// commit of fresh packs. The bundle repository is scratch space in
/// `scratch_dir`.
pub fn create_subset(
    store: &Store,
    scratch_dir: &std::path::Path,
    entities: &HashSet<String>,
    now_ms: i64,
) -> Result<Vec<u8>> {
    let repo = repo::open(scratch_dir)?;
    let mut by_writer: std::collections::BTreeMap<String, Vec<almanac_store::JournalEntry>> = Default::default();
    for entry in store.journal_after(0, i64::MAX)? {
        if entities.contains(&entry.entity_id) {
            by_writer.entry(entry.writer.clone()).or_default().push(entry);
        }
    }
    let mut packs = Vec::new();
    for (writer, entries) in &by_writer {
        packs.extend(pack::encode_split(writer, entries)?);
    }
    repo::add_packs(&repo, &packs, now_ms, "Almanac bundle")?;
    let tip = repo.refname_to_id(DATA_REF)?;
    write(&repo, tip)
}

/// Applies a bundle: its commit is merged into this store's data ref as a
/// fetched one would be, and the packs this store has not seen are imported.
/// Applying the same bundle again changes nothing.
pub fn apply(store: &Store, repo_dir: &std::path::Path, bytes: &[u8], now_ms: i64) -> Result<SyncReport> {
    let repo = repo::open(repo_dir)?;
    let tip = read(&repo, bytes)?;
    repo::merge(&repo, Some(tip), now_ms)?;
    let mut report = SyncReport::default();
    crate::import_new_packs(store, &repo, &mut report)?;
    Ok(report)
}
