//! Real git: a bare remote on disk and several stores syncing through it.

use almanac_core::model::{LifecycleStage, Metric, MetricPoint, Param, RunStatus, Tag, ViewType};
use almanac_core::op::{Op, WriteContext};
use almanac_store::{ExperimentQuery, Remote, RunQuery, Store};

use super::*;

struct Replica {
    dir: tempfile::TempDir,
    store: Store,
    writer: String,
}

impl Replica {
    fn new(writer: &str) -> Replica {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store"), writer).unwrap();
        Replica { dir, store, writer: writer.into() }
    }

    fn write(&self, time: i64, op: Op) {
        self.store.write(&WriteContext { writer: self.writer.clone(), time_ms: time }, op).unwrap();
    }

    fn sync(&self, remote: &Remote) -> SyncReport {
        sync(&self.store, &self.dir.path().join("sync.git"), remote, 1_700_000_000_000, &(), &mut |_| {}).unwrap()
    }

    /// Everything a user could see, as text.
    fn state(&self) -> String {
        let q = ExperimentQuery { view: ViewType::All, limit: 10_000, ..Default::default() };
        let (experiments, _) = self.store.search_experiments(&q).unwrap();
        let mut out = String::new();
        for e in experiments {
            out.push_str(&format!("{e:?}\n"));
            let q = RunQuery {
                experiment_ids: vec![e.experiment_id.clone()],
                view: ViewType::All,
                limit: 10_000,
                ..Default::default()
            };
            for r in self.store.search_runs(&q).unwrap().0 {
                out.push_str(&format!("  {r:?}\n"));
            }
        }
        out
    }
}

fn bare_remote() -> (tempfile::TempDir, Remote) {
    let dir = tempfile::tempdir().unwrap();
    git2::Repository::init_bare(dir.path()).unwrap();
    let remote = Remote { name: "origin".into(), url: dir.path().display().to_string(), artifacts: None };
    (dir, remote)
}

fn experiment(r: &Replica, id: &str, name: &str) {
    r.write(
        1,
        Op::CreateExperiment {
            experiment_id: id.into(),
            name: name.into(),
            artifact_location: format!("mlflow-artifacts:/{id}"),
            creation_time: 1,
            tags: vec![],
        },
    );
}

fn run(r: &Replica, experiment: &str, run_id: &str, metrics: usize) {
    r.write(
        2,
        Op::CreateRun {
            run_id: run_id.into(),
            experiment_id: experiment.into(),
            run_name: run_id.into(),
            user_id: r.writer.clone(),
            start_time: 2,
            status: RunStatus::Running,
            artifact_uri: String::new(),
            tags: vec![],
        },
    );
    r.write(
        3,
        Op::LogBatch {
            run_id: run_id.into(),
            metrics: (0..metrics)
                .map(|s| Metric {
                    key: "loss".into(),
                    point: MetricPoint { value: 1.0 / (s as f64 + 1.0), timestamp: s as i64, step: s as i64 },
                    ..Default::default()
                })
                .collect(),
            params: vec![Param { key: "lr".into(), value: "0.1".into() }],
            tags: vec![Tag { key: "owner".into(), value: r.writer.clone() }],
        },
    );
}

#[test]
fn three_clones_converge_through_a_bare_remote() {
    let (_remote_dir, remote) = bare_remote();
    let [a, b, c] = ["aaaa", "bbbb", "cccc"].map(Replica::new);
    experiment(&a, "100", "shared");
    run(&a, "100", "run-a", 50);
    experiment(&b, "200", "shared"); // the same name, created independently
    run(&b, "200", "run-b", 20);
    experiment(&c, "300", "c-only");
    run(&c, "300", "run-c", 5);

    let first = a.sync(&remote);
    assert_eq!((first.ops_out, first.pushed), (3, true));
    b.sync(&remote);
    c.sync(&remote);
    // Concurrent edits after the first round.
    b.write(10, Op::SetRunLifecycle { run_id: "run-a".into(), stage: LifecycleStage::Deleted });
    c.write(
        10,
        Op::UpdateRun { run_id: "run-a".into(), status: Some(RunStatus::Finished), end_time: Some(9), run_name: None },
    );
    for r in [&a, &b, &c, &a, &b] {
        r.sync(&remote);
    }
    let state = a.state();
    assert_eq!(state, b.state());
    assert_eq!(state, c.state());
    assert!(state.contains("run-b") && state.contains("run-c"), "{state}");
    // Both "shared" experiments became one, holding both runs.
    assert_eq!(state.matches("name: \"shared\"").count(), 1, "{state}");
    let merged = a.store.experiment("200").unwrap();
    assert_eq!(merged.experiment_id, a.store.experiment("100").unwrap().experiment_id);
    // The delete and the concurrent update both hold.
    let run_a = a.store.run("run-a").unwrap();
    assert_eq!((run_a.info.lifecycle_stage, run_a.info.status), (LifecycleStage::Deleted, RunStatus::Finished));
}

