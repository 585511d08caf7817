//! Sequential specifications: what a data type does when its operations run one at a
//! time. The linearizability search asks only this of a data type: from a state, does
//! this completed operation (what it asked and what it got back) fit, and what state
//! follows? A history is linearizable when some order of its operations that respects
//! real time walks the specification from its initial state.
//!
//! [`Register`] (read / write / cas, and the key-value map's append) and [`Lock`]
//! (acquire / release with fencing tokens) are the data types so far; [`Model`] names
//! them in histories and on the command line. The search runs any specification
//! through [`Table`], which numbers the states it meets and remembers each transition
//! it worked out, so the search's memo and its inner loop see small integers only. The
//! register family also has a compiled form of its own (`search.rs`: interned values,
//! and pruning that knows what reads and writes are), the one used unless
//! [`super::Options::generic`] asks for this one; tests check the two agree.

use super::ops::{Ended, Op};
use super::Model;
use crate::history::{Func, Value};
use std::collections::HashMap;
use std::hash::Hash;

/// A data type's sequential behaviour.
pub trait SequentialSpec {
    /// What the object holds between operations.
    type State: Clone + Eq + Hash;
    /// One operation as the history saw it: what was asked and, if known, what it
    /// returned.
    type Op;
    /// The object before any operation.
    fn init(&self) -> Self::State;
    /// The state after `op` runs alone in `state`, if what it returned fits there;
    /// `None`: it cannot take effect in that state.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;
}

/// How a specification reads the checker's paired operations.
pub(crate) trait FromHistory: SequentialSpec {
    fn op(&self, o: &Op) -> Self::Op;
}

/// A register (`Model::Register`, `Model::CasRegister`) or a key-value map's value
/// under one key (`Model::Kv`): a [`Value`], initially `null` (`""` for the map).
#[derive(Clone, Copy, Debug)]
pub struct Register {
    pub model: Model,
}

/// A register operation with its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterOp {
    /// A read that returned this value.
    Read(Value),
    Write(Value),
    /// A compare-and-set that succeeded (or may have): `[old, new]`.
    Cas(i64, i64),
    /// A compare-and-set that found a value other than `old`.
    CasFailed(i64),
    Append(String),
    /// Not a register operation: it never fits.
    Never,
}

impl SequentialSpec for Register {
    type State = Value;
    type Op = RegisterOp;

    fn init(&self) -> Value {
        match self.model {
            Model::Kv => Value::Str(String::new()),
            _ => Value::Nil,
        }
    }

    fn step(&self, state: &Value, op: &RegisterOp) -> Option<Value> {
        match op {
            RegisterOp::Read(v) => (state == v).then(|| state.clone()),
            RegisterOp::Write(v) => Some(v.clone()),
            RegisterOp::Cas(old, new) => (*state == Value::Int(*old)).then_some(Value::Int(*new)),
            RegisterOp::CasFailed(old) => (*state != Value::Int(*old)).then(|| state.clone()),
            RegisterOp::Append(piece) => match state {
                Value::Str(s) => Some(Value::Str(format!("{s}{piece}"))),
                _ => None,
            },
            RegisterOp::Never => None,
        }
    }
}

impl FromHistory for Register {
    fn op(&self, o: &Op) -> RegisterOp {
        match (o.f, &o.input, o.ended) {
            (Func::Read, _, _) => RegisterOp::Read(o.output.clone()),
            (Func::Write, v, _) => RegisterOp::Write(v.clone()),
            (Func::Cas, Value::Pair([a, _]), Ended::CompareFailed) => RegisterOp::CasFailed(*a),
            (Func::Cas, Value::Pair([a, b]), _) => RegisterOp::Cas(*a, *b),
            (Func::Append, Value::Str(p), _) => RegisterOp::Append(p.clone()),
            _ => RegisterOp::Never,
        }
    }
}

/// A lock (`Model::Lock`, one per key): free, or held by one process. `acquire` takes
/// a free lock and returns a fencing token, larger than every token granted before
/// (a storage service that remembers the largest token it saw can then refuse a late
/// write from a holder whose lease ran out); `release` by the holder frees it. A
/// process holding the lock cannot acquire it again, and only the holder can release
/// it: a history where two processes hold it at once, or a token goes backwards, is
/// not linearizable. An acquire whose outcome is unknown may have taken the lock, with
/// a token nobody saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lock;

/// Who holds the lock, and the largest fencing token granted so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LockState {
    pub holder: Option<u64>,
    pub token: Option<i64>,
}

/// A lock operation with its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockOp {
    /// `token`: the fencing token it returned (`None`: unknown outcome).
    Acquire {
        process: u64,
        token: Option<i64>,
    },
    Release {
        process: u64,
    },
    /// Not a lock operation: it never fits.
    Never,
}

impl SequentialSpec for Lock {
    type State = LockState;
    type Op = LockOp;

    fn init(&self) -> LockState {
        LockState::default()
    }

    fn step(&self, s: &LockState, op: &LockOp) -> Option<LockState> {
        match *op {
            LockOp::Acquire { process, token } => {
                if s.holder.is_some() {
                    return None;
                }
                match (token, s.token) {
                    (Some(t), Some(last)) if t <= last => None,
                    (Some(t), _) => Some(LockState {
                        holder: Some(process),
                        token: Some(t),
                    }),
                    (None, last) => Some(LockState {
                        holder: Some(process),
                        token: last,
                    }),
                }
            }
            LockOp::Release { process } => (s.holder == Some(process)).then_some(LockState {
                holder: None,
                token: s.token,
            }),
            LockOp::Never => None,
        }
    }
}

