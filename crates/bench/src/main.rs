//! Drives Almanac and a real MLflow server with the same REST workload over
//! loopback and prints a table with both numbers and their ratio.
//!
//! Both servers are started by the bench on free ports over fresh stores in a
//! temporary folder, so one command measures them side by side.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::{Value, json};

mod transfer;

/// Benchmark Almanac's tracking API against MLflow's, side by side.
///
/// Measures log-batch throughput (metric points/s with concurrent
/// connections), single log-metric latency, search_runs over N runs with a
/// metric filter and order_by, get-history of a 100k-point metric, and
/// Almanac's idle RSS.
#[derive(Parser)]
#[command(after_help = "Example:
  cargo build --release --bin almanac
  cargo run --release -p almanac-bench -- --mlflow ~/.cache/almanac/venv/bin/mlflow")]
struct Args {
    /// The almanac binary to benchmark.
    #[arg(long, default_value = "target/release/almanac")]
    almanac: PathBuf,
    /// The `mlflow` executable for the side-by-side run; omit to skip MLflow.
    #[arg(long)]
    mlflow: Option<PathBuf>,
    /// Run counts for the search benchmark on Almanac.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    runs: Vec<usize>,
    /// Run count for MLflow's search benchmark (populating MLflow is slow).
    #[arg(long, default_value_t = 10000)]
    mlflow_runs: usize,
    /// Concurrent connections for throughput and population.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds of log-batch load per server.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Keep the servers' stores in this folder instead of a temporary one
    /// (to inspect them afterwards).
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Size of the artifact for the upload/download benchmark, in MiB (0 skips it).
    #[arg(long, default_value_t = 1024)]
    artifact_mib: u64,
    /// Interleaved upload/download rounds per server; the table shows medians.
    #[arg(long, default_value_t = 3)]
    artifact_rounds: usize,
    /// Run only the artifact benchmark.
    #[arg(long)]
    artifacts_only: bool,
    /// Points in the get-history benchmark.
    #[arg(long, default_value_t = 100_000)]
    history_points: usize,
}

struct Server {
    base: String,
    child: Child,
}

impl Drop for Server {
    /// Stops the server and every process under it: MLflow serves from
    /// worker processes that outlive their parent if only it is killed, and
    /// would then keep taking CPU from every later measurement.
    fn drop(&mut self) {
        let descendants: Vec<String> = process_tree(self.child.id()).iter().skip(1).map(u32::to_string).collect();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !descendants.is_empty() {
            let _ = Command::new("kill").arg("-TERM").args(&descendants).stderr(Stdio::null()).status();
        }
    }
}

/// `pid` and all its descendants, parents first.
fn process_tree(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        // Each thread lists the children it started.
        for task in std::fs::read_dir(format!("/proc/{p}/task")).into_iter().flatten().flatten() {
            if let Ok(children) = std::fs::read_to_string(task.path().join("children")) {
                tree.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
            }
        }
        i += 1;
    }
    tree
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn wait_healthy(http: &reqwest::Client, base: &str, child: &mut Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("server exited early with {status}");
        }
        if let Ok(r) = http.get(format!("{base}/health")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("server at {base} did not become healthy")
}