#[test]
fn a_sync_with_nothing_new_changes_nothing() {
    let (_remote_dir, remote) = bare_remote();
    let a = Replica::new("aaaa");
    experiment(&a, "1", "e");
    a.sync(&remote);
    let again = a.sync(&remote);
    assert_eq!((again.ops_out, again.ops_in, again.pushed), (0, 0, false));
}

#[test]
fn a_rejected_push_is_retried_after_merging() {
    let (_remote_dir, remote) = bare_remote();
    let a = Replica::new("aaaa");
    let b = Replica::new("bbbb");
    experiment(&a, "1", "from-a");
    experiment(&b, "2", "from-b");
    // B pushes while A is between its fetch and its push.
    let mut b_synced = false;
    let report = sync(&a.store, &a.dir.path().join("sync.git"), &remote, 1, &(), &mut |stage| {
        if stage == Stage::Pushing && !b_synced {
            b_synced = true;
            b.sync(&remote);
        }
    })
    .unwrap();
    assert_eq!(report.retries, 1, "{report:?}");
    b.sync(&remote);
    assert_eq!(a.state(), b.state());
    assert!(a.state().contains("from-b"));
}

#[test]
fn hostile_remote_content_is_refused_and_the_rest_applies() {
    let (remote_dir, remote) = bare_remote();
    let a = Replica::new("aaaa");
    experiment(&a, "1", "good");
    run(&a, "1", "r", 3);
    a.sync(&remote);

    // Someone writes a pack with a malformed line, an unknown format, a
    // tampered op and a clock far in the future straight into the remote.
    let bare = git2::Repository::open_bare(remote_dir.path()).unwrap();
    let parent = bare.find_reference(DATA_REF).unwrap().peel_to_commit().unwrap();
    let good_entries = a.store.journal_after(0, 100).unwrap();
    let mut tampered = good_entries[1].clone();
    tampered.op = Op::DeleteRunTag { run_id: "r".into(), key: "owner".into() };
    let mut future = good_entries[1].clone();
    future.lamport = i64::MAX;
    let (_, mut bytes) = pack::encode("evil", &[tampered, future]).unwrap();
    bytes.extend_from_slice(b"{this is not json\n{\"format\": 7}\n");
    let blob = bare.blob(&bytes).unwrap();
    let tree = repo::tree_with_for_tests(&bare, &parent.tree().unwrap(), "ops/evil/0-1-bad.jsonl", blob);
    let sig = git2::Signature::now("x", "x@x").unwrap();
    bare.commit(Some(DATA_REF), &sig, &sig, "evil", &bare.find_tree(tree).unwrap(), &[&parent]).unwrap();

    let b = Replica::new("bbbb");
    let report = b.sync(&remote);
    assert_eq!(report.refused.len(), 4, "{report:?}");
    assert!(b.store.run("r").unwrap().tags.iter().any(|t| t.key == "owner"), "tampered op must not apply");
    assert_eq!(a.state(), b.state());
}

fn model_version(r: &Replica, number: i64, who: &str) {
    r.write(
        10,
        Op::CreateModelVersion {
            name: "churn".into(),
            version: number,
            creation_time: 10,
            source: format!("models:/m-{who}"),
            storage_location: String::new(),
            run_id: None,
            run_link: None,
            description: Some(who.into()),
            model_id: None,
            tags: vec![],
        },
    );
}

