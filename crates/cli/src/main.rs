//! `almanac`: the command line and the tracking server in one binary.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use almanac_api::{App, OsEntropy, SystemClock, TokenVault, VaultCredentials};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

// The server allocates many small, short-lived JSON values per request;
// mimalloc handles that pattern far better than glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Almanac: MLflow-compatible experiment tracking in a local folder.
///
/// Point the official `mlflow` Python client at `almanac serve` and it logs
/// experiments, runs, params, metrics, tags, artifacts, models and the
/// model registry into the store: a folder holding a SQLite database and the
/// artifact files. Share it with your team through any git remote with
/// `almanac sync`. Nothing else to install or start.
#[derive(Parser)]
#[command(name = "almanac", version, propagate_version = true)]
#[command(after_help = "Examples:
  almanac serve                         # track into the default store on 127.0.0.1:5000
  almanac --store ./runs serve --port 5001
  almanac gc --dry-run                  # what deleting runs made collectable
  git init --bare /shared/team.git && almanac remote add team /shared/team.git && almanac sync
  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py")]
struct Cli {
    /// The store folder. Defaults to $ALMANAC_HOME, else the OS data
    /// directory (e.g. ~/.local/share/almanac).
    #[arg(long, global = true, value_name = "DIR")]
    store: Option<PathBuf>,

