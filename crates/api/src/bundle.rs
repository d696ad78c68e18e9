//! Offline bundles: experiments moved between machines with no network, as
//! one file carrying a git bundle of the sync data plus the artifact bytes
//! it needs. Applying one merges exactly as a sync would, and is idempotent.
//!
//! The file is a tar archive: `almanac-bundle` (format line), `data.bundle`
//! (a v2 git bundle of `refs/almanac/data`), then `blobs/<sha256>` for each
//! artifact file.

use std::io::Read;
use std::path::Path;

use crate::sharing::sync_error;
use crate::{ApiError, App, ErrorCode, Result};

const FORMAT_LINE: &str = "almanac bundle 1\n";

/// The most sync data one bundle may carry (about 400M metric points).
const MAX_DATA_BYTES: u64 = 4 << 30;

/// What applying a bundle did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleSummary {
    pub ops_in: usize,
    pub packs_in: usize,
    pub blobs_in: usize,
    pub bytes_in: u64,
    /// (where, why) for content the bundle held but this store refused.
    pub refused: Vec<(String, String)>,
}

/// What creating a bundle wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleContents {
    pub data_bytes: u64,
    pub blobs: usize,
    pub blob_bytes: u64,
    /// Artifact files this store only knows by hash (their bytes live on a
    /// remote's artifact folder it cannot reach): not in the bundle.
    pub missing_blobs: usize,
}

fn io_error(what: &str, path: &Path) -> impl Fn(std::io::Error) -> ApiError {
    let message = format!("cannot {what} {}", path.display());
    move |e| ApiError { code: ErrorCode::InvalidParameterValue, message: format!("{message}: {e}") }
}

