//! `almanac-desktop`: the desktop app. See the library for what it does.

use std::path::PathBuf;

use clap::Parser;

/// Almanac on the desktop: your MLflow runs, offline.
///
/// Opens a store (the last one you opened, or the default one), serves it
/// on 127.0.0.1 for your training scripts, and shows it in a window. Point
/// MLFLOW_TRACKING_URI at the address in the status bar and log as usual.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// The store folder to open (created if missing). Default: the store
    /// opened last, else $ALMANAC_HOME, else almanac in the OS data folder.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// The tracking server's port on 127.0.0.1. If it is taken, the next
    /// free port is used.
    #[arg(long, value_name = "P")]
    port: Option<u16>,
    /// Log filter (tracing's env-filter syntax), e.g. `debug`.
    #[arg(long, env = "ALMANAC_LOG", default_value = "info")]
    log: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
        .with_writer(std::io::stderr)
        .init();
    almanac_desktop::run(almanac_desktop::Launch {
        store: args.store,
        port: args.port,
        config_dir: dirs::config_dir(),
        almanac_home: std::env::var_os("ALMANAC_HOME"),
        data_dir: dirs::data_dir(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_well_formed() {
        use clap::CommandFactory;
        Args::command().debug_assert();
        let args = Args::try_parse_from(["almanac-desktop", "--store", "/s", "--port", "5123"]).unwrap();
        assert_eq!((args.store, args.port), (Some(PathBuf::from("/s")), Some(5123)));
    }
}