    /// Log filter, e.g. `info`, `debug`, `almanac_server=debug`. Also read
    /// from RUST_LOG.
    #[arg(long, global = true, value_name = "FILTER")]
    log: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the MLflow-compatible tracking server.
    ///
    /// Prints the tracking URI to export as MLFLOW_TRACKING_URI. Stops
    /// cleanly on Ctrl-C or SIGTERM; every write it acknowledged is on disk.
    Serve {
        /// Address to bind. Only loopback addresses unless --allow-remote.
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Port to listen on; 0 picks a free one.
        #[arg(long, default_value_t = 5000)]
        port: u16,
        /// Allow binding a non-loopback address. There is no authentication
        /// yet: anyone who can reach the port can read and write the store.
        #[arg(long)]
        allow_remote: bool,
    },
    /// Free disk space: remove artifact content no live run, logged model or
    /// model version references any more.
    ///
    /// Content of deleted runs and deleted logged models is removed;
    /// identical content shared with a live run stays. The runs' records stay
    /// in the store (and in sync history); only the bytes go.
    Gc {
        /// Report what would be removed without removing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Send history to other tools.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Move experiments between machines with no network: one file.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Bring history in from other tools.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Manage the git remotes this store syncs with.
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Share through git: send this store's new runs, fetch and merge the
    /// team's, push, and apply what arrived. Never conflicts.
    ///
    /// Works while `almanac serve` runs on the same store. With no NAME,
    /// syncs with every remote.
    Sync {
        /// The remote to sync with (default: all).
        name: Option<String>,
        /// Show each remote's last sync, errors, unsent ops (ahead) and the
        /// remote's ops not yet applied here (behind); sync nothing.
        #[arg(long)]
        status: bool,
    },
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Write this store, or the chosen experiments, to one file: a git
    /// bundle of the sync data plus the artifact files it needs.
    ///
    /// Carry it to a machine with no network (or from one) and run `almanac
    /// bundle apply` there. Runs, metrics, notes, tags, logged models and the
    /// registered models with versions from those runs all travel.
    #[command(after_help = "Examples:
  almanac bundle create /media/usb/week-42.almanac
  almanac bundle create churn.almanac --experiment churn --experiment churn-v2")]
    Create {
        file: PathBuf,
        /// Only this experiment (by name); repeat for several.
        #[arg(long = "experiment", value_name = "NAME")]
        experiments: Vec<String>,
    },
    /// Apply a bundle made by `almanac bundle create`: merged exactly as a
    /// sync would merge it, never conflicting. Applying it twice changes
    /// nothing. Its runs go out with your next `almanac sync`.
    Apply { file: PathBuf },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Push this store, or chosen experiments, to a running MLflow server
    /// through its REST API: experiments, runs with full metric histories,
    /// datasets, artifacts, logged models and the model registry.
    ///
    /// MLflow assigns its own run ids; each exported run carries its Almanac
    /// id in the tag `almanac.run_id` (logged models `almanac.model_id`,
    /// versions `almanac.version`), so exporting again sends only what is
    /// new. The server must proxy artifacts (`mlflow server` does by default).
    #[command(after_help = "Examples:
  almanac export mlflow http://mlflow.internal:5000
  almanac export mlflow http://127.0.0.1:5000 --experiment churn")]
    Mlflow {
        /// The MLflow server, e.g. http://127.0.0.1:5000.
        url: String,
        /// Only this experiment (by name); repeat for several. The registry
        /// goes only when no experiment is chosen.
        #[arg(long = "experiment", value_name = "NAME")]
        experiments: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import an MLflow store: experiments, runs (params, full metric
    /// histories, tags, notes, status, parent/child links), datasets,
    /// artifacts, logged models, and the model registry with versions,
    /// aliases, tags and prompts.
    ///
    /// Run ids, logged-model ids and version numbers are kept. Experiments
    /// are matched by name, or get a new id unique across machines; the old
    /// id keeps working as an alias. Importing again brings in only what is
    /// new, so it is safe to re-run while a team is still on MLflow. A
    /// corrupt record is reported with its file and skipped; the rest goes
    /// on, and no run is ever half imported.
    #[command(after_help = "Examples:
  almanac import mlflow ./mlruns
  almanac import mlflow sqlite:///home/me/mlflow.db --experiment churn --dry-run")]
    Mlflow {
        /// An `mlruns` folder (MLflow's file store), a `sqlite:///PATH`
        /// URI, or the path of an MLflow SQLite database.
        source: String,
        /// Import only this experiment (by name); repeat for several. The
        /// registry is imported only when no experiment is chosen.
        #[arg(long = "experiment", value_name = "NAME")]
        experiments: Vec<String>,
        /// Show what would be imported, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum RemoteCommand {
    /// Add a remote: any git URL (a path, file://, ssh://, git@host:org/repo.git,
    /// https://). Create an empty bare repository for it first
    /// (`git init --bare`), or use an existing repository: Almanac only
    /// touches its own ref, refs/almanac/data.
    Add {
        name: String,
        url: String,
        /// A folder (e.g. on a shared drive) for artifact bytes; only their
        /// manifests travel through git.
        #[arg(long, value_name = "DIR")]
        artifacts: Option<String>,
    },
    /// List remotes.
    List,
    /// Remove a remote (the remote repository itself is left alone) and
    /// forget its token.
    Remove { name: String },
    /// Save an access token for an https remote in the OS keyring.
    ///
    /// Asks for the token without echoing it (or reads one line from stdin
    /// when it is not a terminal, e.g. `pass show team-git | almanac remote
    /// login team`). The token is filed under the remote's URL in the OS
    /// keyring (GNOME Keyring, KeePassXC, macOS Keychain) and read only when
    /// git asks for it: never written to git config, the store, logs, or a
    /// command line. Use a GitHub/GitLab/Gitea personal access token with
    /// repository read and write rights.
    Login { name: String },
    /// Forget a remote's token.
    Logout { name: String },
}

fn store_dir(flag: Option<PathBuf>) -> Result<PathBuf> {
    match flag {
        Some(dir) => Ok(dir),
        None => almanac_api::default_store_dir(std::env::var_os("ALMANAC_HOME"), dirs::data_dir())
            .context("no OS data directory; pass --store DIR or set ALMANAC_HOME"),
    }
}

fn init_tracing(filter: Option<&str>, default: &str) {
    let filter = filter
        .map(tracing_subscriber::EnvFilter::new)
        .or_else(|| tracing_subscriber::EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // The server logs its life at info; one-shot commands speak through
    // their own output and log only warnings unless asked.
    let default_log = if matches!(cli.command, Command::Serve { .. }) { "info" } else { "warn" };
    init_tracing(cli.log.as_deref(), default_log);
    let store = store_dir(cli.store)?;
    match cli.command {
        Command::Serve { host, port, allow_remote } => serve(store, host, port, allow_remote),
        Command::Gc { dry_run } => gc(store, dry_run),
        Command::Remote(cmd) => remote(store, cmd),
        Command::Sync { name, status } => sync(store, name, status),
        Command::Bundle(cmd) => bundle(store, cmd),
        Command::Export(ExportCommand::Mlflow { url, experiments }) => export_mlflow(store, &url, &experiments),
        Command::Import(ImportCommand::Mlflow { source, experiments, dry_run }) => {
            import_mlflow(store, &source, experiments, dry_run)
        }
    }
}

fn api<T>(r: Result<T, almanac_api::ApiError>) -> Result<T> {
    r.map_err(|e| anyhow::anyhow!("{}", e.message))
}

fn remote(store: PathBuf, cmd: RemoteCommand) -> Result<()> {
    let app = open_app(&store)?;
    match cmd {
        RemoteCommand::Add { name, url, artifacts } => {
            api(app.add_remote(&name, &url, artifacts.as_deref()))?;
            println!("added remote {name} → {url}");
        }
        RemoteCommand::List => {
            let remotes = api(app.remotes())?;
            if remotes.is_empty() {
                println!("no remotes; add one with `almanac remote add NAME URL`");
            }
            for r in remotes {
                match r.artifacts {
                    Some(dir) => println!("{}\t{}\t(artifacts: {dir})", r.name, r.url),
                    None => println!("{}\t{}", r.name, r.url),
                }
            }
        }
        RemoteCommand::Remove { name } => {
            // Forget the token first: afterwards the URL it is filed under is gone.
            if let Err(e) = app.logout_remote(&name, &TokenVault::os()) {
                tracing::debug!(error = %e.message, "no token forgotten");
            }
            api(app.remove_remote(&name))?;
            println!("removed remote {name}");
        }
        RemoteCommand::Login { name } => {
            let url = api(app.remote(&name))?.url;
            let token = read_token(&format!("Token for {name} ({url}): "))?;
            api(app.login_remote(&name, &token, &TokenVault::os()))?;
            println!("saved the token for {name} in the OS keyring");
        }
        RemoteCommand::Logout { name } => {
            if api(app.logout_remote(&name, &TokenVault::os()))? {
                println!("forgot the token for {name}");
            } else {
                println!("{name} had no saved token");
            }
        }
    }
    Ok(())
}

fn sync(store: PathBuf, name: Option<String>, status: bool) -> Result<()> {
    let app = open_app(&store)?;
    if status {
        let remotes = api(app.remote_status(Some(&VaultCredentials(&TokenVault::os()))))?;
        if remotes.is_empty() {
            println!("no remotes; add one with `almanac remote add NAME URL`");
        }
        for s in remotes {
            let now = almanac_api::Clock::now_ms(&SystemClock);
            let last = s.state.last_sync_ms.map_or("never".to_string(), |ms| ago(now - ms));
            println!("{} ({})", s.remote.name, s.remote.url);
            println!("  last sync:  {last}; {} ops in, {} ops out", s.state.ops_in, s.state.ops_out);
            println!("  ahead:      {} local ops not yet sent", s.unsent_ops);
            match &s.behind {
                Some(Ok(n)) => println!("  behind:     {n} remote ops not yet applied here"),
                Some(Err(e)) => println!("  behind:     unknown, the remote cannot be reached: {e}"),
                None => {}
            }
            if let Some(e) = s.state.last_error {
                println!("  last error: {e}");
            }
        }
        return Ok(());
    }
    let names = match name {
        Some(n) => vec![n],
        None => api(app.remotes())?.into_iter().map(|r| r.name).collect(),
    };
    if names.is_empty() {
        bail!("no remotes to sync with; add one with `almanac remote add NAME URL`");
    }
    let vault = TokenVault::os();
    let mut failed = 0;
    for name in names {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let result = app.sync(&name, &VaultCredentials(&vault), &mut |stage| {
            bar.set_message(format!(
                "{name}: {}",
                match stage {
                    almanac_api::Stage::Recording => "recording local changes",
                    almanac_api::Stage::Fetching => "fetching",
                    almanac_api::Stage::Merging => "merging",
                    almanac_api::Stage::Pushing => "pushing",
                    almanac_api::Stage::Applying => "applying what arrived",
                }
            ))
        });
        bar.finish_and_clear();
        match result {
            Ok(s) => {
                let r = &s.report;
                println!(
                    "{name}: {} ops out{}, {} ops in from {} packs{}{}{}",
                    r.ops_out,
                    if r.pushed { " (pushed)" } else { "" },
                    r.ops_in,
                    r.packs_in,
                    if s.new_runs > 0 { format!(", {} new runs", s.new_runs) } else { String::new() },
                    if s.blobs_out > 0 {
                        format!(", {} artifact files out ({})", s.blobs_out, human_bytes(s.bytes_out))
                    } else {
                        String::new()
                    },
                    if r.retries > 0 { format!(", {} push retries", r.retries) } else { String::new() },
                );
                for (what, why) in &r.refused {
                    println!("  refused {what}: {why}");
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("{name}: sync failed: {}", e.message);
            }
        }
    }
    if failed > 0 {
        bail!("{failed} sync(s) failed; local work is safe and will go out with the next sync");
    }
    Ok(())
}

/// A progress bar counting runs.
fn runs_bar() -> Result<indicatif::ProgressBar> {
    Ok(indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} runs, {eta} left")
            .context("progress template")?
            .progress_chars("=> "),
    ))
}

/// Lists the records an import or export skipped; any makes the exit code
/// non-zero, after the rest went through.
fn fail_on_problems(what: &str, problems: &[String]) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    eprintln!("{} record(s) could not be moved by the {what}; the rest was:", problems.len());
    for p in problems {
        eprintln!("  {p}");
    }
    bail!("{what} finished with {} problem(s)", problems.len())
}

fn export_mlflow(store: PathBuf, url: &str, experiments: &[String]) -> Result<()> {
    let app = open_app(&store)?;
    let bar = runs_bar()?;
    let summary = api(app.export_mlflow_to(url, experiments, &mut |event| match event {
        almanac_api::ExportEvent::Connected { target } => bar.set_message(format!("exporting to {target}")),
        almanac_api::ExportEvent::Counted { runs } => bar.set_length(runs),
        almanac_api::ExportEvent::RunDone => bar.inc(1),
        almanac_api::ExportEvent::Registry => bar.set_message("exporting the model registry"),
    }))?;
    bar.finish_and_clear();
    let s = &summary;
    println!("exported to {}:", s.target);
    println!("  experiments:       {} new", s.experiments_created);
    println!("  runs:              {} new, {} updated, {} unchanged", s.runs_created, s.runs_updated, s.runs_unchanged);
    println!("  metric points:     {}", s.metric_points);
    println!("  artifact files:    {}", s.artifact_files);
    println!("  logged models:     {} new", s.logged_models_created);
    println!("  registered models: {} new, {} new versions", s.registered_models_created, s.model_versions_created);
    if s.trace_spans_resent > 0 {
        println!("  traces:            {} new, {} had their spans re-sent", s.traces_created, s.trace_spans_resent);
    } else {
        println!("  traces:            {} new", s.traces_created);
    }
    fail_on_problems("export", &s.problems)
}

fn bundle(store: PathBuf, cmd: BundleCommand) -> Result<()> {
    let app = open_app(&store)?;
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    match cmd {
        BundleCommand::Create { file, experiments } => {
            spinner.set_message(format!("writing {}", file.display()));
            let c = api(app.create_bundle(&file, &experiments))?;
            spinner.finish_and_clear();
            println!(
                "wrote {}: sync data {}, {} artifact files ({})",
                file.display(),
                human_bytes(c.data_bytes),
                c.blobs,
                human_bytes(c.blob_bytes)
            );
            if c.missing_blobs > 0 {
                println!(
                    "  {} artifact files are not on this machine (only on a remote's artifact folder) and are not in it",
                    c.missing_blobs
                );
            }
        }
        BundleCommand::Apply { file } => {
            spinner.set_message(format!("applying {}", file.display()));
            let s = api(app.apply_bundle(&file))?;
            spinner.finish_and_clear();
            println!(
                "applied {}: {} ops in from {} packs, {} artifact files ({})",
                file.display(),
                s.ops_in,
                s.packs_in,
                s.blobs_in,
                human_bytes(s.bytes_in)
            );
            for (what, why) in &s.refused {
                println!("  refused {what}: {why}");
            }
        }
    }
    Ok(())
}

fn import_mlflow(store: PathBuf, source: &str, experiments: Vec<String>, dry_run: bool) -> Result<()> {
    let app = open_app(&store)?;
    let bar = runs_bar()?;
    let options = almanac_api::ImportOptions { experiments, dry_run };
    let summary = api(app.import_mlflow_from(source, &options, &mut |event| match event {
        almanac_api::ImportEvent::Opened { source } => bar.set_message(format!("importing {source}")),
        almanac_api::ImportEvent::Counted { runs } => bar.set_length(runs),
        almanac_api::ImportEvent::RunDone { .. } => bar.inc(1),
        almanac_api::ImportEvent::Registry => bar.set_message("importing the model registry"),
    }))?;
    bar.finish_and_clear();
    let s = &summary;
    let verb = if dry_run { "would import" } else { "imported" };
    println!("{verb} from {}:", s.source);
    println!("  experiments:       {} new, {} matched by name", s.experiments_created, s.experiments_matched);
    println!("  runs:              {} new, {} updated, {} unchanged", s.runs_created, s.runs_updated, s.runs_unchanged);
    println!("  metric points:     {}", s.metric_points);
    println!("  artifact files:    {} ({})", s.artifact_files, human_bytes(s.artifact_bytes));
    println!("  logged models:     {} new", s.logged_models_created);
    println!("  registered models: {} new, {} new versions", s.registered_models_created, s.model_versions_created);
    println!("  traces:            {} new, {} already here", s.traces_created, s.traces_unchanged);
    fail_on_problems("import", &s.problems)
}

/// A secret from the terminal without echo, or one line of stdin when it is
/// not a terminal.
fn read_token(prompt: &str) -> Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).context("cannot read the token from the terminal");
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("cannot read the token from stdin")?;
    Ok(line)
}

fn open_app(store: &std::path::Path) -> Result<App> {
    App::open(store, Box::new(SystemClock), Box::new(OsEntropy))
        .map_err(|e| anyhow::anyhow!("{}", e.message))
        .with_context(|| format!("cannot open the store at {}", store.display()))
}

fn gc(store: PathBuf, dry_run: bool) -> Result<()> {
    let app = open_app(&store)?;
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} blobs")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(if dry_run { "checking" } else { "removing" });
    let report = app
        .gc(dry_run, |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .map_err(|e| anyhow::anyhow!("{}", e.message))
        .context("garbage collection failed")?;
    bar.finish_and_clear();
    let verb = if dry_run { "would remove" } else { "removed" };
    println!(
        "{verb} {} of {} blobs, {} freed{}",
        report.blobs_removed,
        report.blobs_total,
        human_bytes(report.bytes_freed),
        if dry_run { " (dry run: nothing was changed)" } else { "" }
    );
    Ok(())
}

/// "12 s ago", "5 min ago", "3 h ago", "2 days ago".
fn ago(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

fn serve(store: PathBuf, host: IpAddr, port: u16, allow_remote: bool) -> Result<()> {
    if !host.is_loopback() && !allow_remote {
        bail!(
            "refusing to bind {host}: it is not a loopback address and Almanac has no authentication yet. \
             Pass --allow-remote to expose the store to the network anyway."
        );
    }
    let app = open_app(&store)?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(host, port);
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr().context("no local address")?;
        let uri_host = if bound.ip().is_ipv6() { format!("[{}]", bound.ip()) } else { bound.ip().to_string() };
        println!("Almanac tracking server");
        println!("  store: {}", store.display());
        println!("  export MLFLOW_TRACKING_URI=http://{uri_host}:{}", bound.port());
        use std::io::Write;
        std::io::stdout().flush().ok();
        tracing::info!(%bound, store = %store.display(), "listening");
        almanac_server::serve(listener, app, shutdown_signal()).await.context("server failed")?;
        tracing::info!("stopped cleanly");
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_flag_is_global() {
        for args in [["almanac", "--store", "/x", "serve"], ["almanac", "serve", "--store", "/x"]] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!(cli.store, Some(PathBuf::from("/x")));
        }
    }

    #[test]
    fn durations_read_naturally() {
        for (ms, text) in [
            (0, "0 s ago"),
            (59_999, "59 s ago"),
            (60_000, "1 min ago"),
            (7_200_000, "2 h ago"),
            (172_800_000, "2 days ago"),
        ] {
            assert_eq!(ago(ms), text);
        }
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn help_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
