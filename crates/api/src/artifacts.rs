//! Artifacts: files under the store's artifact root, served through MLflow's
//! `mlflow-artifacts` proxy. Bytes go to the blob store by content address;
//! the path → blob manifest is journaled like every other change.

use std::io::Read;

use almanac_core::Error;
use almanac_core::op::Op;
use almanac_core::validation::artifact_path;
use almanac_store::ArtifactEntry;

use crate::{App, Result};

/// A run's artifact folder listing, as `/api/2.0/mlflow/artifacts/list` answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactListing {
    pub root_uri: String,
    /// Paths relative to the run's artifact root.
    pub files: Vec<(String, ArtifactEntry)>,
}

/// What `almanac gc` removed, or would remove with `--dry-run`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GcReport {
    pub blobs_total: usize,
    pub blobs_removed: usize,
    pub bytes_freed: u64,
}

pub use almanac_core::validation::proxied_path;

impl App {
    /// Stores `content` at `path`. With `declared_len`, a body of another
    /// length is refused. Nothing is visible at `path` until all bytes are in.
    pub fn put_artifact(&self, path: &str, content: impl Read, declared_len: Option<u64>) -> Result<()> {
        self.put_artifact_with(path, |blobs, temp_name| blobs.put(content, declared_len, temp_name))
    }

    /// `put_artifact` for content arriving as in-memory chunks (an HTTP
    /// body), written without copying them first.
    pub fn put_artifact_chunks(
        &self,
        path: &str,
        content: impl almanac_blobs::Chunks,
        declared_len: Option<u64>,
    ) -> Result<()> {
        self.put_artifact_with(path, |blobs, temp_name| blobs.put_chunks(content, declared_len, temp_name))
    }

    fn put_artifact_with(
        &self,
        path: &str,
        store_bytes: impl FnOnce(&almanac_blobs::Blobs, &str) -> almanac_blobs::Result<almanac_blobs::Blob>,
    ) -> Result<()> {
        let path = artifact_path(path)?;
        if path.is_empty() {
            return Err(Error::invalid("An artifact path must name a file").into());
        }
        self.check_file_fits(&path)?;
        let temp_name = format!("{:016x}{:016x}", self.random(), self.random());
        let blob = store_bytes(&self.inner.blobs, &temp_name)?;
        self.store().write(&self.ctx(), Op::PutArtifact { path, sha256: blob.sha256, size: blob.size })?;
        Ok(())
    }

    /// A file cannot lie inside another file, nor take a folder's place:
    /// either would leave two entries of one name in the listing, and a run
    /// that no client can download whole. Checked before any byte is stored.
    fn check_file_fits(&self, path: &str) -> Result<()> {
        let store = self.store();
        let mut end = 0;
        while let Some(slash) = path[end..].find('/') {
            end += slash;
            let ancestor = &path[..end];
            if store.artifact(ancestor)?.is_some() {
                return Err(Error::invalid(format!(
                    "Cannot write artifact '{path}': '{ancestor}' is a file, not a folder"
                ))
                .into());
            }
            end += 1;
        }
        if !store.list_artifacts(path)?.is_empty() {
            return Err(Error::invalid(format!("Cannot write artifact '{path}': a folder of that name exists")).into());
        }
        Ok(())
    }

    /// Opens the file at `path` for reading, with its size.
    pub fn open_artifact(&self, path: &str) -> Result<(std::fs::File, u64)> {
        let path = artifact_path(path)?;
        let file = self
            .store()
            .artifact(&path)?
            .ok_or_else(|| Error::not_found(format!("Artifact '{path}' does not exist")))?;
        let handle = match self.inner.blobs.open_blob(&file.sha256) {
            Ok(h) => h,
            // Synced manifests name bytes that may live only on a remote's
            // artifact folder until first read.
            Err(almanac_blobs::BlobError::Missing(_)) if self.fetch_blob(&file.sha256, file.size)? => {
                self.inner.blobs.open_blob(&file.sha256)?
            }
            Err(e) => return Err(e.into()),
        };
        Ok((handle, file.size))
    }

