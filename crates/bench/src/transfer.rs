//! The artifact benchmark: a large file up and down through each server's
//! `mlflow-artifacts` proxy, in interleaved rounds.
//!
//! Both servers share the machine's cores and disk with the client and with
//! whatever else the host runs, and this disk's speed drifts by several times
//! from one minute to the next. So the servers take turns within each round
//! and the table shows each one's median: a slow spell then lands on both
//! rather than on whichever happened to run during it.
//!
//! Uploads are sent with `sendfile` (what `std::io::copy` does from a file to
//! a socket on Linux), so the client spends almost no CPU of its own and the
//! measure is the server's, not the client's.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use futures_util::StreamExt;

use crate::{Row, Server, process_tree, rss_mb};

/// One server's numbers for one round.
struct Round {
    upload: f64,
    download: f64,
    peak_rss: f64,
}

/// Runs `rounds` rounds over `servers` (Almanac first, then MLflow if any)
/// and returns the table rows: median upload, median download, peak RSS.
pub async fn compare(
    http: &reqwest::Client,
    servers: &[&Server],
    dir: &Path,
    mib: u64,
    rounds: usize,
) -> Result<Vec<Row>> {
    let file = dir.join("big.bin");
    eprintln!("writing a {mib} MiB file...");
    let disk = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || make_file(&file, mib)).await??
    };
    let mut results: Vec<Vec<Round>> = servers.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds.max(1) {
        // Alternate who goes first, so neither always follows the other's
        // writes still draining to disk.
        let mut order: Vec<usize> = (0..servers.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            // New content every time: a server that keeps content by hash
            // must store each upload, not find it already there.
            stamp(&file, (round * servers.len() + i) as u64)?;
            let r = transfer(http, servers[i], &file, mib).await?;
            let name = if i == 0 { "almanac" } else { "mlflow" };
            eprintln!(
                "round {}: {name:8} upload {:7.1} MiB/s  download {:7.1} MiB/s  peak RSS {:6.1} MB",
                round + 1,
                r.upload,
                r.download,
                r.peak_rss
            );
            results[i].push(r);
        }
    }
    let _ = std::fs::remove_file(&file);
    let n = rounds.max(1);
    let pick = |i: usize, f: fn(&Round) -> f64| median(results[i].iter().map(f).collect());
    let other = |f: fn(&Round) -> f64| (servers.len() > 1).then(|| pick(1, f));
    let peak = |i: usize| results[i].iter().map(|r| r.peak_rss).fold(0.0, f64::max);
    Ok(vec![
        Row {
            measure: format!("artifact upload, {mib} MiB, median of {n} (disk writes {disk:.0} MiB/s)"),
            almanac: pick(0, |r| r.upload),
            mlflow: other(|r| r.upload),
            unit: "MiB/s",
            higher_is_better: true,
            target: ">= 3x MLflow".into(),
        },
        Row {
            measure: format!("artifact download, {mib} MiB, median of {n}"),
            almanac: pick(0, |r| r.download),
            mlflow: other(|r| r.download),
            unit: "MiB/s",
            higher_is_better: true,
            target: ">= 3x MLflow".into(),
        },
        Row {
            measure: "peak server RSS during the transfers".into(),
            almanac: peak(0),
            mlflow: (servers.len() > 1).then(|| peak(1)),
            unit: "MB",
            higher_is_better: false,
            target: "< 100 MB".into(),
        },
    ])
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// Uploads then downloads `file` through the artifact proxy.
async fn transfer(http: &reqwest::Client, server: &Server, file: &Path, mib: u64) -> Result<Round> {
    let path = "/api/2.0/mlflow-artifacts/artifacts/bench/big.bin";
    let watch = RssWatch::start(server.child.id());
    let start = Instant::now();
    let addr = server.base.trim_start_matches("http://").to_string();
    let (f, p) = (file.to_path_buf(), path.to_string());
    tokio::task::spawn_blocking(move || put_file(&addr, &p, &f)).await??;
    let upload = mib as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    let r = http.get(format!("{}{path}", server.base)).send().await?;
    if !r.status().is_success() {
        bail!("download answered {}", r.status());
    }
    let mut stream = r.bytes_stream();
    let mut got = 0u64;
    while let Some(chunk) = stream.next().await {
        got += chunk?.len() as u64;
    }
    let download = mib as f64 / start.elapsed().as_secs_f64();
    let len = std::fs::metadata(file)?.len();
    ensure!(got == len, "downloaded {got} bytes, expected {len}");
    Ok(Round { upload, download, peak_rss: watch.peak() })
}

/// `PUT path` with `file` as the body, over one HTTP/1.1 connection; the
/// body goes by `sendfile`. Fails unless the server answers 2xx.
fn put_file(addr: &str, path: &str, file: &PathBuf) -> Result<()> {
    let mut f = std::fs::File::open(file)?;
    let len = f.metadata()?.len();
    let mut s = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
    write!(
        s,
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n"
    )?;
    let sent = std::io::copy(&mut f, &mut s)?;
    ensure!(sent == len, "sent {sent} of {len} bytes");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)?;
    let status = String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string();
    ensure!(status.split_whitespace().nth(1).is_some_and(|c| c.starts_with('2')), "upload answered {status:?}");
    Ok(())
}

/// Overwrites the file's first 8 bytes with `n`.
fn stamp(path: &Path, n: u64) -> Result<()> {
    use std::os::unix::fs::FileExt;
    std::fs::OpenOptions::new().write(true).open(path)?.write_all_at(&n.to_le_bytes(), 0)?;
    Ok(())
}

/// Writes a `mib`-MiB file of incompressible bytes; returns its write rate
/// (MiB/s), flushed to disk.
fn make_file(path: &Path, mib: u64) -> Result<f64> {
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

/// Samples a process tree's RSS every 20 ms until stopped; keeps the peak.
struct RssWatch {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<f64>>,
}

impl RssWatch {
    fn start(pid: u32) -> RssWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut peak: f64 = 0.0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(rss_tree_mb(pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        });
        RssWatch { stop, handle: Some(handle) }
    }

    fn peak(mut self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().map(|h| h.join().unwrap_or(f64::NAN)).unwrap_or(f64::NAN)
    }
}

/// RSS of a process plus its descendants (MLflow serves from worker processes).
fn rss_tree_mb(pid: u32) -> f64 {
    process_tree(pid).into_iter().filter_map(rss_mb).sum()
}
