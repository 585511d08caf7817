//! The search: Wing & Gong with just-in-time linearization and a memo of
//! (linearized set, state), over operations compiled to small integers.

use super::ops::{Ended, Op};
use super::spec::{self, Machine};
use super::Model;
use crate::history::{Func, Value};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A small fast hasher for integer keys (the search never hashes untrusted strings
/// for security, only for speed).
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        mix(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64)
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64)
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Operation kinds, compiled.
const READ: u8 = 0;
const WRITE: u8 = 1;
const CAS: u8 = 2;
const CAS_FAILED: u8 = 3;
const APPEND: u8 = 4;
/// An operation of a data type run through its [`Machine`] (`a`: its index).
const SPEC: u8 = 5;

#[derive(Clone, Copy, Debug)]
struct Code {
    kind: u8,
    a: u32,
    b: u32,
}

/// Model states are interned values; state 0 is the initial one (`null`, or `""`).
/// Strings (the kv model's states, which appends make long) are held once, in
/// `strings`, and found by their hash.
#[derive(Default)]
struct Interner {
    /// Values other than strings.
    ids: FastMap<Value, u32>,
    /// Hash of a string → the first id with that hash; `same` chains the others.
    by_hash: FastMap<u64, u32>,
    same: Vec<u32>,
    /// Every value's string by id (empty for values other than strings).
    strings: Vec<String>,
    /// (state, appended piece) → state.
    appended: FastMap<(u32, u32), u32>,
    /// Bytes of the strings held.
    string_bytes: usize,
}

const NONE: u32 = u32::MAX;

fn hash_str(s: &str) -> u64 {
    let mut h = FastHasher::default();
    h.write(s.as_bytes());
    h.write_u64(s.len() as u64);
    h.finish()
}

impl Interner {
    fn new(model: Model) -> Interner {
        let mut t = Interner::default();
        let init = match model {
            Model::Kv => Value::Str(String::new()),
            _ => Value::Nil,
        };
        t.id(&init);
        t
    }

    fn push(&mut self, s: String) -> u32 {
        let i = self.strings.len() as u32;
        self.string_bytes += s.capacity();
        self.strings.push(s);
        self.same.push(NONE);
        i
    }

    fn id(&mut self, v: &Value) -> u32 {
        match v {
            Value::Str(s) => match self.find(s) {
                Ok(i) => i,
                Err((h, first)) => self.add(s.clone(), h, first),
            },
            v => {
                if let Some(&i) = self.ids.get(v) {
                    return i;
                }
                let i = self.push(String::new());
                self.ids.insert(v.clone(), i);
                i
            }
        }
    }

    /// The id of the string `s`, or its hash and the first id with that hash.
    fn find(&self, s: &str) -> Result<u32, (u64, u32)> {
        let h = hash_str(s);
        let first = self.by_hash.get(&h).copied().unwrap_or(NONE);
        let mut i = first;
        while i != NONE {
            if self.strings[i as usize] == s {
                return Ok(i);
            }
            i = self.same[i as usize];
        }
        Err((h, first))
    }

    fn add(&mut self, s: String, h: u64, first: u32) -> u32 {
        let id = self.push(s);
        self.same[id as usize] = first;
        self.by_hash.insert(h, id);
        id
    }

    /// What the tables and strings hold, in bytes.
    fn bytes(&self) -> usize {
        // A hash table entry, its control byte, and the key's and value's sizes.
        self.ids.capacity() * (std::mem::size_of::<(Value, u32)>() + 1)
            + self.by_hash.capacity() * (12 + 1)
            + self.appended.capacity() * (12 + 1)
            + self.strings.capacity() * std::mem::size_of::<String>()
            + self.same.capacity() * 4
            + self.string_bytes
    }

    #[inline]
    fn append(&mut self, s: u32, piece: u32) -> u32 {
        if let Some(&r) = self.appended.get(&(s, piece)) {
            return r;
        }
        let (a, b) = (&self.strings[s as usize], &self.strings[piece as usize]);
        let mut v = String::with_capacity(a.len() + b.len());
        v.push_str(a);
        v.push_str(b);
        let r = match self.find(&v) {
            Ok(i) => i,
            Err((h, first)) => self.add(v, h, first),
        };
        self.appended.insert((s, piece), r);
        r
    }
}