    /// The files and folders directly inside folder `dir`.
    pub fn list_artifacts(&self, dir: &str) -> Result<Vec<ArtifactEntry>> {
        Ok(self.store().list_artifacts(&artifact_path(dir)?)?)
    }

    /// Removes the file at `path`, or the folder and everything in it.
    pub fn delete_artifacts(&self, path: &str) -> Result<()> {
        let path = artifact_path(path)?;
        self.store().write(&self.ctx(), Op::DeleteArtifacts { path })?;
        Ok(())
    }

    /// The store path of file `rel` under artifact root `root_uri`, for
    /// MLflow's `get-artifact` endpoints. Refused when the root is not one
    /// this server stores (an `s3://` experiment, say).
    pub fn artifact_under(&self, root_uri: &str, rel: &str) -> Result<String> {
        // A version registered from `runs:/<run>/<path>` keeps that URI as
        // its location; it names a folder of the run's artifacts.
        let resolved = match almanac_core::validation::runs_uri(root_uri) {
            Some((run_id, path)) => {
                let base = self.run(run_id)?.info.artifact_uri;
                format!("{}/{}", base.trim_end_matches('/'), path.trim_matches('/'))
            }
            None => root_uri.to_string(),
        };
        let root_uri = resolved.trim_end_matches('/');
        let root = proxied_path(root_uri)
            .ok_or_else(|| Error::invalid(format!("The artifacts at '{root_uri}' are not stored by this server")))?;
        let rel = artifact_path(rel)?;
        if rel.is_empty() {
            return Err(Error::invalid("Missing value for required parameter 'path'.").into());
        }
        Ok(format!("{root}/{rel}"))
    }

    /// A run's artifacts in folder `path` (relative to the run's root).
    pub fn list_run_artifacts(&self, run_id: &str, path: Option<&str>) -> Result<ArtifactListing> {
        let run = self.run(run_id)?;
        let root_uri = run.info.artifact_uri.clone();
        let Some(root) = proxied_path(&root_uri) else {
            return Ok(ArtifactListing { root_uri, files: Vec::new() });
        };
        let rel = artifact_path(path.unwrap_or(""))?;
        let dir = if rel.is_empty() { root.clone() } else { format!("{root}/{rel}") };
        let files = self
            .store()
            .list_artifacts(&dir)?
            .into_iter()
            .map(|e| (if rel.is_empty() { e.name.clone() } else { format!("{rel}/{}", e.name) }, e))
            .collect();
        Ok(ArtifactListing { root_uri, files })
    }

    /// Removes blob content no live owner references. Deleted runs' files
    /// become unreadable; their manifests stay in the journal.
    pub fn gc(&self, dry_run: bool, mut progress: impl FnMut(usize, usize)) -> Result<GcReport> {
        let live = self.store().live_artifact_hashes()?;
        let blobs = self.inner.blobs.list()?;
        let mut report = GcReport { blobs_total: blobs.len(), ..Default::default() };
        let dead: Vec<_> = blobs.into_iter().filter(|b| !live.contains(&b.sha256)).collect();
        for (i, blob) in dead.iter().enumerate() {
            if !dry_run {
                self.inner.blobs.remove(&blob.sha256)?;
            }
            report.blobs_removed += 1;
            report.bytes_freed += blob.size;
            progress(i + 1, dead.len());
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CreateRun, FixedClock, SeededEntropy};

    fn app() -> (tempfile::TempDir, App) {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path(), Box::new(FixedClock(1)), Box::new(SeededEntropy::new(3))).unwrap();
        (dir, app)
    }

