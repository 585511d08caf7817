//! Installing what a fresh machine lacks: the wasm32 target, wasm-bindgen (exactly the
//! version in Cargo.lock), Trunk 0.21, mdBook 0.5 (the book), wasm-opt (Binaryen, from npm), Chromium and the
//! browser tests' node modules.

use crate::util::{self, Fail};
use std::fs;
use std::path::{Path, PathBuf};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The Trunk series this project is written against (Trunk.toml, index.html attributes).
const TRUNK_SERIES: &str = "0.21";
/// The mdBook series docs/book is written for (book.toml).
const MDBOOK_SERIES: &str = "0.5";
/// The browser the tests drive; override with QUORUMLAB_CHROMIUM.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// playwright-core needs this Node.js major version or newer.
const NODE_MAJOR: u32 = 20;
/// The Binaryen release pinned in xtask/node-tools/package.json.
const BINARYEN_VERSION: &str = "132";

fn cannot_install(what: &str, fail: Fail, by_hand: &str) -> Fail {
    Fail::new(format!(
        "could not install {what}: {fail}\n(see the output above for why: often no network access to the registry, or a missing C toolchain)\nTry it by hand: {by_hand}"
    ))
}

/// `cargo fmt` and `cargo clippy` (absent from rustup's "minimal" profile).
pub fn ensure_rust_components() -> Result<(), Fail> {
    for (component, subcommand) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
        if util::cargo(&[subcommand, "--version"])
            .stdout_if_ok()
            .is_some()
        {
            continue;
        }
        println!("xtask: `cargo {subcommand}` is missing: installing the {component} component");
        let add = util::tool("rustup", &["component", "add", component]);
        add.run()
            .map_err(|f| cannot_install(component, f, &add.display()))?;
    }
    Ok(())
}

pub fn ensure_wasm_target() -> Result<(), Fail> {
    let installed = util::tool("rustup", &["target", "list", "--installed"]).stdout_if_ok();
    match installed {
        Some(list) if list.lines().any(|l| l.trim() == WASM_TARGET) => {
            println!("xtask: rust target {WASM_TARGET}: installed");
            Ok(())
        }
        Some(_) => {
            let add = util::tool("rustup", &["target", "add", WASM_TARGET]);
            add.run().map_err(|f| {
                cannot_install(&format!("the {WASM_TARGET} target"), f, &add.display())
            })
        }
        None => {
            // No rustup: the target may still be there (e.g. a distribution's Rust).
            let libdir = util::tool(
                "rustc",
                &["--print", "target-libdir", "--target", WASM_TARGET],
            )
            .stdout_if_ok();
            if libdir.is_some_and(|d| has_std(d.trim())) {
                return Ok(());
            }
            Err(Fail::new(format!(
                "the Rust target {WASM_TARGET} is missing and `rustup` is not available to add it.\n\
                 Install Rust with rustup (https://rustup.rs), then: rustup target add {WASM_TARGET}"
            )))
        }
    }
}

fn has_std(libdir: &str) -> bool {
    fs::read_dir(libdir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
        })
        .unwrap_or(false)
}

/// The version of `package` recorded in Cargo.lock (the first one, if several).
pub fn locked_version(lockfile: &str, package: &str) -> Option<String> {
    let mut in_package = false;
    let mut name_matches = false;
    for line in lockfile.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[[package]]";
            name_matches = false;
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some(v) = toml_string(line, "name") {
            name_matches = v == package;
        } else if let Some(v) = toml_string(line, "version") {
            if name_matches {
                return Some(v.to_string());
            }
        }
    }
    None
}

fn toml_string<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line
        .strip_prefix(key)?
        .trim_start()
        .strip_prefix('=')?
        .trim();
    rest.strip_prefix('"')?.strip_suffix('"')
}

