//! Sync: a store's operation journal shared through an ordinary git remote.
//!
//! Ops travel as immutable, content-named pack files on their own ref
//! (`refs/almanac/data`), so merging two histories is the union of their
//! files and never conflicts. Each store folds every op it holds in one
//! agreed order (see `FORMAT.md`), so stores that saw the same ops agree.
//!
//! A sync: (1) writes this store's new ops as a pack into its local sync
//! repository, (2) fetches the remote, merges, and pushes (retrying when the
//! remote moved meanwhile), (3) imports the packs that arrived.

pub mod bundle;
mod claims;
mod pack;
mod repo;

use std::path::Path;

use almanac_store::{Remote, Store};

pub use pack::{FORMAT_VERSION, MAX_PACK_BYTES};
pub use repo::Credentials;

/// The text of FORMAT.md, written into every sync repository.
pub const FORMAT_MD: &str = include_str!("FORMAT.md");

/// The ref that carries Almanac's data in every repository.
pub const DATA_REF: &str = "refs/almanac/data";

/// How many times a push rejected because the remote moved is retried.
pub const MAX_PUSH_ATTEMPTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("git: {}{}", .0.message(), git_hint(.0))]
    Git(#[from] git2::Error),
    #[error(transparent)]
    Store(#[from] almanac_store::StoreError),
    #[error("cannot encode a pack: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the remote kept moving: push rejected {0} times; sync again")]
    Contended(usize),
    #[error("unusable bundle: {0}")]
    Bundle(String),
    #[error("cannot lock the repository: {0}")]
    Lock(#[from] std::io::Error),
}

/// What to do about the git errors users can fix themselves.
fn git_hint(e: &git2::Error) -> &'static str {
    match e.code() {
        git2::ErrorCode::Certificate if e.class() == git2::ErrorClass::Ssh => {
            ". The server's host key is not in ~/.ssh/known_hosts: connect once with `ssh` (or use \
             `ssh-keyscan`) to check and record it"
        }
        git2::ErrorCode::Certificate => ". The server's TLS certificate is not trusted",
        git2::ErrorCode::Auth => {
            ". For https, save a token with `almanac remote login NAME`; for ssh, load a key into \
             ssh-agent or ~/.ssh"
        }
        _ => "",
    }
}

pub type Result<T, E = SyncError> = std::result::Result<T, E>;

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub ops_out: usize,
    pub ops_in: usize,
    pub packs_in: usize,
    /// Whether anything was pushed.
    pub pushed: bool,
    /// Pushes the remote rejected because it had moved (then retried).
    pub retries: usize,
    /// (where, why) for each piece of remote content that was refused.
    pub refused: Vec<(String, String)>,
}

/// Stages a sync goes through, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Recording,
    Fetching,
    Merging,
    Pushing,
    Applying,
}

/// Syncs `store` with `remote`. `repo_dir` holds this store's sync
/// repository (created on first use); `now_ms` stamps the commits.
pub fn sync(
    store: &Store,
    repo_dir: &Path,
    remote: &Remote,
    now_ms: i64,
    credentials: &dyn Credentials,
    progress: &mut dyn FnMut(Stage),
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    let repo = repo::open(repo_dir)?;
    // One sync at a time per store; a killed one leaves nothing that blocks.
    let _lock = repo::RepoLock::acquire(repo.path())?;

    progress(Stage::Recording);
    report.ops_out = record_local_ops(store, &repo, now_ms)?;

    let mut attempt = 0;
    let mut settled; // What the remote holds once we are done.
    loop {
        progress(Stage::Fetching);
        let fetched = repo::fetch(&repo, remote, credentials)?;
        progress(Stage::Merging);
        settled = fetched;
        let local = repo::merge(&repo, fetched, now_ms)?;
        let Some(local) = local else { break };
        if Some(local) == fetched {
            break; // The remote already has everything we have.
        }
        progress(Stage::Pushing);
        match repo::push(&repo, remote, credentials)? {
            repo::Pushed::Accepted => {
                report.pushed = true;
                settled = Some(local);
                break;
            }
            repo::Pushed::Rejected => {
                attempt += 1;
                report.retries += 1;
                if attempt >= MAX_PUSH_ATTEMPTS {
                    return Err(SyncError::Contended(attempt));
                }
            }
        }
    }

    progress(Stage::Applying);
    if let Some(tip) = settled {
        claims::record(store, &repo, &remote.name, tip)?;
    }
    import_new_packs(store, &repo, &mut report)?;
    Ok(report)
}

/// How many ops the remote holds that this store has not applied yet.
/// Fetches (to a ref of its own, so a sync running meanwhile is not
/// disturbed) but changes nothing in the store.
pub fn behind(store: &Store, repo_dir: &Path, remote: &Remote, credentials: &dyn Credentials) -> Result<usize> {
    let repo = repo::open(repo_dir)?;
    repo::fetch_into(&repo, remote, credentials, repo::PEEK_REF)?;
    let mut count = 0;
    for (path, blob) in repo::packs_at(&repo, repo::PEEK_REF)? {
        if !pack::is_pack_path(&path) || store.is_pack_imported(&path)? {
            continue;
        }
        if let Some(bytes) = repo::read_blob(&repo, blob)? {
            count += bytes.split(|b| *b == b'\n').filter(|line| !line.is_empty()).count();
        }
    }
    Ok(count)
}

/// Writes this store's ops not yet exported as one pack commit. Returns
/// how many ops it wrote. Re-running after a crash rewrites the same pack
/// (same content, same name), so nothing is duplicated.
fn record_local_ops(store: &Store, repo: &git2::Repository, now_ms: i64) -> Result<usize> {
    let after = store.exported_seq()?;
    let entries = store.own_ops_after(after)?;
    let Some(last_seq) = entries.last().map(|e| e.seq) else {
        repo::ensure_format(repo, now_ms)?;
        return Ok(0);
    };
    let packs = pack::encode_split(store.writer_id(), &entries)?;
    repo::add_packs(repo, &packs, now_ms, &format!("{} ops from {}", entries.len(), store.writer_id()))?;
    store.mark_packs_imported(&packs.into_iter().map(|(path, _)| path).collect::<Vec<_>>())?;
    store.set_exported_seq(last_seq)?;
    Ok(entries.len())
}

fn import_new_packs(store: &Store, repo: &git2::Repository, report: &mut SyncReport) -> Result<()> {
    let mut entries = Vec::new();
    let mut done = Vec::new();
    for (path, blob) in repo::packs(repo)? {
        if store.is_pack_imported(&path)? {
            continue;
        }
        if !pack::is_pack_path(&path) {
            report.refused.push((path, "not a pack path this format allows".into()));
            continue;
        }
        match repo::read_blob(repo, blob)? {
            None => report.refused.push((path.clone(), format!("larger than {MAX_PACK_BYTES} bytes"))),
            Some(bytes) => {
                let (found, refused) = pack::decode(&bytes);
                report.refused.extend(refused.into_iter().map(|r| (path.clone(), r)));
                entries.extend(found);
            }
        }
        report.packs_in += 1;
        done.push(path);
    }
    if !entries.is_empty() {
        let outcome = store.import_ops(&entries)?;
        report.ops_in = outcome.added;
        report.refused.extend(outcome.refused);
    }
    store.mark_packs_imported(&done)?;
    Ok(())
}

#[cfg(test)]
mod tests;
