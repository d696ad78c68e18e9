//! `almanac-package`: builds `almanac-desktop` in release and wraps it in a
//! `.deb` with Tauri's bundler (`tauri-bundler`, the library behind
//! `tauri build`), so packaging needs no `tauri-cli`. Product name,
//! version, icons and Debian fields come from `src-tauri/tauri.conf.json`.
//! Only `.deb` is built: AppImage bundling downloads tools from outside the
//! package registries.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clap::Parser;
use serde::Deserialize;
use tauri_bundler::{
    AppCategory, BundleBinary, BundleSettings, DebianSettings, PackageSettings, PackageType, SettingsBuilder,
};

/// Build the desktop app's .deb.
///
/// Runs `cargo build --release -p almanac-desktop`, then bundles the binary,
/// its icons and a desktop entry into target/desktop-package/bundle/deb/.
/// Install the result with `sudo apt install ./Almanac_<version>_amd64.deb`.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Bundle the binary already built; skip `cargo build`.
    #[arg(long)]
    no_build: bool,
}

/// The parts of tauri.conf.json the bundle needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TauriConf {
    product_name: String,
    main_binary_name: String,
    version: String,
    identifier: String,
    bundle: BundleConf,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleConf {
    icon: Vec<String>,
    category: String,
    short_description: String,
    long_description: String,
    linux: LinuxConf,
}

#[derive(Deserialize)]
struct LinuxConf {
    deb: DebConf,
}

#[derive(Deserialize)]
struct DebConf {
    depends: Vec<String>,
    section: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().context("workspace root")?;
    let app_dir = root.join("src-tauri");
    let conf: TauriConf = serde_json::from_str(
        &std::fs::read_to_string(app_dir.join("tauri.conf.json")).context("cannot read src-tauri/tauri.conf.json")?,
    )
    .context("src-tauri/tauri.conf.json lacks a field the bundle needs")?;

    if !args.no_build {
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["build", "--release", "-p", "almanac-desktop"])
            .current_dir(&root)
            .status()
            .context("cannot run cargo")?;
        if !status.success() {
            bail!("cargo build --release -p almanac-desktop failed");
        }
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let binary = target_dir.join("release").join(&conf.main_binary_name);
    if !binary.exists() {
        bail!("{} is missing; build it first or drop --no-build", binary.display());
    }
    // The release profile keeps line tables for backtraces; the package
    // ships the binary stripped (about 170 MiB down to about 30).
    let out_dir = target_dir.join("desktop-package");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let staged = out_dir.join(&conf.main_binary_name);
    std::fs::copy(&binary, &staged).with_context(|| format!("cannot copy {}", binary.display()))?;
    let stripped = Command::new("strip").arg(&staged).status().context("cannot run strip (binutils)")?;
    if !stripped.success() {
        bail!("strip failed on {}", staged.display());
    }

    let icons = conf.bundle.icon.iter().map(|i| app_dir.join(i).display().to_string()).collect();
    let category: AppCategory =
        conf.bundle.category.parse().map_err(|e| anyhow::anyhow!("bad bundle category: {e:?}"))?;
    let settings = SettingsBuilder::new()
        .project_out_directory(&out_dir)
        .package_types(vec![PackageType::Deb])
        .package_settings(PackageSettings {
            product_name: conf.product_name,
            version: conf.version,
            description: conf.bundle.short_description.clone(),
            homepage: None,
            authors: Some(vec!["The Almanac developers".into()]),
            default_run: Some(conf.main_binary_name.clone()),
        })
        .bundle_settings(BundleSettings {
            identifier: Some(conf.identifier),
            icon: Some(icons),
            category: Some(category),
            short_description: Some(conf.bundle.short_description),
            long_description: Some(conf.bundle.long_description),
            license: Some(env!("CARGO_PKG_LICENSE").into()),
            deb: DebianSettings {
                depends: Some(conf.bundle.linux.deb.depends),
                section: Some(conf.bundle.linux.deb.section),
                ..Default::default()
            },
            ..Default::default()
        })
        .binaries(vec![BundleBinary::new(conf.main_binary_name, true)])
        .target(target_triple())
        .build()
        .context("bad bundle settings")?;
    let bundles = tauri_bundler::bundle_project(&settings).context("bundling failed")?;
    for bundle in bundles {
        for path in bundle.bundle_paths {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            println!("{} ({:.1} MiB)", path.display(), size as f64 / 1_048_576.0);
        }
    }
    Ok(())
}

fn target_triple() -> String {
    let arch = std::env::consts::ARCH;
    format!("{arch}-unknown-linux-gnu")
}
