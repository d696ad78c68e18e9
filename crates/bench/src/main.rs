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
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

#[derive(serde::Deserialize)]
struct HistoryPage {
    #[serde(default)]
    metrics: Vec<HistoryPoint>,
    next_page_token: Option<String>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)] // read to make the parse honest, never inspected
struct HistoryPoint {
    step: i64,
    value: Value,
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
            let page: HistoryPage = serde_json::from_slice(&bytes)?;
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
            if r.higher_is_better { format!("{:.1}x", r.almanac / m) } else { format!("{:.1}x faster", m / r.almanac) }
        });
        println!("| {} | {:.2} {} | {mlflow} | {ratio} | {} |", r.measure, r.almanac, r.unit, r.target);
    }
}

/// Writes a `mib`-MiB file of incompressible bytes; returns its write rate (MiB/s).
fn make_file(path: &Path, mib: u64) -> Result<f64> {
    use std::io::Write;
    let mut block = vec![0u8; 1 << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in block.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let start = Instant::now();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in 0..mib {
        block.rotate_left((i % 997) as usize + 1);
        f.write_all(&block)?;
    }
    f.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?.sync_all()?;
    Ok(mib as f64 / start.elapsed().as_secs_f64())
}

/// Samples a process's RSS every 20 ms until dropped; keeps the peak.
struct RssWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<f64>>,
}

impl RssWatch {
    fn start(pid: u32) -> RssWatch {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut peak: f64 = 0.0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_tree_mb(pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        });
        RssWatch { stop, handle: Some(handle) }
    }
    fn peak(mut self) -> f64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.take().map(|h| h.join().unwrap_or(f64::NAN)).unwrap_or(f64::NAN)
    }
}

/// RSS of a process plus its children (MLflow serves from worker processes).
fn rss_tree_mb(pid: u32) -> f64 {
    let mut total = rss_mb(pid).unwrap_or(0.0);
    if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        for child in children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
            total += rss_tree_mb(child);
        }
    }
    total
}

/// Uploads then downloads `file` through the artifact proxy. Returns
/// (upload MiB/s, download MiB/s, peak server RSS MB).
async fn artifact_transfer(http: &reqwest::Client, server: &Server, file: &Path, mib: u64) -> Result<(f64, f64, f64)> {
    let url = format!("{}/api/2.0/mlflow-artifacts/artifacts/bench/big.bin", server.base);
    let watch = RssWatch::start(server.child.id());
    let start = Instant::now();
    let f = tokio::fs::File::open(file).await?;
    let len = f.metadata().await?.len();
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(f, 1 << 20));
    let r = http.put(&url).header("Content-Length", len).body(body).send().await?;
    if !r.status().is_success() {
        bail!("upload answered {}", r.status());
    }
    let up = mib as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let r = http.get(&url).send().await?;
    if !r.status().is_success() {
        bail!("download answered {}", r.status());
    }
    let mut stream = r.bytes_stream();
    let mut got = 0u64;
    use futures_util::StreamExt;
    while let Some(chunk) = stream.next().await {
        got += chunk?.len() as u64;
    }
    let down = mib as f64 / start.elapsed().as_secs_f64();
    if got != len {
        bail!("downloaded {got} bytes, expected {len}");
    }
    Ok((up, down, watch.peak()))
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
        let file = dir.join("big.bin");
        eprintln!("writing a {} MiB file...", args.artifact_mib);
        let disk = make_file(&file, args.artifact_mib)?;
        eprintln!("artifact upload/download...");
        let (aup, adown, arss) = artifact_transfer(&http, &almanac, &file, args.artifact_mib).await?;
        let m = match &mlflow {
            Some(s) => Some(artifact_transfer(&http, s, &file, args.artifact_mib).await?),
            None => None,
        };
        let _ = std::fs::remove_file(&file);
        let mib = args.artifact_mib;
        rows.push(Row {
            measure: format!("artifact upload, {mib} MiB (disk writes {disk:.0} MiB/s)"),
            almanac: aup,
            mlflow: m.map(|t| t.0),
            unit: "MiB/s",
            higher_is_better: true,
            target: ">= 3x MLflow".into(),
        });
        rows.push(Row {
            measure: format!("artifact download, {mib} MiB"),
            almanac: adown,
            mlflow: m.map(|t| t.1),
            unit: "MiB/s",
            higher_is_better: true,
            target: ">= 3x MLflow".into(),
        });
        rows.push(Row {
            measure: "peak server RSS during the transfer".into(),
            almanac: arss,
            mlflow: m.map(|t| t.2),
            unit: "MB",
            higher_is_better: false,
            target: "< 100 MB".into(),
        });
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
