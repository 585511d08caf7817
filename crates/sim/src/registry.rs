//! The protocol catalogue: the one place that lists the protocols. Everything else
//! (scenario validation, building a run, the worker runtime, the CLI's listing, the
//! page's picker and parameter editor, the scenario schema's parameter definitions,
//! the tests that run every preset) finds protocols here.
//!
//! Adding a protocol is a module in `crates/core` (a [`Protocol`] with its `NAME`,
//! `SUMMARY`, `Params` and their description `PARAMS`) plus one line in [`catalogue`]
//! naming its presets (files in `scenarios/`) and its CAP comparison variants; for the
//! page, one line each in `crates/engines` and `crates/worker` (its engine module and
//! node worker: the page's bundle links no protocol).
//!
//! The catalogue is generic, not a table of trait objects: [`catalogue`] calls a
//! [`Visitor`] once per protocol type, and [`dispatch`] runs an [`Op`] for the protocol a
//! scenario names. Each caller instantiates only what it uses, so the worker (which only
//! hosts nodes) carries no simulator and no scenario parser, and the page no
//! help text it does not show. [`entries`] is the plain-data view of the catalogue for
//! listings.
//!
//! Extension points: what a protocol says about itself (its client data type,
//! [`Protocol::DATA_TYPE`], whose name is the linearizability checker's model; a
//! generic view model) belongs on [`Protocol`] in `crates/core`, and reaches every caller through
//! [`Visitor::visit`]'s type parameter without changing this file; what the playground
//! says about a protocol (presets, comparisons, a convergence rule) belongs in
//! [`Listing`]. An [`Op`] is how a new front-end operation gets the protocol's type.

use crate::converge;
use crate::engine::Sim;
use crate::remote::{Coordinator, RemoteNode};
use crate::run::Engine;
use crate::scenario::{Scenario, ScenarioError};
use quorumlab_core::{fd, paxos, pb, quorum, raft, DataType, ParamKind, ParamSpec, Protocol};
use serde_json::Value;

/// What the catalogue says of a protocol beyond its type.
#[derive(Clone, Copy, Debug)]
pub struct Listing {
    /// Its presets: file names (without `.json`) in `scenarios/`. Every protocol has at
    /// least one; the registry tests run them all, natively and across the worker
    /// boundary.
    pub presets: &'static [&'static str],
    /// Configurations the CAP panel can compare a run of this protocol with.
    pub compare: &'static [Variant],
    /// What "converged" means for this protocol once the faults stop: the one
    /// convergence hook (rules over the nodes' views at the settle point and the end, in
    /// [`crate::converge`]). `None`: the protocol makes no claim and the check passes.
    pub converged: Option<converge::Rule>,
}

/// A CAP-lab comparison: the same scenario with some parameters changed, or run by
/// another protocol (the same nodes, workload, faults and expectations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    /// A stable id (for the page's select element and share links).
    pub id: &'static str,
    /// What the page shows ("lease reads").
    pub label: &'static str,
    /// Another protocol of the catalogue to run the scenario with (its parameters are
    /// its defaults and `params`: the scenario's own are another protocol's).
    pub protocol: Option<&'static str>,
    /// `(parameter, value as JSON)` pairs set on top of the scenario's parameters.
    pub params: &'static [(&'static str, &'static str)],
}

impl Variant {
    /// The scenario with this variant's protocol and parameters set (not validated).
    pub fn apply(&self, s: &Scenario) -> Result<Scenario, String> {
        let mut out = s.clone();
        let mut params = match &s.protocol.params {
            Value::Object(o) if self.protocol.is_none() => o.clone(),
            _ => serde_json::Map::new(),
        };
        if let Some(name) = self.protocol {
            out.protocol.name = name.to_string();
            if let Some(e) = entry(name) {
                e.fit(&mut out);
            }
        }
        for (k, v) in self.params {
            let v: Value = serde_json::from_str(v)
                .map_err(|e| format!("variant `{}`: {k} = {v}: {e}", self.id))?;
            params.insert(k.to_string(), v);
        }
        out.protocol.params = Value::Object(params);
        Ok(out)
    }
}