/// One key's operations, compiled for the search.
pub(crate) struct Problem {
    /// Indices into the full operation list, in the order given.
    pub ops: Vec<usize>,
    call: Vec<u64>,
    /// `None`: unknown outcome.
    ret: Vec<Option<u64>>,
    code: Vec<Code>,
    interner: Interner,
    /// Per value: written at most once (see `new`).
    once: Vec<bool>,
    /// Per operation: another one has the same kind and arguments.
    twin: Vec<bool>,
    /// Per value: completed operations that need the state to hold it.
    needers: Vec<u32>,
    needer_start: Vec<u32>,
    needer_list: Vec<u32>,
    /// The data type's machine, for operations not compiled to the register's codes.
    machine: Option<Box<dyn Machine>>,
}

impl Problem {
    /// `model`'s operations `subset` of `all`. The register family is compiled to its
    /// own codes unless `generic`; every other data type runs through its
    /// specification's [`Machine`].
    pub(crate) fn new(all: &[Op], subset: &[usize], model: Model, generic: bool) -> Problem {
        let mut t = Interner::new(model);
        let mut code = Vec::with_capacity(subset.len());
        let machine = spec::machine(model, all, subset, generic);
        for (k, &i) in subset.iter().enumerate() {
            if machine.is_some() {
                code.push(Code {
                    kind: SPEC,
                    a: k as u32,
                    b: 0,
                });
                continue;
            }
            let o = &all[i];
            let c = match (o.f, &o.input, o.ended) {
                (Func::Read, _, _) => Code {
                    kind: READ,
                    a: t.id(&o.output),
                    b: 0,
                },
                (Func::Write, v, _) => Code {
                    kind: WRITE,
                    a: t.id(v),
                    b: 0,
                },
                (Func::Cas, Value::Pair([old, new]), Ended::CompareFailed) => Code {
                    kind: CAS_FAILED,
                    a: t.id(&Value::Int(*old)),
                    b: t.id(&Value::Int(*new)),
                },
                (Func::Cas, Value::Pair([old, new]), _) => Code {
                    kind: CAS,
                    a: t.id(&Value::Int(*old)),
                    b: t.id(&Value::Int(*new)),
                },
                (Func::Append, v, _) => Code {
                    kind: APPEND,
                    a: t.id(v),
                    b: 0,
                },
                // Validation rules these out; a cas without a pair constrains nothing,
                // a lock's operation never fits a register.
                (Func::Cas, _, _) | (Func::Acquire | Func::Release, _, _) => Code {
                    kind: CAS_FAILED,
                    a: u32::MAX,
                    b: 0,
                },
            };
            code.push(c);
        }
        let ret: Vec<Option<u64>> = subset.iter().map(|&i| all[i].ret).collect();
        // Values written once (or, the initial one, never): once the state leaves such a
        // value it never comes back, so it may leave only after every completed
        // operation that needs it is placed. Not with appends (states compose).
        let values = t.strings.len();
        let mut producers = vec![0u32; values];
        let mut needers = vec![0u32; values];
        let appends = code.iter().any(|c| c.kind == APPEND);
        for (c, r) in code.iter().zip(&ret) {
            match c.kind {
                WRITE => producers[c.a as usize] += 1,
                CAS => {
                    producers[c.b as usize] += 1;
                    if r.is_some() {
                        needers[c.a as usize] += 1;
                    }
                }
                READ if r.is_some() => needers[c.a as usize] += 1,
                _ => {}
            }
        }
        // Who needs each value (CSR: `needer_list[needer_start[v]..needer_start[v + 1]]`).
        let mut needer_start = vec![0u32; values + 1];
        for v in 0..values {
            needer_start[v + 1] = needer_start[v] + needers[v];
        }
        let mut fill = needer_start.clone();
        let mut needer_list = vec![0u32; needer_start[values] as usize];
        for (i, (c, r)) in code.iter().zip(&ret).enumerate() {
            if r.is_some() && matches!(c.kind, READ | CAS) {
                needer_list[fill[c.a as usize] as usize] = i as u32;
                fill[c.a as usize] += 1;
            }
        }
        let once: Vec<bool> = (0..values)
            .map(|v| !appends && machine.is_none() && producers[v] == u32::from(v != 0))
            .collect();
        // Operations other than reads that do exactly what another one does.
        let mut same_code: FastMap<(u8, u32, u32), u32> = FastMap::default();
        for c in &code {
            *same_code.entry((c.kind, c.a, c.b)).or_default() += 1;
        }
        let twin: Vec<bool> = code
            .iter()
            .map(|c| c.kind != READ && same_code[&(c.kind, c.a, c.b)] > 1)
            .collect();
        Problem {
            ops: subset.to_vec(),
            call: subset.iter().map(|&i| all[i].call).collect(),
            ret,
            code,
            interner: t,
            once,
            twin,
            needers,
            needer_start,
            needer_list,
            machine,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ops.len()
    }

    /// What the compiled operations hold, in bytes (the interner is counted by the
    /// search that owns it).
    fn bytes(&self) -> usize {
        self.ops.capacity() * 8
            + self.call.capacity() * 8
            + self.ret.capacity() * 16
            + self.code.capacity() * std::mem::size_of::<Code>()
            + self.once.capacity()
            + self.twin.capacity()
            + (self.needers.capacity() + self.needer_start.capacity() + self.needer_list.capacity())
                * 4
    }
}

/// The caller's budget: a clock check polled every few thousand steps and an optional
/// cap on steps.
pub(crate) struct Budget<'a> {
    out_of_time: &'a mut dyn FnMut() -> bool,
    max_steps: u64,
    pub used: u64,
    pub timed_out: bool,
}

