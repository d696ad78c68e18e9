//! MLflow's SQL store, in a SQLite file, opened read-only.

use std::path::Path;

use almanac_core::model::{Dataset, DatasetInput, Metric, MetricPoint, Param, Tag};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::records::{self, Experiment, LoggedModel, ModelVersion, RegisteredModel, Run, Trace};
use crate::{Result, Source, SourceError};

pub struct SqliteStore {
    conn: Connection,
    path: String,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let location = path.canonicalize().unwrap_or_else(|_| path.to_path_buf()).display().to_string();
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|e| SourceError::new("source", &location, e))?;
        let store = SqliteStore { conn, path: location };
        let mlflow = store.has_table("runs")? && store.has_table("experiments")? && store.has_table("metrics")?;
        if !mlflow {
            return Err(SourceError::new("source", &store.path, "not an MLflow database: no runs/experiments tables"));
        }
        Ok(store)
    }

    fn has_table(&self, name: &str) -> Result<bool> {
        self.conn
            .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |_| Ok(()))
            .optional()
            .map(|found| found.is_some())
            .map_err(|e| SourceError::new("source", &self.path, format!("not a readable SQLite database: {e}")))
    }

    fn has_column(&self, table: &str, column: &str) -> bool {
        self.conn.prepare(&format!("SELECT {column} FROM {table} LIMIT 0")).is_ok()
    }

    fn fail(&self, entity: &str, table: &str) -> impl Fn(rusqlite::Error) -> SourceError + '_ {
        let entity = entity.to_string();
        let location = format!("{} table {table}", self.path);
        move |e| SourceError::new(entity.clone(), location.clone(), e)
    }

    fn pairs(&self, sql: &str, key: &str, entity: &str, table: &str) -> Result<Vec<(String, String)>> {
        let fail = self.fail(entity, table);
        let mut stmt = self.conn.prepare_cached(sql).map_err(&fail)?;
        let rows = stmt
            .query_map([key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default())))
            .map_err(&fail)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(&fail)
    }

    fn tags(&self, sql: &str, key: &str, entity: &str, table: &str) -> Result<Vec<Tag>> {
        Ok(self.pairs(sql, key, entity, table)?.into_iter().map(|(key, value)| Tag { key, value }).collect())
    }
}

fn metric(key: String, value: Option<f64>, timestamp: i64, step: i64, is_nan: bool) -> Metric {
    let value = if is_nan { f64::NAN } else { value.unwrap_or(f64::NAN) };
    Metric {
        key,
        point: MetricPoint { value, timestamp, step },
        model_id: None,
        dataset_name: None,
        dataset_digest: None,
    }
}

impl Source for SqliteStore {
    fn describe(&self) -> String {
        format!("MLflow database {}", self.path)
    }

