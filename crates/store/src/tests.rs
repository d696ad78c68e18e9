use almanac_core::ErrorCode;
use almanac_core::model::{LifecycleStage, Metric, MetricPoint, Param, RunStatus, Tag, ViewType};
use almanac_core::op::{Op, WriteContext};
use almanac_core::search::{Target, parse_filter, parse_order_by};

use crate::{RunQuery, Store};

fn ctx(time_ms: i64) -> WriteContext {
    WriteContext { writer: "w1".into(), time_ms }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), "w1").unwrap();
    (dir, store)
}

fn create_experiment(s: &Store, id: &str, name: &str) {
    s.write(
        &ctx(1),
        Op::CreateExperiment {
            experiment_id: id.into(),
            name: name.into(),
            artifact_location: format!("file:///a/{id}"),
            creation_time: 1,
            tags: vec![],
        },
    )
    .unwrap();
}

fn create_run(s: &Store, experiment_id: &str, run_id: &str, start_time: i64) {
    s.write(
        &ctx(start_time),
        Op::CreateRun {
            run_id: run_id.into(),
            experiment_id: experiment_id.into(),
            run_name: run_id.into(),
            user_id: "alice".into(),
            start_time,
            status: RunStatus::Running,
            artifact_uri: format!("file:///a/{run_id}"),
            tags: vec![Tag { key: "mlflow.runName".into(), value: run_id.into() }],
        },
    )
    .unwrap();
}

fn metric(key: &str, value: f64, step: i64, timestamp: i64) -> Metric {
    Metric { key: key.into(), point: MetricPoint { value, timestamp, step }, ..Default::default() }
}

fn log(s: &Store, run_id: &str, metrics: Vec<Metric>, params: Vec<(&str, &str)>, tags: Vec<(&str, &str)>) {
    s.write(
        &ctx(5),
        Op::LogBatch {
            run_id: run_id.into(),
            metrics,
            params: params.into_iter().map(|(k, v)| Param { key: k.into(), value: v.into() }).collect(),
            tags: tags.into_iter().map(|(k, v)| Tag { key: k.into(), value: v.into() }).collect(),
        },
    )
    .unwrap();
}

/// Five runs with a mix of metrics (one NaN, one missing), params and tags.
fn fixture() -> (tempfile::TempDir, Store) {
    let (dir, s) = store();
    create_experiment(&s, "1", "exp");
    for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        create_run(&s, "1", name, 100 + i as i64);
    }
    log(&s, "a", vec![metric("acc", 0.5, 0, 1)], vec![("lr", "0.1")], vec![("team", "Vision")]);
    log(&s, "b", vec![metric("acc", 0.9, 0, 1)], vec![("lr", "0.01")], vec![("team", "vision")]);
    log(&s, "c", vec![metric("acc", f64::NAN, 0, 1)], vec![("lr", "0.1")], vec![]);
    log(&s, "d", vec![metric("acc", f64::NEG_INFINITY, 0, 1)], vec![], vec![("team", "nlp")]);
    // "e" has no acc at all, and a history whose latest point is not the largest.
    log(&s, "e", vec![metric("loss", 3.0, 1, 1), metric("loss", 1.0, 2, 1), metric("loss", 9.0, 0, 5)], vec![], vec![]);
    (dir, s)
}

fn search(s: &Store, filter: &str, order: &[&str]) -> Vec<String> {
    let q = RunQuery {
        experiment_ids: vec!["1".into()],
        filter: parse_filter(filter, Target::Runs).unwrap(),
        order_by: order.iter().map(|o| parse_order_by(o, Target::Runs).unwrap()).collect(),
        view: ViewType::ActiveOnly,
        limit: 100,
        offset: 0,
    };
    s.search_runs(&q).unwrap().0.into_iter().map(|r| r.info.run_id).collect()
}