/// Visits every protocol of the catalogue with its type.
pub trait Visitor {
    fn visit<P: Protocol>(&mut self, listing: &'static Listing);
}

/// THE CATALOGUE: one line per protocol.
pub fn catalogue(v: &mut impl Visitor) {
    v.visit::<raft::Raft>(&Listing {
        presets: &[
            "client-circuit-breaker",
            "client-degraded-reads",
            "client-load-balancer",
            "client-rate-limit",
            "raft-append-nemesis",
            "raft-first-election",
            "raft-leader-crash",
            "raft-lease-clock-skew",
            "raft-log-divergence",
            "raft-majority-partition",
            "raft-membership",
            "raft-minority-partition",
            "raft-nemesis",
            "raft-old-leader-rejoins",
            "raft-snapshot-catchup",
        ],
        compare: &[
            Variant {
                id: "MultiPaxos",
                label: "Multi-Paxos",
                protocol: Some("multi-paxos"),
                params: &[],
            },
            Variant {
                id: "NoPreVote",
                label: "pre-vote and check-quorum off",
                protocol: None,
                params: &[("pre_vote", "false"), ("check_quorum", "false")],
            },
            Variant {
                id: "LeaseReads",
                label: "lease reads",
                protocol: None,
                params: &[("read_mode", "\"lease\"")],
            },
            Variant {
                id: "LogReads",
                label: "reads through the log",
                protocol: None,
                params: &[("read_mode", "\"log\"")],
            },
        ],
        converged: Some(converge::replicated_log),
    });
    v.visit::<paxos::multi::MultiPaxos>(&Listing {
        presets: &[
            "multi-paxos-acceptor-restart",
            "multi-paxos-leader-crash",
            "multi-paxos-majority-partition",
            "multi-paxos-minority-partition",
            "multi-paxos-nemesis",
        ],
        compare: &[],
        converged: Some(converge::replicated_log),
    });
    v.visit::<paxos::basic::Paxos>(&Listing {
        presets: &["paxos-dueling-proposers"],
        compare: &[],
        converged: None,
    });
    v.visit::<pb::PrimaryBackup>(&Listing {
        presets: &[
            "pb-async-primary-crash",
            "pb-chain-middle-crash",
            "pb-semi-sync-fallback",
            "pb-split-brain",
            "pb-split-brain-fenced",
            "pb-stale-replica-reads",
            "pb-sync-slow-backup",
            "pb-view-raft-crash",
            "pb-view-service-crash",
            // The map's appends, after the register's lessons (the first preset is the
            // protocol's face in tests that take one per protocol).
            "pb-append-stale-reads",
        ],
        compare: &[
            Variant {
                id: "Sync",
                label: "sync replication",
                protocol: None,
                params: &[("mode", "\"sync\"")],
            },
            Variant {
                id: "Async",
                label: "async replication",
                protocol: None,
                params: &[("mode", "\"async\"")],
            },
            Variant {
                id: "NoFencing",
                label: "fencing off",
                protocol: None,
                params: &[("fencing", "false")],
            },
            Variant {
                id: "Raft",
                label: "Raft (consensus) instead",
                params: &[],
                protocol: Some("raft"),
            },
        ],
        converged: None,
    });
    // Beyond the page for now: the bundle budget is the page's owner's to spend.
    v.visit::<quorum::QuorumKv>(&Listing {
        presets: &[
            "quorum-anti-entropy",
            "quorum-join",
            "quorum-lww-clock-skew",
            "quorum-r1w1-stale",
            "quorum-sloppy-partition",
            "quorum-strict-partition",
            "quorum-vector-siblings",
            // The client patterns' lesson that needs every node to serve: a retry
            // storm against the nodes' capacity (`workload.capacity`).
            "client-retry-storm",
            "client-retry-storm-backoff",
        ],
        compare: &[
            Variant {
                id: "R1W1",
                label: "r = w = 1",
                protocol: None,
                params: &[("r", "1"), ("w", "1"), ("sloppy", "false")],
            },
            Variant {
                id: "Strict",
                label: "strict quorums (r + w > n)",
                protocol: None,
                params: &[("r", "2"), ("w", "2"), ("sloppy", "false")],
            },
            Variant {
                id: "Sloppy",
                label: "sloppy quorum, hinted handoff",
                protocol: None,
                params: &[("r", "2"), ("w", "2"), ("sloppy", "true")],
            },
            Variant {
                id: "Vector",
                label: "version vectors (siblings)",
                protocol: None,
                params: &[("conflicts", "\"vector\"")],
            },
            Variant {
                id: "Raft",
                label: "Raft (consensus) instead",
                protocol: Some("raft"),
                params: &[],
            },
        ],
        converged: Some(converge::replicas_agree),
    });
    v.visit::<quorumlab_core::shard::ShardedRaft>(&Listing {
        presets: &[
            "shard-move-on-join",
            "shard-leader-crash-during-move",
            "shard-nemesis",
        ],
        compare: &[
            Variant {
                id: "Raft",
                label: "one Raft group for every key",
                protocol: Some("raft"),
                params: &[],
            },
            Variant {
                id: "Quorum",
                label: "leaderless quorum store instead",
                protocol: Some("quorum-kv"),
                params: &[],
            },
        ],
        converged: None,
    });
    v.visit::<fd::Heartbeat>(&Listing {
        presets: &[
            "fd-crash-detected",
            "fd-jitter-fixed-timeout",
            "fd-partition",
        ],
        compare: &[],
        converged: Some(converge::suspects_the_crashed),
    });
    v.visit::<fd::PhiAccrual>(&Listing {
        presets: &["fd-jitter-phi-accrual"],
        compare: &[],
        converged: Some(converge::suspects_the_crashed),
    });
    v.visit::<quorumlab_core::lock::Lock>(&Listing {
        presets: &[
            "lock-gc-pause",
            "lock-gc-pause-fenced",
            "lock-redis-failover",
            "lock-redlock-clock-jump",
            "lock-zookeeper-session-expiry",
            "lock-zookeeper-nemesis",
        ],
        compare: &[Variant {
            id: "Fencing",
            label: "fencing tokens checked",
            protocol: None,
            params: &[("check_fencing", "true")],
        }],
        converged: None,
    });
}

/// The catalogue's listing of protocol `P`, found by its name (`None`: not in the
/// catalogue).
pub fn listing<P: Protocol>() -> Option<&'static Listing> {
    struct Find(&'static str, Option<&'static Listing>);
    impl Visitor for Find {
        fn visit<Q: Protocol>(&mut self, listing: &'static Listing) {
            if Q::NAME == self.0 && self.1.is_none() {
                self.1 = Some(listing);
            }
        }
    }
    let mut f = Find(P::NAME, None);
    catalogue(&mut f);
    f.1
}