    fn experiments(&mut self) -> Result<Vec<Experiment>> {
        let fail = self.fail("experiments", "experiments");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT experiment_id, name, lifecycle_stage, creation_time FROM experiments ORDER BY experiment_id",
            )
            .map_err(&fail)?;
        let rows: Vec<(i64, String, Option<String>, Option<i64>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(&fail)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&fail)?;
        // Runs whose experiment row is gone (deleted by hand: SQLite does
        // not enforce MLflow's foreign keys) still come in.
        let orphans: Vec<i64> = self
            .conn
            .prepare(
                "SELECT DISTINCT experiment_id FROM runs
                 WHERE experiment_id NOT IN (SELECT experiment_id FROM experiments) ORDER BY experiment_id",
            )
            .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
            .map_err(&fail)?;
        let listed: Result<Vec<Experiment>> = rows
            .into_iter()
            .map(|(id, name, stage, created)| {
                let id = id.to_string();
                Ok(Experiment {
                    tags: self.tags(
                        "SELECT key, value FROM experiment_tags WHERE experiment_id = ?1",
                        &id,
                        &format!("experiment {id}"),
                        "experiment_tags",
                    )?,
                    id,
                    name,
                    lifecycle: records::lifecycle(stage.as_deref()),
                    creation_time: created.unwrap_or(0),
                })
            })
            .collect();
        let mut out = listed?;
        out.extend(orphans.into_iter().map(|id| records::orphaned_experiment(&id.to_string())));
        Ok(out)
    }

    fn run_ids(&mut self, experiment_id: &str) -> Result<Vec<String>> {
        let fail = self.fail(&format!("experiment {experiment_id}"), "runs");
        let mut stmt =
            self.conn.prepare("SELECT run_uuid FROM runs WHERE experiment_id = ?1 ORDER BY run_uuid").map_err(&fail)?;
        let ids = stmt.query_map([experiment_id], |r| r.get(0)).map_err(&fail)?;
        ids.collect::<rusqlite::Result<_>>().map_err(&fail)
    }

    fn run(&mut self, experiment_id: &str, run_id: &str) -> Result<Run> {
        let entity = format!("run {run_id}");
        let fail = self.fail(&entity, "runs");
        type Row =
            (Option<String>, Option<String>, Option<String>, Option<i64>, Option<i64>, Option<String>, Option<String>);
        // Stores from before run names had no `name` column.
        let name_column = if self.has_column("runs", "name") { "name" } else { "NULL" };
        let row: Row = self
            .conn
            .query_row(
                &format!(
                    "SELECT {name_column}, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri
                     FROM runs WHERE run_uuid = ?1"
                ),
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
            )
            .map_err(&fail)?;
        let (name, user, status, start, end, stage, artifact_uri) = row;
        let status_raw = status.unwrap_or_default();
        let status = records::run_status(&status_raw).ok_or_else(|| {
            SourceError::new(&entity, format!("{} table runs", self.path), format!("unknown status {status_raw:?}"))
        })?;

        let fail = self.fail(&entity, "metrics");
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ?1")
            .map_err(&fail)?;
        let mut metrics: Vec<Metric> = stmt
            .query_map([run_id], |r| Ok(metric(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, i64>(4)? != 0)))
            .map_err(&fail)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&fail)?;
        records::collapse(&mut metrics);

        let mut inputs = Vec::new();
        if self.has_table("inputs")? && self.has_table("datasets")? {
            let fail = self.fail(&entity, "inputs");
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, d.dataset_schema,
                            d.dataset_profile
                     FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id
                     WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id = ?1
                     ORDER BY d.name, d.digest",
                )
                .map_err(&fail)?;
            type InputRow = (String, String, String, String, String, Option<String>, Option<String>);
            let rows: Vec<InputRow> = stmt
                .query_map([run_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
                })
                .map_err(&fail)?
                .collect::<rusqlite::Result<_>>()
                .map_err(&fail)?;
            for (input_uuid, name, digest, source_type, source, schema, profile) in rows {
                let tags = self.tags(
                    "SELECT name, value FROM input_tags WHERE input_uuid = ?1",
                    &input_uuid,
                    &entity,
                    "input_tags",
                )?;
                inputs.push(DatasetInput {
                    dataset: Dataset { name, digest, source_type, source, schema, profile },
                    tags,
                });
            }
        }
        let mut outputs = Vec::new();
        if self.has_table("inputs")? && self.has_column("inputs", "step") {
            let fail = self.fail(&entity, "inputs");
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT destination_id, step FROM inputs
                     WHERE source_type = 'RUN_OUTPUT' AND source_id = ?1 AND destination_type = 'MODEL_OUTPUT'",
                )
                .map_err(&fail)?;
            outputs = stmt
                .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(&fail)?
                .collect::<rusqlite::Result<_>>()
                .map_err(&fail)?;
        }
        Ok(Run {
            run_id: run_id.to_string(),
            experiment_id: experiment_id.to_string(),
            run_name: name.unwrap_or_default(),
            user_id: user.unwrap_or_default(),
            status,
            start_time: start.unwrap_or(0),
            end_time: end,
            lifecycle: records::lifecycle(stage.as_deref()),
            params: self
                .pairs("SELECT key, value FROM params WHERE run_uuid = ?1", run_id, &entity, "params")?
                .into_iter()
                .map(|(key, value)| Param { key, value })
                .collect(),
            tags: self.tags("SELECT key, value FROM tags WHERE run_uuid = ?1", run_id, &entity, "tags")?,
            metrics,
            inputs,
            outputs,
            artifacts: artifact_uri.as_deref().and_then(records::local_dir),
        })
    }

    fn traces(&mut self, experiment_id: &str) -> Result<Vec<Result<Trace>>> {
        if !self.has_table("trace_info")? {
            return Ok(Vec::new());
        }
        let fail = self.fail(&format!("experiment {experiment_id}"), "trace_info");
        let name_column = if self.has_column("trace_info", "trace_name") { "trace_name" } else { "NULL" };
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT request_id, timestamp_ms, execution_time_ms, status, client_request_id, request_preview,
                        response_preview, {name_column}
                 FROM trace_info WHERE experiment_id = ?1 ORDER BY timestamp_ms, request_id"
            ))
            .map_err(&fail)?;
        type TraceRow =
            (String, i64, Option<i64>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
        let rows: Vec<TraceRow> = stmt
            .query_map([experiment_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
            })
            .map_err(&fail)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&fail)?;
        let has_spans = self.has_table("spans")?;
        Ok(rows
            .into_iter()
            .map(|(trace_id, time, duration, status, client_request_id, request_preview, response_preview, name)| {
                let entity = format!("trace {trace_id}");
                let pairs = |table: &str| {
                    let sql = format!("SELECT key, value FROM {table} WHERE request_id = ?1 ORDER BY key");
                    self.tags(&sql, &trace_id, &entity, table)
                };
                let mut all_tags = pairs("trace_tags")?;
                if let Some(name) = name
                    && !all_tags.iter().any(|t| t.key == almanac_core::trace::NAME_TAG)
                {
                    all_tags.push(Tag { key: almanac_core::trace::NAME_TAG.into(), value: name });
                }
                let mut spans_json = None;
                if has_spans {
                    let fail = self.fail(&entity, "spans");
                    let mut stmt = self
                        .conn
                        .prepare_cached("SELECT content FROM spans WHERE trace_id = ?1 ORDER BY start_time_unix_nano")
                        .map_err(&fail)?;
                    let contents: Vec<String> = stmt
                        .query_map([&trace_id], |r| r.get(0))
                        .map_err(&fail)?
                        .collect::<rusqlite::Result<_>>()
                        .map_err(&fail)?;
                    if !contents.is_empty() {
                        let spans = contents
                            .iter()
                            .map(|c| serde_json::from_str::<serde_json::Value>(c))
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(|e| {
                                SourceError::new(
                                    &entity,
                                    format!("{} table spans", self.path),
                                    format!("a span is not JSON: {e}"),
                                )
                            })?;
                        spans_json = Some(serde_json::json!({ "spans": spans }).to_string().into_bytes());
                    }
                }
                let location = all_tags
                    .iter()
                    .find(|t| t.key == almanac_core::trace::ARTIFACT_LOCATION_TAG)
                    .map(|t| t.value.clone());
                let spans_json = spans_json.or_else(|| records::local_spans(location.as_deref()));
                Ok(Trace {
                    info: almanac_core::trace::TraceInfo {
                        trace_id: trace_id.clone(),
                        experiment_id: experiment_id.to_string(),
                        client_request_id,
                        request_time_ms: time,
                        execution_duration_ms: duration,
                        state: records::trace_state(status.as_deref()),
                        request_preview,
                        response_preview,
                        trace_metadata: pairs("trace_request_metadata")?,
                        tags: all_tags.into_iter().filter(|t| records::keep_trace_tag(&t.key)).collect(),
                    },
                    spans_json,
                })
            })
            .collect())
    }

    fn logged_models(&mut self, experiment_id: &str) -> Result<Vec<Result<LoggedModel>>> {
        if !self.has_table("logged_models")? {
            return Ok(Vec::new());
        }
        let fail = self.fail(&format!("experiment {experiment_id}"), "logged_models");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT model_id, name, artifact_location, creation_timestamp_ms, status, lifecycle_stage, model_type,
                        source_run_id
                 FROM logged_models WHERE experiment_id = ?1 ORDER BY model_id",
            )
            .map_err(&fail)?;
        type ModelRow = (String, String, String, i64, i64, Option<String>, Option<String>, Option<String>);
        let rows: Vec<ModelRow> = stmt
            .query_map([experiment_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
            })
            .map_err(&fail)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&fail)?;
        Ok(rows
            .into_iter()
            .map(|(model_id, name, location, created, status, stage, model_type, source_run_id)| {
                let entity = format!("logged model {model_id}");
                let fail = self.fail(&entity, "logged_model_metrics");
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT run_id, metric_name, metric_value, metric_timestamp_ms, metric_step, dataset_name,
                                dataset_digest
                         FROM logged_model_metrics WHERE model_id = ?1",
                    )
                    .map_err(&fail)?;
                let metrics = stmt
                    .query_map([&model_id], |r| {
                        let mut m = metric(r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, false);
                        m.model_id = Some(model_id.clone());
                        m.dataset_name = r.get(5)?;
                        m.dataset_digest = r.get(6)?;
                        Ok((r.get::<_, String>(0)?, m))
                    })
                    .map_err(&fail)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(&fail)?;
                Ok(LoggedModel {
                    params: self
                        .pairs(
                            "SELECT param_key, param_value FROM logged_model_params WHERE model_id = ?1",
                            &model_id,
                            &entity,
                            "logged_model_params",
                        )?
                        .into_iter()
                        .map(|(key, value)| Param { key, value })
                        .collect(),
                    tags: self.tags(
                        "SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = ?1",
                        &model_id,
                        &entity,
                        "logged_model_tags",
                    )?,
                    metrics,
                    experiment_id: experiment_id.to_string(),
                    name,
                    creation_time: created,
                    model_type,
                    source_run_id,
                    status: records::logged_model_status(status),
                    lifecycle: records::lifecycle(stage.as_deref()),
                    artifacts: records::local_dir(&location),
                    model_id,
                })
            })
            .collect())
    }

    fn registered_models(&mut self) -> Result<Vec<Result<RegisteredModel>>> {
        if !self.has_table("registered_models")? {
            return Ok(Vec::new());
        }
        let fail = self.fail("registered models", "registered_models");
        let mut stmt = self
            .conn
            .prepare("SELECT name, creation_time, description FROM registered_models ORDER BY name")
            .map_err(&fail)?;
        let rows: Vec<(String, Option<i64>, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(&fail)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&fail)?;
        // Older MLflow schemas lack these columns.
        let model_id_column = self.has_column("model_versions", "model_id");
        let storage_column = self.has_column("model_versions", "storage_location");
        Ok(rows
            .into_iter()
            .map(|(name, created, description)| {
                let entity = format!("registered model {name}");
                let fail = self.fail(&entity, "model_versions");
                let sql = format!(
                    "SELECT version, creation_time, description, current_stage, source, {}, run_id,
                            run_link, {}
                     FROM model_versions WHERE name = ?1 AND coalesce(current_stage, '') != ?2
                     ORDER BY version",
                    if storage_column { "storage_location" } else { "NULL" },
                    if model_id_column { "model_id" } else { "NULL" }
                );
                let mut stmt = self.conn.prepare(&sql).map_err(&fail)?;
                let mut versions: Vec<ModelVersion> = stmt
                    .query_map([name.as_str(), records::DELETED_VERSION_STAGE], |r| {
                        Ok(ModelVersion {
                            version: r.get(0)?,
                            creation_time: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                            description: r.get(2)?,
                            current_stage: r.get::<_, Option<String>>(3)?.unwrap_or_else(|| "None".into()),
                            source: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                            storage_location: r.get(5)?,
                            run_id: r.get(6)?,
                            run_link: r.get(7)?,
                            model_id: r.get(8)?,
                            tags: Vec::new(),
                        })
                    })
                    .map_err(&fail)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(&fail)?;
                for v in &mut versions {
                    let fail = self.fail(&entity, "model_version_tags");
                    let mut stmt = self
                        .conn
                        .prepare_cached("SELECT key, value FROM model_version_tags WHERE name = ?1 AND version = ?2")
                        .map_err(&fail)?;
                    v.tags = stmt
                        .query_map(params![name, v.version], |r| {
                            Ok(Tag { key: r.get(0)?, value: r.get::<_, Option<String>>(1)?.unwrap_or_default() })
                        })
                        .map_err(&fail)?
                        .collect::<rusqlite::Result<_>>()
                        .map_err(&fail)?;
                }
                let aliases = if self.has_table("registered_model_aliases")? {
                    let fail = self.fail(&entity, "registered_model_aliases");
                    let mut stmt = self
                        .conn
                        .prepare_cached(
                            "SELECT alias, version FROM registered_model_aliases WHERE name = ?1 ORDER BY alias",
                        )
                        .map_err(&fail)?;
                    stmt.query_map([&name], |r| Ok((r.get(0)?, r.get(1)?)))
                        .map_err(&fail)?
                        .collect::<rusqlite::Result<_>>()
                        .map_err(&fail)?
                } else {
                    Vec::new()
                };
                Ok(RegisteredModel {
                    tags: self.tags(
                        "SELECT key, value FROM registered_model_tags WHERE name = ?1",
                        &name,
                        &entity,
                        "registered_model_tags",
                    )?,
                    name,
                    creation_time: created.unwrap_or(0),
                    description,
                    aliases,
                    versions,
                })
            })
            .collect())
    }
}
