//! Versioned migrations. `PRAGMA user_version` holds the applied version;
//! each step runs in its own transaction.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    // 1: tracking core.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

    -- The operation journal: the source of truth that sync exchanges.
    CREATE TABLE journal (
        seq       INTEGER PRIMARY KEY,
        op_id     TEXT NOT NULL UNIQUE,
        entity_id TEXT NOT NULL,
        lamport   INTEGER NOT NULL,
        writer    TEXT NOT NULL,
        time_ms   INTEGER NOT NULL,
        kind      TEXT NOT NULL,
        payload   TEXT NOT NULL
    );
    CREATE INDEX journal_entity ON journal(entity_id, lamport);

    -- Query tables: a projection of the journal.
    CREATE TABLE experiments (
        experiment_id     TEXT PRIMARY KEY,
        name              TEXT NOT NULL UNIQUE,
        artifact_location TEXT NOT NULL,
        lifecycle_stage   TEXT NOT NULL,
        creation_time     INTEGER NOT NULL,
        last_update_time  INTEGER NOT NULL
    );
    CREATE TABLE experiment_tags (
        experiment_id TEXT NOT NULL REFERENCES experiments(experiment_id),
        key           TEXT NOT NULL,
        value         TEXT NOT NULL,
        PRIMARY KEY (experiment_id, key)
    ) WITHOUT ROWID;

    CREATE TABLE runs (
        pk              INTEGER PRIMARY KEY,
        run_id          TEXT NOT NULL UNIQUE,
        experiment_id   TEXT NOT NULL REFERENCES experiments(experiment_id),
        run_name        TEXT NOT NULL,
        user_id         TEXT NOT NULL,
        status          TEXT NOT NULL,
        start_time      INTEGER NOT NULL,
        end_time        INTEGER,
        artifact_uri    TEXT NOT NULL,
        lifecycle_stage TEXT NOT NULL
    );
    -- Serves the default order (start_time DESC, run_id) within an experiment.
    CREATE INDEX runs_by_experiment ON runs(experiment_id, start_time DESC, run_id);

    CREATE TABLE params (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_pk, key)
    ) WITHOUT ROWID;
    CREATE INDEX params_by_key ON params(key, value);

    CREATE TABLE run_tags (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_pk, key)
    ) WITHOUT ROWID;
    CREATE INDEX run_tags_by_key ON run_tags(key, value);

    -- Every metric point. NaN is stored as NULL (SQLite has no NaN).
    CREATE TABLE metrics (
        run_pk    INTEGER NOT NULL,
        key       TEXT NOT NULL,
        step      INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        value     REAL
    );
    -- Identical points are stored once, as in MLflow.
    CREATE UNIQUE INDEX metrics_by_run_key_step ON metrics(run_pk, key, step, timestamp, value);

    -- Each run's latest value per key (MLflow's latest-metric rule).
    CREATE TABLE latest_metrics (
        run_pk    INTEGER NOT NULL,
        key       TEXT NOT NULL,
        value     REAL,
        is_nan    INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        step      INTEGER NOT NULL,
        PRIMARY KEY (run_pk, key)
    ) WITHOUT ROWID;
    CREATE INDEX latest_metrics_by_key ON latest_metrics(key, value);

    CREATE TABLE datasets (
        pk            INTEGER PRIMARY KEY,
        experiment_id TEXT NOT NULL,
        name          TEXT NOT NULL,
        digest        TEXT NOT NULL,
        source_type   TEXT NOT NULL,
        source        TEXT NOT NULL,
        schema        TEXT,
        profile       TEXT,
        UNIQUE (experiment_id, name, digest)
    );
    CREATE TABLE run_inputs (
        run_pk     INTEGER NOT NULL REFERENCES runs(pk),
        dataset_pk INTEGER NOT NULL REFERENCES datasets(pk),
        tags       TEXT NOT NULL,
        context    TEXT,
        PRIMARY KEY (run_pk, dataset_pk)
    ) WITHOUT ROWID;
    "#,
    // 2: artifact manifests. Bytes live in the blob store by sha256.
    r#"
    CREATE TABLE artifacts (
        path   TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        size   INTEGER NOT NULL,
        owner  TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX artifacts_by_owner ON artifacts(owner);
    CREATE INDEX artifacts_by_sha ON artifacts(sha256);
    "#,
    // 3: MLflow 3 logged models and run outputs.
    r#"
    CREATE TABLE logged_models (
        model_id          TEXT PRIMARY KEY,
        experiment_id     TEXT NOT NULL REFERENCES experiments(experiment_id),
        name              TEXT NOT NULL,
        artifact_location TEXT NOT NULL,
        creation_time     INTEGER NOT NULL,
        last_update_time  INTEGER NOT NULL,
        status            TEXT NOT NULL,
        model_type        TEXT,
        source_run_id     TEXT,
        lifecycle_stage   TEXT NOT NULL
    );
    CREATE INDEX logged_models_by_experiment ON logged_models(experiment_id, creation_time);
    CREATE INDEX logged_models_by_run ON logged_models(source_run_id);
    CREATE TABLE logged_model_tags (
        model_id TEXT NOT NULL REFERENCES logged_models(model_id),
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (model_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE logged_model_params (
        model_id TEXT NOT NULL REFERENCES logged_models(model_id),
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (model_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE run_outputs (
        run_pk   INTEGER NOT NULL REFERENCES runs(pk),
        model_id TEXT NOT NULL,
        step     INTEGER NOT NULL,
        PRIMARY KEY (run_pk, model_id)
    ) WITHOUT ROWID;
    "#,
    // 4: the model registry.
    r#"
    CREATE TABLE registered_models (
        name             TEXT PRIMARY KEY,
        creation_time    INTEGER NOT NULL,
        last_update_time INTEGER NOT NULL,
        description      TEXT
    );
    CREATE TABLE registered_model_tags (
        name  TEXT NOT NULL,
        key   TEXT NOT NULL,
        value TEXT NOT NULL,
        seq   INTEGER NOT NULL,
        PRIMARY KEY (name, key)
    ) WITHOUT ROWID;
    CREATE TABLE registered_model_aliases (
        name    TEXT NOT NULL,
        alias   TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (name, alias)
    ) WITHOUT ROWID;
    CREATE TABLE model_versions (
        name             TEXT NOT NULL,
        version          INTEGER NOT NULL,
        creation_time    INTEGER NOT NULL,
        last_update_time INTEGER NOT NULL,
        description      TEXT,
        current_stage    TEXT NOT NULL,
        source           TEXT NOT NULL,
        storage_location TEXT NOT NULL,
        run_id           TEXT,
        run_link         TEXT,
        model_id         TEXT,
        deleted          INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (name, version)
    ) WITHOUT ROWID;
    CREATE INDEX model_versions_by_run ON model_versions(run_id);
    CREATE TABLE model_version_tags (
        name    TEXT NOT NULL,
        version INTEGER NOT NULL,
        key     TEXT NOT NULL,
        value   TEXT NOT NULL,
        seq     INTEGER NOT NULL,
        PRIMARY KEY (name, version, key)
    ) WITHOUT ROWID;
    "#,
    // 5: metrics logged against logged models.
    r#"
    -- Metrics logged against a logged model (MLflow 3), one row per point.
    CREATE TABLE logged_model_metrics (
        model_id       TEXT NOT NULL,
        run_id         TEXT NOT NULL,
        key            TEXT NOT NULL,
        step           INTEGER NOT NULL,
        timestamp      INTEGER NOT NULL,
        value          REAL,
        dataset_name   TEXT,
        dataset_digest TEXT
    );
    CREATE UNIQUE INDEX logged_model_metrics_point
        ON logged_model_metrics(model_id, key, step, timestamp, run_id, value);
    "#,
    // 6: replication. Remotes and sync bookkeeping are local: they never sync.
    r#"
    -- Experiments created under the same name on two replicas merge: the one
    -- first in fold order keeps the name, the other's id becomes an alias.
    CREATE TABLE experiment_aliases (
        alias     TEXT PRIMARY KEY,
        canonical TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE remotes (
        name      TEXT PRIMARY KEY,
        url       TEXT NOT NULL,
        artifacts TEXT
    ) WITHOUT ROWID;
    CREATE TABLE sync_state (
        remote        TEXT PRIMARY KEY,
        last_sync_ms  INTEGER,
        last_error    TEXT,
        ops_in        INTEGER NOT NULL DEFAULT 0,
        ops_out       INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    -- Pack files of the sync repository already folded into this store.
    CREATE TABLE imported_packs (
        path TEXT PRIMARY KEY
    ) WITHOUT ROWID;
    -- Ops the fold refused (e.g. a param changed concurrently): kept in the
    -- journal, shown in the entity's history, with the reason.
    CREATE TABLE rejected_ops (
        op_id  TEXT PRIMARY KEY,
        reason TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 7: metric points indexed in MLflow's history order (timestamp, step,
    // value), so paging a history walks the index instead of sorting it.
    r#"
    DROP INDEX metrics_by_run_key_step;
    CREATE UNIQUE INDEX metrics_by_run_key_time ON metrics(run_pk, key, timestamp, step, value);
    "#,
    // 8: metric points clustered by their key, one B-tree instead of a table
    // plus an index: half the writes per point. NaN is is_nan = 1, value 0
    // (a primary key cannot hold NULL), as in MLflow's SQL store.
    r#"
    CREATE TABLE metric_points (
        run_pk    INTEGER NOT NULL,
        key       TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
        step      INTEGER NOT NULL,
        is_nan    INTEGER NOT NULL,
        value     REAL NOT NULL,
        PRIMARY KEY (run_pk, key, timestamp, step, is_nan, value)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO metric_points(run_pk, key, timestamp, step, is_nan, value)
        SELECT run_pk, key, timestamp, step, value IS NULL, coalesce(value, 0) FROM metrics;
    DROP TABLE metrics;
    ALTER TABLE metric_points RENAME TO metrics;
    "#,
    // 9: model-version identity across renumbering. `create_op` is the op
    // that created a version, which later ops name so they follow it;
    // `version_claims` holds where each creation first appeared on a
    // remote's history, the order that decides who keeps a number.
    r#"
    ALTER TABLE model_versions ADD COLUMN create_op TEXT;
    CREATE INDEX model_versions_by_create_op ON model_versions(create_op);
    CREATE TABLE version_claims (
        op_id    TEXT PRIMARY KEY,
        position INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 10: what an import last brought for each field, per source: a
    // re-import writes a field only when the source changed it since, so a
    // local edit made after an import is not overwritten. Local, not synced.
    r#"
    CREATE TABLE import_marks (
        source TEXT NOT NULL,
        field  TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (source, field)
    ) WITHOUT ROWID;
    "#,
    // 11: annotations on runs' metrics, a projection of the journal like
    // every other table, so they sync with the run.
    r#"
    CREATE TABLE annotations (
        annotation_id TEXT PRIMARY KEY,
        run_pk        INTEGER NOT NULL REFERENCES runs(pk),
        metric_key    TEXT NOT NULL,
        step          INTEGER NOT NULL,
        text          TEXT NOT NULL,
        author        TEXT NOT NULL,
        created_ms    INTEGER NOT NULL
    );
    CREATE INDEX annotations_by_run ON annotations(run_pk, metric_key, step);
    "#,
    // 12: saved comparison views, kept with their experiment and synced.
    r#"
    CREATE TABLE saved_views (
        view_id       TEXT PRIMARY KEY,
        experiment_id TEXT NOT NULL,
        name          TEXT NOT NULL,
        spec          TEXT NOT NULL,
        created_ms    INTEGER NOT NULL,
        updated_ms    INTEGER NOT NULL
    );
    CREATE INDEX saved_views_by_experiment ON saved_views(experiment_id, name);
    "#,
    // 13: traces (MLflow 3 GenAI tracing): records, metadata and tags; the
    // spans are the trace's `traces.json` artifact. Deleting marks the row,
    // so gc can free the spans and a replayed delete stays a delete.
    r#"
    CREATE TABLE traces (
        trace_id              TEXT PRIMARY KEY,
        experiment_id         TEXT NOT NULL,
        client_request_id     TEXT,
        request_time_ms       INTEGER NOT NULL,
        execution_duration_ms INTEGER,
        state                 TEXT NOT NULL,
        request_preview       TEXT,
        response_preview      TEXT,
        deleted               INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX traces_by_experiment ON traces(experiment_id, request_time_ms);
    CREATE TABLE trace_tags (
        trace_id TEXT NOT NULL,
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (trace_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE trace_metadata (
        trace_id TEXT NOT NULL,
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (trace_id, key)
    ) WITHOUT ROWID;
    "#,
    // 14: logged models a run used as inputs (MLflow 3 `log_inputs(models=…)`).
    r#"
    CREATE TABLE run_model_inputs (
        run_pk   INTEGER NOT NULL REFERENCES runs(pk),
        model_id TEXT NOT NULL,
        PRIMARY KEY (run_pk, model_id)
    ) WITHOUT ROWID;
    "#,
];

pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found: current, supported: SCHEMA_VERSION });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now > index as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "migrated store schema");
    }
    Ok(())
}

/// Reads this store's writer id, recording `fresh` if the store has none.
pub(crate) fn writer_id(conn: &Connection, fresh: &str) -> Result<String> {
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('writer_id', ?1)", [fresh])?;
    let id: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'writer_id'", [], |r| r.get(0)).optional()?;
    Ok(id.unwrap_or_else(|| fresh.to_string()))
}