async fn start_almanac(http: &reqwest::Client, bin: &Path, dir: &Path) -> Result<Server> {
    let port = free_port()?;
    let mut child = Command::new(bin)
        .args(["--store"])
        .arg(dir.join("almanac"))
        .args(["--log", "warn", "serve", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(http, &base, &mut child).await?;
    Ok(Server { base, child })
}

async fn start_mlflow(http: &reqwest::Client, bin: &Path, dir: &Path) -> Result<Server> {
    let port = free_port()?;
    let db = dir.join("mlflow.db");
    let mut child = Command::new(bin)
        .arg("server")
        .arg("--backend-store-uri")
        .arg(format!("sqlite:///{}", db.display()))
        .arg("--artifacts-destination")
        .arg(dir.join("mlflow-artifacts"))
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(http, &base, &mut child).await?;
    Ok(Server { base, child })
}

async fn post(http: &reqwest::Client, base: &str, path: &str, body: &Value) -> Result<Value> {
    let r = http.post(format!("{base}/api/2.0/mlflow{path}")).json(body).send().await?;
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{path} answered {status}: {v}");
    }
    Ok(v)
}

async fn create_run(http: &reqwest::Client, base: &str, exp: &str) -> Result<String> {
    create_run_at(http, base, exp, 1).await
}

async fn create_run_at(http: &reqwest::Client, base: &str, exp: &str, start_time: usize) -> Result<String> {
    let v = post(http, base, "/runs/create", &json!({"experiment_id": exp, "start_time": start_time})).await?;
    Ok(v["run"]["info"]["run_id"].as_str().context("no run id")?.to_string())
}

async fn create_experiment(http: &reqwest::Client, base: &str, name: &str) -> Result<String> {
    let v = post(http, base, "/experiments/create", &json!({"name": name})).await?;
    Ok(v["experiment_id"].as_str().context("no experiment id")?.to_string())
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Metric points per second: `concurrency` connections each logging
/// 1000-point batches to their own run for `seconds`.
async fn log_throughput(http: &reqwest::Client, base: &str, concurrency: usize, seconds: u64) -> Result<f64> {
    let exp = create_experiment(http, base, "throughput").await?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let http = http.clone();
        let base = base.to_string();
        let run = create_run(&http, &base, &exp).await?;
        tasks.push(tokio::spawn(async move {
            let mut points = 0usize;
            let mut step = 0i64;
            while Instant::now() < deadline {
                // Written as text, not built as a JSON tree: the client should
                // spend as little of the shared CPU as it can.
                let mut body = format!("{{\"run_id\": \"{run}\", \"metrics\": [");
                for i in 0..1000 {
                    let s = step + i;
                    if i > 0 {
                        body.push_str(", ");
                    }
                    body.push_str(&format!(
                        "{{\"key\": \"loss\", \"value\": {:?}, \"timestamp\": {s}, \"step\": {s}}}",
                        s as f64 * 0.001
                    ));
                }
                body.push_str("]}");
                let r = http
                    .post(format!("{base}/api/2.0/mlflow/runs/log-batch"))
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!("log-batch answered {}", r.status());
                }
                points += 1000;
                step += 1000;
            }
            anyhow::Ok(points)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

async fn log_metric_latency(http: &reqwest::Client, base: &str, n: usize) -> Result<Duration> {
    let exp = create_experiment(http, base, "latency").await?;
    let run = create_run(http, base, &exp).await?;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({"run_id": run, "key": "m", "value": i as f64, "timestamp": i, "step": i});
        let t = Instant::now();
        post(http, base, "/runs/log-metric", &body).await?;
        samples.push(t.elapsed());
    }
    Ok(percentile(&mut samples, 0.5))
}

/// Creates `n` runs, each with an `acc` metric, a param and a tag.
async fn populate(http: &reqwest::Client, base: &str, exp: &str, n: usize, concurrency: usize) -> Result<()> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, base, exp, next) = (http.clone(), base.to_string(), exp.to_string(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(());
                }
                let run = create_run_at(&http, &base, &exp, 1_700_000_000_000 + i).await?;
                let acc = ((i * 7919) % 10_000) as f64 / 10_000.0;
                let body = json!({
                    "run_id": run,
                    "metrics": [{"key": "acc", "value": acc, "timestamp": 1, "step": 0}],
                    "params": [{"key": "lr", "value": format!("{}", i % 10)}],
                    "tags": [{"key": "group", "value": format!("g{}", i % 100)}],
                });
                post(&http, &base, "/runs/log-batch", &body).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn search_p50(http: &reqwest::Client, base: &str, exp: &str) -> Result<Duration> {
    let body = json!({
        "experiment_ids": [exp],
        "filter": "metrics.acc > 0.5",
        "order_by": ["metrics.acc DESC"],
        "max_results": 100,
    });
    let mut samples = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        let v = post(http, base, "/runs/search", &body).await?;
        samples.push(t.elapsed());
        if v["runs"].as_array().map_or(0, |r| r.len()) != 100 {
            bail!("search returned {} runs, expected 100", v["runs"].as_array().map_or(0, |r| r.len()));
        }
    }
    Ok(percentile(&mut samples, 0.5))
}

/// Full retrieval of a metric's history, paging as the mlflow client does.
async fn history(http: &reqwest::Client, base: &str, points: usize) -> Result<Duration> {
    let exp = create_experiment(http, base, "history").await?;
    let run = create_run(http, base, &exp).await?;
    for chunk in (0..points).collect::<Vec<_>>().chunks(1000) {
        let metrics: Vec<Value> =
            chunk.iter().map(|&s| json!({"key": "loss", "value": s as f64, "timestamp": s, "step": s})).collect();
        post(http, base, "/runs/log-batch", &json!({"run_id": run, "metrics": metrics})).await?;
    }
    let mut samples = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut got = 0;
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![("run_id", run.clone()), ("metric_key", "loss".into()), ("max_results", "25000".into())];
            if let Some(tok) = &token {
                q.push(("page_token", tok.clone()));
            }
            // Parse what a client needs (steps, values, token) into typed rows.
            let bytes =
                http.get(format!("{base}/api/2.0/mlflow/metrics/get-history")).query(&q).send().await?.bytes().await?;
            let page: almanac_wire::Metrics = serde_json::from_slice(&bytes)?;
            got += page.metrics.len();
            match page.next_page_token {
                Some(tok) if !tok.is_empty() => token = Some(tok),
                _ => break,
            }
        }
        samples.push(t.elapsed());
        if got != points {
            bail!("history returned {got} points, expected {points}");
        }
    }
    Ok(percentile(&mut samples, 0.5))
}

fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

struct Row {
    measure: String,
    almanac: f64,
    mlflow: Option<f64>,
    unit: &'static str,
    higher_is_better: bool,
    target: String,
}

fn print_table(rows: &[Row]) {
    println!();
    println!("| measure | almanac | mlflow | almanac vs mlflow | target |");
    println!("|---|---|---|---|---|");
    for r in rows {
        let mlflow = r.mlflow.map_or("-".to_string(), |m| format!("{m:.2} {}", r.unit));
        let ratio = r.mlflow.map_or("-".to_string(), |m| {
            let smaller = if r.unit == "MB" { "less" } else { "faster" };
            if r.higher_is_better {
                format!("{:.1}x", r.almanac / m)
            } else {
                format!("{:.1}x {smaller}", m / r.almanac)
            }
        });
        println!("| {} | {:.2} {} | {mlflow} | {ratio} | {} |", r.measure, r.almanac, r.unit, r.target);
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let temp = tempfile::tempdir()?;
    let dir = match &args.keep {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => temp.path().to_path_buf(),
    };
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let mut rows = Vec::new();

    let almanac = start_almanac(&http, &args.almanac, &dir).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_mb(almanac.child.id()).unwrap_or(f64::NAN);
    let mlflow = match &args.mlflow {
        Some(bin) => {
            eprintln!("starting mlflow server...");
            let server = start_mlflow(&http, bin, &dir).await?;
            // MLflow keeps initializing (workers, job runner) after it answers
            // /health; let it settle so it does not steal CPU from the
            // measurements of either server.
            tokio::time::sleep(Duration::from_secs(20)).await;
            Some(server)
        }
        None => None,
    };

    if args.artifact_mib > 0 {
        let servers: Vec<&Server> = std::iter::once(&almanac).chain(mlflow.as_ref()).collect();
        rows.extend(transfer::compare(&http, &servers, &dir, args.artifact_mib, args.artifact_rounds).await?);
    }
    if args.artifacts_only {
        print_table(&rows);
        return Ok(());
    }

    eprintln!("log-batch throughput...");
    let a = log_throughput(&http, &almanac.base, args.concurrency, args.seconds).await?;
    let m = match &mlflow {
        Some(s) => Some(log_throughput(&http, &s.base, args.concurrency, args.seconds).await?),
        None => None,
    };
    rows.push(Row {
        measure: format!("log-batch throughput ({} connections, 1000-point batches)", args.concurrency),
        almanac: a,
        mlflow: m,
        unit: "points/s",
        higher_is_better: true,
        target: ">= 50x MLflow".into(),
    });

    eprintln!("single log-metric latency...");
    let a = log_metric_latency(&http, &almanac.base, 500).await?;
    let m = match &mlflow {
        Some(s) => Some(log_metric_latency(&http, &s.base, 200).await?),
        None => None,
    };
    rows.push(Row {
        measure: "single log-metric, p50".into(),
        almanac: ms(a),
        mlflow: m.map(ms),
        unit: "ms",
        higher_is_better: false,
        target: "< 2 ms".into(),
    });

    eprintln!("get-history of {} points...", args.history_points);
    let a = history(&http, &almanac.base, args.history_points).await?;
    let m = match &mlflow {
        Some(s) => Some(history(&http, &s.base, args.history_points).await?),
        None => None,
    };
    rows.push(Row {
        measure: format!("get-history, {} points (paged as the client does)", args.history_points),
        almanac: ms(a),
        mlflow: m.map(ms),
        unit: "ms",
        higher_is_better: false,
        target: "< 100 ms".into(),
    });

    let mut populated = 0;
    let exp = create_experiment(&http, &almanac.base, "search").await?;
    let mut mlflow_search: Option<String> = None;
    for &n in &args.runs {
        eprintln!("populating almanac to {n} runs...");
        populate(&http, &almanac.base, &exp, n - populated, args.concurrency).await?;
        populated = n;
        let a = search_p50(&http, &almanac.base, &exp).await?;
        let m = match &mlflow {
            Some(s) if n >= args.mlflow_runs && mlflow_search.is_none() => {
                eprintln!("populating mlflow to {} runs...", args.mlflow_runs);
                let mexp = create_experiment(&http, &s.base, "search").await?;
                populate(&http, &s.base, &mexp, args.mlflow_runs, args.concurrency).await?;
                mlflow_search = Some(mexp.clone());
                Some(search_p50(&http, &s.base, &mexp).await?)
            }
            _ => None,
        };
        rows.push(Row {
            measure: format!("search_runs over {n} runs, metric filter + order_by, p50"),
            almanac: ms(a),
            mlflow: m.map(ms),
            unit: "ms",
            higher_is_better: false,
            target: "< 100 ms".into(),
        });
    }

    rows.push(Row {
        measure: "idle RSS after start".into(),
        almanac: idle,
        mlflow: None,
        unit: "MB",
        higher_is_better: false,
        target: "< 30 MB".into(),
    });
    rows.push(Row {
        measure: "RSS after the benchmark".into(),
        almanac: rss_mb(almanac.child.id()).unwrap_or(f64::NAN),
        mlflow: None,
        unit: "MB",
        higher_is_better: false,
        target: "-".into(),
    });
    print_table(&rows);
    drop(mlflow);
    drop(almanac);
    Ok(())
}