impl App {
    /// Writes a bundle of the whole store, or of the named experiments, to
    /// `file` (replaced atomically).
    pub fn create_bundle(&self, file: &Path, experiments: &[String]) -> Result<BundleContents> {
        let repo_dir = self.store().root().join("sync.git");
        let (data, hashes) = if experiments.is_empty() {
            let data = almanac_sync::bundle::create_full(self.store(), &repo_dir, self.now()).map_err(sync_error)?;
            (data, self.store().live_artifact_hashes()?)
        } else {
            let ids = experiments
                .iter()
                .map(|name| self.experiment_by_name(name).map(|e| e.experiment_id))
                .collect::<Result<Vec<_>>>()?;
            let (entities, hashes) = self.store().experiments_closure(&ids)?;
            let scratch = ScratchDir::new(&self.store().root().join(format!("bundle-scratch-{:016x}", self.random())))?;
            let data = almanac_sync::bundle::create_subset(self.store(), scratch.path(), &entities, self.now())
                .map_err(sync_error)?;
            (data, hashes)
        };
        let mut contents = BundleContents { data_bytes: data.len() as u64, ..Default::default() };
        let partial = file.with_extension("partial");
        let out = std::fs::File::create(&partial).map_err(io_error("create", &partial))?;
        let mut tar = tar::Builder::new(std::io::BufWriter::new(out));
        let append = |tar: &mut tar::Builder<_>, name: &str, size: u64, body: &mut dyn Read| {
            let mut header = tar::Header::new_gnu();
            header.set_size(size);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, body).map_err(io_error("write", &partial))
        };
        append(&mut tar, "almanac-bundle", FORMAT_LINE.len() as u64, &mut FORMAT_LINE.as_bytes())?;
        append(&mut tar, "data.bundle", data.len() as u64, &mut &data[..])?;
        let mut hashes: Vec<String> = hashes.into_iter().collect();
        hashes.sort();
        for sha in hashes {
            let opened = match self.inner.blobs.open_blob(&sha) {
                Ok(f) => Ok(f),
                Err(almanac_blobs::BlobError::Missing(_)) => match self.store().artifact_size_by_hash(&sha)? {
                    Some(size) if self.fetch_blob(&sha, size)? => self.inner.blobs.open_blob(&sha),
                    _ => {
                        contents.missing_blobs += 1;
                        continue;
                    }
                },
                Err(e) => Err(e),
            };
            let mut blob = opened?;
            let size = blob.metadata().map_err(io_error("read", &partial))?.len();
            append(&mut tar, &format!("blobs/{sha}"), size, &mut blob)?;
            contents.blobs += 1;
            contents.blob_bytes += size;
        }
        let writer = tar.into_inner().map_err(io_error("write", &partial))?;
        writer
            .into_inner()
            .map_err(|e| io_error("write", &partial)(e.into_error()))?
            .sync_all()
            .map_err(io_error("write", &partial))?;
        std::fs::rename(&partial, file).map_err(io_error("write", file))?;
        Ok(contents)
    }

    /// Applies a bundle: artifact bytes first, then the data, merged and
    /// folded as a sync would. Applying it again changes nothing.
    pub fn apply_bundle(&self, file: &Path) -> Result<BundleSummary> {
        let input = std::fs::File::open(file).map_err(io_error("open", file))?;
        let mut archive = tar::Archive::new(std::io::BufReader::new(input));
        let not_bundle = || ApiError {
            code: ErrorCode::InvalidParameterValue,
            message: format!("{} is not an Almanac bundle (make one with `almanac bundle create`)", file.display()),
        };
        let mut summary = BundleSummary::default();
        let mut data = None;
        let mut seen_format = false;
        for entry in archive.entries().map_err(|_| not_bundle())? {
            let mut entry = entry.map_err(|_| not_bundle())?;
            let name = entry.path().map_err(|_| not_bundle())?.to_string_lossy().to_string();
            let size = entry.size();
            match name.as_str() {
                "almanac-bundle" => {
                    let mut line = String::new();
                    entry.by_ref().take(64).read_to_string(&mut line).map_err(|_| not_bundle())?;
                    if line != FORMAT_LINE {
                        return Err(ApiError {
                            code: ErrorCode::InvalidParameterValue,
                            message: format!("unknown bundle format {:?}: update Almanac to apply it", line.trim()),
                        });
                    }
                    seen_format = true;
                }
                "data.bundle" => {
                    // The sync data is read whole; a header claiming more than
                    // any store's data is refused before anything is allocated.
                    if size > MAX_DATA_BYTES {
                        return Err(ApiError {
                            code: ErrorCode::InvalidParameterValue,
                            message: format!(
                                "{}: its sync data is {size} bytes, over the {MAX_DATA_BYTES}-byte limit; \
                                 bundle fewer experiments (--experiment)",
                                file.display()
                            ),
                        });
                    }
                    let mut bytes = Vec::with_capacity(size.min(64 << 20) as usize);
                    entry.by_ref().take(MAX_DATA_BYTES).read_to_end(&mut bytes).map_err(io_error("read", file))?;
                    data = Some(bytes);
                }
                _ if seen_format && name.starts_with("blobs/") => {
                    let sha = &name["blobs/".len()..];
                    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                        summary.refused.push((name.clone(), "not a content hash".into()));
                        continue;
                    }
                    if self.inner.blobs.contains(sha) {
                        continue;
                    }
                    let temp_name = format!("{:016x}{:016x}", self.random(), self.random());
                    let blob = self.inner.blobs.put(&mut entry, Some(size), &temp_name)?;
                    if blob.sha256 != sha {
                        // Content that does not match its name is never used
                        // for that name; gc removes the stray bytes.
                        summary.refused.push((name.clone(), "content does not match its hash".into()));
                        continue;
                    }
                    summary.blobs_in += 1;
                    summary.bytes_in += size;
                }
                _ => summary.refused.push((name, "unexpected entry".into())),
            }
        }
        let data = data.filter(|_| seen_format).ok_or_else(not_bundle)?;
        let repo_dir = self.store().root().join("sync.git");
        let report = almanac_sync::bundle::apply(self.store(), &repo_dir, &data, self.now()).map_err(sync_error)?;
        summary.ops_in = report.ops_in;
        summary.packs_in = report.packs_in;
        summary.refused.extend(report.refused);
        Ok(summary)
    }
}

/// A scratch folder inside the store (same filesystem), removed on drop.
struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    fn new(dir: &Path) -> Result<ScratchDir> {
        std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
        Ok(ScratchDir(dir.to_path_buf()))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