#[test]
fn filters_select_the_runs_mlflow_would() {
    let (_d, s) = fixture();
    let cases: &[(&str, &[&str])] = &[
        ("", &["e", "d", "c", "b", "a"]),
        ("metrics.acc > 0.6", &["b"]),
        ("metrics.acc >= 0.5", &["b", "a"]),
        ("metrics.acc < 0", &["d"]),
        // NaN satisfies only !=, and a run without the metric never matches.
        ("metrics.acc != 0.5", &["d", "c", "b"]),
        ("metrics.acc = 0.5", &["a"]),
        ("metrics.acc IS NULL", &["e"]),
        ("params.lr = '0.1'", &["c", "a"]),
        ("params.lr != '0.1'", &["b"]),
        ("params.lr LIKE '0.0%'", &["b"]),
        ("params.lr IS NULL", &["e", "d"]),
        ("tags.team = 'vision'", &["b"]),
        ("tags.team LIKE 'V%'", &["a"]),
        ("tags.team ILIKE 'v%'", &["b", "a"]),
        ("tags.team IN ('nlp', 'Vision')", &["d", "a"]),
        ("attributes.run_id IN ('a', 'c')", &["c", "a"]),
        ("attributes.run_id NOT IN ('a', 'c')", &["e", "d", "b"]),
        ("run_name LIKE '_'", &["e", "d", "c", "b", "a"]),
        ("attributes.start_time > 102", &["e", "d"]),
        ("attributes.end_time IS NULL", &["e", "d", "c", "b", "a"]),
        ("status = 'RUNNING'", &["e", "d", "c", "b", "a"]),
        ("metrics.loss = 1", &["e"]),
        ("metrics.acc > 0.6 OR tags.team = 'nlp'", &["d", "b"]),
        ("(params.lr = '0.1' OR params.lr = '0.01') AND metrics.acc > 0.6", &["b"]),
        ("tags.mlflow.runName = 'c'", &["c"]),
    ];
    let mut failures = Vec::new();
    for (filter, expected) in cases {
        let got = search(&s, filter, &[]);
        if got != *expected {
            failures.push(format!("{filter}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn order_by_puts_nan_then_missing_last() {
    let (_d, s) = fixture();
    assert_eq!(search(&s, "", &["metrics.acc ASC"]), ["d", "a", "b", "c", "e"]);
    assert_eq!(search(&s, "", &["metrics.acc DESC"]), ["b", "a", "d", "c", "e"]);
    assert_eq!(search(&s, "", &["params.lr DESC"]), ["c", "a", "b", "e", "d"]); // ties: start_time DESC
    assert_eq!(search(&s, "", &["attributes.start_time"]), ["a", "b", "c", "d", "e"]);
    assert_eq!(search(&s, "", &["tags.team", "attributes.run_id DESC"]), ["a", "d", "b", "e", "c"]);
}

#[test]
fn latest_metric_follows_mlflow_rule() {
    let (_d, s) = fixture();
    let run = s.run("e").unwrap();
    let loss = run.metrics.iter().find(|m| m.key == "loss").unwrap();
    assert_eq!((loss.point.step, loss.point.value), (2, 1.0));
    let history = s.metric_history("e", "loss", 0, 10).unwrap();
    // MLflow's history order: timestamp, then step, then value.
    assert_eq!(history.points.iter().map(|p| p.step).collect::<Vec<_>>(), [1, 2, 0]);
    assert!(!history.more);
    let page = s.metric_history("e", "loss", 1, 1).unwrap();
    assert_eq!((page.points[0].step, page.more), (2, true));
}

#[test]
fn params_are_immutable_and_a_failed_batch_writes_nothing() {
    let (_d, s) = fixture();
    let before = s.journal_after(0, 1000).unwrap().len();
    let err = s
        .write(
            &ctx(9),
            Op::LogBatch {
                run_id: "a".into(),
                metrics: vec![metric("new_metric", 1.0, 0, 0)],
                params: vec![Param { key: "lr".into(), value: "0.2".into() }],
                tags: vec![],
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidParameterValue);
    assert!(err.to_string().contains("Changing param values is not allowed"), "{err}");
    let run = s.run("a").unwrap();
    assert!(run.metrics.iter().all(|m| m.key != "new_metric"), "half-written batch");
    assert_eq!(s.journal_after(0, 1000).unwrap().len(), before);
    // The same value again is fine.
    log(&s, "a", vec![], vec![("lr", "0.1")], vec![]);
}

#[test]
fn state_rules() {
    let (_d, s) = fixture();
    let cases: Vec<(Op, ErrorCode)> = vec![
        (
            Op::CreateExperiment {
                experiment_id: "2".into(),
                name: "exp".into(),
                artifact_location: String::new(),
                creation_time: 0,
                tags: vec![],
            },
            ErrorCode::ResourceAlreadyExists,
        ),
        (
            Op::UpdateRun { run_id: "nope".into(), status: None, end_time: None, run_name: None },
            ErrorCode::ResourceDoesNotExist,
        ),
        (Op::DeleteRunTag { run_id: "a".into(), key: "absent".into() }, ErrorCode::ResourceDoesNotExist),
        (
            Op::SetExperimentLifecycle { experiment_id: "9".into(), stage: LifecycleStage::Deleted },
            ErrorCode::ResourceDoesNotExist,
        ),
    ];
    for (op, code) in cases {
        let kind = op.kind();
        assert_eq!(s.write(&ctx(0), op).unwrap_err().code(), code, "{kind}");
    }
    // A deleted run refuses writes until restored.
    s.write(&ctx(0), Op::SetRunLifecycle { run_id: "a".into(), stage: LifecycleStage::Deleted }).unwrap();
    let err = s.write(&ctx(0), Op::DeleteRunTag { run_id: "a".into(), key: "team".into() }).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidParameterValue);
    assert_eq!(search(&s, "", &[]), ["e", "d", "c", "b"]);
    // Deleting the experiment takes its runs with it; restoring brings them back.
    s.write(&ctx(0), Op::SetExperimentLifecycle { experiment_id: "1".into(), stage: LifecycleStage::Deleted }).unwrap();
    assert!(search(&s, "", &[]).is_empty());
    s.write(&ctx(0), Op::SetExperimentLifecycle { experiment_id: "1".into(), stage: LifecycleStage::Active }).unwrap();
    assert_eq!(search(&s, "", &[]).len(), 5);
}

#[test]
fn journal_replayed_on_a_fresh_store_gives_the_same_state() {
    let (_d, s) = fixture();
    let entries = s.journal_after(0, 10_000).unwrap();
    assert!(entries.windows(2).all(|w| w[0].lamport < w[1].lamport), "lamport must grow");
    let (_d2, replica) = store();
    for e in &entries {
        replica.write(&WriteContext { writer: e.writer.clone(), time_ms: e.time_ms }, e.op.clone()).unwrap();
    }
    let all = |st: &Store| {
        let q = RunQuery { experiment_ids: vec!["1".into()], limit: 100, ..Default::default() };
        format!("{:?}", st.search_runs(&q).unwrap().0)
    };
    assert_eq!(all(&s), all(&replica));
    let replayed = replica.journal_after(0, 10_000).unwrap();
    assert_eq!(
        entries.iter().map(|e| &e.op_id).collect::<Vec<_>>(),
        replayed.iter().map(|e| &e.op_id).collect::<Vec<_>>(),
        "op ids are content-derived, so a replay mints the same ones"
    );
}

#[test]
fn reopening_keeps_writer_and_clock() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), "first").unwrap();
        create_experiment(&s, "1", "x");
    }
    let s = Store::open(dir.path(), "second").unwrap();
    assert_eq!(s.writer_id(), "first");
    create_experiment(&s, "2", "y");
    let lamports: Vec<i64> = s.journal_after(0, 10).unwrap().iter().map(|e| e.lamport).collect();
    assert_eq!(lamports, [1, 2]);
}

