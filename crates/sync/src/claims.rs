//! Where each model-version creation first appeared on the remote.
//!
//! A remote's data ref only ever moves forward, and every merge keeps the
//! remote's side as its first parent, so the ref's first-parent chain is the
//! order in which pushes landed, the same for every clone. A creation's
//! position on that chain decides which of two concurrent "version 3"s
//! keeps the number: the one that reached the remote first. So a number any
//! teammate has seen through sync never changes.

use almanac_store::Store;
use git2::{Delta, Oid, Repository};

use crate::{Result, pack, repo};

/// Reads the chain from the last recorded point up to `tip` and records
/// the position of every creation in the packs each commit added.
pub(crate) fn record(store: &Store, repo: &Repository, remote: &str, tip: Oid) -> Result<()> {
    let mark = store.claims_mark(remote)?;
    let mut chain = Vec::new();
    let mut base = 0;
    let mut next = Some(repo.find_commit(tip)?);
    while let Some(commit) = next {
        if let Some((oid, length)) = &mark
            && commit.id().to_string() == *oid
        {
            base = *length;
            break;
        }
        next = commit.parents().next();
        chain.push(commit);
    }
    if chain.is_empty() {
        return Ok(());
    }
    chain.reverse();
    let mut claims = Vec::new();
    for (i, commit) in chain.iter().enumerate() {
        let position = base + i as i64 + 1;
        let before = match commit.parents().next() {
            Some(parent) => Some(parent.tree()?),
            None => None,
        };
        let diff = repo.diff_tree_to_tree(before.as_ref(), Some(&commit.tree()?), None)?;
        for delta in diff.deltas().filter(|d| d.status() == Delta::Added) {
            let Some(path) = delta.new_file().path().and_then(|p| p.to_str()) else { continue };
            if !pack::is_pack_path(path) {
                continue;
            }
            if let Some(bytes) = repo::read_blob(repo, delta.new_file().id())? {
                claims.extend(pack::version_creations(&bytes).into_iter().map(|op_id| (op_id, position)));
            }
        }
    }
    store.record_version_claims(&claims)?;
    store.set_claims_mark(remote, &tip.to_string(), base + chain.len() as i64)?;
    Ok(())
}