// ---- the catalogue as data -------------------------------------------------------------

/// One protocol of the catalogue, as plain data (for listings: the CLI, the page's
/// picker and editor, the schema generator).
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub name: &'static str,
    pub summary: &'static str,
    pub params: &'static [ParamSpec],
    pub listing: &'static Listing,
    /// Whether the protocol elects a leader.
    pub has_leader: bool,
    /// The invariants it promises.
    pub invariants: &'static [&'static str],
    /// Its client data type: the operations clients may ask for, and the sequential
    /// specification its histories are checked against.
    pub data_type: DataType,
    /// Further data types it serves, which a scenario chooses with
    /// `protocol.data_type` ([`Protocol::ALSO_SERVES`]).
    pub also_serves: &'static [DataType],
    /// What its nodes report as clients ([`Protocol::NODE_CLIENTS`]): the lock
    /// service's are lock clients, and the page offers their lock timeline.
    pub node_clients: DataType,
    default_params: fn() -> Value,
}

impl Entry {
    /// Every parameter at its default, as JSON (an object, in the order of `params`
    /// when the map keeps order; sorted otherwise).
    pub fn default_params(&self) -> Value {
        (self.default_params)()
    }
    /// The default of one parameter.
    pub fn default_of(&self, param: &str) -> Option<Value> {
        self.default_params().get(param).cloned()
    }
    /// The description of one parameter.
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }
    /// Every data type it serves, its default first.
    pub fn data_types(&self) -> Vec<DataType> {
        std::iter::once(self.data_type)
            .chain(self.also_serves.iter().copied())
            .collect()
    }
    /// The data type a scenario of this protocol uses (its `protocol.data_type`, else
    /// the default), or why the one it names is not served.
    pub fn data_type_of(&self, s: &Scenario) -> Result<DataType, ScenarioError> {
        crate::workload::data_type_of(s, self.name, self.data_type, self.also_serves)
    }
    /// Fit a scenario just switched to this protocol: its data type and clients.
    pub fn fit(&self, s: &mut Scenario) {
        crate::workload::fit_protocol(s, self.name, self.data_type, self.also_serves);
        self.fit_cluster(s);
    }

    /// When the protocol at its defaults cannot run on the scenario's nodes (the
    /// sharded store's groups of 3 on 5 nodes), set the integer parameter the refusal
    /// names to the value nearest its default that fits (the larger first on a tie);
    /// nothing changes when none does.
    fn fit_cluster(&self, s: &mut Scenario) {
        let Err(e) = check_params(s) else { return };
        let Some(field) = e.path.strip_prefix("protocol.params.") else {
            return;
        };
        let Some(spec) = self.params.iter().find(|p| p.name == field) else {
            return;
        };
        let ParamKind::Int { min, max } = spec.kind else {
            return;
        };
        let given = s.protocol.params.get(field).and_then(Value::as_u64);
        let default = (self.default_params)().get(field).and_then(Value::as_u64);
        let Some(from) = given.or(default) else {
            return;
        };
        let before = s.protocol.params.clone();
        for d in 1..=max.saturating_sub(min).min(64) {
            for v in [from.checked_add(d), from.checked_sub(d)]
                .into_iter()
                .flatten()
            {
                if v < min || v > max {
                    continue;
                }
                let mut o = before.as_object().cloned().unwrap_or_default();
                o.insert(field.to_string(), Value::from(v));
                s.protocol.params = Value::Object(o);
                if check_params(s).is_ok() {
                    return;
                }
            }
        }
        s.protocol.params = before;
    }
    /// Its name in the scenario schema's `$defs` (`multi_paxos_params`).
    pub fn schema_def(&self) -> String {
        format!("{}_params", self.name.replace('-', "_"))
    }
}