mod replication {
    use super::*;
    use crate::JournalEntry;

    fn replica(writer: &str) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), writer).unwrap();
        (dir, store)
    }

    fn w(writer: &str, time_ms: i64) -> WriteContext {
        WriteContext { writer: writer.into(), time_ms }
    }

    fn exchange(a: &Store, b: &Store) {
        let from_a: Vec<JournalEntry> = a.journal_after(0, i64::MAX).unwrap();
        let from_b: Vec<JournalEntry> = b.journal_after(0, i64::MAX).unwrap();
        b.import_ops(&from_a).unwrap();
        a.import_ops(&from_b).unwrap();
    }

    fn state(s: &Store, experiment: &str) -> String {
        let q = RunQuery { experiment_ids: vec![experiment.into()], limit: 1000, ..Default::default() };
        let runs = s.search_runs(&q).unwrap().0;
        let exp = s.experiment(experiment).unwrap();
        format!("{exp:?}\n{runs:?}")
    }

    fn create_named(s: &Store, writer: &str, id: &str, name: &str, time: i64) {
        s.write(
            &w(writer, time),
            Op::CreateExperiment {
                experiment_id: id.into(),
                name: name.into(),
                artifact_location: format!("mlflow-artifacts:/{id}"),
                creation_time: time,
                tags: vec![],
            },
        )
        .unwrap();
    }

    fn run_in(s: &Store, writer: &str, experiment: &str, run_id: &str) {
        s.write(
            &w(writer, 10),
            Op::CreateRun {
                run_id: run_id.into(),
                experiment_id: experiment.into(),
                run_name: run_id.into(),
                user_id: writer.into(),
                start_time: 10,
                status: RunStatus::Running,
                artifact_uri: String::new(),
                tags: vec![],
            },
        )
        .unwrap();
    }

    #[test]
    fn same_named_experiments_merge_and_replicas_converge() {
        let (_a_dir, a) = replica("aaaa");
        let (_b_dir, b) = replica("bbbb");
        create_named(&a, "aaaa", "111", "baseline", 1);
        create_named(&b, "bbbb", "222", "baseline", 2);
        run_in(&a, "aaaa", "111", "run-a");
        run_in(&b, "bbbb", "222", "run-b");
        exchange(&a, &b);
        // Both ids name one experiment, holding both sides' runs.
        for s in [&a, &b] {
            let e1 = s.experiment("111").unwrap();
            let e2 = s.experiment("222").unwrap();
            assert_eq!(e1.experiment_id, e2.experiment_id);
            let q = RunQuery { experiment_ids: vec!["222".into()], limit: 10, ..Default::default() };
            let mut ids: Vec<String> = s.search_runs(&q).unwrap().0.into_iter().map(|r| r.info.run_id).collect();
            ids.sort();
            assert_eq!(ids, ["run-a", "run-b"]);
        }
        assert_eq!(state(&a, "111"), state(&b, "111"));
    }

    #[test]
    fn concurrent_edits_converge_by_clock_then_writer() {
        let (_a_dir, a) = replica("aaaa");
        let (_b_dir, b) = replica("bbbb");
        create_named(&a, "aaaa", "111", "e", 1);
        run_in(&a, "aaaa", "111", "r");
        exchange(&a, &b);
        // Both set the same tag and the same param concurrently, and B deletes the run.
        for (s, writer, value) in [(&a, "aaaa", "from-a"), (&b, "bbbb", "from-b")] {
            s.write(
                &w(writer, 20),
                Op::LogBatch {
                    run_id: "r".into(),
                    metrics: vec![metric("m", 1.0, 0, 20)],
                    params: vec![Param { key: "p".into(), value: value.into() }],
                    tags: vec![Tag { key: "mlflow.note.content".into(), value: value.into() }],
                },
            )
            .unwrap();
        }
        b.write(&w("bbbb", 21), Op::SetRunLifecycle { run_id: "r".into(), stage: LifecycleStage::Deleted }).unwrap();
        exchange(&a, &b);
        let q = RunQuery { experiment_ids: vec!["111".into()], view: ViewType::All, limit: 10, ..Default::default() };
        let ra = a.search_runs(&q).unwrap().0.remove(0);
        let rb = b.search_runs(&q).unwrap().0.remove(0);
        assert_eq!(format!("{ra:?}"), format!("{rb:?}"));
        // Equal clocks: the writer id breaks the tie, so B's note wins; the
        // param keeps the first value; the delete propagated.
        assert_eq!(ra.tags.iter().find(|t| t.key == "mlflow.note.content").unwrap().value, "from-b");
        assert_eq!(ra.params[0].value, "from-a");
        assert_eq!(ra.info.lifecycle_stage, LifecycleStage::Deleted);
        // Restore propagates too.
        a.write(&w("aaaa", 30), Op::SetRunLifecycle { run_id: "r".into(), stage: LifecycleStage::Active }).unwrap();
        exchange(&a, &b);
        assert_eq!(b.run("r").unwrap().info.lifecycle_stage, LifecycleStage::Active);
    }

    #[test]
    fn hostile_entries_are_refused_one_by_one() {
        let (_a_dir, a) = replica("aaaa");
        let (_b_dir, b) = replica("bbbb");
        create_named(&a, "aaaa", "111", "e", 1);
        run_in(&a, "aaaa", "111", "r");
        let mut entries = a.journal_after(0, i64::MAX).unwrap();
        let mut tampered = entries[1].clone();
        if let Op::CreateRun { run_name, .. } = &mut tampered.op {
            *run_name = "tampered".into();
        }
        let mut future = entries[1].clone();
        future.lamport = i64::MAX;
        entries.push(tampered);
        entries.push(future);
        let report = b.import_ops(&entries).unwrap();
        assert_eq!(report.refused.len(), 2, "{report:?}");
        assert_eq!(b.run("r").unwrap().info.run_name, "r");
        // Importing the same ops again changes nothing.
        let again = b.import_ops(&entries[..2]).unwrap();
        assert_eq!((again.added, again.known), (0, 2));
    }

    #[test]
    fn a_clock_far_ahead_is_kept_but_drags_this_replica_only_so_far() {
        let (_a_dir, a) = replica("aaaa");
        let (_b_dir, b) = replica("bbbb");
        create_named(&a, "aaaa", "111", "e", 1);
        let mut entry = a.journal_after(0, i64::MAX).unwrap().remove(0);
        entry.lamport = crate::MAX_LAMPORT - 10;
        let payload = serde_json::to_string(&entry.op).unwrap();
        entry.op_id = crate::journal::op_id(&entry.entity_id, entry.lamport, &entry.writer, entry.time_ms, &payload);
        assert_eq!(b.import_ops(&[entry]).unwrap().added, 1);
        assert!(b.experiment("111").is_ok(), "the op itself applies");
        run_in(&b, "bbbb", "111", "r");
        let newest =
            b.journal_after(0, i64::MAX).unwrap().into_iter().filter(|e| e.writer == "bbbb").map(|e| e.lamport);
        assert!(newest.max().unwrap() <= crate::replica::MAX_CLOCK_JUMP + 1);
    }

    #[test]
    fn local_writes_after_a_sync_sort_after_what_was_seen() {
        let (_a_dir, a) = replica("aaaa");
        let (_b_dir, b) = replica("bbbb");
        create_named(&a, "aaaa", "111", "e", 1);
        for i in 0..50 {
            run_in(&a, "aaaa", "111", &format!("r{i}"));
        }
        exchange(&a, &b);
        b.write(&w("bbbb", 99), Op::SetRunLifecycle { run_id: "r7".into(), stage: LifecycleStage::Deleted }).unwrap();
        let last = b.journal_after(0, i64::MAX).unwrap().into_iter().map(|e| e.lamport).max().unwrap();
        let a_max = a.journal_after(0, i64::MAX).unwrap().into_iter().map(|e| e.lamport).max().unwrap();
        assert!(last > a_max, "B's clock witnessed A's ops");
    }
}

