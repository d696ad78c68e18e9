//! MLflow's stores, read as plain records: experiments, runs with their
//! full metric histories, datasets, logged models and the model registry.
//!
//! Traces come along where the source has them.
//!
//! Three sources: the `mlruns` folder (MLflow's file store), MLflow's SQL
//! database (SQLite), and a running MLflow server (its REST API). Both are opened read-only and never modified. Every
//! record comes back on its own: a corrupt run is an error naming the run
//! and the file, and the caller goes on with the rest.

mod filestore;
mod records;
mod rest;
mod sqlite;
mod target;

use std::path::Path;

pub use filestore::FileStore;
pub use records::*;
pub use rest::RestServer;
pub use sqlite::SqliteStore;
pub use target::{MODEL_ORIGIN_TAG, MlflowServer, RUN_ORIGIN_TAG, RemoteExperiment, RemoteRun, VERSION_ORIGIN_TAG};

/// Something wrong with one record of the source, or with the source itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entity} ({location}): {reason}")]
pub struct SourceError {
    /// What could not be read, e.g. `run 3f2a…` or `experiment 1`.
    pub entity: String,
    /// The file or table it came from.
    pub location: String,
    pub reason: String,
}

impl SourceError {
    pub fn new(entity: impl Into<String>, location: impl Into<String>, reason: impl ToString) -> SourceError {
        SourceError { entity: entity.into(), location: location.into(), reason: reason.to_string() }
    }
}

pub type Result<T, E = SourceError> = std::result::Result<T, E>;

/// An MLflow store to read from.
pub trait Source {
    /// Where the data comes from, for messages and for remembering imports.
    fn describe(&self) -> String;
    /// Every experiment, deleted ones included.
    fn experiments(&mut self) -> Result<Vec<Experiment>>;
    /// The ids of an experiment's runs, deleted ones included.
    fn run_ids(&mut self, experiment_id: &str) -> Result<Vec<String>>;
    /// One run, whole.
    fn run(&mut self, experiment_id: &str, run_id: &str) -> Result<Run>;
    /// An experiment's logged models, each read on its own.
    fn logged_models(&mut self, experiment_id: &str) -> Result<Vec<Result<LoggedModel>>>;
    /// Every registered model (prompts included) with its versions.
    fn registered_models(&mut self) -> Result<Vec<Result<RegisteredModel>>>;
    /// An experiment's traces, each read on its own. Sources from before
    /// tracing have none.
    fn traces(&mut self, _experiment_id: &str) -> Result<Vec<Result<Trace>>> {
        Ok(Vec::new())
    }
}

/// Opens `source`: an `mlruns` folder, a `sqlite:///` URI, a path to an
/// MLflow SQLite database, or an `http(s)://` MLflow server. Fails fast, with a readable reason, on anything
/// else.
pub fn open(source: &str) -> Result<Box<dyn Source>> {
    // SQLAlchemy's form: sqlite:///relative.db, sqlite:////absolute.db.
    if let Some(path) = source.strip_prefix("sqlite:///") {
        return Ok(Box::new(SqliteStore::open(Path::new(path))?));
    }
    if source.starts_with("http://") || source.starts_with("https://") {
        return Ok(Box::new(RestServer::open(source)?));
    }
    if source.starts_with("postgresql://") || source.starts_with("mysql://") || source.starts_with("mssql://") {
        return Err(SourceError::new(
            "source",
            source,
            "only SQLite databases are read directly; import from a server running on it instead",
        ));
    }
    let path = Path::new(source.strip_prefix("file://").unwrap_or(source));
    if path.is_dir() {
        return Ok(Box::new(FileStore::open(path)?));
    }
    if path.is_file() {
        return Ok(Box::new(SqliteStore::open(path)?));
    }
    Err(SourceError::new(
        "source",
        source,
        "not found: give an mlruns folder, a sqlite:/// URI, or an MLflow SQLite file",
    ))
}