/// Steps between polls of the clock.
const POLL: u64 = 4096;

impl<'a> Budget<'a> {
    pub(crate) fn new(out_of_time: &'a mut dyn FnMut() -> bool, max: Option<u64>) -> Self {
        Budget {
            out_of_time,
            max_steps: max.unwrap_or(u64::MAX),
            used: 0,
            timed_out: false,
        }
    }

    pub(crate) fn exhausted(&self) -> bool {
        self.timed_out || self.used >= self.max_steps
    }

    /// A budget for one sub-search of at most `cap` steps; account for it with
    /// [`Budget::absorb`].
    pub(crate) fn sub(&mut self, cap: u64) -> Budget<'_> {
        let left = self.max_steps.saturating_sub(self.used);
        Budget {
            out_of_time: &mut *self.out_of_time,
            max_steps: cap.min(left),
            used: 0,
            timed_out: self.timed_out,
        }
    }

    pub(crate) fn absorb(&mut self, used: u64, timed_out: bool) {
        self.used += used;
        self.timed_out |= timed_out;
    }

    /// Poll the clock now (between searches).
    pub(crate) fn poll(&mut self) -> bool {
        if !self.timed_out && (self.out_of_time)() {
            self.timed_out = true;
        }
        self.exhausted()
    }
}

pub(crate) struct Violation {
    /// How many operations the longest linearizable prefix the search reached holds.
    pub best_len: usize,
    /// Problem-local index of the operation the search could not place there: the
    /// unplaced completed one that returns first.
    pub stuck: usize,
    /// Problem-local index of the operation whose return the search got furthest to
    /// and could not get past.
    pub blocked: usize,
    /// Problem-local indices of every operation invoked before the furthest return the
    /// search backtracked at: a sub-history that is itself not linearizable.
    pub prefix: Vec<usize>,
}

pub(crate) enum Found {
    Linearizable,
    Violation(Violation),
    OutOfBudget,
}

/// The memo: an open-addressing set of (linearized set, state), the sets stored in one
/// arena.
struct Memo {
    words: usize,
    /// (hash, state, entry number + 1; 0 = empty)
    slots: Vec<(u64, u32, u32)>,
    arena: Vec<u64>,
    len: usize,
}

impl Memo {
    fn new(words: usize) -> Memo {
        Memo {
            words,
            slots: vec![(0, 0, 0); 1024],
            arena: Vec::new(),
            len: 0,
        }
    }

    fn bytes(&self) -> usize {
        self.slots.capacity() * 16 + self.arena.capacity() * 8
    }