/// Convergence, as a property: whatever the interleaving of writes and
/// pairwise syncs across three replicas, once all have exchanged
/// everything they hold the same state, and no op any of them accepted is
/// missing anywhere.
mod convergence {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Action {
        CreateRun,
        SetTag { run: usize, value: u8 },
        LogParam { run: usize, key: u8, value: u8 },
        LogMetric { run: usize, step: u8, value: i8 },
        Delete { run: usize },
        Restore { run: usize },
        Rename { run: usize, value: u8 },
        Sync { with: usize },
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            2 => Just(Action::CreateRun),
            3 => (any::<usize>(), 0..4u8).prop_map(|(run, value)| Action::SetTag { run, value }),
            2 => (any::<usize>(), 0..3u8, 0..3u8).prop_map(|(run, key, value)| Action::LogParam { run, key, value }),
            2 => (any::<usize>(), 0..5u8, any::<i8>()).prop_map(|(run, step, value)| Action::LogMetric { run, step, value }),
            1 => any::<usize>().prop_map(|run| Action::Delete { run }),
            1 => any::<usize>().prop_map(|run| Action::Restore { run }),
            1 => (any::<usize>(), 0..4u8).prop_map(|(run, value)| Action::Rename { run, value }),
            3 => (0..3usize).prop_map(|with| Action::Sync { with }),
        ]
    }

    struct Replica {
        _dir: tempfile::TempDir,
        store: Store,
        writer: String,
        runs: Vec<String>,
        created: usize,
        time: i64,
    }

    fn exchange(replicas: &mut [Replica], a: usize, b: usize) {
        let from_a = replicas[a].store.journal_after(0, i64::MAX).unwrap();
        let from_b = replicas[b].store.journal_after(0, i64::MAX).unwrap();
        replicas[b].store.import_ops(&from_a).unwrap();
        replicas[a].store.import_ops(&from_b).unwrap();
        // A replica can name runs it learned about.
        let known: Vec<String> = replicas[a].runs.iter().chain(replicas[b].runs.iter()).cloned().collect();
        for r in [a, b] {
            for id in &known {
                if !replicas[r].runs.contains(id) {
                    replicas[r].runs.push(id.clone());
                }
            }
        }
    }

    fn state(s: &Store) -> String {
        let q = RunQuery { experiment_ids: vec!["1".into()], view: ViewType::All, limit: 10_000, ..Default::default() };
        let mut out = format!("{:?}\n", s.experiment("1").unwrap());
        for r in s.search_runs(&q).unwrap().0 {
            let history: Vec<_> =
                r.metrics.iter().map(|m| s.metric_history(&r.info.run_id, &m.key, 0, 1000).unwrap().points).collect();
            out.push_str(&format!("{r:?} {history:?}\n"));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn replicas_converge(script in proptest::collection::vec((0..3usize, action()), 1..40)) {
            let mut replicas: Vec<Replica> = ["aaaa", "bbbb", "cccc"]
                .iter()
                .map(|w| {
                    let dir = tempfile::tempdir().unwrap();
                    let store = Store::open(dir.path(), w).unwrap();
                    Replica { _dir: dir, store, writer: w.to_string(), runs: vec![], created: 0, time: 0 }
                })
                .collect();
            replicas[0].store.write(&WriteContext { writer: "aaaa".into(), time_ms: 0 }, Op::CreateExperiment {
                experiment_id: "1".into(), name: "e".into(), artifact_location: String::new(), creation_time: 0, tags: vec![],
            }).unwrap();
            exchange(&mut replicas, 0, 1);
            exchange(&mut replicas, 0, 2);

            let mut accepted: Vec<String> = Vec::new();
            for (who, act) in script {
                let r = &mut replicas[who];
                r.time += 1;
                let ctx = WriteContext { writer: r.writer.clone(), time_ms: r.time };
                let pick = |runs: &Vec<String>, i: usize| (!runs.is_empty()).then(|| runs[i % runs.len()].clone());
                let op = match act {
                    Action::Sync { with } => {
                        if with != who {
                            exchange(&mut replicas, who, with);
                        }
                        continue;
                    }
                    Action::CreateRun => {
                        r.created += 1;
                        let id = format!("{}-{}", r.writer, r.created);
                        r.runs.push(id.clone());
                        Some(Op::CreateRun {
                            run_id: id.clone(), experiment_id: "1".into(), run_name: id, user_id: r.writer.clone(),
                            start_time: r.time, status: RunStatus::Running, artifact_uri: String::new(), tags: vec![],
                        })
                    }
                    Action::SetTag { run, value } => pick(&r.runs, run).map(|run_id| Op::LogBatch {
                        run_id, metrics: vec![], params: vec![], tags: vec![Tag { key: "note".into(), value: value.to_string() }],
                    }),
                    Action::LogParam { run, key, value } => pick(&r.runs, run).map(|run_id| Op::LogBatch {
                        run_id, metrics: vec![], params: vec![Param { key: format!("p{key}"), value: value.to_string() }], tags: vec![],
                    }),
                    Action::LogMetric { run, step, value } => pick(&r.runs, run).map(|run_id| Op::LogBatch {
                        run_id, metrics: vec![metric("m", value as f64, step as i64, r.time)], params: vec![], tags: vec![],
                    }),
                    Action::Delete { run } => pick(&r.runs, run).map(|run_id| Op::SetRunLifecycle { run_id, stage: LifecycleStage::Deleted }),
                    Action::Restore { run } => pick(&r.runs, run).map(|run_id| Op::SetRunLifecycle { run_id, stage: LifecycleStage::Active }),
                    Action::Rename { run, value } => pick(&r.runs, run).map(|run_id| Op::UpdateRun {
                        run_id, status: None, end_time: None, run_name: Some(format!("name-{value}")),
                    }),
                };
                if let Some(op) = op
                    && let Ok(receipt) = replicas[who].store.write(&ctx, op)
                {
                    accepted.push(receipt.op_id);
                }
            }
            for _ in 0..2 {
                exchange(&mut replicas, 0, 1);
                exchange(&mut replicas, 1, 2);
                exchange(&mut replicas, 0, 2);
            }
            let first = state(&replicas[0].store);
            for r in &replicas[1..] {
                prop_assert_eq!(&state(&r.store), &first);
            }
            for r in &replicas {
                let held: std::collections::HashSet<String> =
                    r.store.journal_after(0, i64::MAX).unwrap().into_iter().map(|e| e.op_id).collect();
                for id in &accepted {
                    prop_assert!(held.contains(id), "an acknowledged op was lost");
                }
            }
        }
    }
}