impl FromHistory for Lock {
    fn op(&self, o: &Op) -> LockOp {
        match (o.f, &o.output, o.ended) {
            (Func::Acquire, Value::Int(t), Ended::Ok) => LockOp::Acquire {
                process: o.process,
                token: Some(*t),
            },
            // Unknown, or granted without a fencing token (Redlock's): it takes the
            // lock if free, and says nothing of tokens.
            (Func::Acquire, _, _) => LockOp::Acquire {
                process: o.process,
                token: None,
            },
            (Func::Release, _, _) => LockOp::Release { process: o.process },
            _ => LockOp::Never,
        }
    }
}

/// What the search needs of a specification: states and operations as numbers.
pub(crate) trait Machine: Send {
    /// The state after operation `op` (its index in the problem) in state `state`.
    fn step(&mut self, state: u32, op: u32) -> Option<u32>;
    /// Bytes held (tables by capacity).
    fn bytes(&self) -> usize;
}

const NONE: u32 = u32::MAX;

/// A specification as a [`Machine`]: states numbered as met (0 is the initial one), and
/// every transition worked out once.
pub(crate) struct Table<S: SequentialSpec> {
    spec: S,
    ops: Vec<S::Op>,
    states: Vec<S::State>,
    ids: HashMap<S::State, u32>,
    /// `state << 32 | op` → the next state, or `NONE` if it does not fit.
    next: super::search::FastMap<u64, u32>,
}

impl<S: FromHistory> Table<S> {
    pub(crate) fn new(spec: S, all: &[Op], subset: &[usize]) -> Table<S> {
        let ops = subset.iter().map(|&i| spec.op(&all[i])).collect();
        let init = spec.init();
        let mut ids = HashMap::new();
        ids.insert(init.clone(), 0);
        Table {
            spec,
            ops,
            states: vec![init],
            ids,
            next: Default::default(),
        }
    }
}

impl<S> Machine for Table<S>
where
    S: SequentialSpec + Send,
    S::State: Send,
    S::Op: Send,
{
    #[inline]
    fn step(&mut self, state: u32, op: u32) -> Option<u32> {
        let k = u64::from(state) << 32 | u64::from(op);
        if let Some(&r) = self.next.get(&k) {
            return (r != NONE).then_some(r);
        }
        let r = match self
            .spec
            .step(&self.states[state as usize], &self.ops[op as usize])
        {
            None => NONE,
            Some(s) => match self.ids.get(&s) {
                Some(&i) => i,
                None => {
                    let i = self.states.len() as u32;
                    self.states.push(s.clone());
                    self.ids.insert(s, i);
                    i
                }
            },
        };
        self.next.insert(k, r);
        (r != NONE).then_some(r)
    }

    fn bytes(&self) -> usize {
        let state = std::mem::size_of::<S::State>();
        self.ops.capacity() * std::mem::size_of::<S::Op>()
            + self.states.capacity() * state
            + self.ids.capacity() * (state + 4 + 1)
            + self.next.capacity() * (12 + 1)
    }
}

/// The machine the search runs for `model`'s operations, `None` for the register's
/// own compiled codes. The register family runs through its specification only when
/// `generic` asks, and only natively: that path is a cross-check for tests and the
/// benchmark, and the page keeps the compiled codes alone (bundle budget).
pub(crate) fn machine(
    model: Model,
    all: &[Op],
    subset: &[usize],
    generic: bool,
) -> Option<Box<dyn Machine>> {
    match model {
        Model::Lock => Some(Box::new(Table::new(Lock, all, subset))),
        #[cfg(not(target_arch = "wasm32"))]
        m if generic => Some(Box::new(Table::new(Register { model: m }, all, subset))),
        _ => {
            let _ = generic;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acquire(process: u64, token: i64) -> LockOp {
        LockOp::Acquire {
            process,
            token: Some(token),
        }
    }

    #[test]
    fn the_lock_spec_says_who_holds_it() {
        let l = Lock;
        let s = l.init();
        let held = l
            .step(&s, &acquire(1, 5))
            .expect("a free lock can be taken");
        assert_eq!(held.holder, Some(1));
        assert!(l.step(&held, &acquire(2, 6)).is_none(), "held by 1");
        assert!(l.step(&held, &acquire(1, 6)).is_none(), "not re-entrant");
        assert!(
            l.step(&held, &LockOp::Release { process: 2 }).is_none(),
            "only the holder releases"
        );
        let free = l
            .step(&held, &LockOp::Release { process: 1 })
            .expect("the holder releases");
        assert_eq!(free.holder, None);
        assert!(l.step(&free, &acquire(2, 5)).is_none(), "token 5 again");
        assert!(l.step(&free, &acquire(2, 4)).is_none(), "token went back");
        assert_eq!(l.step(&free, &acquire(2, 9)).unwrap().token, Some(9));
    }

    #[test]
    fn the_register_spec_reads_writes_and_compares() {
        let r = Register {
            model: Model::CasRegister,
        };
        let s = r.init();
        assert!(r.step(&s, &RegisterOp::Read(Value::Int(1))).is_none());
        let s = r.step(&s, &RegisterOp::Write(Value::Int(1))).unwrap();
        assert!(r.step(&s, &RegisterOp::Cas(2, 3)).is_none());
        assert!(r.step(&s, &RegisterOp::CasFailed(1)).is_none());
        let s = r.step(&s, &RegisterOp::Cas(1, 3)).unwrap();
        assert_eq!(s, Value::Int(3));
        let kv = Register { model: Model::Kv };
        let s = kv
            .step(&kv.init(), &RegisterOp::Append("ab".into()))
            .unwrap();
        assert_eq!(s, Value::Str("ab".into()));
    }
}
