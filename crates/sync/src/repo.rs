//! The git side of sync: one bare repository per store, one ref of data.

use std::path::Path;

use almanac_store::Remote;
use git2::{Commit, Oid, Repository, Signature, Tree};

use crate::{DATA_REF, FORMAT_MD, MAX_PACK_BYTES, Result};

/// Where credentials for a remote come from, asked at sync time so no
/// secret is ever stored in git config, the database or logs.
pub trait Credentials {
    /// A token for an https remote, if one is stored.
    fn token(&self, url: &str) -> Option<String>;
}

impl Credentials for () {
    fn token(&self, _url: &str) -> Option<String> {
        None
    }
}

pub(crate) enum Pushed {
    Accepted,
    Rejected,
}

const TRACKING_REF: &str = "refs/almanac/fetched";

/// Where `sync --status` fetches to: apart from the tracking ref, whose value
/// a running sync relies on for its compare-and-swap push.
pub(crate) const PEEK_REF: &str = "refs/almanac/peek";

/// Held while a sync changes a repository's refs: an OS file lock, which the
/// kernel releases when its process dies, so a sync killed mid-update never
/// blocks the next one. Under it, ref lock files (libgit2's `*.lock`) left
/// behind by such a killed sync are stale by construction, and are removed.
pub(crate) struct RepoLock(#[allow(dead_code)] std::fs::File);

impl RepoLock {
    pub(crate) fn acquire(git_dir: &Path) -> Result<RepoLock> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(git_dir.join("almanac-sync.lock"))?;
        file.lock()?;
        if let Ok(entries) = std::fs::read_dir(git_dir.join("refs/almanac")) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().ends_with(".lock") {
                    tracing::warn!(path = %entry.path().display(), "removing a ref lock a killed sync left behind");
                    std::fs::remove_file(entry.path())?;
                }
            }
        }
        Ok(RepoLock(file))
    }
}

pub(crate) fn open(dir: &Path) -> Result<Repository> {
    let repo = match Repository::open_bare(dir) {
        Ok(r) => r,
        Err(_) => Repository::init_bare(dir)?,
    };
    tune_packing(&repo)?;
    Ok(repo)
}

/// Packs are already-dense, content-named text: delta-compressing them
/// against each other gains little and made pushes of many large packs take
/// minutes. libgit2 reads its "don't deltify objects above this size"
/// threshold from pack.deltaCacheSize, so a small value turns delta search
/// off for packs; the window limit keeps it cheap anyway.
const PACK_SETTINGS: [(&str, i64); 2] = [("pack.deltaCacheSize", 4096), ("pack.windowMemory", 1)];

/// Writes the pack settings when the repository lacks them, and only then:
/// a config written on every open left libgit2's `config.lock` behind
/// whenever a sync was killed mid-write, and blocked every later sync.
/// Writing happens under [`RepoLock`], so a `config.lock` found there is a
/// killed writer's leftover and is removed.
fn tune_packing(repo: &Repository) -> Result<()> {
    let current = repo.config()?;
    if PACK_SETTINGS.iter().all(|(key, value)| current.get_i64(key).ok() == Some(*value)) {
        return Ok(());
    }
    drop(current);
    let _lock = RepoLock::acquire(repo.path())?;
    let stale = repo.path().join("config.lock");
    if stale.exists() {
        tracing::warn!(path = %stale.display(), "removing a config lock a killed sync left behind");
        std::fs::remove_file(&stale)?;
    }
    let mut config = repo.config()?;
    for (key, value) in PACK_SETTINGS {
        config.set_i64(key, value)?;
    }
    Ok(())
}

fn signature(now_ms: i64) -> Result<Signature<'static>> {
    Ok(Signature::new("Almanac", "sync@almanac.invalid", &git2::Time::new(now_ms.div_euclid(1000), 0))?)
}

