//! What the review UI asks beyond MLflow's API: a window of the runs table
//! with its total, the experiment's columns, groups with aggregated metrics,
//! and tags set or removed on many runs at once.

use std::collections::HashMap;

use almanac_core::Error;
use almanac_core::model::{Annotation, Run, SavedView, Tag, ViewType};
use almanac_core::op::Op;
use almanac_core::search::{Target, parse_filter, parse_order_by};
use almanac_core::validation as v;
use almanac_store::{DatasetSummary, MetricRange, RunGroup, RunKeys, RunQuery};

use crate::{App, Result};

/// The most rows one window of the table may ask for.
pub const MAX_TABLE_WINDOW: i64 = 1000;
/// The most runs one bulk tag edit may touch.
pub const MAX_BULK_RUNS: usize = 10_000;

/// A window of the runs table: MLflow's search, addressed by offset.
#[derive(Debug, Clone, Default)]
pub struct RunTable {
    pub experiment_ids: Vec<String>,
    pub filter: String,
    pub order_by: Vec<String>,
    pub view: ViewType,
    pub offset: i64,
    pub limit: i64,
    /// Also return every metric's min and max for the window's runs.
    pub with_ranges: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RunTableWindow {
    /// How many runs the filter matches in all.
    pub total: i64,
    pub runs: Vec<Run>,
    /// Live child runs per run of the window (runs without children absent).
    pub child_counts: HashMap<String, i64>,
    pub ranges: Vec<MetricRange>,
}

#[derive(Debug, Clone, Default)]
pub struct GroupRuns {
    pub experiment_ids: Vec<String>,
    pub filter: String,
    pub view: ViewType,
    /// `params.<key>`, `tags.<key>` or an attribute such as `status`.
    pub group_by: String,
    pub metric_keys: Vec<String>,
}

/// The longest annotation text kept, as for a tag value.
pub const MAX_ANNOTATION_CHARS: usize = 8000;

/// The largest saved view spec accepted (it holds run ids and chart choices).
pub const MAX_VIEW_SPEC_BYTES: usize = 256 * 1024;

/// A new annotation, or an edit of `annotation_id`.
#[derive(Debug, Clone, Default)]
pub struct Annotate {
    pub annotation_id: Option<String>,
    pub run_id: String,
    pub metric_key: String,
    pub step: i64,
    pub text: String,
    pub author: String,
}

/// Tags to set and keys to remove on each of `run_ids`, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct TagRuns {
    pub run_ids: Vec<String>,
    pub set: Vec<Tag>,
    pub remove: Vec<String>,
}