/// "wasm-bindgen 0.2.130" -> "0.2.130"; "trunk 0.21.14" -> "0.21.14".
pub fn version_from_output(output: &str, program: &str) -> Option<String> {
    let line = output.lines().next()?.trim();
    let rest = line.strip_prefix(program)?.trim();
    // mdBook says "mdbook v0.5.4".
    let version = rest.split_whitespace().next()?;
    let version = version.strip_prefix('v').unwrap_or(version);
    version
        .chars()
        .next()
        .filter(|c| c.is_ascii_digit())
        .map(|_| version.to_string())
}

fn installed_version(program: &str) -> Option<String> {
    let out = util::tool(program, &["--version"]).stdout_if_ok()?;
    version_from_output(&out, program)
}

pub fn ensure_wasm_bindgen() -> Result<(), Fail> {
    let lock_path = util::root().join("Cargo.lock");
    let lock = fs::read_to_string(&lock_path)
        .map_err(|e| Fail::new(format!("cannot read {}: {e}", lock_path.display())))?;
    let wanted = locked_version(&lock, "wasm-bindgen").ok_or_else(|| {
        Fail::new("Cargo.lock has no wasm-bindgen entry: run `cargo generate-lockfile`")
    })?;
    match installed_version("wasm-bindgen") {
        Some(v) if v == wanted => {
            println!("xtask: wasm-bindgen {v}: installed (matches Cargo.lock)");
            return Ok(());
        }
        Some(v) => println!(
            "xtask: wasm-bindgen {v} is installed but Cargo.lock has {wanted}: installing {wanted}"
        ),
        None => println!("xtask: wasm-bindgen {wanted} (from Cargo.lock) is missing: installing it (a few minutes)"),
    }
    let version = format!("={wanted}");
    let locked = util::cargo(&[
        "install",
        "wasm-bindgen-cli",
        "--version",
        &version,
        "--locked",
        "--force",
    ]);
    if let Err(first) = locked.run() {
        // wasm-bindgen-cli's own lock file can name a dependency version that a registry
        // mirror lacks (seen: webpki-roots 1.0.11); the CLI is pinned exactly either way,
        // so retry resolving its dependencies afresh.
        println!(
            "xtask: `{}` failed ({first}); retrying without --locked",
            locked.display()
        );
        let unlocked = util::cargo(&[
            "install",
            "wasm-bindgen-cli",
            "--version",
            &version,
            "--force",
        ]);
        unlocked.run().map_err(|f| {
            cannot_install(
                &format!("wasm-bindgen-cli {wanted}"),
                f,
                &unlocked.display(),
            )
        })?;
    }
    match installed_version("wasm-bindgen") {
        Some(v) if v == wanted => Ok(()),
        other => Err(Fail::new(format!(
            "installed wasm-bindgen-cli {wanted}, but `wasm-bindgen --version` now says {other:?}: \
             is {} on PATH, ahead of other copies?",
            util::cargo_bin_dir().map(|p| p.display().to_string()).unwrap_or_default()
        ))),
    }
}

pub fn ensure_trunk() -> Result<(), Fail> {
    let series = format!("{TRUNK_SERIES}.");
    match installed_version("trunk") {
        Some(v) if v.starts_with(&series) => {
            println!("xtask: trunk {v}: installed");
            return Ok(());
        }
        Some(v) => println!("xtask: trunk {v} is installed, this project needs {TRUNK_SERIES}.x: installing it"),
        None => println!("xtask: trunk is missing: installing trunk {TRUNK_SERIES}.x (about 10 minutes on 2 cores)"),
    }
    let version = format!("~{TRUNK_SERIES}");
    let install = util::cargo(&[
        "install",
        "trunk",
        "--version",
        &version,
        "--locked",
        "--force",
    ]);
    install
        .run()
        .map_err(|f| cannot_install(&format!("trunk {TRUNK_SERIES}"), f, &install.display()))?;
    match installed_version("trunk") {
        Some(v) if v.starts_with(&series) => Ok(()),
        other => Err(Fail::new(format!(
            "installed trunk {TRUNK_SERIES}, but `trunk --version` now says {other:?}"
        ))),
    }
}

