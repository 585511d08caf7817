//! `cargo xtask dist`: the release build of the page, its file sizes and the size budget.

use crate::util::{self, fmt_kb, Fail};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The app's WASM + JS, gzipped.
const APP_BUDGET_GZIP: u64 = 600_000;
/// Each worker's WASM + JS, gzipped.
const WORKER_BUDGET_GZIP: u64 = 200_000;
/// Each engine module's WASM + JS, gzipped (crates/engines: one protocol's runs, the
/// simulator included; they are bigger than a node worker, which hosts one node).
/// 250 kB until 2026-12-01; raised to 300 when the sharded store (Raft composed with
/// its shard map: 280.6 kB) came in and the node capacity model took primary-backup's
/// and the lock's modules to 252.4 kB. Only the module of a scenario's protocol loads.
const ENGINE_BUDGET_GZIP: u64 = 300_000;
/// What the page transferred to run a scenario in workers before its runs moved into
/// engine modules: the app and its one node worker, carrying every protocol but two
/// (2026-11-30, gzipped). The first load is reported against it, not budgeted: the
/// steering has budgets for the app and each worker only.
const FIRST_LOAD_BEFORE_GZIP: u64 = 797_200;
/// Where the engine modules go inside dist/ (`web/engines.js` loads them from there).
pub const ENGINES_DIR: &str = "engines";
/// Where the node workers go inside dist/ (`web/node_worker_loader.js` loads them).
pub const NODES_DIR: &str = "nodes";
/// `embed.js`, the script other sites include to embed the widget, gzipped.
const EMBED_SCRIPT_BUDGET_GZIP: u64 = 4_000;
/// The script other sites include (not loaded by the page: a bundle of its own).
pub const EMBED_SCRIPT: &str = "embed.js";
/// Where the book (docs/book, mdBook) goes inside dist/.
pub const BOOK_DIR: &str = "learn";

pub fn build_and_report() -> Result<(), Fail> {
    // Release mode picks data-cargo-profile-release="wasm-release" in web/index.html.
    util::tool(
        "trunk",
        &[
            "build",
            "--release",
            "--skip-version-check",
            "--public-url",
            "./",
        ],
    )
    .run()?;
    // The book of lessons, next to the page (its widgets link back to `../`).
    let dest = util::root().join("dist").join(BOOK_DIR);
    let dest = dest.to_string_lossy();
    util::tool("mdbook", &["build", "docs/book", "--dest-dir", &dest])
        .dir(util::root())
        .run()?;
    let html = fs::read_to_string(util::root().join("web/index.html"))
        .map_err(|e| Fail::new(format!("cannot read web/index.html: {e}")))?;
    let mut bundles = worker_bins(&html);
    bundles.extend(node_bins()?);
    let workers = bundles.len();
    bundles.extend(engine_bins()?);
    report(&util::root().join("dist"), &bundles, workers)
}

/// The engine modules: the `engine-*` binaries of crates/engines.
pub fn engine_bins() -> Result<Vec<String>, Fail> {
    bins_named("crates/engines/Cargo.toml", "engine-")
}

/// The node workers, one per protocol: the `node-*` binaries of crates/worker.
pub fn node_bins() -> Result<Vec<String>, Fail> {
    bins_named("crates/worker/Cargo.toml", "node-")
}

/// The binaries of a crate whose names start with `prefix`.
fn bins_named(manifest: &str, prefix: &str) -> Result<Vec<String>, Fail> {
    let path = util::root().join(manifest);
    let toml = fs::read_to_string(&path)
        .map_err(|e| Fail::new(format!("cannot read {}: {e}", path.display())))?;
    let start = format!("name = \"{prefix}");
    Ok(toml
        .lines()
        .filter_map(|l| l.trim().strip_prefix(start.as_str()))
        .map(|rest| format!("{prefix}{}", rest.trim_end_matches('"')))
        .collect())
}