fn registry_view(r: &Replica) -> Vec<(i64, String)> {
    (1..=4)
        .filter_map(|v| r.store.model_version("churn", v).ok())
        .map(|mv| (mv.version, mv.description.unwrap_or_default()))
        .collect()
}

#[test]
fn a_synced_version_number_never_changes_and_references_follow_a_renumbered_one() {
    let (_remote_dir, remote) = bare_remote();
    let (a, b, c) = (Replica::new("aaaa"), Replica::new("bbbb"), Replica::new("cccc"));
    let create_model = |r: &Replica| {
        r.write(
            9,
            Op::CreateRegisteredModel { name: "churn".into(), creation_time: 9, description: None, tags: vec![] },
        )
    };
    // A's clock runs ahead (more ops), so naive Lamport order would put B's
    // offline creation first and take version 1 away from A.
    for i in 0..20 {
        experiment(&a, &format!("{}", 100 + i), &format!("e{i}"));
    }
    create_model(&a);
    model_version(&a, 1, "from A");
    a.sync(&remote);
    c.sync(&remote);
    assert_eq!(registry_view(&c), [(1, "from A".to_string())]);

    create_model(&b);
    model_version(&b, 1, "from B");
    let set_alias =
        Op::SetRegisteredModelAlias { name: "churn".into(), alias: "champion".into(), version: 1, version_op: None };
    b.write(11, set_alias);
    b.write(
        12,
        Op::SetModelVersionTag {
            name: "churn".into(),
            version: 1,
            tag: Tag { key: "by".into(), value: "B".into() },
            version_op: None,
        },
    );
    b.sync(&remote);
    a.sync(&remote);
    c.sync(&remote);

    let expected = [(1, "from A".to_string()), (2, "from B".to_string())];
    for r in [&a, &b, &c] {
        assert_eq!(registry_view(r), expected, "{}", r.writer);
        assert_eq!(r.store.alias_version("churn", "champion").unwrap(), Some(2), "{}", r.writer);
        let tags = r.store.model_version("churn", 2).unwrap().tags;
        assert_eq!(tags, [Tag { key: "by".into(), value: "B".into() }], "{}", r.writer);
        assert!(r.store.model_version("churn", 1).unwrap().tags.is_empty(), "{}", r.writer);
    }

    // B, now seeing its version as 2, tags it: the tag lands on 2 everywhere.
    b.write(
        13,
        Op::SetModelVersionTag {
            name: "churn".into(),
            version: 2,
            tag: Tag { key: "checked".into(), value: "yes".into() },
            version_op: None,
        },
    );
    b.sync(&remote);
    a.sync(&remote);
    assert_eq!(a.store.model_version("churn", 2).unwrap().tags.len(), 2);
    assert_eq!(a.state(), b.state());
}

#[test]
fn concurrent_versions_number_by_arrival_on_the_remote() {
    let (_remote_dir, remote) = bare_remote();
    let (a, b) = (Replica::new("aaaa"), Replica::new("bbbb"));
    for r in [&a, &b] {
        r.write(
            9,
            Op::CreateRegisteredModel { name: "churn".into(), creation_time: 9, description: None, tags: vec![] },
        );
    }
    model_version(&a, 1, "from A");
    model_version(&b, 1, "from B");
    // Whoever pushes first keeps the number, whatever the writer ids say.
    b.sync(&remote);
    a.sync(&remote);
    b.sync(&remote);
    let expected = [(1, "from B".to_string()), (2, "from A".to_string())];
    assert_eq!(registry_view(&a), expected);
    assert_eq!(registry_view(&b), expected);
}