/// `cargo install <krate> --version ~<series> --locked` unless `program --version`
/// already says that series.
fn ensure_cargo_tool(program: &str, krate: &str, series: &str, how_long: &str) -> Result<(), Fail> {
    let prefix = format!("{series}.");
    match installed_version(program) {
        Some(v) if v.starts_with(&prefix) => {
            println!("xtask: {program} {v}: installed");
            return Ok(());
        }
        Some(v) => println!(
            "xtask: {program} {v} is installed, this project needs {series}.x: installing it"
        ),
        None => println!("xtask: {program} is missing: installing {krate} {series}.x ({how_long})"),
    }
    let version = format!("~{series}");
    let install = util::cargo(&[
        "install",
        krate,
        "--version",
        &version,
        "--locked",
        "--force",
    ]);
    install
        .run()
        .map_err(|f| cannot_install(&format!("{krate} {series}"), f, &install.display()))?;
    match installed_version(program) {
        Some(v) if v.starts_with(&prefix) => Ok(()),
        other => Err(Fail::new(format!(
            "installed {krate} {series}, but `{program} --version` now says {other:?}"
        ))),
    }
}

/// mdBook, which builds the book of lessons (docs/book) into dist/learn.
pub fn ensure_mdbook() -> Result<(), Fail> {
    ensure_cargo_tool(
        "mdbook",
        "mdbook",
        MDBOOK_SERIES,
        "about 3 minutes on 2 cores",
    )
}

pub fn chromium_path() -> PathBuf {
    std::env::var_os("QUORUMLAB_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM))
}

fn is_root() -> bool {
    util::tool("id", &["-u"])
        .stdout_if_ok()
        .is_some_and(|s| s.trim() == "0")
}

/// `apt-get install -y <packages>` (after `apt-get update`), as root or with `sudo -n`.
fn apt_install(what: &str, packages: &[&str]) -> Result<(), Fail> {
    let by_hand = format!(
        "sudo apt-get update && sudo apt-get install -y {}",
        packages.join(" ")
    );
    if util::tool("apt-get", &["--version"])
        .stdout_if_ok()
        .is_none()
    {
        return Err(Fail::new(format!(
            "{what} is missing and this is not a Debian/Ubuntu machine (no apt-get).\nInstall it with your package manager (Debian: {by_hand})"
        )));
    }
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo", "-n"] };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        util::tool(all[0], &all[1..]).env("DEBIAN_FRONTEND", "noninteractive")
    };
    let update = apt(&["update"]);
    update
        .run()
        .map_err(|f| cannot_install(what, f, &by_hand))?;
    let mut install_args = vec!["install", "-y"];
    install_args.extend_from_slice(packages);
    apt(&install_args)
        .run()
        .map_err(|f| cannot_install(what, f, &by_hand))
}

pub fn ensure_chromium() -> Result<(), Fail> {
    let path = chromium_path();
    if path.is_file() {
        println!("xtask: chromium: {}", path.display());
        return Ok(());
    }
    if std::env::var_os("QUORUMLAB_CHROMIUM").is_some() {
        return Err(Fail::new(format!(
            "QUORUMLAB_CHROMIUM is set to {}, which does not exist",
            path.display()
        )));
    }
    println!(
        "xtask: {} is missing: installing Debian's chromium",
        path.display()
    );
    apt_install("Chromium", &["chromium", "chromium-driver"])?;
    if path.is_file() {
        Ok(())
    } else {
        Err(Fail::new(format!(
            "installed chromium, but {} is still missing; set QUORUMLAB_CHROMIUM to the browser binary",
            path.display()
        )))
    }
}