    /// Insert; false if it was there already.
    #[inline]
    fn insert(&mut self, bits: &[u64], set_hash: u64, state: u32) -> bool {
        let h = mix(set_hash ^ (state as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        debug_assert!(!self.full());
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let (sh, ss, se) = self.slots[i];
            if se == 0 {
                if self.arena.len() + self.words > self.arena.capacity() {
                    self.arena.reserve_exact(self.arena_growth());
                }
                self.arena.extend_from_slice(bits);
                self.len += 1;
                self.slots[i] = (h, state, self.len as u32);
                return true;
            }
            if sh == h && ss == state {
                let off = (se as usize - 1) * self.words;
                if self.arena[off..off + self.words] == *bits {
                    return false;
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Whether the next insertion needs a bigger table ([`Memo::grow`] first).
    #[inline]
    fn full(&self) -> bool {
        (self.len + 1) * 2 > self.slots.len()
    }

    /// Whether the next new entry needs more room for the sets.
    fn arena_full(&self) -> bool {
        self.arena.len() + self.words > self.arena.capacity()
    }

    /// Words the arena grows by when full: a quarter more (at least 1,024 sets), so
    /// that growing near the memory cap overshoots little.
    fn arena_growth(&self) -> usize {
        (self.arena.capacity() / 4).max(self.words * 1024)
    }

    /// Bytes held at once while the table or the arena grows, beyond what is held now
    /// (the old and the new buffer both exist while entries move).
    fn growth(&self) -> usize {
        let mut g = 0;
        if self.full() {
            g += self.slots.len() * 2 * 16;
        }
        if self.arena_full() {
            g += (self.arena.capacity() + self.arena_growth()) * 8;
        }
        g
    }

    /// Double the table; false (and the table unusable) if `stop` said so on the way
    /// (polled every million entries: a large table takes a while to move).
    fn grow(&mut self, stop: &mut dyn FnMut() -> bool) -> bool {
        let n = self.slots.len() * 2;
        let mut slots = vec![(0u64, 0u32, 0u32); n];
        let mask = n - 1;
        for (k, &s) in self.slots.iter().enumerate() {
            if k % (1 << 20) == (1 << 20) - 1 && stop() {
                self.slots = Vec::new();
                return false;
            }
            if s.2 != 0 {
                let mut i = s.0 as usize & mask;
                while slots[i].2 != 0 {
                    i = (i + 1) & mask;
                }
                slots[i] = s;
            }
        }
        self.slots = slots;
        true
    }
}

/// The compact memo key. The search only places an operation whose call comes before
/// the return of every completed operation not placed yet; so with `m` the first
/// completed operation (in invoke order) not placed, every completed operation before
/// `m` is placed and every placed operation after `m` was invoked before `m` returned:
/// it lies in a window of at most `window` operations from `m`. The linearized set is
/// then `m`, the window's bits from `m`, and which operations of unknown outcome (which
/// need never be placed) are placed: a few words instead of one bit per operation.
struct Compact {
    window_words: usize,
    /// Per operation: its rank among those of unknown outcome, or `NONE`.
    urank: Vec<u32>,
    uwords: usize,
}

impl Compact {
    /// `None` when the full set is no bigger (or `layout` says so).
    fn new(p: &Problem, layout: MemoLayout) -> Option<Compact> {
        let n = p.len();
        if layout == MemoLayout::Full || n == 0 {
            return None;
        }
        let mut by_call: Vec<(u64, usize)> = (0..n).map(|j| (p.call[j], j)).collect();
        by_call.sort_unstable();
        let mut most = Vec::with_capacity(n);
        let mut hi = 0;
        for &(_, j) in &by_call {
            hi = hi.max(j);
            most.push(hi);
        }
        let mut window = 1;
        for (m, r) in p.ret.iter().enumerate() {
            let Some(r) = *r else {
                continue;
            };
            let k = by_call.partition_point(|x| x.0 <= r);
            if k > 0 && most[k - 1] >= m {
                window = window.max(most[k - 1] - m + 1);
            }
        }
        let mut urank = vec![NONE; n];
        let mut u = 0u32;
        for (j, r) in p.ret.iter().enumerate() {
            if r.is_none() {
                urank[j] = u;
                u += 1;
            }
        }
        let c = Compact {
            window_words: window.div_ceil(64),
            urank,
            uwords: (u as usize).div_ceil(64),
        };
        (layout == MemoLayout::Compact || c.key_words() < n.div_ceil(64)).then_some(c)
    }

    fn key_words(&self) -> usize {
        1 + self.window_words + self.uwords
    }
}

/// How the memo stores linearized sets (a knob for tests: `Auto` is always right).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemoLayout {
    /// The compact key when it is smaller.
    #[default]
    Auto,
    /// One bit per operation.
    Full,
    /// The compact key always.
    Compact,
}

/// One key's search, resumable: [`Search::step`] runs it for a number of steps, so a
/// caller can interleave keys (round robin, or one thread each) and stop whenever it
/// likes. Owns everything it holds, and [`Search::bytes`] counts all of it.
pub(crate) struct Search {
    p: Problem,
    interner: Interner,
    machine: Option<Box<dyn Machine>>,
    order: Vec<(u64, u8, u32)>,
    next: Vec<u32>,
    prev: Vec<u32>,
    op_of: Vec<u32>,
    is_call: Vec<bool>,
    partner: Vec<u32>,
    zob: Vec<u64>,
    bits: Vec<u64>,
    set_hash: u64,
    memo: Memo,
    remaining: usize,
    stack: Vec<(u32, u32)>,
    state: u32,
    best: Vec<u64>,
    best_len: usize,
    furthest: u32,
    entry: usize,
    head: usize,
    /// Backtrack next (a read was just undone, or could not be placed: see `step`).
    back: bool,
    /// Why the search cannot go on, if it cannot.
    halted: Option<Halt>,
    /// Per value: completed operations that need it and are not placed yet.
    need_left: Vec<u32>,
    /// Per operation: the position of its return entry.
    ret_pos: Vec<u32>,
    compact: Option<Compact>,
    /// The first completed operation not placed (for the compact key).
    m: usize,
    /// Which operations of unknown outcome are placed (by rank).
    ubits: Vec<u64>,
    /// The compact key being built.
    key: Vec<u64>,
    /// Steps taken so far.
    pub steps: u64,
    fixed_bytes: usize,
}

/// Why a search stopped for good without deciding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Halt {
    /// Its memo table would grow past the room it has.
    Memory,
    /// The time ran out while its memo table grew.
    Time,
}

pub(crate) enum Decided {
    Linearizable,
    Violation(Violation),
}

impl Search {
    pub(crate) fn new(mut p: Problem, layout: MemoLayout) -> Search {
        let n = p.len();
        let interner = std::mem::take(&mut p.interner);
        let machine = p.machine.take();
        // Entries: calls and returns sorted by time, calls first at equal times (an
        // operation returning at t and one invoked at t overlap), unknown returns last.
        let mut order: Vec<(u64, u8, u32)> = Vec::with_capacity(2 * n);
        for i in 0..n {
            order.push((p.call[i], 0, i as u32));
            order.push((p.ret[i].unwrap_or(u64::MAX), 1, i as u32));
        }
        order.sort_unstable();
        let head = 2 * n;
        let mut next = vec![0u32; 2 * n + 1];
        let mut prev = vec![0u32; 2 * n + 1];
        // Per entry: operation index, and for calls the position of the matching return.
        let mut op_of = vec![0u32; 2 * n];
        let mut is_call = vec![false; 2 * n];
        let mut ret_pos = vec![0u32; n];
        let mut partner = vec![0u32; 2 * n];
        for (pos, &(_, kind, op)) in order.iter().enumerate() {
            op_of[pos] = op;
            is_call[pos] = kind == 0;
            if kind == 1 {
                ret_pos[op as usize] = pos as u32;
            }
        }
        for pos in 0..2 * n {
            if is_call[pos] {
                partner[pos] = ret_pos[op_of[pos] as usize];
            }
        }
        // A list with one entry per position: head → 0 → 1 → … → 2n-1 → head.
        for pos in 0..2 * n {
            next[pos] = (pos + 1) as u32;
            prev[pos] = if pos == 0 {
                head as u32
            } else {
                (pos - 1) as u32
            };
        }
        if n > 0 {
            next[2 * n - 1] = head as u32;
            prev[head] = (2 * n - 1) as u32;
        }
        next[head] = if n > 0 { 0 } else { head as u32 };
        let zob: Vec<u64> = (0..n as u64)
            .map(|i| mix(i.wrapping_add(0x1234_5678_9abc_def1)))
            .collect();
        let words = n.div_ceil(64);
        let compact = Compact::new(&p, layout);
        let (key_words, pad, uwords) = compact.as_ref().map_or((words, 0, 0), |c| {
            (c.key_words(), c.window_words + 1, c.uwords)
        });
        let m = p.ret.iter().position(|r| r.is_some()).unwrap_or(n);
        let remaining = p.ret.iter().filter(|r| r.is_some()).count();
        let fixed_bytes = p.bytes()
            + order.capacity() * 16
            + (next.capacity() + prev.capacity() + op_of.capacity() + partner.capacity()) * 4
            + is_call.capacity()
            + zob.capacity() * 8
            + 2 * (words + pad) * 8
            + (uwords + key_words) * 8
            + compact.as_ref().map_or(0, |c| c.urank.capacity() * 4);
        let entry = next[head] as usize;
        let need_left = p.needers.clone();
        let fixed_bytes = fixed_bytes + need_left.capacity() * 4 + ret_pos.capacity() * 4;
        Search {
            p,
            interner,
            machine,
            order,
            next,
            prev,
            op_of,
            is_call,
            partner,
            zob,
            bits: vec![0u64; words + pad],
            set_hash: 0,
            memo: Memo::new(key_words),
            remaining,
            stack: Vec::new(),
            state: 0,
            best: vec![0u64; words + pad],
            best_len: 0,
            furthest: 0,
            entry,
            head,
            back: false,
            halted: None,
            need_left,
            ret_pos,
            compact,
            m,
            ubits: vec![0u64; uwords],
            key: vec![0u64; key_words],
            steps: 0,
            fixed_bytes,
        }
    }

    pub(crate) fn problem(&self) -> &Problem {
        &self.p
    }

    /// Everything this search holds, in bytes (an estimate of the allocations: tables
    /// by capacity, strings by length).
    pub(crate) fn bytes(&self) -> usize {
        self.fixed_bytes
            + self.memo.bytes()
            + self.interner.bytes()
            + machine_bytes(&self.machine)
            + self.stack.capacity() * 8
    }

    /// Why it cannot go on, if it cannot.
    pub(crate) fn halted(&self) -> Option<Halt> {
        self.halted
    }

    /// Pairs of (linearized set, state) memoised.
    pub(crate) fn memo_len(&self) -> usize {
        self.memo.len
    }

    /// Run at most `n` steps, stopping early (undecided) when it holds more than
    /// `max_bytes`; `Some` once decided (do not call again after that, nor once
    /// [`Search::halted`] says it cannot go on). `stop` is polled only while a large
    /// memo table grows.
    pub(crate) fn step(
        &mut self,
        n: u64,
        max_bytes: usize,
        stop: &mut dyn FnMut() -> bool,
    ) -> Option<Decided> {
        if self.halted.is_some() {
            return None;
        }
        let head = self.head;
        let p = &self.p;
        let (next, prev) = (&mut self.next, &mut self.prev);
        let (op_of, is_call, partner) = (&self.op_of, &self.is_call, &self.partner);
        let interner = &mut self.interner;
        let machine = &mut self.machine;
        let mut entry = self.entry;
        let mut state = self.state;
        let mut back = self.back;
        let mut taken = 0u64;
        let found = loop {
            if self.remaining == 0 {
                break Some(Decided::Linearizable);
            }
            if taken >= n
                || (taken % 64 == 63
                    && self.fixed_bytes
                        + self.memo.bytes()
                        + interner.bytes()
                        + machine_bytes(machine)
                        + self.stack.capacity() * 8
                        > max_bytes)
            {
                break None;
            }
            taken += 1;
            if !back && entry != head && is_call[entry] {
                let op = op_of[entry] as usize;
                let c = p.code[op];
                let stepped = match c.kind {
                    READ => (state == c.a).then_some(state),
                    WRITE => Some(c.a),
                    CAS => (state == c.a).then_some(c.b),
                    CAS_FAILED => (state != c.a).then_some(state),
                    APPEND => Some(interner.append(state, c.a)),
                    // Other data types (a lock) run their machine.
                    _ => machine.as_mut().and_then(|m| m.step(state, c.a)),
                };
                // Leaving a value written once while a completed operation still needs
                // it is a dead end: it will never hold that value again.
                let stepped = match stepped {
                    Some(ns)
                        if ns != state
                            && p.once.get(state as usize).copied().unwrap_or(false)
                            && self.need_left[state as usize]
                                > u32::from(
                                    p.ret[op].is_some() && c.kind == CAS && c.a == state,
                                ) =>
                    {
                        // Every way on from here dies by the return of the first such
                        // operation (for the explanation's prefix, see `violation`).
                        let v = state as usize;
                        let first = p.needer_list
                            [p.needer_start[v] as usize..p.needer_start[v + 1] as usize]
                            .iter()
                            .filter(|&&o| {
                                o as usize != op && self.bits[o as usize >> 6] >> (o & 63) & 1 == 0
                            })
                            .map(|&o| self.ret_pos[o as usize])
                            .min();
                        if let Some(r) = first {
                            self.furthest = self.furthest.max(r);
                        }
                        None
                    }
                    other => other,
                };
                // Of operations that do the same (a write of the same value, say), placing
                // the one that must return first dominates placing any other: swap the
                // two in any way on and it still respects real time. So try only that
                // one among those that could go next.
                let stepped = match stepped {
                    Some(ns) if p.twin[op] => {
                        let key = (p.ret[op].unwrap_or(u64::MAX), op);
                        let mut e = next[head] as usize;
                        let mut dominated = false;
                        while e != head && is_call[e] {
                            let o = op_of[e] as usize;
                            let d = p.code[o];
                            if o != op
                                && d.kind == c.kind
                                && d.a == c.a
                                && d.b == c.b
                                && (p.ret[o].unwrap_or(u64::MAX), o) < key
                            {
                                dominated = true;
                                break;
                            }
                            e = next[e] as usize;
                        }
                        (!dominated).then_some(ns)
                    }
                    other => other,
                };
                if stepped.is_some() && (self.memo.full() || self.memo.arena_full()) {
                    // Grow the memo only if the grown table fits, and stop if the time
                    // runs out while it moves (the search is then over).
                    let now = self.fixed_bytes
                        + self.memo.bytes()
                        + interner.bytes()
                        + machine_bytes(machine)
                        + self.stack.capacity() * 8;
                    if now + self.memo.growth() > max_bytes {
                        self.halted = Some(Halt::Memory);
                        break None;
                    }
                    if self.memo.full() && !self.memo.grow(stop) {
                        self.halted = Some(Halt::Time);
                        break None;
                    }
                }
                if let Some(ns) = stepped {
                    self.bits[op >> 6] |= 1 << (op & 63);
                    self.set_hash ^= self.zob[op];
                    let inserted = match &self.compact {
                        None => {
                            let words = p.len().div_ceil(64);
                            self.memo.insert(&self.bits[..words], self.set_hash, ns)
                        }
                        Some(cx) => {
                            let n = p.len();
                            let mut m2 = self.m;
                            if op == m2 {
                                m2 += 1;
                                while m2 < n
                                    && (self.bits[m2 >> 6] >> (m2 & 63) & 1 == 1
                                        || p.ret[m2].is_none())
                                {
                                    m2 += 1;
                                }
                            }
                            let u = cx.urank[op];
                            if u != NONE {
                                self.ubits[u as usize >> 6] |= 1 << (u & 63);
                            }
                            self.key[0] = m2 as u64;
                            for w in 0..cx.window_words {
                                let at = m2 + 64 * w;
                                let (i, sh) = (at >> 6, at & 63);
                                self.key[1 + w] = if sh == 0 {
                                    self.bits[i]
                                } else {
                                    self.bits[i] >> sh | self.bits[i + 1] << (64 - sh)
                                };
                            }
                            self.key[1 + cx.window_words..].copy_from_slice(&self.ubits);
                            let fresh = self.memo.insert(&self.key, self.set_hash, ns);
                            if fresh {
                                self.m = m2;
                            } else if u != NONE {
                                self.ubits[u as usize >> 6] &= !(1 << (u & 63));
                            }
                            fresh
                        }
                    };
                    if inserted {
                        self.stack.push((entry as u32, state));
                        state = ns;
                        if p.ret[op].is_some() {
                            self.remaining -= 1;
                            if matches!(c.kind, READ | CAS) {
                                self.need_left[c.a as usize] -= 1;
                            }
                        }
                        // Lift the call and its return out of the list.
                        let r = partner[entry] as usize;
                        next[prev[entry] as usize] = next[entry];
                        prev[next[entry] as usize] = prev[entry];
                        next[prev[r] as usize] = next[r];
                        prev[next[r] as usize] = prev[r];
                        if self.stack.len() > self.best_len {
                            self.best_len = self.stack.len();
                            self.best.copy_from_slice(&self.bits);
                        }
                        entry = next[head] as usize;
                        continue;
                    }
                    self.bits[op >> 6] &= !(1 << (op & 63));
                    self.set_hash ^= self.zob[op];
                    // A read that fits the state can always be placed now rather than
                    // later (it changes nothing, and placing it early only frees the
                    // others): every way on from here without it is no better than
                    // the one with it, which the memo says is a dead end.
                    if c.kind == READ {
                        back = true;
                        continue;
                    }
                }
                entry = next[entry] as usize;
            } else {
                // A return (or the end): whatever is open cannot stay unplaced; backtrack.
                if !back && entry != head {
                    self.furthest = self.furthest.max(entry as u32);
                }
                back = false;
                let Some((e, old)) = self.stack.pop() else {
                    let best = std::mem::take(&mut self.best);
                    break Some(Decided::Violation(violation(
                        p,
                        &self.order,
                        best,
                        self.best_len,
                        self.furthest,
                    )));
                };
                let e = e as usize;
                let op = op_of[e] as usize;
                self.bits[op >> 6] &= !(1 << (op & 63));
                self.set_hash ^= self.zob[op];
                state = old;
                if let Some(cx) = &self.compact {
                    let u = cx.urank[op];
                    if u != NONE {
                        self.ubits[u as usize >> 6] &= !(1 << (u & 63));
                    } else if op < self.m {
                        self.m = op;
                    }
                }
                if p.ret[op].is_some() {
                    self.remaining += 1;
                    if matches!(p.code[op].kind, READ | CAS) {
                        self.need_left[p.code[op].a as usize] += 1;
                    }
                }
                // Unlift: put the return back, then the call.
                let r = partner[e] as usize;
                next[prev[r] as usize] = r as u32;
                prev[next[r] as usize] = r as u32;
                next[prev[e] as usize] = e as u32;
                prev[next[e] as usize] = e as u32;
                // Placing a read as soon as it fits dominates every other choice here
                // (see above), so when it led nowhere, neither does anything else.
                if p.code[op].kind == READ {
                    back = true;
                }
                entry = next[e] as usize;
            }
        };
        self.entry = entry;
        self.state = state;
        self.back = back;
        self.steps += taken;
        found
    }
}

fn machine_bytes(m: &Option<Box<dyn Machine>>) -> usize {
    m.as_ref().map_or(0, |m| m.bytes())
}

/// Search for a linearization of `p` within `budget`, giving up when it holds more than
/// `max_bytes`.
pub(crate) fn run(p: Problem, budget: &mut Budget, max_bytes: usize) -> Found {
    let mut s = Search::new(p, MemoLayout::Auto);
    let limit = budget.max_steps.saturating_sub(budget.used);
    loop {
        let before = s.steps;
        let decided = s.step(
            POLL.min(limit.saturating_sub(s.steps)).max(1),
            max_bytes,
            &mut *budget.out_of_time,
        );
        budget.used += s.steps - before;
        match decided {
            Some(Decided::Linearizable) => return Found::Linearizable,
            Some(Decided::Violation(v)) => return Found::Violation(v),
            None => {}
        }
        if s.steps >= limit || s.bytes() > max_bytes || s.halted().is_some() {
            budget.timed_out |= s.halted() == Some(Halt::Time);
            return Found::OutOfBudget;
        }
        if (budget.out_of_time)() {
            budget.timed_out = true;
            return Found::OutOfBudget;
        }
    }
}

fn violation(
    p: &Problem,
    order: &[(u64, u8, u32)],
    best: Vec<u64>,
    best_len: usize,
    furthest: u32,
) -> Violation {
    let placed = |i: usize| best[i >> 6] >> (i & 63) & 1 == 1;
    // The first return (in entry order) of an operation the best prefix did not place.
    let stuck = order
        .iter()
        .filter(|&&(_, k, op)| k == 1 && !placed(op as usize) && p.ret[op as usize].is_some())
        .map(|&(_, _, op)| op as usize)
        .next()
        .unwrap_or(0);
    // Every path of the search died at or before the return at `furthest`, so any
    // sub-history with all operations that returned by then, and any of those invoked
    // before it, is not linearizable either. Keep the ones that may explain something:
    // not the reads and cas that returned later (their sources may be cut off).
    let returned_by: std::collections::BTreeSet<usize> = order[..=furthest as usize]
        .iter()
        .filter(|&&(_, k, _)| k == 1)
        .map(|&(_, _, op)| op as usize)
        .collect();
    let prefix = order[..=furthest as usize]
        .iter()
        .filter(|&&(_, k, _)| k == 0)
        .map(|&(_, _, op)| op as usize)
        .filter(|&op| {
            returned_by.contains(&op)
                || p.ret[op].is_none()
                || !matches!(p.code[op].kind, READ | CAS | CAS_FAILED)
        })
        .chain(std::iter::once(order[furthest as usize].2 as usize))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Violation {
        best_len,
        stuck,
        blocked: order[furthest as usize].2 as usize,
        prefix,
    }
}
