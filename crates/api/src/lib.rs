//! The app functions: one set of operations that the CLI, the HTTP server
//! and the desktop shell all call. Front ends only translate their wire
//! format to these calls and back.
//!
//! Time and randomness are inputs: an [`App`] is built with a [`Clock`] and
//! an [`Entropy`] source, so tests and replays are deterministic.

mod artifacts;
mod bundle;
mod env;
mod export;
mod import;
mod models;
mod paging;
mod registry;
mod review;
mod sharing;
mod traces;
mod tracking;

use std::sync::Arc;

pub use almanac_blobs::Chunks;
pub use almanac_core::{Error, ErrorCode};
pub use almanac_store::ModelOrder;
pub use almanac_store::{DatasetSummary, MetricRange, MetricSummary, RunGroup, RunKeys};
use almanac_store::{Store, StoreError};
pub use artifacts::{ArtifactListing, GcReport, proxied_path};
pub use bundle::{BundleContents, BundleSummary};
pub use env::{Clock, Entropy, FixedClock, OsEntropy, SeededEntropy, SystemClock};
pub use export::{ExportEvent, ExportSummary};
pub use import::{ImportEvent, ImportOptions, ImportSummary};
pub use models::{CreateLoggedModel, SearchLoggedModels};
pub use paging::Page;
pub use registry::{CreateModelVersion, SearchRegistry};
pub use review::{
    Annotate, GroupRuns, MAX_ANNOTATION_CHARS, MAX_BULK_RUNS, MAX_TABLE_WINDOW, RunTable, RunTableWindow, TagRuns,
};
pub use sharing::{Credentials, RemoteStatus, Stage, SyncReport, SyncSummary, TokenVault, VaultCredentials};
pub use traces::{MAX_TRACES_DELETE, MAX_TRACES_PAGE, SearchTraces, TraceSelection};
pub use tracking::{CreateRun, LogBatch, SearchExperiments, SearchRuns, SeriesPoint, UpdateRun};

/// An error as every front end shows it: MLflow's code plus a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError { code: e.code, message: e.message }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            other => {
                let code = other.code();
                tracing::error!(error = %other, "store failure");
                ApiError { code, message: other.to_string() }
            }
        }
    }
}

impl From<almanac_blobs::BlobError> for ApiError {
    fn from(e: almanac_blobs::BlobError) -> Self {
        use almanac_blobs::BlobError as B;
        let code = match &e {
            B::Source(_) | B::LengthMismatch { .. } | B::BadDigest(_) => ErrorCode::InvalidParameterValue,
            B::Missing(_) => ErrorCode::ResourceDoesNotExist,
            B::Io { .. } | B::Symlink(_) => ErrorCode::InternalError,
        };
        if code == ErrorCode::InternalError {
            tracing::error!(error = %e, "blob store failure");
        }
        ApiError { code, message: e.to_string() }
    }
}

impl From<almanac_core::search::SearchError> for ApiError {
    fn from(e: almanac_core::search::SearchError) -> Self {
        Error::from(e).into()
    }
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// The value of tag `key` (a JSON list MLflow keeps in a tag) with `item`
/// appended; an absent or unreadable list starts empty.
pub(crate) fn appended_json_list(tags: &[almanac_core::model::Tag], key: &str, item: serde_json::Value) -> String {
    let mut list: Vec<serde_json::Value> =
        tags.iter().find(|t| t.key == key).and_then(|t| serde_json::from_str(&t.value).ok()).unwrap_or_default();
    list.push(item);
    python_json(&serde_json::Value::Array(list))
}

/// JSON text as Python's `json.dumps` writes it by default (`", "` and
/// `": "` between items, non-ASCII escaped): MLflow writes its JSON tags
/// that way, and clients compare the text.
pub(crate) fn python_json(value: &serde_json::Value) -> String {
    struct Python;
    impl serde_json::ser::Formatter for Python {
        fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
            if first { Ok(()) } else { w.write_all(b", ") }
        }
        fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
            if first { Ok(()) } else { w.write_all(b", ") }
        }
        fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
            w.write_all(b": ")
        }
        fn write_string_fragment<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            fragment: &str,
        ) -> std::io::Result<()> {
            for c in fragment.chars() {
                if c.is_ascii() {
                    w.write_all(&[c as u8])?;
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        write!(w, "\\u{unit:04x}")?;
                    }
                }
            }
            Ok(())
        }
    }
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Python);
    // Writing a Value into memory cannot fail.
    let _ = serde::Serialize::serialize(value, &mut ser);
    String::from_utf8(out).unwrap_or_default()
}

/// The store a front end opens when none is named: `$ALMANAC_HOME`, else
/// `almanac` in the OS data folder. Both are passed in, so callers decide
/// where the environment is read.
pub fn default_store_dir(
    almanac_home: Option<std::ffi::OsString>,
    data_dir: Option<std::path::PathBuf>,
) -> Option<std::path::PathBuf> {
    match almanac_home.filter(|h| !h.is_empty()) {
        Some(home) => Some(home.into()),
        None => data_dir.map(|d| d.join("almanac")),
    }
}

/// The open store plus the explicit inputs every write needs.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    blobs: almanac_blobs::Blobs,
    clock: Box<dyn Clock>,
    entropy: Box<dyn Entropy>,
}

impl App {
    /// Opens the store in `root`, creating it and MLflow's default
    /// experiment "0" if needed.
    pub fn open(root: &std::path::Path, clock: Box<dyn Clock>, entropy: Box<dyn Entropy>) -> Result<App> {
        let writer = almanac_core::ids::writer_id_from_random(entropy.next_u64());
        let store = Store::open(root, &writer)?;
        let blobs = almanac_blobs::Blobs::open(&root.join("blobs"))?;
        let app = App { inner: Arc::new(Inner { store, blobs, clock, entropy }) };
        app.ensure_default_experiment()?;
        Ok(app)
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    fn random(&self) -> u64 {
        self.inner.entropy.next_u64()
    }

    fn random_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.random().to_le_bytes());
        b[8..].copy_from_slice(&self.random().to_le_bytes());
        b
    }

    fn ctx(&self) -> almanac_core::op::WriteContext {
        almanac_core::op::WriteContext { writer: self.inner.store.writer_id().to_string(), time_ms: self.now() }
    }
}

#[cfg(test)]
mod tests;