fn defaults_of<P: Protocol>() -> Value {
    serde_json::to_value(P::Params::default()).unwrap_or(Value::Null)
}

/// Every protocol of the catalogue, in catalogue order.
pub fn entries() -> Vec<Entry> {
    struct Collect(Vec<Entry>);
    impl Visitor for Collect {
        fn visit<P: Protocol>(&mut self, listing: &'static Listing) {
            self.0.push(Entry {
                name: P::NAME,
                summary: P::SUMMARY,
                params: P::PARAMS,
                listing,
                has_leader: P::HAS_LEADER,
                invariants: P::invariants(),
                data_type: P::DATA_TYPE,
                also_serves: P::ALSO_SERVES,
                node_clients: P::NODE_CLIENTS,
                default_params: defaults_of::<P>,
            });
        }
    }
    let mut c = Collect(Vec::new());
    catalogue(&mut c);
    c.0
}

/// The protocol called `name`.
pub fn entry(name: &str) -> Option<Entry> {
    entries().into_iter().find(|e| e.name == name)
}

/// Every protocol name, in catalogue order.
pub fn names() -> Vec<&'static str> {
    struct Names(Vec<&'static str>);
    impl Visitor for Names {
        fn visit<P: Protocol>(&mut self, _: &'static Listing) {
            self.0.push(P::NAME);
        }
    }
    let mut n = Names(Vec::new());
    catalogue(&mut n);
    n.0
}

