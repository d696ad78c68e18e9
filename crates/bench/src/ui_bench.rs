//! Benchmarks the review UI in a real browser (Debian's chromium through
//! playwright-core): first meaningful paint of an experiment with many runs,
//! filter → updated table, frame times while scrolling, and the bundle size.
//! Seeds the store through the app functions, then serves it with the real
//! `almanac serve` and runs tests/browser/perf.mjs, which prints the table.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use almanac_api::{App, CreateRun, LogBatch, OsEntropy, SystemClock};
use almanac_core::model::{Metric, MetricPoint, Param, Tag};
use anyhow::{Context, Result, bail};
use clap::Parser;

/// Benchmark the review UI over an experiment of `--runs` runs.
#[derive(Parser)]
struct Args {
    /// The `almanac` binary to serve with (its embedded UI is what is measured).
    #[arg(long, default_value = "target/release/almanac")]
    almanac: PathBuf,
    /// Runs in the experiment (each with 5 metrics, 5 params and 2 tags).
    #[arg(long, default_value_t = 100_000)]
    runs: usize,
    /// Runs in each of the two chart experiments (one at 100k points per run,
    /// one at `--chart-points` per run).
    #[arg(long, default_value_t = 10)]
    chart_runs: usize,
    /// Points per run in the large-history chart experiment.
    #[arg(long, default_value_t = 1_000_000)]
    chart_points: usize,
    /// Keep the seeded store here; a store seeded before is reused as it is.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Where tests/browser lives (with `npm ci` done).
    #[arg(long, default_value = "tests/browser")]
    browser_dir: PathBuf,
}

fn api<T>(r: Result<T, almanac_api::ApiError>) -> Result<T> {
    r.map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))
}

fn seed(dir: &Path, runs: usize) -> Result<String> {
    let app = api(App::open(dir, Box::new(SystemClock), Box::new(OsEntropy)))?;
    if let Ok(e) = app.experiment_by_name("ui-bench") {
        eprintln!("reusing the seeded experiment in {}", dir.display());
        return Ok(e.experiment_id);
    }
    let exp = api(app.create_experiment("ui-bench", None, vec![]))?;
    let started = Instant::now();
    for i in 0..runs {
        let run = api(app.create_run(CreateRun {
            experiment_id: Some(exp.clone()),
            run_name: Some(format!("run-{i:06}")),
            start_time: Some(1_700_000_000_000 + i as i64),
            ..Default::default()
        }))?;
        let metrics = ["acc", "loss", "f1", "precision", "recall"]
            .iter()
            .enumerate()
            .map(|(k, key)| Metric {
                key: key.to_string(),
                point: MetricPoint {
                    value: ((i * 7919 + k * 104_729) % 10_000) as f64 / 10_000.0,
                    timestamp: 1,
                    step: 0,
                },
                ..Default::default()
            })
            .collect();
        let params = ["lr", "batch_size", "optimizer", "layers", "dropout"]
            .iter()
            .enumerate()
            .map(|(p, key)| Param { key: key.to_string(), value: format!("{}", (i * (p + 3)) % 10) })
            .collect();
        let tags = vec![Tag { key: "team".into(), value: format!("t{}", i % 7) }];
        api(app.log_batch(LogBatch { run_id: run.info.run_id, metrics, params, tags }))?;
        if i % 10_000 == 9_999 {
            eprintln!("seeded {} runs in {:.1} s", i + 1, started.elapsed().as_secs_f64());
        }
    }
    Ok(exp)
}

/// An experiment of `runs` runs, each with one `loss` history of `points`
/// points (a noisy decay with spikes), for the chart benchmarks.
fn seed_histories(app: &App, name: &str, runs: usize, points: usize) -> Result<(String, Vec<String>)> {
    // A store seeded by an earlier run is reused only if it holds every run.
    if let Some(e) = app.experiment_by_name(name).ok().filter(|e| {
        app.search_runs(&almanac_api::SearchRuns {
            experiment_ids: vec![e.experiment_id.clone()],
            ..Default::default()
        })
        .is_ok_and(|p| p.items.len() == runs)
    }) {
        let page = api(app.search_runs(&almanac_api::SearchRuns {
            experiment_ids: vec![e.experiment_id.clone()],
            max_results: Some(1000),
            ..Default::default()
        }))?;
        return Ok((e.experiment_id, page.items.into_iter().map(|r| r.info.run_id).collect()));
    }
    if app.experiment_by_name(name).is_ok() {
        bail!("the store holds a partly seeded {name}: remove it and run again");
    }
    let exp = api(app.create_experiment(name, None, vec![]))?;
    let started = Instant::now();
    let mut ids = Vec::new();
    for r in 0..runs {
        let run = api(app.create_run(CreateRun { experiment_id: Some(exp.clone()), ..Default::default() }))?;
        // MLflow caps a batch at 1000 metrics, and so does the app.
        for chunk in (0..points).collect::<Vec<_>>().chunks(1000) {
            let metrics = chunk
                .iter()
                .map(|&s| {
                    let decay = 1.0 / (1.0 + s as f64 / 1e4);
                    let noise = ((s * 7919 + r * 31) % 1000) as f64 / 20_000.0;
                    let spike = if s % 99_991 == 0 { 0.5 } else { 0.0 };
                    Metric {
                        key: "loss".into(),
                        point: MetricPoint {
                            value: decay + noise + spike,
                            timestamp: 1_700_000_000_000 + s as i64,
                            step: s as i64,
                        },
                        ..Default::default()
                    }
                })
                .collect();
            api(app.log_batch(LogBatch { run_id: run.info.run_id.clone(), metrics, ..Default::default() }))?;
        }
        ids.push(run.info.run_id);
    }
    eprintln!("seeded {runs} runs x {points} points in {:.1} s", started.elapsed().as_secs_f64());
    Ok((exp, ids))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(bin: &Path, store: &Path) -> Result<(Server, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(bin)
        .arg("--store")
        .arg(store)
        .args(["serve", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if reqwest::blocking::get(format!("{base}/health")).is_ok_and(|r| r.status().is_success()) {
            return Ok((server, base));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("almanac serve did not become healthy")
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let store = args.store.clone().unwrap_or_else(|| dir.path().join("store"));
    let exp = seed(&store, args.runs)?;
    let (medium, large) = {
        let app = api(App::open(&store, Box::new(SystemClock), Box::new(OsEntropy)))?;
        let medium = seed_histories(&app, "chart-100k", args.chart_runs, 100_000)?;
        let large = seed_histories(&app, "chart-large", args.chart_runs, args.chart_points)?;
        (medium, large)
    };
    let (_server, base) = serve(&args.almanac, &store)?;
    let status = Command::new("node")
        .arg(args.browser_dir.join("perf.mjs"))
        .env("BASE", &base)
        .env("EXPERIMENT_ID", &exp)
        .env("RUNS", args.runs.to_string())
        .env("CHART_RUNS_100K", serde_json::to_string(&medium.1)?)
        .env("CHART_RUNS_LARGE", serde_json::to_string(&large.1)?)
        .env("CHART_POINTS", args.chart_points.to_string())
        .status()
        .context("running node (is it installed, and `npm ci` done in tests/browser?)")?;
    if !status.success() {
        bail!("the browser benchmark failed");
    }
    Ok(())
}