fn tip<'r>(repo: &'r Repository, name: &str) -> Result<Option<Commit<'r>>> {
    match repo.find_reference(name) {
        Ok(r) => Ok(Some(r.peel_to_commit()?)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes `bytes` at `path` (two levels: `dir/sub/file`) onto `base`.
fn tree_with(repo: &Repository, base: Option<&Tree>, path: &str, blob: Oid) -> Result<Oid> {
    fn insert(repo: &Repository, base: Option<&Tree>, parts: &[&str], blob: Oid) -> Result<Oid> {
        let mut builder = repo.treebuilder(base)?;
        match parts {
            [file] => {
                builder.insert(file, blob, 0o100644)?;
            }
            [dir, rest @ ..] => {
                let sub = match base.and_then(|t| t.get_name(dir)) {
                    Some(entry) => Some(entry.to_object(repo)?.peel_to_tree()?),
                    None => None,
                };
                let oid = insert(repo, sub.as_ref(), rest, blob)?;
                builder.insert(dir, oid, 0o040000)?;
            }
            [] => {}
        }
        Ok(builder.write()?)
    }
    let parts: Vec<&str> = path.split('/').collect();
    insert(repo, base, &parts, blob)
}

fn commit_tree(repo: &Repository, tree: Oid, parents: &[&Commit], now_ms: i64, message: &str) -> Result<Oid> {
    let sig = signature(now_ms)?;
    let tree = repo.find_tree(tree)?;
    let oid = repo.commit(None, &sig, &sig, message, &tree, parents)?;
    repo.reference(DATA_REF, oid, true, message)?;
    Ok(oid)
}

/// Makes sure the data ref exists and carries FORMAT.md.
pub(crate) fn ensure_format(repo: &Repository, now_ms: i64) -> Result<()> {
    if tip(repo, DATA_REF)?.is_some() {
        return Ok(());
    }
    let blob = repo.blob(FORMAT_MD.as_bytes())?;
    let tree = tree_with(repo, None, "FORMAT.md", blob)?;
    commit_tree(repo, tree, &[], now_ms, "Almanac sync data, format 1")?;
    Ok(())
}

/// Adds pack files in one commit on the data ref.
pub(crate) fn add_packs(repo: &Repository, packs: &[(String, Vec<u8>)], now_ms: i64, message: &str) -> Result<()> {
    ensure_format(repo, now_ms)?;
    let parent = tip(repo, DATA_REF)?.ok_or_else(|| git2::Error::from_str("the data ref vanished while writing"))?;
    let mut tree = parent.tree_id();
    for (path, bytes) in packs {
        let blob = repo.blob(bytes)?;
        tree = tree_with(repo, Some(&repo.find_tree(tree)?), path, blob)?;
    }
    if tree == parent.tree_id() {
        return Ok(()); // The same packs are already there.
    }
    commit_tree(repo, tree, &[&parent], now_ms, message)?;
    Ok(())
}

fn callbacks<'a>(remote: &'a Remote, credentials: &'a dyn Credentials) -> git2::RemoteCallbacks<'a> {
    let mut callbacks = git2::RemoteCallbacks::new();
    let mut attempts = 0;
    let mut tried_agent = false;
    let mut next_key = 0;
    let ssh_keys: Vec<std::path::PathBuf> = dirs::home_dir()
        .map(|home| {
            ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|k| home.join(".ssh").join(k))
                .filter(|k| k.exists())
                .collect()
        })
        .unwrap_or_default();
    callbacks.credentials(move |url, username, allowed| {
        // libgit2 asks again after each failure: give up after a few tries.
        attempts += 1;
        if attempts > 8 {
            return Err(git2::Error::from_str("authentication failed"));
        }
        let user = username.unwrap_or("git");
        if allowed.contains(git2::CredentialType::USERNAME) {
            return git2::Cred::username(user);
        }
        if allowed.contains(git2::CredentialType::SSH_KEY) {
            // As git does: the agent's keys first, then each key in ~/.ssh.
            if !tried_agent {
                tried_agent = true;
                if std::env::var_os("SSH_AUTH_SOCK").is_some()
                    && let Ok(cred) = git2::Cred::ssh_key_from_agent(user)
                {
                    return Ok(cred);
                }
            }
            if let Some(private) = ssh_keys.get(next_key) {
                next_key += 1;
                return git2::Cred::ssh_key(user, None, private, None);
            }
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT)
            && let Some(token) = credentials.token(url).or_else(|| credentials.token(&remote.url))
        {
            return git2::Cred::userpass_plaintext("x-access-token", &token);
        }
        Err(git2::Error::from_str(
            "the remote asks for credentials and none worked: for https, save a token with \
             `almanac remote login NAME`; for ssh, load a key into ssh-agent or ~/.ssh",
        ))
    });
    callbacks
}

/// The repository path of a remote on this machine (a plain path or a
/// `file://` URL), which sync reads and writes directly: libgit2's local
/// transport would delta-compress every pack on each fetch.
fn local_path(url: &str) -> Option<std::path::PathBuf> {
    if let Some(rest) = url.strip_prefix("file://") {
        return Some(rest.into());
    }
    let scp_like = url.split_once(':').is_some_and(|(host, _)| !host.contains('/') && host.len() > 1);
    (!url.contains("://") && !scp_like).then(|| url.into())
}

/// Copies `tip` and everything it reaches that `to` lacks from `from` into `to`.
fn copy_objects(from: &Repository, to: &Repository, tip: Oid) -> Result<()> {
    let src = from.odb()?;
    let dst = to.odb()?;
    let mut stack = vec![tip];
    while let Some(oid) = stack.pop() {
        if dst.exists(oid) {
            continue; // Objects are written whole, children first: present means complete.
        }
        let object = src.read(oid)?;
        match object.kind() {
            git2::ObjectType::Commit => {
                let commit = from.find_commit(oid)?;
                stack.push(oid); // Revisit after the children are in.
                let mut pending = vec![commit.tree_id()];
                pending.extend(commit.parent_ids());
                let missing: Vec<Oid> = pending.into_iter().filter(|o| !dst.exists(*o)).collect();
                if missing.is_empty() {
                    stack.pop();
                    dst.write(object.kind(), object.data())?;
                } else {
                    stack.extend(missing);
                }
            }
            git2::ObjectType::Tree => {
                let tree = from.find_tree(oid)?;
                let missing: Vec<Oid> = tree.iter().map(|e| e.id()).filter(|o| !dst.exists(*o)).collect();
                if missing.is_empty() {
                    dst.write(object.kind(), object.data())?;
                } else {
                    stack.push(oid);
                    stack.extend(missing);
                }
            }
            kind => {
                dst.write(kind, object.data())?;
            }
        }
    }
    Ok(())
}

/// Fetches the remote's data ref. Returns its commit, if the remote has one.
pub(crate) fn fetch(repo: &Repository, remote: &Remote, credentials: &dyn Credentials) -> Result<Option<Oid>> {
    fetch_into(repo, remote, credentials, TRACKING_REF)
}

/// Fetches the remote's data ref into the local ref `into`.
pub(crate) fn fetch_into(
    repo: &Repository,
    remote: &Remote,
    credentials: &dyn Credentials,
    into: &str,
) -> Result<Option<Oid>> {
    if let Some(path) = local_path(&remote.url) {
        let theirs = Repository::open(&path)?;
        let Some(tip) = tip(&theirs, DATA_REF)?.map(|c| c.id()) else {
            if let Ok(mut stale) = repo.find_reference(into) {
                stale.delete()?;
            }
            return Ok(None);
        };
        copy_objects(&theirs, repo, tip)?;
        repo.reference(into, tip, true, "fetch")?;
        return Ok(Some(tip));
    }
    let mut git_remote = repo.remote_anonymous(&remote.url)?;
    let mut options = git2::FetchOptions::new();
    options.remote_callbacks(callbacks(remote, credentials));
    // Nothing reads FETCH_HEAD; not writing it leaves a killed fetch no
    // `FETCH_HEAD.lock` to block the next one.
    options.update_fetchhead(false);
    let refspec = format!("+{DATA_REF}:{into}");
    // Drop a stale tracking ref: if the remote lost its ref, so do we.
    if let Ok(mut stale) = repo.find_reference(into) {
        stale.delete()?;
    }
    git_remote.fetch(&[&refspec], Some(&mut options), None)?;
    Ok(tip(repo, into)?.map(|c| c.id()))
}

/// Merges the fetched commit into the local data ref: a fast-forward when
/// one side contains the other, else a merge commit whose tree is the union
/// of both. Returns the new local tip.
pub(crate) fn merge(repo: &Repository, fetched: Option<Oid>, now_ms: i64) -> Result<Option<Oid>> {
    let local = tip(repo, DATA_REF)?;
    let (local, fetched) = match (local, fetched) {
        (None, None) => return Ok(None),
        (Some(l), None) => return Ok(Some(l.id())),
        (None, Some(f)) => {
            repo.reference(DATA_REF, f, true, "fast-forward")?;
            return Ok(Some(f));
        }
        (Some(l), Some(f)) => (l, repo.find_commit(f)?),
    };
    if local.id() == fetched.id() || repo.graph_descendant_of(local.id(), fetched.id())? {
        return Ok(Some(local.id()));
    }
    if repo.graph_descendant_of(fetched.id(), local.id())? {
        repo.reference(DATA_REF, fetched.id(), true, "fast-forward")?;
        return Ok(Some(fetched.id()));
    }
    let tree = union(repo, &local.tree()?, &fetched.tree()?)?;
    // The remote's side first: the remote ref's first-parent chain is then
    // the order pushes landed in, which version numbering relies on.
    let oid = commit_tree(repo, tree, &[&fetched, &local], now_ms, "Merge")?;
    Ok(Some(oid))
}

/// The union of two trees. Pack names derive from content, so a name on
/// both sides holds the same bytes; should it not (hostile content), the
/// local side is kept.
fn union(repo: &Repository, ours: &Tree, theirs: &Tree) -> Result<Oid> {
    let mut builder = repo.treebuilder(Some(ours))?;
    for entry in theirs.iter() {
        let Ok(name) = entry.name() else { continue };
        match ours.get_name(name) {
            None => {
                builder.insert(name, entry.id(), entry.filemode())?;
            }
            Some(mine) if mine.id() == entry.id() => {}
            Some(mine) => {
                if let (Ok(a), Ok(b)) = (
                    mine.to_object(repo).and_then(|o| o.peel_to_tree()),
                    entry.to_object(repo).and_then(|o| o.peel_to_tree()),
                ) {
                    let merged = union(repo, &a, &b)?;
                    builder.insert(name, merged, 0o040000)?;
                }
            }
        }
    }
    Ok(builder.write()?)
}

pub(crate) fn push(repo: &Repository, remote: &Remote, credentials: &dyn Credentials) -> Result<Pushed> {
    if let Some(path) = local_path(&remote.url) {
        let theirs = Repository::open(&path)?;
        let ours = tip(repo, DATA_REF)?.map(|c| c.id()).ok_or_else(|| git2::Error::from_str("nothing to push"))?;
        copy_objects(repo, &theirs, ours)?;
        let _remote_lock = RepoLock::acquire(theirs.path())?;
        // Compare-and-swap against what we fetched: if the remote moved in
        // between, the update fails and sync fetches and merges again.
        let fetched = tip(repo, TRACKING_REF)?.map(|c| c.id());
        let updated = match fetched {
            Some(expected) => theirs.reference_matching(DATA_REF, ours, true, expected, "almanac sync"),
            None => theirs.reference(DATA_REF, ours, false, "almanac sync"),
        };
        return Ok(match updated {
            Ok(_) => Pushed::Accepted,
            Err(e)
                if matches!(e.code(), git2::ErrorCode::Exists | git2::ErrorCode::Modified)
                    || e.class() == git2::ErrorClass::Reference =>
            {
                Pushed::Rejected
            }
            Err(e) => return Err(e.into()),
        });
    }
    let mut git_remote = repo.remote_anonymous(&remote.url)?;
    let mut rejected = false;
    {
        let mut callbacks = callbacks(remote, credentials);
        callbacks.push_update_reference(|_name, status| {
            if status.is_some() {
                rejected = true;
            }
            Ok(())
        });
        let mut options = git2::PushOptions::new();
        options.remote_callbacks(callbacks);
        let refspec = format!("{DATA_REF}:{DATA_REF}");
        match git_remote.push(&[&refspec], Some(&mut options)) {
            Ok(()) => {}
            // libgit2 refuses a non-fast-forward itself, before asking the remote.
            Err(e) if e.class() == git2::ErrorClass::Reference || e.code() == git2::ErrorCode::NotFastForward => {
                return Ok(Pushed::Rejected);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(if rejected { Pushed::Rejected } else { Pushed::Accepted })
}

/// Every file under `ops/` in the data ref, as (path, blob id).
pub(crate) fn packs(repo: &Repository) -> Result<Vec<(String, Oid)>> {
    packs_at(repo, DATA_REF)
}

/// Every file under `ops/` in the commit `reference` names.
pub(crate) fn packs_at(repo: &Repository, reference: &str) -> Result<Vec<(String, Oid)>> {
    let Some(commit) = tip(repo, reference)? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    commit.tree()?.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob)
            && let Ok(name) = entry.name()
        {
            let path = format!("{dir}{name}");
            if path.starts_with("ops/") {
                out.push((path, entry.id()));
            }
        }
        git2::TreeWalkResult::Ok
    })?;
    out.sort();
    Ok(out)
}

/// A blob's bytes, or `None` if it is larger than a pack may be.
pub(crate) fn read_blob(repo: &Repository, oid: Oid) -> Result<Option<Vec<u8>>> {
    let odb = repo.odb()?;
    let (size, _) = odb.read_header(oid)?;
    if size > MAX_PACK_BYTES {
        return Ok(None);
    }
    Ok(Some(repo.find_blob(oid)?.content().to_vec()))
}

#[cfg(test)]
pub(crate) fn tree_with_for_tests(repo: &Repository, base: &Tree, path: &str, blob: Oid) -> Oid {
    tree_with(repo, Some(base), path, blob).unwrap()
}