/// The error for a protocol name the catalogue does not have.
pub fn unknown(name: &str) -> ScenarioError {
    let message = format!("unknown protocol `{name}` (known: {})", names().join(", "));
    ScenarioError::new("protocol.name", message)
}

// ---- doing something with the protocol a scenario names ------------------------------

/// Something to do with one protocol, whichever it is.
pub trait Op {
    type Out;
    fn run<P: Protocol>(self, listing: &'static Listing) -> Self::Out;
}

/// Run `op` with the protocol called `name`; an error naming the known ones if there
/// is none.
pub fn dispatch<O: Op>(name: &str, op: O) -> Result<O::Out, ScenarioError> {
    struct Find<'a, O: Op> {
        name: &'a str,
        op: Option<O>,
        out: Option<O::Out>,
    }
    impl<O: Op> Visitor for Find<'_, O> {
        fn visit<P: Protocol>(&mut self, listing: &'static Listing) {
            if P::NAME == self.name {
                if let Some(op) = self.op.take() {
                    self.out = Some(op.run::<P>(listing));
                }
            }
        }
    }
    let mut f = Find {
        name,
        op: Some(op),
        out: None,
    };
    catalogue(&mut f);
    f.out.ok_or_else(|| unknown(name))
}

/// Build a run of a validated scenario. `record` keeps every message for the picture
/// (bounded to that many entries; 0: off).
pub fn build(s: &Scenario, seed: u64, record: usize) -> Result<Box<dyn Engine>, ScenarioError> {
    struct Build<'a>(&'a Scenario, u64, usize);
    impl Op for Build<'_> {
        type Out = Result<Box<dyn Engine>, ScenarioError>;
        fn run<P: Protocol>(self, _: &'static Listing) -> Self::Out {
            let sim = Sim::<P>::new(self.0, self.1)?;
            let sim = if self.2 > 0 {
                sim.with_recorder(self.2)
            } else {
                sim
            };
            Ok(Box::new(sim))
        }
    }
    dispatch(&s.protocol.name, Build(s, seed, record))?
}

/// Build the page-side coordinator of the worker runtime for a scenario.
pub fn coordinator(
    s: &Scenario,
    seed: u64,
    record: usize,
) -> Result<Box<dyn Coordinator>, ScenarioError> {
    struct Build<'a>(&'a Scenario, u64, usize);
    impl Op for Build<'_> {
        type Out = Result<Box<dyn Coordinator>, ScenarioError>;
        fn run<P: Protocol>(self, _: &'static Listing) -> Self::Out {
            let sim = Sim::<P>::new(self.0, self.1)?;
            let sim = if self.2 > 0 {
                sim.with_recorder(self.2)
            } else {
                sim
            };
            Ok(Box::new(sim))
        }
    }
    dispatch(&s.protocol.name, Build(s, seed, record))?
}

/// The runs of protocol `name` as an engine module holds them (see
/// [`crate::link`]): natively, a module's [`crate::link::Table`] in this process.
pub fn serve(name: &str) -> Result<Box<dyn crate::link::Serve>, ScenarioError> {
    struct Serve;
    impl Op for Serve {
        type Out = Box<dyn crate::link::Serve>;
        fn run<P: Protocol>(self, _: &'static Listing) -> Self::Out {
            Box::new(crate::link::Table::<P>::default())
        }
    }
    dispatch(name, Serve)
}