#[test]
fn behind_counts_remote_ops_not_yet_applied_without_applying_them() {
    let (_remote_dir, remote) = bare_remote();
    let (a, b) = (Replica::new("aaaa"), Replica::new("bbbb"));
    let b_repo = b.dir.path().join("sync.git");
    experiment(&a, "7", "shared");
    run(&a, "7", "r1", 2);
    a.sync(&remote);
    let sent = a.store.own_ops_after(0).unwrap().len();
    assert_eq!(a.store.count_own_ops_after(0).unwrap(), sent, "the status count agrees with the ops");
    assert_eq!(b.store.count_own_ops_after(0).unwrap(), 0, "another writer's ops are not b's");
    assert_eq!(behind(&b.store, &b_repo, &remote, &()).unwrap(), sent);
    assert!(b.store.experiment("7").is_err(), "peeking applies nothing");
    b.sync(&remote);
    assert_eq!(behind(&b.store, &b_repo, &remote, &()).unwrap(), 0);
}

#[test]
fn a_bundle_applies_like_a_sync_and_applying_it_twice_changes_nothing() {
    let (a, b) = (Replica::new("aaaa"), Replica::new("bbbb"));
    experiment(&a, "7", "shared");
    run(&a, "7", "r1", 3);
    run(&a, "7", "r2", 3);
    experiment(&b, "8", "b's own");
    let bytes = bundle::create_full(&a.store, &a.dir.path().join("sync.git"), 5).unwrap();
    assert!(bytes.starts_with(b"# v2 git bundle\n"));
    let b_repo = b.dir.path().join("sync.git");
    let first = bundle::apply(&b.store, &b_repo, &bytes, 6).unwrap();
    assert!(first.ops_in > 0);
    let again = bundle::apply(&b.store, &b_repo, &bytes, 7).unwrap();
    assert_eq!((again.ops_in, again.packs_in), (0, 0));
    assert!(b.store.experiment("8").is_ok(), "B keeps its own work");
    // B's state is A's plus B's own experiment: syncing them through a
    // remote now changes nothing on A's side of what B already has.
    let (_remote_dir, remote) = bare_remote();
    b.sync(&remote);
    a.sync(&remote);
    b.sync(&remote);
    assert_eq!(a.state(), b.state());
}

#[test]
fn a_subset_bundle_carries_only_the_chosen_entities() {
    let (a, c) = (Replica::new("aaaa"), Replica::new("cccc"));
    experiment(&a, "7", "wanted");
    run(&a, "7", "r1", 2);
    experiment(&a, "9", "not wanted");
    run(&a, "9", "r9", 2);
    let chosen: std::collections::HashSet<String> = ["7", "r1"].into_iter().map(String::from).collect();
    let scratch = tempfile::tempdir().unwrap();
    let bytes = bundle::create_subset(&a.store, scratch.path(), &chosen, 5).unwrap();
    bundle::apply(&c.store, &c.dir.path().join("sync.git"), &bytes, 6).unwrap();
    assert_eq!(c.store.experiment("7").unwrap().name, "wanted");
    assert!(c.store.run("r1").is_ok());
    assert!(c.store.experiment("9").is_err() && c.store.run("r9").is_err());
    for garbage in [&b"not a bundle"[..], b"# v2 git bundle\nabc refs/heads/main\n\nPACK"] {
        let err = bundle::apply(&c.store, &c.dir.path().join("sync.git"), garbage, 7).unwrap_err();
        assert!(matches!(err, SyncError::Bundle(_)), "{err}");
    }
}

#[test]
fn annotations_travel_with_their_run_and_edits_converge() {
    let (_remote_dir, remote) = bare_remote();
    let (a, b) = (Replica::new("wa"), Replica::new("wb"));
    experiment(&a, "1", "e");
    run(&a, "1", "r1", 3);
    let put = |text: &str, author: &str| Op::PutAnnotation {
        annotation_id: "n1".into(),
        run_id: "r1".into(),
        metric_key: "loss".into(),
        step: 2,
        text: text.into(),
        author: author.into(),
        created_ms: 10,
    };
    a.write(10, put("LR dropped here", "ana"));
    a.sync(&remote);
    b.sync(&remote);
    let texts = |r: &Replica| -> Vec<String> {
        r.store
            .annotations(&["r1".into()])
            .unwrap()
            .into_iter()
            .map(|n| format!("{}@{}:{}", n.metric_key, n.step, n.text))
            .collect()
    };
    assert_eq!(texts(&b), vec!["loss@2:LR dropped here"]);

    // B edits while A, offline, adds a second note; both land everywhere.
    b.write(20, put("LR halved here", "bo"));
    a.write(
        21,
        Op::PutAnnotation {
            annotation_id: "n2".into(),
            run_id: "r1".into(),
            metric_key: "acc".into(),
            step: 1,
            text: "plateau".into(),
            author: "ana".into(),
            created_ms: 21,
        },
    );
    b.sync(&remote);
    a.sync(&remote);
    b.sync(&remote);
    assert_eq!(texts(&a), vec!["acc@1:plateau", "loss@2:LR halved here"]);
    assert_eq!(texts(&a), texts(&b));

    a.write(30, Op::DeleteAnnotation { annotation_id: "n2".into(), run_id: "r1".into() });
    a.sync(&remote);
    b.sync(&remote);
    assert_eq!(texts(&b), vec!["loss@2:LR halved here"]);
}

