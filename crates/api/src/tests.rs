use almanac_core::model::{LifecycleStage, Metric, MetricPoint, Param, Tag};

use crate::*;

fn app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path(), Box::new(FixedClock(1_700_000_000_000)), Box::new(SeededEntropy::new(7))).unwrap();
    (dir, app)
}

#[test]
fn default_experiment_exists_once() {
    let (dir, app) = app();
    let e = app.experiment("0").unwrap();
    assert_eq!((e.name.as_str(), e.artifact_location.as_str()), ("Default", "mlflow-artifacts:/0"));
    drop(app);
    let again = App::open(dir.path(), Box::new(FixedClock(1)), Box::new(SeededEntropy::new(8))).unwrap();
    let page = again.search_experiments(&SearchExperiments::default()).unwrap();
    assert_eq!(page.items.len(), 1);
}

#[test]
fn runs_get_generated_names_and_the_name_tag() {
    let (_d, app) = app();
    let run = app.create_run(CreateRun::default()).unwrap();
    assert_eq!(run.info.experiment_id, "0");
    assert_eq!(run.info.run_id.len(), 32);
    assert_eq!(run.info.artifact_uri, format!("mlflow-artifacts:/0/{}/artifacts", run.info.run_id));
    let tag = run.tags.iter().find(|t| t.key == "mlflow.runName").unwrap();
    assert_eq!(tag.value, run.info.run_name);
    assert_eq!(run.info.run_name.split('-').count(), 3);

    let err = app
        .create_run(CreateRun {
            run_name: Some("a".into()),
            tags: vec![Tag { key: "mlflow.runName".into(), value: "b".into() }],
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
}

#[test]
fn experiment_lifecycle_errors_match_mlflow() {
    let (_d, app) = app();
    let id = app.create_experiment("e", None, vec![]).unwrap();
    assert_eq!(app.create_experiment("e", None, vec![]).unwrap_err().code, ErrorCode::ResourceAlreadyExists);
    assert_eq!(app.restore_experiment(&id).unwrap_err().code, ErrorCode::ResourceDoesNotExist);
    app.delete_experiment(&id).unwrap();
    assert_eq!(app.delete_experiment(&id).unwrap_err().code, ErrorCode::ResourceDoesNotExist);
    assert_eq!(app.rename_experiment(&id, "f").unwrap_err().code, ErrorCode::InvalidState);
    app.restore_experiment(&id).unwrap();
    app.rename_experiment(&id, "f").unwrap();
    assert_eq!(app.experiment_by_name("f").unwrap().experiment_id, id);
    assert_eq!(app.experiment_by_name("e").unwrap_err().code, ErrorCode::ResourceDoesNotExist);
}

#[test]
fn paging_walks_every_run_once() {
    let (_d, app) = app();
    let exp = app.create_experiment("p", None, vec![]).unwrap();
    for i in 0..25 {
        app.create_run(CreateRun { experiment_id: Some(exp.clone()), start_time: Some(i), ..Default::default() })
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = app
            .search_runs(&SearchRuns {
                experiment_ids: vec![exp.clone()],
                max_results: Some(10),
                page_token: token.clone(),
                ..Default::default()
            })
            .unwrap();
        seen.extend(page.items.iter().map(|r| r.info.start_time));
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen, (0..25).rev().collect::<Vec<_>>());
}

#[test]
fn bulk_interval_keeps_extremes_and_honours_max_results() {
    let (_d, app) = app();
    let run = app.create_run(CreateRun::default()).unwrap();
    let id = run.info.run_id;
    for chunk in (0..10_000).collect::<Vec<i64>>().chunks(1000) {
        let metrics = chunk
            .iter()
            .map(|&s| Metric {
                key: "loss".into(),
                point: MetricPoint { value: if s == 4321 { 100.0 } else { 1.0 }, timestamp: s, step: s },
                ..Default::default()
            })
            .collect();
        app.log_batch(LogBatch { run_id: id.clone(), metrics, ..Default::default() }).unwrap();
    }
    let points = app.metric_history_bulk_interval(std::slice::from_ref(&id), "loss", None, Some(50)).unwrap();
    assert!(points.len() <= 50);
    assert_eq!(points.first().unwrap().point.step, 0);
    assert_eq!(points.last().unwrap().point.step, 9999);
    assert!(points.iter().any(|p| p.point.value == 100.0));
    let err = app.metric_history_bulk_interval(&[id], "loss", None, Some(2501)).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
}

#[test]
fn param_conflicts_and_batch_limits() {
    let (_d, app) = app();
    let id = app.create_run(CreateRun::default()).unwrap().info.run_id;
    app.log_param(&id, Param { key: "lr".into(), value: "1".into() }).unwrap();
    app.log_param(&id, Param { key: "lr".into(), value: "1".into() }).unwrap();
    let err = app.log_param(&id, Param { key: "lr".into(), value: "2".into() }).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    let too_many = (0..101).map(|i| Param { key: format!("p{i}"), value: "v".into() }).collect();
    let err = app.log_batch(LogBatch { run_id: id.clone(), params: too_many, ..Default::default() }).unwrap_err();
    assert!(err.message.contains("at most 100 params"), "{}", err.message);
}

#[test]
fn a_bundle_claiming_huge_sync_data_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(&dir.path().join("s"), Box::new(FixedClock(1)), Box::new(SeededEntropy::new(4))).unwrap();
    let file = dir.path().join("hostile.almanac");
    // Written by hand: the format entry, then a header claiming 1 TiB of
    // sync data, followed by nothing.
    let mut bytes = Vec::new();
    let mut header = tar::Header::new_gnu();
    header.set_path("almanac-bundle").unwrap();
    header.set_size(17);
    header.set_cksum();
    bytes.extend_from_slice(header.as_bytes());
    let mut content = b"almanac bundle 1\n".to_vec();
    content.resize(512, 0);
    bytes.extend_from_slice(&content);
    let mut header = tar::Header::new_gnu();
    header.set_path("data.bundle").unwrap();
    header.set_size(1 << 40);
    header.set_cksum();
    bytes.extend_from_slice(header.as_bytes());
    std::fs::write(&file, bytes).unwrap();
    let err = app.apply_bundle(&file).unwrap_err();
    assert_eq!(err.code, crate::ErrorCode::InvalidParameterValue, "{}", err.message);
    assert!(err.message.contains("limit"), "{}", err.message);
}

/// A source in memory, for the importer's own rules.
#[derive(Clone)]
struct MemorySource {
    experiments: Vec<almanac_mlflow::Experiment>,
    runs: Vec<almanac_mlflow::Run>,
}

impl almanac_mlflow::Source for MemorySource {
    fn describe(&self) -> String {
        "test source".into()
    }
    fn experiments(&mut self) -> almanac_mlflow::Result<Vec<almanac_mlflow::Experiment>> {
        Ok(self.experiments.clone())
    }
    fn run_ids(&mut self, experiment_id: &str) -> almanac_mlflow::Result<Vec<String>> {
        Ok(self.runs.iter().filter(|r| r.experiment_id == experiment_id).map(|r| r.run_id.clone()).collect())
    }
    fn run(&mut self, _: &str, run_id: &str) -> almanac_mlflow::Result<almanac_mlflow::Run> {
        let found = self.runs.iter().find(|r| r.run_id == run_id);
        found.cloned().ok_or_else(|| almanac_mlflow::SourceError::new("run", run_id, "no such run"))
    }
    fn logged_models(
        &mut self,
        _: &str,
    ) -> almanac_mlflow::Result<Vec<almanac_mlflow::Result<almanac_mlflow::LoggedModel>>> {
        Ok(vec![])
    }
    fn registered_models(
        &mut self,
    ) -> almanac_mlflow::Result<Vec<almanac_mlflow::Result<almanac_mlflow::RegisteredModel>>> {
        Ok(vec![])
    }
}

fn source_experiment(id: &str, name: &str, lifecycle: LifecycleStage) -> almanac_mlflow::Experiment {
    almanac_mlflow::Experiment { id: id.into(), name: name.into(), lifecycle, creation_time: 1, tags: vec![] }
}

fn source_run(run_id: &str, experiment_id: &str, lifecycle: LifecycleStage) -> almanac_mlflow::Run {
    almanac_mlflow::Run {
        run_id: run_id.into(),
        experiment_id: experiment_id.into(),
        run_name: format!("run-{}", &run_id[..4]),
        user_id: "me".into(),
        status: almanac_core::model::RunStatus::Finished,
        start_time: 10,
        end_time: Some(20),
        lifecycle,
        params: vec![Param { key: "lr".into(), value: "0.1".into() }],
        tags: vec![],
        metrics: vec![Metric {
            key: "loss".into(),
            point: MetricPoint { value: 0.5, timestamp: 11, step: 0 },
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
        }],
        inputs: vec![],
        outputs: vec![],
        artifacts: None,
    }
}

#[test]
fn an_old_run_without_a_name_field_takes_its_name_from_the_run_name_tag() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path(), Box::new(FixedClock(1)), Box::new(SeededEntropy::new(5))).unwrap();
    let run_id = "0123456789abcdef0123456789abcdef".to_string();
    let mut run = source_run(&run_id, "1", LifecycleStage::Active);
    run.run_name = String::new();
    run.tags = vec![Tag { key: "mlflow.runName".into(), value: "old-name".into() }];
    let mut source =
        MemorySource { experiments: vec![source_experiment("1", "old", LifecycleStage::Active)], runs: vec![run] };
    let summary = app.import_mlflow(&mut source, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!((summary.runs_created, summary.problems.len()), (1, 0), "{summary:?}");
    let run = app.run(&run_id).unwrap();
    assert_eq!(run.info.run_name, "old-name");
    assert_eq!(app.experiment("1").unwrap().name, "old", "the source's experiment id resolves");
    let again = app.import_mlflow(&mut source, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!((again.runs_created, again.runs_unchanged), (0, 1));
}

/// Each run's lifecycle as the store holds it, in the order given.
fn lifecycles(app: &App, run_ids: &[&str]) -> Vec<LifecycleStage> {
    run_ids.iter().map(|id| app.run(id).unwrap().info.lifecycle_stage).collect()
}

#[test]
fn a_deleted_experiment_arrives_deleted_with_every_run_in_the_state_the_source_holds() {
    use LifecycleStage::{Active, Deleted};
    let (_d, app) = app();
    let (kept, dropped) = ("aaaa0000000000000000000000000001", "bbbb0000000000000000000000000002");
    let mut source = MemorySource {
        experiments: vec![source_experiment("7", "archive", Deleted)],
        runs: vec![source_run(kept, "7", Active), source_run(dropped, "7", Deleted)],
    };
    let first = app.import_mlflow(&mut source, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!((first.runs_created, first.problems.clone()), (2, vec![]), "{first:?}");
    assert_eq!(app.experiment("7").unwrap().lifecycle_stage, Deleted);
    assert_eq!(lifecycles(&app, &[kept, dropped]), [Active, Deleted]);
    assert_eq!(app.run(kept).unwrap().params[0].value, "0.1", "the run came in whole");

    // Again: nothing new, nothing written.
    let journal = app.store().count_own_ops_after(0).unwrap();
    let again = app.import_mlflow(&mut source, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!((again.runs_unchanged, again.problems.len()), (2, 0), "{again:?}");
    assert_eq!(app.store().count_own_ops_after(0).unwrap(), journal);

    // The source restores the experiment: it comes back, each run as the source holds it.
    source.experiments[0].lifecycle = Active;
    app.import_mlflow(&mut source, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(app.experiment("7").unwrap().lifecycle_stage, Active);
    assert_eq!(lifecycles(&app, &[kept, dropped]), [Active, Deleted]);

    // The source deletes a run, then the experiment again.
    source.runs[0].lifecycle = Deleted;
    app.import_mlflow(&mut source, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(lifecycles(&app, &[kept, dropped]), [Deleted, Deleted]);
    source.runs[0].lifecycle = Active;
    source.experiments[0].lifecycle = Deleted;
    app.import_mlflow(&mut source, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(app.experiment("7").unwrap().lifecycle_stage, Deleted);
    assert_eq!(lifecycles(&app, &[kept, dropped]), [Active, Deleted]);

    // Restoring here brings the runs back, as MLflow's restore does.
    app.restore_experiment("7").unwrap();
    assert_eq!(lifecycles(&app, &[kept, dropped]), [Active, Active]);
}

#[test]
fn the_first_import_leaves_a_same_named_experiment_here_as_it_is() {
    let (_d, app) = app();
    let id = app.create_experiment("shared", None, vec![]).unwrap();
    let mut source = MemorySource {
        experiments: vec![source_experiment("3", "shared", LifecycleStage::Deleted)],
        runs: vec![source_run("cccc0000000000000000000000000003", "3", LifecycleStage::Deleted)],
    };
    let summary = app.import_mlflow(&mut source, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!((summary.runs_created, summary.experiments_matched), (1, 1), "{summary:?}");
    assert_eq!(app.experiment(&id).unwrap().lifecycle_stage, LifecycleStage::Active);
    assert_eq!(lifecycles(&app, &["cccc0000000000000000000000000003"]), [LifecycleStage::Deleted]);
}

#[test]
fn default_store_dir_prefers_almanac_home_then_the_data_folder() {
    use std::path::PathBuf;
    for (home, data, expected) in [
        (Some("/h"), Some("/d"), Some("/h")),
        (Some(""), Some("/d"), Some("/d/almanac")),
        (None, Some("/d"), Some("/d/almanac")),
        (None, None, None),
    ] {
        let got = crate::default_store_dir(home.map(Into::into), data.map(PathBuf::from));
        assert_eq!(got, expected.map(PathBuf::from), "{home:?} {data:?}");
    }
}

#[test]
fn json_tags_are_written_as_python_writes_them() {
    for (value, expected) in [
        (serde_json::json!([{"name": "m", "version": 1}]), r#"[{"name": "m", "version": 1}]"#),
        (serde_json::json!({"a": [1, 2], "b": "é☃𝄞"}), r#"{"a": [1, 2], "b": "\u00e9\u2603\ud834\udd1e"}"#),
        (serde_json::json!([]), "[]"),
        (serde_json::json!({"q": "say \"hi\"\n"}), r#"{"q": "say \"hi\"\n"}"#),
    ] {
        assert_eq!(crate::python_json(&value), expected);
    }
}