fn node_major() -> Option<u32> {
    let v = util::tool("node", &["--version"]).stdout_if_ok()?;
    v.trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// Node.js (and npm), from Debian when missing.
fn ensure_node() -> Result<(), Fail> {
    if node_major().is_none() {
        println!("xtask: node is missing: installing Debian's nodejs and npm");
        apt_install("Node.js", &["nodejs", "npm"])?;
    }
    match node_major() {
        Some(major) if major >= NODE_MAJOR => {
            println!("xtask: node: v{major}");
            Ok(())
        }
        Some(major) => Err(Fail::new(format!(
            "the build and browser tests need Node.js {NODE_MAJOR} or newer (wasm-opt, playwright-core), this machine has {major}.\nInstall a newer Node.js (https://nodejs.org/en/download) and run again"
        ))),
        None => Err(Fail::new("node is still not on PATH after installing nodejs")),
    }
}

/// `npm ci` in `dir` unless its node_modules already holds `package` from the current lock.
fn npm_ci(dir: &Path, package: &str, what: &str) -> Result<(), Fail> {
    let rel = dir
        .strip_prefix(util::root())
        .unwrap_or(dir)
        .display()
        .to_string();
    if node_modules_fresh(dir, package) {
        println!("xtask: {rel}/node_modules: up to date");
        return Ok(());
    }
    let ci = util::tool("npm", &["ci", "--no-audit", "--no-fund"]).dir(dir.to_path_buf());
    ci.run()
        .map_err(|f| cannot_install(what, f, &format!("cd {rel} && npm ci")))
}

/// wasm-opt, which Trunk runs on release builds: Binaryen from npm (Debian's is too old to
/// read what rustc emits), into xtask/node-tools, whose bin dir is first on the PATH that
/// xtask gives Trunk.
pub fn ensure_wasm_opt() -> Result<(), Fail> {
    ensure_node()?;
    npm_ci(
        &util::root().join("xtask/node-tools"),
        "binaryen",
        "wasm-opt (Binaryen)",
    )?;
    let out = util::tool("wasm-opt", &["--version"]).stdout_if_ok();
    match out {
        Some(v) if v.contains(&format!("version {BINARYEN_VERSION}")) => {
            println!("xtask: {}", v.trim());
            Ok(())
        }
        other => Err(Fail::new(format!(
            "installed Binaryen {BINARYEN_VERSION} into xtask/node-tools, but `wasm-opt --version` says {other:?}"
        ))),
    }
}

pub fn ensure_node_modules() -> Result<(), Fail> {
    ensure_node()?;
    npm_ci(
        &util::root().join("tests/e2e"),
        "playwright-core",
        "the browser tests' node modules",
    )
}

/// node_modules was installed from the current package-lock.json and holds `package`.
fn node_modules_fresh(dir: &Path, package: &str) -> bool {
    let modified = |p: PathBuf| fs::metadata(p).and_then(|m| m.modified()).ok();
    let (Some(installed), Some(lock), Some(manifest)) = (
        modified(dir.join("node_modules/.package-lock.json")),
        modified(dir.join("package-lock.json")),
        modified(dir.join("package.json")),
    ) else {
        return false;
    };
    installed >= lock && installed >= manifest && dir.join("node_modules").join(package).is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "wasm-bindgen-macro"
version = "0.2.999"

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "cfg-if",
]
"#;

    #[test]
    fn the_locked_version_is_found_by_exact_name() {
        assert_eq!(
            locked_version(LOCK, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(
            locked_version(LOCK, "wasm-bindgen-macro").as_deref(),
            Some("0.2.999")
        );
        assert_eq!(locked_version(LOCK, "trunk"), None);
    }

    #[test]
    fn this_workspace_pins_wasm_bindgen() {
        let lock = fs::read_to_string(util::root().join("Cargo.lock")).unwrap();
        assert!(locked_version(&lock, "wasm-bindgen").is_some());
    }

    #[test]
    fn tool_versions_are_read_from_their_output() {
        assert_eq!(
            version_from_output("wasm-bindgen 0.2.130\n", "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(
            version_from_output("trunk 0.21.14\n", "trunk").as_deref(),
            Some("0.21.14")
        );
        assert_eq!(
            version_from_output("wasm-bindgen 0.2.130 (abcdef 2025-01-01)", "wasm-bindgen")
                .as_deref(),
            Some("0.2.130")
        );
        assert_eq!(
            version_from_output("mdbook v0.5.4\n", "mdbook").as_deref(),
            Some("0.5.4")
        );
        assert_eq!(version_from_output("something else", "trunk"), None);
        assert_eq!(version_from_output("", "trunk"), None);
    }
}
