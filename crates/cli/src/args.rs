//! A small argument parser: one positional argument and `--flag [value]` options.

use crate::BadInput;
use quorumlab_sim::scenario::{self, Scenario};

pub struct Args {
    pub positional: Vec<String>,
    opts: Vec<(String, Option<String>)>,
}

impl Args {
    /// Parse `raw`, where `valued` lists the options that take a value and `flags` the
    /// ones that do not.
    pub fn parse(raw: &[String], valued: &[&str], flags: &[&str]) -> Result<Args, BadInput> {
        let mut a = Args {
            positional: Vec::new(),
            opts: Vec::new(),
        };
        let mut it = raw.iter();
        while let Some(x) = it.next() {
            if let Some(name) = x.strip_prefix("--") {
                let (name, inline) = match name.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (name, None),
                };
                if valued.contains(&name) {
                    let v = match inline {
                        Some(v) => v,
                        None => it
                            .next()
                            .cloned()
                            .ok_or_else(|| BadInput(format!("--{name} needs a value")))?,
                    };
                    a.opts.push((name.to_string(), Some(v)));
                } else if flags.contains(&name) {
                    a.opts.push((name.to_string(), None));
                } else {
                    return Err(BadInput(format!("unknown option --{name}")));
                }
            } else {
                a.positional.push(x.clone());
            }
        }
        Ok(a)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.opts.iter().any(|(n, _)| n == name)
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn number(&self, name: &str) -> Result<Option<u64>, BadInput> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<u64>()
                .map(Some)
                .map_err(|_| BadInput(format!("--{name}: `{v}` is not a whole number"))),
        }
    }

    pub fn one_positional(&self, what: &str) -> Result<&str, BadInput> {
        match self.positional.as_slice() {
            [x] => Ok(x),
            [] => Err(BadInput(format!("missing {what}"))),
            more => Err(BadInput(format!("expected one {what}, got {}", more.len()))),
        }
    }
}

/// Read a file, or standard input for `-`.
pub fn read_input(path: &str) -> Result<String, BadInput> {
    if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| BadInput(format!("cannot read standard input: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(|e| BadInput(format!("cannot read {path}: {e}")))
    }
}

/// Load and validate a scenario file; every problem is reported with its field.
pub fn load_scenario(path: &str) -> Result<Scenario, BadInput> {
    let text = read_input(path)?;
    scenario::load(&text).map_err(|errs| {
        BadInput(format!(
            "{path} is not a valid scenario:\n  {}",
            scenario::describe(&errs).replace('\n', "\n  ")
        ))
    })
}

/// Switch the nemesis on (with its defaults) if the scenario has none.
pub fn force_nemesis(s: &mut Scenario) {
    if s.nemesis.is_none() && !s.expect.is_empty() {
        eprintln!(
            "note: with --nemesis the scenario's {} expectations are not checked (they describe its own faults); invariants, linearizability and convergence are",
            s.expect.len()
        );
    }
    s.force_nemesis();
}

/// The scenario `run` and `explore` start from: the SCENARIO file, or with `--protocol
/// NAME` (swarm runs only) a plain cluster of that protocol
/// ([`quorumlab_sim::arbitrary::swarm_base`]). Returns the scenario and how to name it in
/// reproduce commands.
pub fn base_scenario(a: &Args, swarm: bool) -> Result<(Scenario, String), BadInput> {
    match a.value("protocol") {
        Some(p) if !swarm => Err(BadInput(format!(
            "--protocol {p} needs --swarm (explore) or --swarm-seed N (run): the swarm draws the rest"
        ))),
        Some(p) => {
            if !a.positional.is_empty() {
                return Err(BadInput(
                    "give either a SCENARIO file or --protocol NAME, not both".into(),
                ));
            }
            let s = quorumlab_sim::arbitrary::swarm_base(p)
                .map_err(|e| BadInput(format!("--protocol: {e}")))?;
            Ok((s, format!("--protocol {p}")))
        }
        None => {
            let path = a.one_positional("SCENARIO file (or --protocol NAME with --swarm)")?;
            Ok((load_scenario(path)?, path.to_string()))
        }
    }
}

/// The scenario swarm seed `seed` runs on top of `base` (see
/// [`quorumlab_sim::arbitrary::swarm`]).
pub fn swarm_scenario(base: &Scenario, seed: u64, unsafe_bugs: bool) -> Result<Scenario, BadInput> {
    quorumlab_sim::arbitrary::swarm(base, seed, quorumlab_sim::arbitrary::Swarm { unsafe_bugs })
        .map_err(|e| BadInput(format!("swarm seed {seed}: {e}")))
}
