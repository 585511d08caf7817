//! Running commands, paths, and formatting.

use std::ffi::OsString;
use std::fmt;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A failure with a message meant for a person.
#[derive(Debug)]
pub struct Fail(String);

impl Fail {
    pub fn new(msg: impl Into<String>) -> Self {
        Fail(msg.into())
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The workspace root (xtask lives in `<root>/xtask`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Where `cargo install` puts binaries.
pub fn cargo_bin_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(home).join("bin"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo").join("bin"))
}

/// Where `npm ci` in `xtask/node-tools` puts the build tools' commands (wasm-opt).
pub fn node_tools_bin() -> PathBuf {
    root().join("xtask/node-tools/node_modules/.bin")
}

/// PATH for child processes: the project's node build tools, then the cargo bin dir,
/// first, so freshly installed tools (and not older copies elsewhere) are found, by us and
/// by Trunk.
pub fn child_path() -> OsString {
    let current = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&current).collect();
    let first: Vec<PathBuf> = [Some(node_tools_bin()), cargo_bin_dir()]
        .into_iter()
        .flatten()
        .collect();
    dirs.retain(|d| !first.contains(d));
    dirs.splice(0..0, first);
    std::env::join_paths(dirs).unwrap_or(current)
}

/// A command to run from the workspace root, echoed before it runs.
pub struct Cmd {
    program: String,
    args: Vec<String>,
    dir: PathBuf,
    envs: Vec<(String, String)>,
}

/// `cargo <args>`, with the same cargo that runs xtask.
pub fn cargo(args: &[&str]) -> Cmd {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    Cmd::new(&cargo, args)
}

/// Another program, looked up on [`child_path`].
pub fn tool(program: &str, args: &[&str]) -> Cmd {
    Cmd::new(program, args)
}

impl Cmd {
    fn new(program: &str, args: &[&str]) -> Self {
        Cmd {
            program: program.to_string(),
            args: args.iter().map(|s| s.to_string()).collect(),
            dir: root(),
            envs: Vec::new(),
        }
    }

    pub fn dir(mut self, dir: PathBuf) -> Self {
        self.dir = dir;
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    /// How a person would type it.
    pub fn display(&self) -> String {
        let name = Path::new(&self.program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.program.clone());
        let mut s = name;
        for a in &self.args {
            s.push(' ');
            if a.is_empty() || a.contains([' ', '~', '*', '$', '"', '\'']) {
                s.push('\'');
                s.push_str(a);
                s.push('\'');
            } else {
                s.push_str(a);
            }
        }
        s
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args)
            .current_dir(&self.dir)
            .env("PATH", child_path())
            .stdin(Stdio::null());
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }

    /// Run with output going to the terminal; fail unless it exits 0.
    pub fn run(&self) -> Result<(), Fail> {
        println!("$ {}", self.display());
        let status = self.command().status().map_err(|e| self.spawn_error(e))?;
        if status.success() {
            Ok(())
        } else {
            Err(Fail::new(format!("`{}` failed ({status})", self.display())))
        }
    }

    /// Run quietly and capture the output (not echoed).
    pub fn output(&self) -> Result<Output, Fail> {
        self.command()
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .output()
            .map_err(|e| self.spawn_error(e))
    }

    /// Standard output of a successful quiet run, or `None` if it could not run or failed.
    pub fn stdout_if_ok(&self) -> Option<String> {
        let out = self.output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn spawn_error(&self, e: std::io::Error) -> Fail {
        if e.kind() == ErrorKind::NotFound {
            Fail::new(format!(
                "`{}` is not installed (not found on PATH)",
                self.program
            ))
        } else {
            Fail::new(format!("could not run `{}`: {e}", self.display()))
        }
    }
}

/// Fail with advice if nothing can listen on 127.0.0.1:`port`.
pub fn check_port_free(port: u16) -> Result<(), Fail> {
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => {
            drop(listener);
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::AddrInUse => Err(Fail::new(format!(
            "port {port} on 127.0.0.1 is already in use (another `cargo xtask serve`?).\n\
             Stop whatever is using it, or pick another port: cargo xtask serve --port {}",
            port.checked_add(1).unwrap_or(8081)
        ))),
        Err(e) => Err(Fail::new(format!(
            "cannot listen on 127.0.0.1:{port}: {e}.\n\
             Pick another port: cargo xtask serve --port 8081"
        ))),
    }
}

pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// Sizes in kB (1000 bytes), as budgets are written.
pub fn fmt_kb(bytes: u64) -> String {
    format!("{:.1} kB", bytes as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_duration(Duration::from_millis(1234)), "1.2s");
        assert_eq!(fmt_duration(Duration::from_secs(83)), "1m23s");
        assert_eq!(fmt_duration(Duration::from_secs(3605)), "60m05s");
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(fmt_kb(104_299), "104.3 kB");
        assert_eq!(fmt_kb(98), "0.1 kB");
    }

    #[test]
    fn commands_display_as_typed() {
        let c = tool(
            "cargo",
            &["install", "trunk", "--version", "~0.21", "--locked"],
        );
        assert_eq!(
            c.display(),
            "cargo install trunk --version '~0.21' --locked"
        );
    }

    #[test]
    fn a_busy_port_is_reported_with_advice() {
        let busy = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = busy.local_addr().unwrap().port();
        let err = check_port_free(port).unwrap_err().to_string();
        assert!(err.contains("already in use"), "{err}");
        assert!(err.contains("--port"), "{err}");
    }
}