/// A scenario's protocol parameters the way a worker takes them (see
/// [`crate::remote::encode_params`]).
pub fn encode_params(s: &Scenario) -> Result<Vec<u8>, ScenarioError> {
    struct Encode<'a>(&'a Scenario);
    impl Op for Encode<'_> {
        type Out = Result<Vec<u8>, ScenarioError>;
        fn run<P: Protocol>(self, _: &'static Listing) -> Self::Out {
            let params = params_of::<P>(self.0)?;
            crate::remote::encode(&params).map_err(|e| ScenarioError::new("protocol.params", e))
        }
    }
    dispatch(&s.protocol.name, Encode(s))?
}

/// Host a node of protocol `name` with its encoded parameters (see
/// [`crate::remote::remote_node_for`]).
pub fn remote(name: &str, params: &[u8]) -> Result<Box<dyn RemoteNode>, ScenarioError> {
    struct Remote<'a>(&'a [u8]);
    impl Op for Remote<'_> {
        type Out = Result<Box<dyn RemoteNode>, ScenarioError>;
        fn run<P: Protocol>(self, _: &'static Listing) -> Self::Out {
            crate::remote::hosted::<P>(self.0)
        }
    }
    dispatch(name, Remote(params))?
}

// ---- parameters ------------------------------------------------------------------------

/// Deserialize the protocol's parameters, naming the field on error.
pub fn params_of<P: Protocol>(s: &Scenario) -> Result<P::Params, ScenarioError> {
    let v = if s.protocol.params.is_null() {
        serde_json::json!({})
    } else {
        s.protocol.params.clone()
    };
    // Read from text, so that the error says where (see `jsonpath`).
    let text = v.to_string();
    serde_json::from_str(&text).map_err(|e| {
        let (p, message) = crate::jsonpath::describe(&text, &e);
        let path = if p.is_empty() {
            "protocol.params".to_string()
        } else {
            format!("protocol.params.{p}")
        };
        ScenarioError::new(path, message)
    })
}

/// Check a scenario's protocol parameters: that they parse, that each is in its range,
/// and the protocol's own rules ([`Protocol::param_problems`]). An unknown protocol is
/// reported by [`check_name`]; here it passes.
pub fn check_params(s: &Scenario) -> Result<(), ScenarioError> {
    struct Check<'a>(&'a Scenario);
    impl Op for Check<'_> {
        type Out = Result<(), ScenarioError>;
        fn run<P: Protocol>(self, _: &'static Listing) -> Self::Out {
            let p = match params_of::<P>(self.0) {
                Ok(p) => p,
                Err(e) => return Err(explain_bad_param::<P>(self.0, e)),
            };
            let nodes = self.0.nodes.initial_members().len();
            let problems = P::param_problems(&p)
                .into_iter()
                .chain(P::cluster_problems(&p, nodes))
                .chain(P::all_nodes_problems(&p, self.0.n()));
            if let Some((field, msg)) = problems.into_iter().next() {
                return Err(ScenarioError::new(format!("protocol.params.{field}"), msg));
            }
            match self.0.protocol.params.as_object() {
                Some(o) => out_of_range(P::NAME, P::PARAMS, o),
                None => Ok(()),
            }
        }
    }
    dispatch(&s.protocol.name, Check(s)).unwrap_or(Ok(()))
}

/// Check that the scenario's clients ask only for operations of the protocol's client
/// data type (and that a protocol serving none has no workload), naming the field and
/// the operations allowed. An unknown protocol passes here ([`check_name`]).
pub fn check_clients(s: &Scenario) -> Vec<ScenarioError> {
    entry(&s.protocol.name)
        .map(|e| match e.data_type_of(s) {
            Ok(d) => crate::workload::check_clients(s, e.name, &d),
            Err(bad) => vec![bad],
        })
        .unwrap_or_default()
}

