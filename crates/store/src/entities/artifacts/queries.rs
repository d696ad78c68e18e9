//! Reading the artifact manifest: files, folder listings, what is live
//! (for `gc`), and which experiments a bundle needs.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};

use crate::search_sql::prefix_range;
use crate::{Result, Store};

/// One entry of an artifact folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactEntry {
    /// The name inside the listed folder.
    pub name: String,
    pub is_dir: bool,
    /// Bytes, for files.
    pub size: Option<u64>,
}

/// A stored artifact file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFile {
    pub sha256: String,
    pub size: u64,
}

impl Store {
    pub fn artifact(&self, path: &str) -> Result<Option<ArtifactFile>> {
        self.with_reader(|c| {
            Ok(c.prepare_cached("SELECT sha256, size FROM artifacts WHERE path = ?1")?
                .query_row([path], |r| Ok(ArtifactFile { sha256: r.get(0)?, size: r.get::<_, i64>(1)? as u64 }))
                .optional()?)
        })
    }

    /// The files and folders directly inside folder `dir`, sorted by name.
    pub fn list_artifacts(&self, dir: &str) -> Result<Vec<ArtifactEntry>> {
        self.with_reader(|c| {
            let (low, high) = prefix_range(dir);
            let mut stmt =
                c.prepare_cached("SELECT path, size FROM artifacts WHERE path > ?1 AND path < ?2 ORDER BY path")?;
            let rows = stmt.query_map(params![low, high], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut out: Vec<ArtifactEntry> = Vec::new();
            for row in rows {
                let (path, size) = row?;
                let rest = &path[low.len()..];
                let entry = match rest.split_once('/') {
                    Some((folder, _)) => ArtifactEntry { name: folder.to_string(), is_dir: true, size: None },
                    None => ArtifactEntry { name: rest.to_string(), is_dir: false, size: Some(size as u64) },
                };
                if out.last() != Some(&entry) {
                    out.push(entry);
                }
            }
            out.sort_by(|a, b| a.name.cmp(&b.name).then(a.is_dir.cmp(&b.is_dir)));
            out.dedup();
            Ok(out)
        })
    }

    /// Every artifact file under `dir` (recursively), as (path, file).
    pub fn artifacts_under(&self, dir: &str) -> Result<Vec<(String, ArtifactFile)>> {
        self.with_reader(|c| {
            let (low, high) = prefix_range(dir);
            let mut stmt = c.prepare_cached(
                "SELECT path, sha256, size FROM artifacts WHERE path > ?1 AND path < ?2 ORDER BY path",
            )?;
            let rows = stmt.query_map(params![low, high], |r| {
                Ok((r.get::<_, String>(0)?, ArtifactFile { sha256: r.get(1)?, size: r.get::<_, i64>(2)? as u64 }))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Everything that belongs to these experiments, for moving them
    /// elsewhere: the entity ids whose ops make them up (the experiments and
    /// ids merged into them, their runs and logged models, registered models
    /// with a version from those runs) and the content hashes of their
    /// artifacts.
    pub fn experiments_closure(&self, experiment_ids: &[String]) -> Result<(HashSet<String>, HashSet<String>)> {
        self.with_reader(|c| {
            let mut entities: HashSet<String> = HashSet::new();
            let mut hashes = HashSet::new();
            for id in experiment_ids {
                let id = crate::entities::experiments::canonical_experiment(c, id)?;
                let mut ids = vec![id.clone()];
                let mut aliases = c.prepare_cached("SELECT alias FROM experiment_aliases WHERE canonical = ?1")?;
                ids.extend(aliases.query_map([&id], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?);
                for query in [
                    "SELECT run_id FROM runs WHERE experiment_id = ?1",
                    "SELECT model_id FROM logged_models WHERE experiment_id = ?1",
                    "SELECT DISTINCT v.name FROM model_versions v JOIN runs r ON r.run_id = v.run_id
                     WHERE r.experiment_id = ?1",
                ] {
                    let mut stmt = c.prepare_cached(query)?;
                    entities.extend(
                        stmt.query_map([&id], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?,
                    );
                }
                for prefix in &ids {
                    let mut stmt = c.prepare_cached("SELECT sha256 FROM artifacts WHERE path >= ?1 AND path < ?2")?;
                    let rows =
                        stmt.query_map(params![format!("{prefix}/"), format!("{prefix}0")], |r| r.get::<_, String>(0))?;
                    hashes.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
                }
                entities.extend(ids);
            }
            Ok((entities, hashes))
        })
    }

    /// The size of the content with this hash, if any manifest names it.
    pub fn artifact_size_by_hash(&self, sha256: &str) -> Result<Option<u64>> {
        self.with_reader(|c| {
            Ok(c.prepare_cached("SELECT size FROM artifacts WHERE sha256 = ?1 LIMIT 1")?
                .query_row([sha256], |r| r.get::<_, i64>(0))
                .optional()?
                .map(|s| s as u64))
        })
    }

    /// Content hashes still referenced by a live owner: anything but a
    /// deleted run, logged model or trace, unless a live registered model
    /// version still points at it. Garbage collection keeps these.
    pub fn live_artifact_hashes(&self) -> Result<std::collections::HashSet<String>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT a.sha256 FROM artifacts a
                 WHERE NOT (
                     (EXISTS (SELECT 1 FROM runs r WHERE r.run_id = a.owner AND r.lifecycle_stage = 'deleted')
                      OR EXISTS (SELECT 1 FROM logged_models m WHERE m.model_id = a.owner AND m.lifecycle_stage = 'deleted')
                      OR EXISTS (SELECT 1 FROM traces t WHERE t.trace_id = a.owner AND t.deleted = 1))
                     AND NOT EXISTS (SELECT 1 FROM model_versions v
                                     WHERE v.deleted = 0 AND (v.run_id = a.owner OR v.model_id = a.owner)))",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
