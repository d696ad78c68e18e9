//! Builds the Yew UI in `ui/` to wasm and embeds the result, so that every
//! `cargo build` of the binary carries a UI built from the same checkout.
//!
//! Steps: `cargo build -p almanac-ui --target wasm32-unknown-unknown` into
//! its own target dir (a nested cargo must not share the outer one's lock),
//! then `wasm-bindgen --target web`, then gzip each file. Set
//! `ALMANAC_UI_DIST=DIR` to embed an already built UI instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// Must equal the `wasm-bindgen` version in Cargo.lock: the CLI and the
/// library speak a private protocol that changes with every release.
const WASM_BINDGEN_VERSION: &str = "0.2.130";

const FILES: [(&str, &str); 4] = [
    ("index.html", "text/html; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("ui.js", "text/javascript; charset=utf-8"),
    ("ui_bg.wasm", "application/wasm"),
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..").canonicalize().expect("the workspace root exists");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for watched in
        ["ui/src", "ui/Cargo.toml", "ui/index.html", "ui/style.css", "crates/core/src", "crates/wire/src", "Cargo.lock"]
    {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=ALMANAC_UI_DIST");

    let dist = match env::var_os("ALMANAC_UI_DIST") {
        Some(dir) => PathBuf::from(dir),
        None => build_ui(&root, &out),
    };
    embed(&dist, &out);
}

fn fail(message: &str) -> ! {
    eprintln!("\nerror: cannot build Almanac's UI: {message}\n");
    std::process::exit(1);
}

/// `<target>/ui-wasm`: beside the outer build's profiles, shared by debug,
/// release, clippy and test builds so the wasm is compiled once.
fn wasm_target_dir(out: &Path) -> PathBuf {
    out.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent()?.parent())
        .map(|target| target.join("ui-wasm"))
        .unwrap_or_else(|| out.join("ui-wasm"))
}

fn build_ui(root: &Path, out: &Path) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = wasm_target_dir(out);
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "-p", "almanac-ui", "--lib", "--target", "wasm32-unknown-unknown", "--profile", "ui"])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags and wrappers (clippy, coverage) are for the
    // host crates, not for the wasm.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().unwrap_or_else(|e| fail(&format!("cargo could not start: {e}")));
    if !status.success() {
        fail(
            "`cargo build -p almanac-ui --target wasm32-unknown-unknown` failed (is the target installed? `rustup target add wasm32-unknown-unknown`)",
        );
    }
    let wasm = target_dir.join("wasm32-unknown-unknown/ui/almanac_ui.wasm");

    let bindgen = find_wasm_bindgen();
    let version =
        Command::new(&bindgen).arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    match version {
        Ok(v) if v.contains(WASM_BINDGEN_VERSION) => {}
        Ok(v) => fail(&format!(
            "{} is `{}`, but the UI needs wasm-bindgen {WASM_BINDGEN_VERSION}: cargo install wasm-bindgen-cli --version {WASM_BINDGEN_VERSION}",
            bindgen.display(),
            v.trim()
        )),
        Err(_) => fail(&format!(
            "wasm-bindgen is not installed: cargo install wasm-bindgen-cli --version {WASM_BINDGEN_VERSION}"
        )),
    }
    let dist = out.join("dist");
    let _ = fs::remove_dir_all(&dist);
    let status = Command::new(&bindgen)
        .args(["--target", "web", "--no-typescript", "--out-name", "ui", "--out-dir"])
        .arg(&dist)
        .arg(&wasm)
        .status()
        .unwrap_or_else(|e| fail(&format!("wasm-bindgen could not start: {e}")));
    if !status.success() {
        fail("wasm-bindgen failed");
    }
    for file in ["index.html", "style.css"] {
        fs::copy(root.join("ui").join(file), dist.join(file))
            .unwrap_or_else(|e| fail(&format!("cannot copy ui/{file}: {e}")));
    }
    dist
}

fn find_wasm_bindgen() -> PathBuf {
    if let Some(p) = env::var_os("WASM_BINDGEN") {
        return PathBuf::from(p);
    }
    let on_path = env::var_os("PATH")
        .into_iter()
        .flat_map(|p| env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("wasm-bindgen"))
        .find(|p| p.is_file());
    let in_cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|h| h.join("bin/wasm-bindgen"))
        .filter(|p| p.is_file());
    on_path.or(in_cargo_home).unwrap_or_else(|| PathBuf::from("wasm-bindgen"))
}

/// Writes `assets.rs`: each file raw and gzipped, with its content type.
fn embed(dist: &Path, out: &Path) {
    let mut table = String::from("pub static FILES: &[Asset] = &[\n");
    for (name, content_type) in FILES {
        let path = dist.join(name);
        let bytes = fs::read(&path).unwrap_or_else(|e| fail(&format!("{} is missing: {e}", path.display())));
        let gz = out.join(format!("{name}.gz"));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder
            .write_all(&bytes)
            .and_then(|_| encoder.finish())
            .and_then(|z| fs::write(&gz, z))
            .unwrap_or_else(|e| fail(&format!("cannot gzip {name}: {e}")));
        table.push_str(&format!(
            "    Asset {{ name: {name:?}, content_type: {content_type:?}, bytes: include_bytes!({:?}), gzip: include_bytes!({:?}) }},\n",
            path.display().to_string(),
            gz.display().to_string()
        ));
    }
    table.push_str("];\n");
    fs::write(out.join("assets.rs"), table).unwrap_or_else(|e| fail(&format!("cannot write assets.rs: {e}")));
}