/// Check that the scenario names a protocol of the catalogue.
pub fn check_name(s: &Scenario) -> Result<(), ScenarioError> {
    if names().contains(&s.protocol.name.as_str()) {
        Ok(())
    } else {
        Err(unknown(&s.protocol.name))
    }
}

/// A parameter the protocol does not have: say which it has, and which protocol has the
/// one given (a scenario edited from another protocol's). A value of the wrong type:
/// say what the parameter takes.
fn explain_bad_param<P: Protocol>(s: &Scenario, e: ScenarioError) -> ScenarioError {
    let Some(o) = s.protocol.params.as_object() else {
        return e;
    };
    // A known parameter with a value of the wrong type: say what it takes.
    if let Some(p) = e
        .path
        .strip_prefix("protocol.params.")
        .and_then(|k| P::PARAMS.iter().find(|p| p.name == k))
    {
        return ScenarioError::new(
            e.path,
            format!("{} ({} takes {})", e.message, p.name, p.allowed()),
        );
    }
    let Some(k) = o
        .keys()
        .find(|k| !P::PARAMS.iter().any(|p| p.name == k.as_str()))
    else {
        return e;
    };
    if P::PARAMS.is_empty() {
        return e;
    }
    let others: Vec<&str> = entries()
        .into_iter()
        .filter(|x| x.name != P::NAME && x.param(k).is_some())
        .map(|x| x.name)
        .collect();
    let takes: Vec<String> = P::PARAMS.iter().map(|p| format!("`{}`", p.name)).collect();
    let mut m = format!("unknown field `{k}`, expected one of {}", takes.join(", "));
    if !others.is_empty() {
        m.push_str(&format!(
            " ({k} is a parameter of {}, not of {})",
            others.join(" and "),
            P::NAME
        ));
    }
    ScenarioError::new(format!("protocol.params.{k}"), m)
}

/// The first parameter whose value is outside its described range.
fn out_of_range(
    protocol: &str,
    spec: &[ParamSpec],
    given: &serde_json::Map<String, Value>,
) -> Result<(), ScenarioError> {
    for p in spec {
        let Some(v) = given.get(p.name) else { continue };
        let ok = match p.kind {
            ParamKind::Int { min, max } => v.as_u64().is_some_and(|x| x >= min && x <= max),
            ParamKind::Float { min, max } => v.as_f64().is_some_and(|x| x >= min && x <= max),
            ParamKind::Bool => v.is_boolean(),
            ParamKind::Choice(options) => v.as_str().is_some_and(|x| options.contains(&x)),
        };
        if !ok {
            return Err(ScenarioError::new(
                format!("protocol.params.{}", p.name),
                format!(
                    "{v} is not allowed: {}'s {} takes {}",
                    protocol,
                    p.name,
                    p.allowed()
                ),
            ));
        }
    }
    Ok(())
}

// ---- the scenario schema's protocol part -----------------------------------------------

/// The JSON Schema of one parameter.
pub fn param_schema(p: &ParamSpec, default: Option<Value>) -> Value {
    let mut m = serde_json::Map::new();
    match p.kind {
        ParamKind::Int { min, max } => {
            m.insert("type".into(), "integer".into());
            m.insert("minimum".into(), min.into());
            m.insert("maximum".into(), max.into());
        }
        ParamKind::Float { min, max } => {
            m.insert("type".into(), "number".into());
            if min.is_finite() {
                m.insert("minimum".into(), min.into());
            }
            if max.is_finite() {
                m.insert("maximum".into(), max.into());
            }
        }
        ParamKind::Bool => {
            m.insert("type".into(), "boolean".into());
        }
        ParamKind::Choice(options) => {
            m.insert("enum".into(), options.to_vec().into());
        }
    }
    m.insert("description".into(), p.help.into());
    if let Some(d) = default {
        // Whole floats as integers (8.0 as 8), the way a person writes a default.
        let d = match d.as_f64() {
            Some(f) if d.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => Value::from(f as i64),
            _ => d,
        };
        m.insert("default".into(), d);
    }
    Value::Object(m)
}