impl App {
    fn run_query(
        &self,
        experiment_ids: &[String],
        filter: &str,
        order_by: &[String],
        view: ViewType,
    ) -> Result<RunQuery> {
        let filter = parse_filter(filter, Target::Runs)?;
        let order_by = order_by
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| parse_order_by(o, Target::Runs))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(RunQuery { experiment_ids: experiment_ids.to_vec(), filter, order_by, view, limit: 0, offset: 0 })
    }

    pub fn run_table(&self, req: &RunTable) -> Result<RunTableWindow> {
        if req.limit <= 0 || req.limit > MAX_TABLE_WINDOW {
            return Err(
                Error::invalid(format!("limit must be between 1 and {MAX_TABLE_WINDOW}, got {}", req.limit)).into()
            );
        }
        if req.offset < 0 {
            return Err(Error::invalid(format!("offset must not be negative, got {}", req.offset)).into());
        }
        // A pasted link may name an experiment that is gone: say so, rather
        // than show an empty table.
        for id in &req.experiment_ids {
            crate::tracking::valid_experiment_id(id)?;
            self.experiment(id)?;
        }
        let mut query = self.run_query(&req.experiment_ids, &req.filter, &req.order_by, req.view)?;
        let total = self.store().count_runs(&query)?;
        query.limit = req.limit;
        query.offset = req.offset;
        let (runs, _) = self.store().search_runs(&query)?;
        let ids: Vec<String> = runs.iter().map(|r| r.info.run_id.clone()).collect();
        let child_counts = self.store().child_counts(&ids)?;
        let ranges = if req.with_ranges { self.store().metric_ranges(&ids)? } else { Vec::new() };
        Ok(RunTableWindow { total, runs, child_counts, ranges })
    }

    /// Live runs per experiment id.
    pub fn run_counts(&self) -> Result<HashMap<String, i64>> {
        Ok(self.store().run_counts()?)
    }

    /// MLflow UI's `search-datasets`: the datasets runs of these experiments
    /// (1 to 20 of them) logged, with their contexts, at most 1,000.
    pub fn search_datasets(&self, experiment_ids: &[String]) -> Result<Vec<DatasetSummary>> {
        const MAX_EXPERIMENTS: usize = 20;
        if experiment_ids.is_empty() {
            return Err(Error::invalid("SearchDatasets request must specify at least one experiment_id.").into());
        }
        if experiment_ids.len() > MAX_EXPERIMENTS {
            return Err(Error::invalid(format!(
                "SearchDatasets request cannot specify more than {MAX_EXPERIMENTS} experiment_ids. Received {} experiment_ids.",
                experiment_ids.len()
            ))
            .into());
        }
        Ok(self.store().dataset_summaries(experiment_ids, 1000)?)
    }

    pub fn run_keys(&self, experiment_ids: &[String]) -> Result<RunKeys> {
        Ok(self.store().run_keys(experiment_ids)?)
    }

    pub fn group_runs(&self, req: &GroupRuns) -> Result<Vec<RunGroup>> {
        let query = self.run_query(&req.experiment_ids, &req.filter, &[], req.view)?;
        let by = parse_order_by(&req.group_by, Target::Runs)?.key;
        Ok(self.store().group_runs(&query, &by, &req.metric_keys)?)
    }

    /// Adds an annotation (or edits one), anchored to a metric at a step.
    pub fn annotate(&self, req: &Annotate) -> Result<Annotation> {
        let text = req.text.trim();
        if text.is_empty() {
            return Err(Error::invalid("An annotation needs some text").into());
        }
        if text.chars().count() > MAX_ANNOTATION_CHARS {
            return Err(Error::invalid(format!("An annotation holds at most {MAX_ANNOTATION_CHARS} characters")).into());
        }
        if req.author.trim().is_empty() {
            return Err(Error::invalid("An annotation needs an author").into());
        }
        v::validate_key(v::KeyKind::Metric, &req.metric_key)?;
        let run = self.store().run(&req.run_id)?;
        let existing = match &req.annotation_id {
            Some(id) => Some(
                self.store()
                    .annotations(std::slice::from_ref(&req.run_id))?
                    .into_iter()
                    .find(|a| &a.annotation_id == id)
                    .ok_or_else(|| Error::not_found(format!("No annotation {id} on run {}", req.run_id)))?,
            ),
            None => None,
        };
        let annotation = Annotation {
            annotation_id: existing
                .as_ref()
                .map(|a| a.annotation_id.clone())
                .unwrap_or_else(|| almanac_core::ids::run_id_from_random(self.random_bytes())),
            run_id: run.info.run_id,
            metric_key: req.metric_key.clone(),
            step: req.step,
            text: text.to_string(),
            author: req.author.trim().to_string(),
            created_ms: existing.map(|a| a.created_ms).unwrap_or_else(|| self.now()),
        };
        let a = annotation.clone();
        self.store().write(
            &self.ctx(),
            Op::PutAnnotation {
                annotation_id: a.annotation_id,
                run_id: a.run_id,
                metric_key: a.metric_key,
                step: a.step,
                text: a.text,
                author: a.author,
                created_ms: a.created_ms,
            },
        )?;
        Ok(annotation)
    }

    pub fn delete_annotation(&self, run_id: &str, annotation_id: &str) -> Result<()> {
        self.store()
            .write(&self.ctx(), Op::DeleteAnnotation { annotation_id: annotation_id.into(), run_id: run_id.into() })?;
        Ok(())
    }

    /// The annotations on these runs.
    pub fn annotations(&self, run_ids: &[String]) -> Result<Vec<Annotation>> {
        Ok(self.store().annotations(run_ids)?)
    }

    /// Saves a comparison under `name` (a new view, or `view_id` replaced).
    pub fn save_view(&self, view_id: Option<&str>, experiment_id: &str, name: &str, spec: &str) -> Result<SavedView> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 250 {
            return Err(Error::invalid("A saved view needs a name of 1 to 250 characters").into());
        }
        if spec.len() > MAX_VIEW_SPEC_BYTES {
            return Err(Error::invalid(format!("A saved view holds at most {MAX_VIEW_SPEC_BYTES} bytes")).into());
        }
        if serde_json::from_str::<serde_json::Value>(spec).map(|v| !v.is_object()).unwrap_or(true) {
            return Err(Error::invalid("A saved view's spec must be a JSON object").into());
        }
        let experiment = self.experiment(experiment_id)?;
        let (view_id, created_ms) = match view_id {
            Some(id) => {
                let existing = self.store().saved_view(id)?;
                (existing.view_id, existing.created_ms)
            }
            None => (almanac_core::ids::run_id_from_random(self.random_bytes()), self.now()),
        };
        self.store().write(
            &self.ctx(),
            Op::SaveView {
                view_id: view_id.clone(),
                experiment_id: experiment.experiment_id,
                name: name.to_string(),
                spec: spec.to_string(),
                created_ms,
            },
        )?;
        Ok(self.store().saved_view(&view_id)?)
    }

    pub fn saved_views(&self, experiment_id: &str) -> Result<Vec<SavedView>> {
        self.experiment(experiment_id)?;
        Ok(self.store().saved_views(experiment_id)?)
    }

    pub fn saved_view(&self, view_id: &str) -> Result<SavedView> {
        Ok(self.store().saved_view(view_id)?)
    }

    pub fn delete_view(&self, view_id: &str) -> Result<()> {
        let view = self.store().saved_view(view_id)?;
        self.store().write(&self.ctx(), Op::DeleteView { view_id: view.view_id, experiment_id: view.experiment_id })?;
        Ok(())
    }

    /// Sets and removes tags on many runs in one transaction. Removing a tag
    /// a run does not have is not an error here: the run already lacks it.
    pub fn tag_runs(&self, req: &TagRuns) -> Result<usize> {
        if req.run_ids.is_empty() {
            return Err(Error::invalid("No runs given to tag").into());
        }
        if req.run_ids.len() > MAX_BULK_RUNS {
            return Err(Error::invalid(format!("At most {MAX_BULK_RUNS} runs can be tagged at once")).into());
        }
        v::validate_batch(&[], &[], &req.set)?;
        let mut ops = Vec::new();
        for run_id in &req.run_ids {
            let run = self.store().run(run_id)?;
            if !req.set.is_empty() {
                ops.push(Op::LogBatch {
                    run_id: run_id.clone(),
                    metrics: vec![],
                    params: vec![],
                    tags: req.set.clone(),
                });
            }
            for key in &req.remove {
                if run.tags.iter().any(|t| &t.key == key) {
                    ops.push(Op::DeleteRunTag { run_id: run_id.clone(), key: key.clone() });
                }
            }
        }
        let changed = ops.len();
        if !ops.is_empty() {
            self.store().write_all(&self.ctx(), ops)?;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use almanac_core::model::{Metric, MetricPoint, Param, Tag};

    use crate::*;

    fn app() -> (tempfile::TempDir, App) {
        let dir = tempfile::tempdir().unwrap();
        let app =
            App::open(dir.path(), Box::new(FixedClock(1_700_000_000_000)), Box::new(SeededEntropy::new(3))).unwrap();
        (dir, app)
    }

    /// Six runs: optimizer alternating adam/sgd/absent, loss 0..5, the
    /// first run the parent of the last two.
    fn seeded() -> (tempfile::TempDir, App, Vec<String>) {
        let (dir, app) = app();
        let mut ids: Vec<String> = Vec::new();
        for i in 0..6i64 {
            let mut tags = vec![];
            if i >= 4 {
                tags.push(Tag { key: "mlflow.parentRunId".into(), value: ids[0].clone() });
            }
            let run = app.create_run(CreateRun { start_time: Some(1000 + i), tags, ..Default::default() }).unwrap();
            let params = match i % 3 {
                0 => vec![Param { key: "optimizer".into(), value: "adam".into() }],
                1 => vec![Param { key: "optimizer".into(), value: "sgd".into() }],
                _ => vec![],
            };
            let metrics = [i as f64 * 2.0, i as f64]
                .iter()
                .enumerate()
                .map(|(step, &value)| Metric {
                    key: "loss".into(),
                    point: MetricPoint { value, timestamp: 5, step: step as i64 },
                    model_id: None,
                    dataset_name: None,
                    dataset_digest: None,
                })
                .collect();
            app.log_batch(LogBatch { run_id: run.info.run_id.clone(), metrics, params, tags: vec![] }).unwrap();
            ids.push(run.info.run_id);
        }
        (dir, app, ids)
    }

    fn window(app: &App, filter: &str, order: &str, offset: i64, limit: i64) -> RunTableWindow {
        app.run_table(&RunTable {
            experiment_ids: vec!["0".into()],
            filter: filter.into(),
            order_by: vec![order.into()],
            offset,
            limit,
            with_ranges: true,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn table_windows_count_every_match_and_carry_ranges_and_children() {
        let (_d, app, ids) = seeded();
        let cases = [
            ("", "metrics.loss DESC", 0, 2, 6, vec![5, 4]),
            ("", "metrics.loss DESC", 4, 10, 6, vec![1, 0]),
            ("params.optimizer = 'adam'", "metrics.loss ASC", 0, 10, 2, vec![0, 3]),
            ("metrics.loss > 2.5", "", 0, 1, 3, vec![5]),
            ("tags.mlflow.parentRunId IS NULL", "start_time ASC", 0, 10, 4, vec![0, 1, 2, 3]),
        ];
        for (filter, order, offset, limit, total, expected) in cases {
            let w = window(&app, filter, order, offset, limit);
            let got: Vec<usize> =
                w.runs.iter().map(|r| ids.iter().position(|id| id == &r.info.run_id).unwrap()).collect();
            assert_eq!((w.total, got), (total, expected), "{filter} / {order}");
        }
        let w = window(&app, "", "start_time ASC", 0, 1);
        assert_eq!(w.child_counts.get(&ids[0]), Some(&2));
        let range = w.ranges.iter().find(|r| r.key == "loss").unwrap();
        assert_eq!((range.min, range.max), (Some(0.0), Some(0.0)));
        let w = window(&app, "", "start_time DESC", 0, 1);
        let range = w.ranges.iter().find(|r| r.key == "loss").unwrap();
        assert_eq!((range.min, range.max), (Some(5.0), Some(10.0)));
    }

    #[test]
    fn table_refuses_bad_windows_and_filters_with_mlflow_codes() {
        let (_d, app, _) = seeded();
        let unknown = app
            .run_table(&RunTable { experiment_ids: vec!["12345".into()], limit: 10, ..Default::default() })
            .unwrap_err();
        assert_eq!(unknown.code, ErrorCode::ResourceDoesNotExist);
        let malformed = app
            .run_table(&RunTable { experiment_ids: vec!["abc".into()], limit: 10, ..Default::default() })
            .unwrap_err();
        assert_eq!(malformed.code, ErrorCode::InvalidParameterValue);
        for (filter, offset, limit) in [("", 0, 0), ("", 0, 1001), ("", -1, 10), ("metrics.loss >", 0, 10)] {
            let err = app
                .run_table(&RunTable {
                    experiment_ids: vec!["0".into()],
                    filter: filter.into(),
                    offset,
                    limit,
                    ..Default::default()
                })
                .unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidParameterValue, "{filter} {offset} {limit}");
        }
    }

    #[test]
    fn groups_aggregate_latest_metrics_per_value() {
        let (_d, app, _) = seeded();
        let groups = app
            .group_runs(&GroupRuns {
                experiment_ids: vec!["0".into()],
                group_by: "params.optimizer".into(),
                metric_keys: vec!["loss".into()],
                ..Default::default()
            })
            .unwrap();
        type Row<'a> = (Option<&'a str>, i64, Option<f64>, Option<f64>, Option<f64>);
        let summary: Vec<Row> = groups
            .iter()
            .map(|g| (g.value.as_deref(), g.count, g.metrics[0].mean, g.metrics[0].min, g.metrics[0].max))
            .collect();
        assert_eq!(
            summary,
            vec![
                (None, 2, Some(3.5), Some(2.0), Some(5.0)),
                (Some("adam"), 2, Some(1.5), Some(0.0), Some(3.0)),
                (Some("sgd"), 2, Some(2.5), Some(1.0), Some(4.0)),
            ]
        );
        let err = app
            .group_runs(&GroupRuns {
                experiment_ids: vec!["0".into()],
                group_by: "metrics.loss".into(),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    }

    #[test]
    fn keys_list_every_column_once() {
        let (_d, app, _) = seeded();
        assert_eq!(app.run_counts().unwrap().get("0"), Some(&6));
        let keys = app.run_keys(&["0".into()]).unwrap();
        assert_eq!(keys.params, vec!["optimizer"]);
        assert_eq!(keys.metrics, vec!["loss"]);
        assert!(
            keys.tags.contains(&"mlflow.parentRunId".to_string()) && keys.tags.contains(&"mlflow.runName".to_string())
        );
    }

    #[test]
    fn annotations_are_added_edited_listed_and_deleted() {
        let (_d, app, ids) = seeded();
        let note = |text: &str, id: Option<String>| Annotate {
            annotation_id: id,
            run_id: ids[1].clone(),
            metric_key: "loss".into(),
            step: 1,
            text: text.into(),
            author: "ana".into(),
        };
        let a = app.annotate(&note("LR dropped here", None)).unwrap();
        let edited = app.annotate(&note("LR halved here", Some(a.annotation_id.clone()))).unwrap();
        assert_eq!((edited.annotation_id.as_str(), edited.created_ms), (a.annotation_id.as_str(), a.created_ms));
        let listed = app.annotations(&ids).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].text.as_str(), listed[0].run_id.as_str()), ("LR halved here", ids[1].as_str()));

        let bad = [
            (Annotate { text: "  ".into(), ..note("", None) }, ErrorCode::InvalidParameterValue),
            (Annotate { author: "".into(), ..note("x", None) }, ErrorCode::InvalidParameterValue),
            (Annotate { metric_key: "".into(), ..note("x", None) }, ErrorCode::InvalidParameterValue),
            (Annotate { run_id: "f".repeat(32), ..note("x", None) }, ErrorCode::ResourceDoesNotExist),
            (note("x", Some("nope".into())), ErrorCode::ResourceDoesNotExist),
        ];
        for (req, code) in bad {
            assert_eq!(app.annotate(&req).unwrap_err().code, code, "{req:?}");
        }
        assert_eq!(app.annotations(&ids).unwrap().len(), 1, "refused annotations write nothing");

        app.delete_annotation(&ids[1], &a.annotation_id).unwrap();
        assert!(app.annotations(&ids).unwrap().is_empty());
        assert_eq!(app.delete_annotation(&ids[1], &a.annotation_id).unwrap_err().code, ErrorCode::ResourceDoesNotExist);
    }

    #[test]
    fn views_are_saved_replaced_listed_and_deleted() {
        let (_d, app, _) = seeded();
        let v = app.save_view(None, "0", "best runs", r#"{"runs":["a"]}"#).unwrap();
        let again =
            app.save_view(Some(&v.view_id), "0", "best runs, smoothed", r#"{"runs":["a"],"smoothing":"ema"}"#).unwrap();
        assert_eq!((again.view_id.as_str(), again.created_ms), (v.view_id.as_str(), v.created_ms));
        let listed = app.saved_views("0").unwrap();
        assert_eq!(listed.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["best runs, smoothed"]);
        for (name, spec, experiment, code) in [
            ("", "{}", "0", ErrorCode::InvalidParameterValue),
            ("x", "not json", "0", ErrorCode::InvalidParameterValue),
            ("x", "[1]", "0", ErrorCode::InvalidParameterValue),
            ("x", "{}", "424242", ErrorCode::ResourceDoesNotExist),
        ] {
            assert_eq!(app.save_view(None, experiment, name, spec).unwrap_err().code, code, "{name} {spec}");
        }
        app.delete_view(&v.view_id).unwrap();
        assert!(app.saved_views("0").unwrap().is_empty());
        assert_eq!(app.saved_view(&v.view_id).unwrap_err().code, ErrorCode::ResourceDoesNotExist);
    }

    #[test]
    fn bulk_tags_apply_to_all_runs_or_none() {
        let (_d, app, ids) = seeded();
        let set = vec![Tag { key: "reviewed".into(), value: "yes".into() }];
        app.tag_runs(&TagRuns { run_ids: ids[..3].to_vec(), set: set.clone(), remove: vec![] }).unwrap();
        let tagged = window(&app, "tags.reviewed = 'yes'", "", 0, 10);
        assert_eq!(tagged.total, 3);

        // One unknown run: nothing is written, not even to the real runs.
        let mut with_unknown = ids[3..].to_vec();
        with_unknown.push("f".repeat(32));
        let err = app.tag_runs(&TagRuns { run_ids: with_unknown, set, remove: vec![] }).unwrap_err();
        assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
        assert_eq!(window(&app, "tags.reviewed = 'yes'", "", 0, 10).total, 3);

        // Removing from runs with and without the tag.
        app.tag_runs(&TagRuns { run_ids: ids.clone(), set: vec![], remove: vec!["reviewed".into()] }).unwrap();
        assert_eq!(window(&app, "tags.reviewed = 'yes'", "", 0, 10).total, 0);
    }
}