#[test]
fn saved_views_sync_with_their_experiment() {
    let (_remote_dir, remote) = bare_remote();
    let (a, b) = (Replica::new("wa"), Replica::new("wb"));
    experiment(&a, "1", "e");
    let save = |name: &str, spec: &str| Op::SaveView {
        view_id: "v1".into(),
        experiment_id: "1".into(),
        name: name.into(),
        spec: spec.into(),
        created_ms: 5,
    };
    a.write(5, save("best", r#"{"runs":["r1"]}"#));
    a.sync(&remote);
    b.sync(&remote);
    let names = |r: &Replica| -> Vec<String> {
        r.store.saved_views("1").unwrap().into_iter().map(|v| format!("{}={}", v.name, v.spec)).collect()
    };
    assert_eq!(names(&b), vec![r#"best={"runs":["r1"]}"#]);
    b.write(9, save("best, smoothed", r#"{"runs":["r1"],"smoothing":"ema"}"#));
    b.sync(&remote);
    a.sync(&remote);
    assert_eq!(names(&a), names(&b));
    assert_eq!(names(&a), vec![r#"best, smoothed={"runs":["r1"],"smoothing":"ema"}"#]);
    a.write(12, Op::DeleteView { view_id: "v1".into(), experiment_id: "1".into() });
    a.sync(&remote);
    b.sync(&remote);
    assert!(names(&b).is_empty());
}

#[test]
fn ref_locks_left_by_a_killed_sync_do_not_block_the_next() {
    let (remote_dir, remote) = bare_remote();
    let a = Replica::new("wa");
    experiment(&a, "1", "e");
    a.sync(&remote);
    // What `kill -9` in the middle of a ref update leaves: libgit2's lock
    // files, on the remote and in the store's own repository.
    std::fs::write(remote_dir.path().join("refs/almanac/data.lock"), "").unwrap();
    std::fs::write(a.dir.path().join("sync.git/refs/almanac/fetched.lock"), "").unwrap();
    run(&a, "1", "r1", 1);
    let report = a.sync(&remote);
    assert!(report.pushed, "{report:?}");
    let b = Replica::new("wb");
    b.sync(&remote);
    assert!(b.state().contains("r1"));
}

#[test]
fn a_config_lock_left_by_a_killed_sync_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let git_dir = dir.path().join("sync.git");
    crate::repo::open(&git_dir).unwrap();
    // Set up already: opening again writes nothing, so a leftover lock is no obstacle.
    std::fs::write(git_dir.join("config.lock"), "").unwrap();
    crate::repo::open(&git_dir).unwrap();
    // Killed while setting up: the settings are missing and the lock is stale.
    let mut config = git2::Repository::open_bare(&git_dir).unwrap().config().unwrap();
    std::fs::remove_file(git_dir.join("config.lock")).unwrap();
    config.remove("pack.windowMemory").unwrap();
    std::fs::write(git_dir.join("config.lock"), "").unwrap();
    let repo = crate::repo::open(&git_dir).unwrap();
    assert_eq!(repo.config().unwrap().get_i64("pack.windowMemory").unwrap(), 1);
    assert!(!git_dir.join("config.lock").exists());
}