/// The `$defs` entry of a protocol's parameters.
pub fn params_schema(e: &Entry) -> Value {
    let defaults = e.default_params();
    let props: serde_json::Map<String, Value> = e
        .params
        .iter()
        .map(|p| {
            (
                p.name.to_string(),
                param_schema(p, defaults.get(p.name).cloned()),
            )
        })
        .collect();
    serde_json::json!({
        "type": "object",
        "description": format!(
            "Parameters of `{}` ({}). Every field is optional and takes its default when left out.",
            e.name, e.summary
        ),
        "properties": props,
        "additionalProperties": false
    })
}

/// The schema of the scenario's `protocol` property: the names, and each protocol's
/// parameters by reference to its `$defs` entry.
pub fn protocol_schema() -> Value {
    let es = entries();
    let names: Vec<&str> = es.iter().map(|e| e.name).collect();
    let described: Vec<String> = es
        .iter()
        .map(|e| format!("`{}` ({})", e.name, e.summary))
        .collect();
    let description = match described.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}.", rest.join(", ")),
        Some((last, _)) => format!("{last}."),
        None => String::new(),
    };
    let all_of: Vec<Value> = es
        .iter()
        .map(|e| {
            let types: Vec<&str> = e.data_types().iter().map(|d| d.name).collect();
            serde_json::json!({
                "if": {"properties": {"name": {"const": e.name}}, "required": ["name"]},
                "then": {"properties": {
                    "params": {
                        "anyOf": [{"$ref": format!("#/$defs/{}", e.schema_def())}, {"type": "null"}],
                        "description": format!("Parameters of `{}` (see $defs.{}).", e.name, e.schema_def())
                    },
                    "data_type": {
                        "enum": types,
                        "description": format!("The data types `{}` serves: {}.", e.name, types.join(", "))
                    }
                }}
            })
        })
        .collect();
    let type_names: Vec<&str> = DataType::ALL.iter().map(|d| d.name).collect();
    let types_described: Vec<String> = DataType::ALL
        .iter()
        .filter(|d| d.serves_clients())
        .map(|d| format!("`{}` ({})", d.name, d.summary))
        .collect();
    serde_json::json!({
        "type": "object",
        "description": "The protocol every node runs, and its parameters.",
        "required": ["name"],
        "additionalProperties": false,
        "properties": {
            "name": {"enum": names, "description": description},
            "params": {
                "default": {},
                "description": "The protocol's own parameters; leave a field out for its default. Null is the same as {}."
            },
            "data_type": {
                "enum": type_names,
                "description": format!(
                    "What the clients' operations act on, among the data types the protocol serves; omitted: the protocol's default. The data types: {}.",
                    types_described.join("; ")
                )
            }
        },
        "allOf": all_of
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_out_of_its_range_names_the_field_and_the_range() {
        let spec = [
            ParamSpec::count("batch", 1, "entries", "How many."),
            ParamSpec::choice("mode", &["a", "b"], "Which."),
        ];
        let given = |v: Value| v.as_object().cloned().unwrap_or_default();
        let e = out_of_range("toy", &spec, &given(serde_json::json!({"batch": 0})))
            .expect_err("0 is below 1");
        assert_eq!(e.path, "protocol.params.batch");
        assert_eq!(
            e.message,
            "0 is not allowed: toy's batch takes a whole number of at least 1 (entries)"
        );
        let e = out_of_range("toy", &spec, &given(serde_json::json!({"mode": "c"})))
            .expect_err("not an option");
        assert_eq!(
            e.message,
            "\"c\" is not allowed: toy's mode takes one of a, b"
        );
        assert!(out_of_range("toy", &spec, &given(serde_json::json!({"batch": 2}))).is_ok());
    }
}
