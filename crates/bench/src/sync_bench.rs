//! Benchmarks git sync: pushing new runs, a fresh store pulling them, a
//! sync with nothing new, and the packed size of the remote per run.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use almanac_api::{App, CreateRun, LogBatch, OsEntropy, SystemClock};
use almanac_core::model::{Metric, MetricPoint, Param, Tag};
use anyhow::{Context, Result, bail};
use clap::Parser;

/// Benchmark `almanac sync` through a bare repository on disk.
#[derive(Parser)]
struct Args {
    /// Runs to push (each with 20 params, 10 tags, 10 metrics x 100 steps).
    #[arg(long, default_value_t = 1000)]
    runs: usize,
    /// Runs a fresh store pulls in the pull benchmark.
    #[arg(long, default_value_t = 10_000)]
    pull_runs: usize,
}

fn open(dir: &Path) -> Result<App> {
    App::open(dir, Box::new(SystemClock), Box::new(OsEntropy)).map_err(|e| anyhow::anyhow!(e.message))
}

fn populate(app: &App, runs: usize) -> Result<()> {
    let exp = match app.experiment_by_name("bench") {
        Ok(e) => e.experiment_id,
        Err(_) => app.create_experiment("bench", None, vec![]).map_err(|e| anyhow::anyhow!(e.message))?,
    };
    for i in 0..runs {
        let run = app
            .create_run(CreateRun {
                experiment_id: Some(exp.clone()),
                start_time: Some(i as i64),
                ..Default::default()
            })
            .map_err(|e| anyhow::anyhow!(e.message))?;
        let metrics = (0..10)
            .flat_map(|k| {
                (0..100).map(move |s| Metric {
                    key: format!("metric_{k}"),
                    // Distinct per run, so git cannot delta one run's series against another's.
                    point: MetricPoint {
                        value: ((s as f64 + 1.0) * (i as f64 + 1.7) * 0.37).sin() * (k as f64 + 1.0),
                        timestamp: 1_700_000_000_000 + i as i64 * 1000 + s,
                        step: s,
                    },
                    ..Default::default()
                })
            })
            .collect();
        let params = (0..20).map(|p| Param { key: format!("param_{p}"), value: format!("{}", (i * p) % 97) }).collect();
        let tags = (0..10).map(|t| Tag { key: format!("tag_{t}"), value: format!("value {t}") }).collect();
        // MLflow's per-request limit is 1000 entities: two batches, as a client would send.
        app.log_batch(LogBatch { run_id: run.info.run_id.clone(), metrics, ..Default::default() })
            .map_err(|e| anyhow::anyhow!(e.message))?;
        app.log_batch(LogBatch { run_id: run.info.run_id, params, tags, ..Default::default() })
            .map_err(|e| anyhow::anyhow!(e.message))?;
    }
    Ok(())
}

fn sync(app: &App) -> Result<(Duration, almanac_api::SyncSummary)> {
    let start = Instant::now();
    let summary = app.sync("origin", &(), &mut |_| {}).map_err(|e| anyhow::anyhow!(e.message))?;
    Ok((start.elapsed(), summary))
}

fn packed_size(remote: &Path) -> Result<u64> {
    let status = Command::new("git").args(["-C"]).arg(remote).args(["gc", "-q"]).status().context("git gc")?;
    if !status.success() {
        bail!("git gc failed");
    }
    let mut total = 0;
    for entry in std::fs::read_dir(remote.join("objects/pack"))? {
        total += entry?.metadata()?.len();
    }
    Ok(total)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let remote = dir.path().join("remote.git");
    Command::new("git").args(["init", "--bare", "-q"]).arg(&remote).status()?;
    let url = remote.display().to_string();

    let mut rows: Vec<(String, String, &str)> = Vec::new();

    eprintln!("populating {} runs...", args.runs);
    let a = open(&dir.path().join("a"))?;
    a.add_remote("origin", &url, None).map_err(|e| anyhow::anyhow!(e.message))?;
    populate(&a, args.runs)?;
    let (t, s) = sync(&a)?;
    rows.push((
        format!("sync {} new runs to a file remote ({} ops)", args.runs, s.report.ops_out),
        format!("{:.2} s", t.as_secs_f64()),
        "< 10 s",
    ));
    let (t, _) = sync(&a)?;
    rows.push(("sync with nothing new".into(), format!("{:.0} ms", t.as_secs_f64() * 1000.0), "< 300 ms"));
    let size = packed_size(&remote)?;
    rows.push((
        "packed remote size per run (10 metrics x 100 steps each)".to_string(),
        format!("{:.1} KiB", size as f64 / 1024.0 / args.runs as f64),
        "report",
    ));
    rows.push((
        "packed remote size per 1M metric points".into(),
        format!("{:.1} MB", size as f64 / 1e6 / (args.runs as f64 * 1000.0) * 1e6),
        "<= 16 MB",
    ));

    if args.pull_runs > args.runs {
        eprintln!("adding runs to {}...", args.pull_runs);
        populate(&a, args.pull_runs - args.runs)?;
        sync(&a)?;
    }
    eprintln!("fresh store pulling...");
    let b = open(&dir.path().join("b"))?;
    b.add_remote("origin", &url, None).map_err(|e| anyhow::anyhow!(e.message))?;
    let (t, s) = sync(&b)?;
    if !s.report.refused.is_empty() {
        bail!("the pull refused content: {:?}", s.report.refused);
    }
    rows.push((
        format!("a fresh store pulling {} runs ({} ops)", args.pull_runs.max(args.runs), s.report.ops_in),
        format!("{:.2} s", t.as_secs_f64()),
        "< 60 s",
    ));

    println!("\n| measure | almanac | target |\n|---|---|---|");
    for (m, v, t) in rows {
        println!("| {m} | {v} | {t} |");
    }
    Ok(())
}