    #[test]
    fn proxied_paths() {
        for (uri, path) in [
            ("mlflow-artifacts:/1/abc/artifacts", Some("1/abc/artifacts")),
            ("mlflow-artifacts:///1/abc/artifacts/", Some("1/abc/artifacts")),
            ("mlflow-artifacts://host:5000/1/x", Some("1/x")),
            ("s3://bucket/x", None),
        ] {
            assert_eq!(proxied_path(uri).as_deref(), path, "{uri}");
        }
    }

    #[test]
    fn put_list_read_delete() {
        let (_d, app) = app();
        let run = app.create_run(CreateRun::default()).unwrap();
        let root = proxied_path(&run.info.artifact_uri).unwrap();
        app.put_artifact(&format!("{root}/model/MLmodel"), &b"flavors: {}"[..], Some(11)).unwrap();
        app.put_artifact(&format!("{root}/model/data/w.bin"), &b"\x00\x01"[..], None).unwrap();
        app.put_artifact(&format!("{root}/notes.txt"), &b""[..], Some(0)).unwrap();
        let listing = app.list_run_artifacts(&run.info.run_id, None).unwrap();
        let names: Vec<_> = listing.files.iter().map(|(p, e)| (p.as_str(), e.is_dir, e.size)).collect();
        assert_eq!(names, [("model", true, None), ("notes.txt", false, Some(0))]);
        let inner = app.list_run_artifacts(&run.info.run_id, Some("model")).unwrap();
        let names: Vec<_> = inner.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["model/MLmodel", "model/data"]);
        let (mut f, size) = app.open_artifact(&format!("{root}/model/MLmodel")).unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        assert_eq!((text.as_str(), size), ("flavors: {}", 11));
        app.delete_artifacts(&format!("{root}/model")).unwrap();
        assert_eq!(app.list_run_artifacts(&run.info.run_id, None).unwrap().files.len(), 1);
        let err = app.open_artifact(&format!("{root}/model/MLmodel")).unwrap_err();
        assert_eq!(err.code, crate::ErrorCode::ResourceDoesNotExist);
    }

    #[test]
    fn bad_paths_and_short_bodies_write_nothing() {
        let (_d, app) = app();
        for p in ["../x", "a/../../b", "/etc/passwd", "%2e%2e/x", ""] {
            let err = app.put_artifact(p, &b"x"[..], None).unwrap_err();
            assert_eq!(err.code, crate::ErrorCode::InvalidParameterValue, "{p}");
        }
        let err = app.put_artifact("a/b", &b"abc"[..], Some(100)).unwrap_err();
        assert_eq!(err.code, crate::ErrorCode::InvalidParameterValue);
        assert!(app.list_artifacts("").unwrap().is_empty());
    }

    #[test]
    fn gc_removes_only_content_of_deleted_runs() {
        let (_d, app) = app();
        let keep = app.create_run(CreateRun::default()).unwrap();
        let drop = app.create_run(CreateRun::default()).unwrap();
        let kr = proxied_path(&keep.info.artifact_uri).unwrap();
        let dr = proxied_path(&drop.info.artifact_uri).unwrap();
        app.put_artifact(&format!("{kr}/shared.txt"), &b"same"[..], None).unwrap();
        app.put_artifact(&format!("{dr}/shared.txt"), &b"same"[..], None).unwrap();
        app.put_artifact(&format!("{dr}/own.txt"), &b"only in the deleted run"[..], None).unwrap();
        app.delete_run(&drop.info.run_id).unwrap();
        let dry = app.gc(true, |_, _| {}).unwrap();
        assert_eq!((dry.blobs_total, dry.blobs_removed, dry.bytes_freed), (2, 1, 23));
        assert!(app.open_artifact(&format!("{dr}/own.txt")).is_ok(), "a dry run removes nothing");
        let real = app.gc(false, |_, _| {}).unwrap();
        assert_eq!(real, dry);
        assert!(app.open_artifact(&format!("{dr}/own.txt")).is_err());
        assert!(app.open_artifact(&format!("{kr}/shared.txt")).is_ok(), "shared content stays");
    }
}