/// The `data-bin` of every `<link data-trunk rel="rust" data-type="worker">` in the page.
pub fn worker_bins(html: &str) -> Vec<String> {
    html.split("<link")
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            if !tag.contains("data-type=\"worker\"") {
                return None;
            }
            let start = tag.find("data-bin=\"")? + "data-bin=\"".len();
            let len = tag[start..].find('"')?;
            Some(tag[start..start + len].to_string())
        })
        .collect()
}

/// Which bundle a file of dist/ belongs to: a worker's name, or `None` for the app.
pub fn owner<'a>(file_name: &str, workers: &'a [String]) -> Option<&'a str> {
    workers
        .iter()
        .find(|w| {
            [".js", "_bg.wasm", "_loader.js"]
                .iter()
                .any(|suffix| file_name == format!("{w}{suffix}"))
        })
        .map(String::as_str)
}

struct Sized {
    path: String,
    raw: u64,
    gzip: u64,
}

fn gzip_size(path: &Path) -> Result<u64, Fail> {
    let mut child = Command::new("gzip")
        .args(["-c", "-6"])
        .arg(path)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| Fail::new(format!("cannot run `gzip` to measure sizes: {e}")))?;
    let mut buf = Vec::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut buf)
        .map_err(|e| Fail::new(format!("reading gzip output: {e}")))?;
    let status = child
        .wait()
        .map_err(|e| Fail::new(format!("waiting for gzip: {e}")))?;
    if !status.success() {
        return Err(Fail::new(format!(
            "gzip {} failed ({status})",
            path.display()
        )));
    }
    Ok(buf.len() as u64)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Fail> {
    let entries =
        fs::read_dir(dir).map_err(|e| Fail::new(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n == BOOK_DIR) {
            // The book's own scripts (mdBook's search, highlighting) are not a bundle.
            continue;
        }
        if path.is_dir() {
            collect(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("wasm" | "js")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// `bundles`: the workers (the first `workers`), then the engine modules.
fn report(dist: &Path, bundles: &[String], workers: usize) -> Result<(), Fail> {
    let mut files = Vec::new();
    collect(dist, &mut files)?;
    files.sort();

    // Group: the app first, then each worker and engine module.
    let mut groups: Vec<(String, u64, Vec<Sized>)> =
        vec![("app".to_string(), APP_BUDGET_GZIP, Vec::new())];
    for (i, w) in bundles.iter().enumerate() {
        groups.push(match i < workers {
            true => (format!("worker {w}"), WORKER_BUDGET_GZIP, Vec::new()),
            false => (format!("engine module {w}"), ENGINE_BUDGET_GZIP, Vec::new()),
        });
    }
    groups.push((
        "embed script".to_string(),
        EMBED_SCRIPT_BUDGET_GZIP,
        Vec::new(),
    ));
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let raw = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let gzip = gzip_size(path)?;
        let rel = path
            .strip_prefix(dist)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        let index = match owner(name, bundles) {
            _ if name == EMBED_SCRIPT => groups.len() - 1,
            Some(w) => 1 + bundles.iter().position(|x| x == w).expect("a known bundle"),
            None => 0,
        };
        groups[index].2.push(Sized {
            path: rel,
            raw,
            gzip,
        });
    }

    println!("\ndist/ (relative URLs; host the folder under any path):");
    println!("  {:<48} {:>12} {:>12}", "file", "raw", "gzip");
    let mut over = Vec::new();
    for (name, budget, files) in &groups {
        if files.is_empty() {
            over.push(format!("{name}: no WASM or JS files found in dist/"));
            continue;
        }
        for f in files {
            println!(
                "  {:<48} {:>12} {:>12}",
                f.path,
                fmt_kb(f.raw),
                fmt_kb(f.gzip)
            );
        }
        let raw: u64 = files.iter().map(|f| f.raw).sum();
        let gzip: u64 = files.iter().map(|f| f.gzip).sum();
        let verdict = if gzip <= *budget { "ok" } else { "OVER BUDGET" };
        println!(
            "  {:<48} {:>12} {:>12}   budget {} gzip: {verdict}",
            format!("= {name} (WASM + JS)"),
            fmt_kb(raw),
            fmt_kb(gzip),
            fmt_kb(*budget)
        );
        if gzip > *budget {
            over.push(format!(
                "{name} is {} gzipped, over its budget of {}",
                fmt_kb(gzip),
                fmt_kb(*budget)
            ));
        }
    }
    let gz = |g: &(String, u64, Vec<Sized>)| g.2.iter().map(|f| f.gzip).sum::<u64>();
    let app = gz(&groups[0]);
    let node = groups[1..1 + workers]
        .iter()
        .filter(|g| g.0.starts_with("worker node-"))
        .max_by_key(|g| gz(g));
    let engine = groups[1 + workers..groups.len() - 1]
        .iter()
        .max_by_key(|g| gz(g));
    if let (Some(engine), Some(node)) = (engine, node) {
        let first = app + gz(engine) + gz(node);
        println!(
            "  {:<48} {:>12} {:>12}   (before engine modules: {})",
            format!("= first load: app + {} + {}", engine.0, node.0),
            "",
            fmt_kb(first),
            fmt_kb(FIRST_LOAD_BEFORE_GZIP)
        );
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(Fail::new(format!("size budget: {}", over.join("; "))))
    }
}

/// `cargo xtask engines`, Trunk's post-build hook (Trunk.toml), for `trunk build` and
/// `trunk serve` alike: build the engine modules (crates/engines, one binary per
/// protocol, in one cargo invocation), make each an ES module with wasm-bindgen
/// (`--target web`: the page imports several side by side, which the no-modules
/// output's one global cannot do; Trunk builds only that kind for a second binary)
/// and, in release builds, optimise it with wasm-opt, into `engines/` of Trunk's
/// staging directory; then the node workers, one per protocol (crates/worker's `node-*`
/// binaries, `--target no-modules` for the loader's `importScripts`), into `nodes/`.
pub fn engines_for_trunk() -> Result<(), Fail> {
    let staging = std::env::var("TRUNK_STAGING_DIR").map_err(|_| {
        Fail::new("`cargo xtask engines` is Trunk's post-build hook: TRUNK_STAGING_DIR is not set")
    })?;
    let release = std::env::var("TRUNK_PROFILE").is_ok_and(|p| p == "release");
    // The engines are built for size, like the app whose runs they took over
    // (Cargo.toml's wasm-app profile; measured 2026-12-01: "s" gave 188-250 kB gzipped
    // per module, "z" 174-227 kB); the node workers for speed (wasm-release), as before.
    let staging = Path::new(&staging);
    let engines = engine_bins()?;
    build_modules(
        "quorumlab-engines",
        &engines,
        release,
        "wasm-app",
        "web",
        &staging.join(ENGINES_DIR),
    )?;
    let nodes = node_bins()?;
    build_modules(
        "quorumlab-worker",
        &nodes,
        release,
        "wasm-release",
        "no-modules",
        &staging.join(NODES_DIR),
    )
}

/// Build `bins` of `package` (one cargo invocation), then wasm-bindgen each (`target`)
/// into `out` and, in release builds, wasm-opt it.
fn build_modules(
    package: &str,
    bins: &[String],
    release: bool,
    release_profile: &str,
    target: &str,
    out: &Path,
) -> Result<(), Fail> {
    let (profile, dir) = match release {
        true => (release_profile, release_profile),
        false => ("dev", "debug"),
    };
    let mut args = vec![
        "build",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        profile,
        "-p",
        package,
    ];
    for b in bins {
        args.extend(["--bin", b.as_str()]);
    }
    util::cargo(&args).run()?;
    let built = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"))
        .join("wasm32-unknown-unknown")
        .join(dir);
    fs::create_dir_all(out)
        .map_err(|e| Fail::new(format!("cannot create {}: {e}", out.display())))?;
    let out_s = out.to_string_lossy().into_owned();
    for bin in bins {
        let wasm = built.join(format!("{bin}.wasm"));
        let wasm = wasm.to_string_lossy().into_owned();
        util::tool(
            "wasm-bindgen",
            &[
                "--target",
                target,
                "--no-typescript",
                "--out-dir",
                &out_s,
                "--out-name",
                bin,
                &wasm,
            ],
        )
        .run()?;
        if release {
            let bg = out.join(format!("{bin}_bg.wasm"));
            let bg = bg.to_string_lossy().into_owned();
            util::tool("wasm-opt", &["-Os", &bg, "-o", &bg]).run()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_found_in_the_page() {
        let html = r#"<link data-trunk rel="css" href="style.css" />
            <link data-trunk rel="rust" href="Cargo.toml" data-bin="quorumlab-web" data-type="main" />
            <link data-trunk rel="rust" href="../crates/worker/Cargo.toml" data-bin="node_worker"
                  data-type="worker" data-loader-shim />"#;
        assert_eq!(worker_bins(html), vec!["node_worker".to_string()]);
    }

    /// The page's Content-Security-Policy: its meta tag, and the header `cargo xtask
    /// serve` (Trunk) sends, are the same policy, with no inline script allowed.
    #[test]
    fn the_page_and_the_dev_server_have_one_content_security_policy() {
        let html = fs::read_to_string(util::root().join("web/index.html")).unwrap();
        let meta = html
            .split("http-equiv=\"Content-Security-Policy\" content=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a CSP meta tag in web/index.html");
        let toml = fs::read_to_string(util::root().join("Trunk.toml")).unwrap();
        let header = toml
            .split("\"Content-Security-Policy\" = \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a CSP header in Trunk.toml's [serve] headers");
        assert_eq!(meta, header);
        let script_src = meta
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src "))
            .expect("a script-src directive");
        assert!(script_src.contains("'wasm-unsafe-eval'"), "{script_src}");
        assert!(!script_src.contains("'unsafe-inline'"), "{script_src}");
        assert!(!script_src.contains("'unsafe-eval'"), "{script_src}");
        assert!(meta.contains("worker-src 'self'"), "{meta}");
        // The page itself has no inline script (Trunk's loader is moved by the hook).
        for tag in html.split("<script").skip(1) {
            let open = tag.split('>').next().unwrap_or("");
            assert!(
                open.contains("src="),
                "an inline script in web/index.html: <script{open}>"
            );
        }
        assert!(toml.contains("web/loader-hook.mjs"));
    }

    #[test]
    fn the_page_has_its_analysis_worker_and_a_node_worker_and_engine_per_protocol() {
        let html = fs::read_to_string(util::root().join("web/index.html")).unwrap();
        assert_eq!(worker_bins(&html), vec!["analysis_worker".to_string()]);
        let nodes = node_bins().unwrap();
        let engines = engine_bins().unwrap();
        assert!(nodes.contains(&"node-raft".to_string()), "{nodes:?}");
        assert!(engines.contains(&"engine-raft".to_string()), "{engines:?}");
        // Each protocol with an engine module has a node worker, and no other.
        let protocols = |v: &[String], p: &str| {
            let mut v: Vec<String> = v
                .iter()
                .map(|b| b.trim_start_matches(p).to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(protocols(&nodes, "node-"), protocols(&engines, "engine-"));
        assert!(toml_has_hook());
    }

    fn toml_has_hook() -> bool {
        let toml = fs::read_to_string(util::root().join("Trunk.toml")).unwrap();
        toml.contains(r#"command_arguments = ["xtask", "engines"]"#)
    }

    #[test]
    fn files_are_grouped_by_bundle() {
        let workers = vec!["node-raft".to_string(), "analysis_worker".to_string()];
        assert_eq!(owner("node-raft.js", &workers), Some("node-raft"));
        assert_eq!(owner("node-raft_bg.wasm", &workers), Some("node-raft"));
        assert_eq!(
            owner("analysis_worker_loader.js", &workers),
            Some("analysis_worker")
        );
        assert_eq!(owner("quorumlab-web-0123abcd_bg.wasm", &workers), None);
        assert_eq!(owner("node-raft2.js", &workers), None);
    }
}
