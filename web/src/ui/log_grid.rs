//! The log grid's model (issue 21, "replication state at a glance"): one row per node,
//! one column per log position, aligned by index. Pure Rust, tested natively; the Yew
//! rendering in `grid_view` only draws what this computes.
//!
//! - Which node is *the* leader: the live node that says it leads, in the highest term.
//! - A follower's entry is *conflicting* when it is above that follower's commit index
//!   and the leader holds another term at its index, or nothing there (the leader's
//!   appends will replace it). Entries the leader has compacted are committed, so they
//!   are never compared; nor are entries of a term above the leader's (that leader is
//!   stale and will step down).
//! - A conflicting entry is *struck* once the leader's next append to that follower
//!   starts at or before it (`next_index <= index`): the append that replaces it is on
//!   its way.
//! - [`Tracker`] remembers, frame to frame, which conflicting entries were then replaced
//!   (overwritten by another term, or truncated), so the grid can show them for a moment.
//! - Crashed nodes show what their disk holds ([`Source::Disk`]).
//! - Only the columns in view are computed: a grid of 25 nodes and thousands of entries
//!   costs what its visible part costs, plus one pass over each row's uncommitted suffix.

use quorumlab_core::{LogEntryView, LogWindow, Mark, NodeId, NodeView, RoleKind, Time, MS};
use quorumlab_sim::{Engine, Status};

/// Width of one column, in CSS pixels.
pub const CELL_W: f64 = 24.0;
/// Columns drawn beyond each edge of the viewport (smooth scrolling).
pub const OVERSCAN: u64 = 2;
/// How long (simulated) a replaced entry stays marked on its row.
pub const REPLACED_SHOW: Time = 400 * MS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStatus {
    Up,
    Paused,
    Crashed,
    Spare,
}

impl RowStatus {
    pub fn of(s: Status) -> RowStatus {
        match s {
            Status::Up => RowStatus::Up,
            Status::Paused => RowStatus::Paused,
            Status::Crashed => RowStatus::Crashed,
            Status::Spare => RowStatus::Spare,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            RowStatus::Up => "up",
            RowStatus::Paused => "paused",
            RowStatus::Crashed => "crashed",
            RowStatus::Spare => "spare",
        }
    }
}

/// Where a row's picture comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The running node's own view.
    Live,
    /// A crashed node: what its disk holds, as a boot from it would show.
    Disk,
    /// Nothing to show (a spare, or a crashed node with an empty disk).
    Nothing,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Live => "live",
            Source::Disk => "disk",
            Source::Nothing => "none",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeRow {
    pub node: NodeId,
    pub status: RowStatus,
    pub source: Source,
    pub view: Option<NodeView>,
}

/// Everything the grid is drawn from, at one moment of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GridInput {
    pub rows: Vec<NodeRow>,
    pub now: Time,
    /// The session's revision: equal revisions are the same run.
    pub revision: u64,
}

impl GridInput {
    /// The rows of a run as it stands: live views, and the disks of crashed nodes.
    #[cfg(test)]
    pub fn of(e: &dyn Engine, revision: u64) -> GridInput {
        GridInput::window(e, revision, LogWindow::ALL)
    }

    /// [`GridInput::of`] with only the log entries `window` keeps.
    pub fn window(e: &dyn Engine, revision: u64, window: LogWindow) -> GridInput {
        let mut views = e.views_window(window).into_iter();
        let rows = e
            .status()
            .iter()
            .enumerate()
            .map(|(i, st)| {
                let node = i as NodeId;
                let status = RowStatus::of(*st);
                // Moved, not cloned: a long log is copied once per frame, in `views`.
                let live = views.next().flatten();
                let (source, view) = match (status, live) {
                    (_, Some(v)) => (Source::Live, Some(v)),
                    (RowStatus::Crashed, None) => match e.disk_view(node) {
                        Some(mut v) => {
                            window.trim(&mut v);
                            (Source::Disk, Some(v))
                        }
                        None => (Source::Nothing, None),
                    },
                    (_, None) => (Source::Nothing, None),
                };
                NodeRow {
                    node,
                    status,
                    source,
                    view,
                }
            })
            .collect();
        GridInput {
            rows,
            now: e.now(),
            revision,
        }
    }
}

/// Index of the last position a node holds (its log's end, or its snapshot's).
pub fn last_index(v: &NodeView) -> u64 {
    v.entries()
        .last()
        .map(|e| e.index)
        .unwrap_or(0)
        .max(v.snapshot_index())
}

/// Node `v`'s entry at `index`, if its log holds one (not compacted).
pub fn entry_at(v: &NodeView, index: u64) -> Option<&LogEntryView> {
    let log = v.entries();
    let first = log.first()?.index;
    if index < first {
        return None;
    }
    // Logs are contiguous runs of indexes: look there first, then search.
    if let Some(e) = log.get((index - first) as usize) {
        if e.index == index {
            return Some(e);
        }
    }
    log.binary_search_by_key(&index, |e| e.index)
        .ok()
        .map(|k| &log[k])
}

/// The row of the leader the grid compares against: a live node (up or paused) whose
/// role is of the leader kind, in the highest term (the lowest id on a tie).
pub fn leader(rows: &[NodeRow]) -> Option<usize> {
    rows.iter()
        .enumerate()
        .filter(|(_, r)| r.source == Source::Live && r.status != RowStatus::Crashed)
        .filter_map(|(k, r)| r.view.as_ref().map(|v| (k, v)))
        .filter(|(_, v)| v.is_leader_kind())
        .max_by(|(ka, a), (kb, b)| a.term.cmp(&b.term).then(kb.cmp(ka)))
        .map(|(k, _)| k)
}

/// The index range the grid spans, `(lo, hi)`: up to the furthest log end; from the
/// lowest snapshot boundary (a prefix every node has compacted is one column), else 1.
/// `None` when no node holds anything.
pub fn span(rows: &[NodeRow]) -> Option<(u64, u64)> {
    let views = || rows.iter().filter_map(|r| r.view.as_ref());
    let hi = views().map(last_index).max()?;
    if hi == 0 {
        return None;
    }
    let lo = views()
        .map(|v| v.snapshot_index())
        .min()
        .unwrap_or(0)
        .max(1);
    Some((lo, hi.max(lo)))
}

/// The term of the committed entry at `index`, from any node that still holds it in its
/// log and has committed it (committed entries are the same on every node).
pub fn committed_term(rows: &[NodeRow], index: u64) -> Option<u64> {
    rows.iter()
        .filter_map(|r| r.view.as_ref())
        .filter_map(|v| {
            entry_at(v, index).filter(|e| v.commit_index() >= index || e.mark.is_final())
        })
        .next()
        .map(|e| e.term)
}

/// [`span`], stretched to the replaced entries still shown.
pub fn span_with(rows: &[NodeRow], recent: &[Replaced]) -> Option<(u64, u64)> {
    let ghost = recent.iter().map(|r| r.index).max();
    match (span(rows), ghost) {
        (Some((lo, hi)), g) => Some((lo, hi.max(g.unwrap_or(0)))),
        (None, Some(g)) => Some((g, g)),
        (None, None) => None,
    }
}

/// Is `e`, node `row`'s entry, in conflict with `leader`'s log (see the module docs)?
/// Where the leader has compacted the index, the committed entry is looked for in
/// `rows`; when no node holds it any more, the entry is not marked.
pub fn conflicting(row: &NodeView, leader: &NodeView, rows: &[NodeRow], e: &LogEntryView) -> bool {
    if e.index <= row.commit_index() || e.mark.is_final() || e.term == 0 || e.term > leader.term {
        return false;
    }
    if e.index <= leader.snapshot_index() {
        return committed_term(rows, e.index).is_some_and(|t| t != e.term);
    }
    match entry_at(leader, e.index) {
        Some(l) => l.term != e.term,
        // Past the end of the leader's log: conflicting. Within it but not described
        // (the page asked for fewer entries, see `LogWindow`): unknown, not marked.
        None => e.index > last_index(leader),
    }
}

/// Every conflicting entry of every row, as `(row, index, term, what)`: one pass over
/// each row's uncommitted suffix.
pub fn all_conflicts(rows: &[NodeRow]) -> Vec<(usize, u64, u64, String)> {
    let Some(l) = leader(rows) else {
        return Vec::new();
    };
    let Some(lv) = rows[l].view.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        if k == l {
            continue;
        }
        let Some(v) = r.view.as_ref() else { continue };
        let log = v.entries();
        let from = log.partition_point(|e| e.index <= v.commit_index());
        for e in &log[from..] {
            if conflicting(v, lv, rows, e) {
                out.push((k, e.index, e.term, e.what.clone()));
            }
        }
    }
    out
}

/// How the grid scrolls: to follow the newest entries, or with an index pinned at its
/// left edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    Newest,
    From(u64),
}

/// Width of the whole grid's columns, in pixels.
pub fn content_px(lo: u64, hi: u64) -> f64 {
    (hi + 1).saturating_sub(lo) as f64 * CELL_W
}

/// Where the grid should be scrolled to (pixels from its left), for a viewport
/// `viewport_px` wide.
pub fn scroll_target(lo: u64, hi: u64, follow: Follow, viewport_px: f64) -> f64 {
    let max = (content_px(lo, hi) - viewport_px).max(0.0);
    match follow {
        Follow::Newest => max,
        Follow::From(i) => (i.saturating_sub(lo) as f64 * CELL_W).min(max),
    }
}

/// What a scroll by the user means: at the right end, follow the newest entries;
/// elsewhere, keep the index now at the left edge there.
pub fn follow_after_scroll(lo: u64, hi: u64, scroll_px: f64, viewport_px: f64) -> Follow {
    let max = (content_px(lo, hi) - viewport_px).max(0.0);
    if !scroll_px.is_finite() || scroll_px >= max - CELL_W / 2.0 {
        Follow::Newest
    } else {
        Follow::From(lo + (scroll_px.max(0.0) / CELL_W).round() as u64)
    }
}

/// Columns described beyond those in view, either side, so that a scroll shows entries
/// at once (the next frame describes the new ones).
pub const WINDOW_MARGIN: u64 = 16;

/// The log entries the page describes for a grid `viewport_px` wide that follows
/// `follow`: those in view (with a margin), each log's newest ones, and every entry
/// above `above` (the lowest commit index of the running nodes: where the grid looks
/// for conflicts with the leader's log). See [`LogWindow`].
pub fn window(follow: Follow, viewport_px: f64, above: u64) -> LogWindow {
    let cols = if viewport_px.is_finite() {
        (viewport_px.max(0.0) / CELL_W).ceil() as u64
    } else {
        0
    };
    let k = cols + 2 * WINDOW_MARGIN;
    let (from, to) = match follow {
        Follow::Newest => (1, 0),
        Follow::From(i) => (i.saturating_sub(WINDOW_MARGIN), i.saturating_add(k)),
    };
    // Pinned near the end, the grid shows the newest entries: those are kept too.
    LogWindow {
        from,
        to,
        last: k,
        above,
    }
}

/// The lowest commit index among the running nodes that have a log (`None`: none has).
pub fn lowest_commit(rows: &[NodeRow]) -> Option<u64> {
    rows.iter()
        .filter(|r| r.source == Source::Live)
        .filter_map(|r| r.view.as_ref()?.log.as_ref().map(|l| l.commit_index))
        .min()
}

/// The columns to draw, `first..=last`, for a viewport `viewport_px` wide scrolled
/// `scroll_px` from the left (with [`OVERSCAN`] columns either side).
pub fn visible(lo: u64, hi: u64, scroll_px: f64, viewport_px: f64) -> (u64, u64) {
    let scroll = if scroll_px.is_finite() {
        scroll_px.max(0.0)
    } else {
        0.0
    };
    let width = if viewport_px.is_finite() {
        viewport_px.max(0.0)
    } else {
        0.0
    };
    let first = lo.saturating_add((scroll / CELL_W).floor() as u64);
    let first = first.saturating_sub(OVERSCAN).max(lo).min(hi);
    let count = ((width / CELL_W).ceil() as u64).saturating_add(2 * OVERSCAN + 1);
    (first, first.saturating_add(count).min(hi))
}

/// One drawn position of a row.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell<'a> {
    pub index: u64,
    /// 0: a hole (a slot with nothing accepted yet).
    pub term: u64,
    pub what: &'a str,
    /// How far the entry got, as its node says.
    pub mark: Mark,
    /// Committed (or chosen): it can no longer change.
    pub committed: bool,
    pub applied: bool,
    pub conflicting: bool,
    pub struck: bool,
    /// What this position held until the leader replaced it a moment ago.
    pub replaced: Option<&'a Replaced>,
}

/// A conflicting entry that was overwritten (or truncated) a moment ago.
#[derive(Clone, Debug, PartialEq)]
pub struct Replaced {
    pub node: NodeId,
    pub index: u64,
    pub old_term: u64,
    pub old_what: String,
    /// The term now at that index (`None`: truncated, nothing there yet).
    pub new_term: Option<u64>,
    pub at: Time,
}

/// The compacted block of a row, clipped to the drawn columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub from: u64,
    pub to: u64,
    /// The row's snapshot boundary (the block covers every index up to it).
    pub snapshot: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row<'a> {
    pub node: NodeId,
    pub status: RowStatus,
    pub source: Source,
    /// Role as shown: the node's own, or its status when it is not running.
    pub role: String,
    /// Its kind (the label's colour); `Down` when not running.
    pub kind: RoleKind,
    pub term: u64,
    /// What the protocol calls `term` (`term`, `ballot`; empty: none).
    pub epoch: String,
    /// What it calls the committed prefix (`commit`, `chosen`).
    pub commit_label: String,
    pub is_leader: bool,
    pub has_view: bool,
    pub last: u64,
    pub snapshot: u64,
    pub commit: u64,
    pub applied: u64,
    /// `(match, next)` as the leader sees this node.
    pub progress: Option<(u64, u64)>,
    /// Conflicting and struck entries in the whole row (not only the drawn part).
    pub conflicts: usize,
    pub struck: usize,
    pub block: Option<Block>,
    pub cells: Vec<Cell<'a>>,
    /// Entries truncated a moment ago, at indexes the row no longer holds (drawn
    /// struck, as ghosts).
    pub ghosts: Vec<&'a Replaced>,
    /// The row's tooltip.
    pub title: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Grid<'a> {
    /// The whole span, when anything is held.
    pub span: Option<(u64, u64)>,
    /// The drawn columns, `first..=last` (empty when `span` is `None`).
    pub columns: (u64, u64),
    pub leader: Option<NodeId>,
    pub rows: Vec<Row<'a>>,
}

impl Grid<'_> {
    pub fn columns(&self) -> impl Iterator<Item = u64> {
        let (a, b) = self.columns;
        let n = if self.span.is_some() && b >= a {
            b - a + 1
        } else {
            0
        };
        (a..).take(n as usize)
    }
}

/// The grid for `input`, drawing columns `cols` (`first..=last`, see [`visible`]), with
/// the replacements `recent` (from a [`Tracker`]).
pub fn grid<'a>(input: &'a GridInput, cols: (u64, u64), recent: &'a [Replaced]) -> Grid<'a> {
    let rows = &input.rows;
    let span = span_with(rows, recent);
    let lead = leader(rows);
    let lv = lead.and_then(|k| rows[k].view.as_ref());
    let (first, last) = match span {
        Some((lo, hi)) => (cols.0.max(lo), cols.1.min(hi)),
        None => (1, 0),
    };
    let out = rows
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let is_leader = Some(k) == lead;
            let v = r.view.as_ref();
            let (role, kind) = match (r.status, v) {
                (RowStatus::Up, Some(v)) => (v.role.label.clone(), v.role.kind),
                (RowStatus::Up, None) => ("up".to_string(), RoleKind::Neutral),
                (st, _) => (st.name().to_string(), RoleKind::Down),
            };
            let progress = lv.filter(|_| !is_leader).and_then(|lv| {
                lv.log
                    .as_ref()?
                    .progress
                    .iter()
                    .find(|p| p.node == r.node)
                    .map(|p| (p.match_index, p.next_index))
            });
            let mut row = Row {
                node: r.node,
                status: r.status,
                source: r.source,
                role,
                kind,
                term: v.map(|v| v.term).unwrap_or(0),
                epoch: v.map(|v| v.epoch_label.clone()).unwrap_or_default(),
                commit_label: v
                    .and_then(|v| v.log.as_ref())
                    .map(|l| l.commit_label.clone())
                    .unwrap_or_else(|| "commit".into()),
                is_leader,
                has_view: v.is_some(),
                last: v.map(last_index).unwrap_or(0),
                snapshot: v.map(|v| v.snapshot_index()).unwrap_or(0),
                commit: v.map(|v| v.commit_index()).unwrap_or(0),
                applied: v.map(|v| v.applied_index()).unwrap_or(0),
                progress,
                conflicts: 0,
                struck: 0,
                block: None,
                cells: Vec::new(),
                ghosts: Vec::new(),
                title: String::new(),
            };
            let Some(v) = v else {
                row.title = row_title(&row);
                return row;
            };
            let is_conflicting = |e: &LogEntryView| match (lv, is_leader) {
                (Some(lv), false) => conflicting(v, lv, rows, e),
                _ => false,
            };
            let is_struck = |e: &LogEntryView| progress.is_some_and(|(_, next)| next <= e.index);
            // Counts over the whole row: its uncommitted suffix only can conflict.
            let log = v.entries();
            let (snapshot, commit, applied) =
                (v.snapshot_index(), v.commit_index(), v.applied_index());
            let from = log.partition_point(|e| e.index <= commit);
            for e in &log[from..] {
                if is_conflicting(e) {
                    row.conflicts += 1;
                    if is_struck(e) {
                        row.struck += 1;
                    }
                }
            }
            if snapshot >= first && first <= last {
                row.block = Some(Block {
                    from: first,
                    to: snapshot.min(last),
                    snapshot,
                });
            }
            let start = first.max(snapshot + 1);
            let replaced_here = |i: u64| {
                recent
                    .iter()
                    .rev()
                    .find(|x| x.node == r.node && x.index == i)
            };
            if start <= last {
                let lo = log.partition_point(|e| e.index < start);
                for e in log[lo..].iter().take_while(|e| e.index <= last) {
                    let conflicting = is_conflicting(e);
                    row.cells.push(Cell {
                        index: e.index,
                        term: e.term,
                        what: &e.what,
                        mark: e.mark,
                        committed: e.index <= commit || e.mark.is_final(),
                        applied: e.index <= applied || e.mark == Mark::Applied,
                        conflicting,
                        struck: conflicting && is_struck(e),
                        replaced: replaced_here(e.index).filter(|x| x.new_term == Some(e.term)),
                    });
                }
            }
            let held = last_index(v);
            row.ghosts = recent
                .iter()
                .filter(|x| {
                    x.node == r.node && x.index > held && x.index >= first && x.index <= last
                })
                .collect();
            row.title = row_title(&row);
            row
        })
        .collect();
    Grid {
        span,
        columns: (first, last),
        leader: lead.map(|k| rows[k].node),
        rows: out,
    }
}

fn row_title(r: &Row) -> String {
    let mut t = format!("node {}: {}", r.node, r.role);
    if r.has_view {
        if !r.epoch.is_empty() {
            t.push_str(&format!(", {} {}", r.epoch, r.term));
        }
        t.push_str(&format!(
            "; log up to {}, {} {}, applied {}",
            r.last, r.commit_label, r.commit, r.applied
        ));
        if r.snapshot > 0 {
            t.push_str(&format!(", snapshot up to {}", r.snapshot));
        }
    }
    if let Some((m, n)) = r.progress {
        t.push_str(&format!("; the leader's view: match {m}, next {n}"));
    }
    if r.conflicts > 0 {
        t.push_str(&format!(
            "; {} entries conflict with the leader's log{}",
            r.conflicts,
            if r.struck > 0 {
                format!(" ({} about to be replaced)", r.struck)
            } else {
                String::new()
            }
        ));
    }
    match (r.status, r.source) {
        (RowStatus::Crashed, Source::Disk) => t.push_str(
            ". Crashed: this is what its disk holds (commit and applied are volatile: shown as a reboot would start)",
        ),
        (RowStatus::Crashed, _) => t.push_str(". Crashed, with nothing on its disk"),
        (RowStatus::Paused, _) => t.push_str(". Paused: it handles nothing until it resumes"),
        (RowStatus::Spare, _) => t.push_str(". A spare: not running until it is added"),
        _ => {}
    }
    t
}

/// A cell's tooltip.
pub fn cell_title(node: NodeId, epoch: &str, c: &Cell) -> String {
    let epoch = if epoch.is_empty() { "epoch" } else { epoch };
    let mut t = if c.term == 0 {
        format!("node {node} · index {} · {}", c.index, c.what)
    } else {
        format!(
            "node {node} · index {} · {epoch} {} · {}",
            c.index, c.term, c.what
        )
    };
    match c.mark {
        Mark::Promised | Mark::Accepted | Mark::Chosen => {
            t.push_str(" · ");
            t.push_str(c.mark.name());
        }
        _ => t.push_str(if c.committed {
            " · committed"
        } else {
            " · not committed"
        }),
    }
    if c.applied {
        t.push_str(", applied");
    }
    if c.struck {
        t.push_str(" · conflicts with the leader's log: its next append replaces it");
    } else if c.conflicting {
        t.push_str(" · conflicts with the leader's log");
    }
    if let Some(r) = c.replaced {
        t.push_str(&format!(
            " · replaced term {} `{}` at {:.1} ms",
            r.old_term,
            r.old_what,
            r.at as f64 / MS as f64
        ));
    }
    t
}

/// Remembers, between observations, which conflicting entries were replaced.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    revision: u64,
    now: Time,
    /// Conflicting entries at the last observation: `(node, index, term, what)`.
    pending: Vec<(NodeId, u64, u64, String)>,
    recent: Vec<Replaced>,
}

impl Tracker {
    /// Look at the grid's input at its moment; call once per new input.
    pub fn observe(&mut self, input: &GridInput) {
        if input.revision != self.revision || input.now < self.now {
            // Another run, or back in time: what was seen is not history any more.
            self.pending.clear();
            self.recent.clear();
            self.revision = input.revision;
        }
        self.now = input.now;
        for (node, index, term, what) in self.pending.drain(..) {
            let Some(r) = input.rows.get(node as usize) else {
                continue;
            };
            // Only a running node's log being rewritten counts (not a crash or a boot).
            let (Source::Live, Some(v)) = (r.source, r.view.as_ref()) else {
                continue;
            };
            let new_term = match entry_at(v, index) {
                Some(e) if e.term == term => continue,
                Some(e) => Some(e.term),
                None if index <= v.snapshot_index() => continue,
                None => None,
            };
            self.recent.push(Replaced {
                node,
                index,
                old_term: term,
                old_what: what,
                new_term,
                at: input.now,
            });
        }
        let now = input.now;
        self.recent
            .retain(|r| now.saturating_sub(r.at) <= REPLACED_SHOW);
        self.pending = all_conflicts(&input.rows)
            .into_iter()
            .filter(|(k, ..)| input.rows[*k].source == Source::Live)
            .map(|(k, i, t, w)| (input.rows[k].node, i, t, w))
            .collect();
    }

    /// Entries replaced within the last [`REPLACED_SHOW`].
    pub fn recent(&self) -> &[Replaced] {
        &self.recent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::session::Session;
    use quorumlab_core::{LogSection, ProgressView};
    use quorumlab_sim::Scenario;

    fn entries(from: u64, terms: &[u64]) -> Vec<LogEntryView> {
        terms
            .iter()
            .enumerate()
            .map(|(k, &t)| LogEntryView {
                index: from + k as u64,
                term: t,
                what: format!("x={}", from + k as u64),
                mark: Mark::Open,
            })
            .collect()
    }

    fn view(role: &str, term: u64, snap: u64, terms: &[u64], commit: u64) -> NodeView {
        let kind = match role {
            "leader" => RoleKind::Leader,
            "follower" => RoleKind::Follower,
            _ => RoleKind::Neutral,
        };
        NodeView {
            role: quorumlab_core::Role::new(role, kind),
            term,
            epoch_label: "term".into(),
            log: Some(LogSection {
                entries: entries(snap + 1, terms),
                snapshot_index: snap,
                commit_index: commit,
                applied_index: commit,
                commit_label: "commit".into(),
                progress: Vec::new(),
                epoch_starts: Vec::new(),
            }),
            ..NodeView::default()
        }
    }

    fn row(node: NodeId, v: NodeView) -> NodeRow {
        NodeRow {
            node,
            status: RowStatus::Up,
            source: Source::Live,
            view: Some(v),
        }
    }

    /// Node 0 leads in term 3 with [1 1 3 3 3]; node 1 is an old leader with
    /// [1 1 2 2 2 2] (committed up to 2); node 2 follows, in step.
    fn diverged() -> GridInput {
        let mut l = view("leader", 3, 0, &[1, 1, 3, 3, 3], 4);
        l.log.as_mut().unwrap().progress = vec![
            ProgressView {
                node: 1,
                match_index: 2,
                next_index: 5,
            },
            ProgressView {
                node: 2,
                match_index: 5,
                next_index: 6,
            },
        ];
        GridInput {
            rows: vec![
                row(0, l),
                row(1, view("leader", 2, 0, &[1, 1, 2, 2, 2, 2], 2)),
                row(2, view("follower", 3, 0, &[1, 1, 3, 3, 3], 4)),
            ],
            now: 1000,
            revision: 1,
        }
    }

    #[test]
    fn the_leader_is_the_live_one_in_the_highest_term() {
        let mut inp = diverged();
        assert_eq!(leader(&inp.rows), Some(0));
        inp.rows[0].status = RowStatus::Crashed;
        inp.rows[0].source = Source::Disk;
        assert_eq!(
            leader(&inp.rows),
            Some(1),
            "a crashed node's disk never leads"
        );
        inp.rows[1].view.as_mut().unwrap().role =
            quorumlab_core::Role::new("follower", RoleKind::Follower);
        assert_eq!(leader(&inp.rows), None);
    }

    #[test]
    fn conflicting_entries_are_those_the_leader_will_replace() {
        let inp = diverged();
        let g = grid(&inp, (1, 100), &[]);
        assert_eq!(g.span, Some((1, 6)));
        assert_eq!(g.columns, (1, 6));
        assert_eq!(g.leader, Some(0));
        let old = &g.rows[1];
        let flags: Vec<(u64, bool, bool)> = old
            .cells
            .iter()
            .map(|c| (c.index, c.conflicting, c.struck))
            .collect();
        // 3..=5 differ in term; 6 is beyond the leader's log; struck from next = 5 on.
        assert_eq!(
            flags,
            vec![
                (1, false, false),
                (2, false, false),
                (3, true, false),
                (4, true, false),
                (5, true, true),
                (6, true, true)
            ]
        );
        assert_eq!((old.conflicts, old.struck), (4, 2));
        assert_eq!(old.progress, Some((2, 5)));
        assert!(old.title.contains("4 entries conflict"), "{}", old.title);
        assert!(g.rows[2].cells.iter().all(|c| !c.conflicting));
        assert_eq!(g.rows[2].progress, Some((5, 6)));
        assert!(g.rows[0].is_leader && g.rows[0].progress.is_none());
        assert_eq!(all_conflicts(&inp.rows).len(), 4);
        // Committed marks.
        let committed: Vec<bool> = g.rows[0].cells.iter().map(|c| c.committed).collect();
        assert_eq!(committed, vec![true, true, true, true, false]);
    }

    #[test]
    fn committed_compacted_and_newer_term_entries_never_conflict() {
        // The follower committed up to 4: nothing there can conflict.
        let l = view("leader", 3, 0, &[1, 1, 3], 3);
        let f = view("follower", 3, 0, &[1, 1, 2, 2], 4);
        assert!(!conflicting(&f, &l, &[], &f.entries()[2]));
        // Below the leader's snapshot: compared with a node that still holds the
        // committed entry, else not marked.
        let l = view("leader", 3, 5, &[3], 6);
        let f = view("follower", 3, 0, &[1, 1, 2, 2, 2, 2], 0);
        assert!(!conflicting(&f, &l, &[], &f.entries()[4]));
        let other = row(9, view("follower", 3, 0, &[1, 1, 3, 3, 3, 3], 5));
        assert!(conflicting(
            &f,
            &l,
            std::slice::from_ref(&other),
            &f.entries()[4]
        ));
        assert_eq!(committed_term(std::slice::from_ref(&other), 5), Some(3));
        assert_eq!(
            committed_term(std::slice::from_ref(&other), 6),
            None,
            "not committed there"
        );
        assert!(conflicting(&f, &l, &[], &f.entries()[5]));
        // A term above the leader's: the leader is stale, not the entry.
        let f = view("follower", 4, 0, &[1, 1, 1, 1, 1, 1, 4], 0);
        assert!(!conflicting(&f, &l, &[], &f.entries()[6]));
    }

    #[test]
    fn the_snapshot_is_one_block_clipped_to_the_drawn_columns() {
        let inp = GridInput {
            rows: vec![
                row(0, view("leader", 2, 50, &[2; 30], 80)),
                row(1, view("follower", 2, 0, &[1; 20], 20)),
                row(2, view("follower", 2, 60, &[2; 20], 80)),
            ],
            now: 0,
            revision: 1,
        };
        let g = grid(&inp, (40, 70), &[]);
        assert_eq!(g.span, Some((1, 80)));
        let b = g.rows[0].block.clone().unwrap();
        assert_eq!((b.from, b.to, b.snapshot), (40, 50, 50));
        assert_eq!(g.rows[0].cells.first().unwrap().index, 51);
        assert_eq!(g.rows[0].cells.last().unwrap().index, 70);
        assert!(g.rows[1].block.is_none());
        assert!(
            g.rows[1].cells.is_empty(),
            "node 1 holds nothing from 40 on"
        );
        assert_eq!(g.rows[2].block.clone().unwrap().to, 60);
        // Once every node compacted, the common prefix is a single column.
        let mut inp2 = inp.clone();
        inp2.rows[1] = row(1, view("follower", 2, 50, &[2; 30], 80));
        let g = grid(&inp2, (1, 1000), &[]);
        assert_eq!(g.span, Some((50, 80)));
        assert_eq!(g.columns, (50, 80));
        assert_eq!(g.rows[1].block.clone().unwrap().to, 50);
        assert_eq!(g.columns().count(), 31);
    }

    #[test]
    fn nothing_held_is_an_empty_grid() {
        let inp = GridInput {
            rows: vec![
                row(0, view("up", 0, 0, &[], 0)),
                NodeRow {
                    node: 1,
                    status: RowStatus::Spare,
                    source: Source::Nothing,
                    view: None,
                },
            ],
            now: 0,
            revision: 1,
        };
        let g = grid(&inp, (0, 50), &[]);
        assert_eq!(g.span, None);
        assert_eq!(g.columns().count(), 0);
        assert_eq!(g.rows.len(), 2);
        assert_eq!(g.rows[1].role, "spare");
        assert!(g.rows[1].title.contains("spare"));
    }

    #[test]
    fn scrolling_follows_the_newest_or_keeps_a_pinned_index() {
        let (lo, hi) = (1, 1000);
        let vp = 10.0 * CELL_W;
        let max = 990.0 * CELL_W;
        assert_eq!(scroll_target(lo, hi, Follow::Newest, vp), max);
        assert_eq!(scroll_target(lo, hi, Follow::From(101), vp), 100.0 * CELL_W);
        assert_eq!(scroll_target(lo, hi, Follow::From(5000), vp), max);
        assert_eq!(
            scroll_target(lo, 5, Follow::Newest, vp),
            0.0,
            "fits: no scroll"
        );
        assert_eq!(follow_after_scroll(lo, hi, max, vp), Follow::Newest);
        assert_eq!(
            follow_after_scroll(lo, hi, 100.0 * CELL_W, vp),
            Follow::From(101)
        );
        // A pinned index scrolled to reads back as the same pin.
        let t = scroll_target(lo, hi, Follow::From(333), vp);
        assert_eq!(follow_after_scroll(lo, hi, t, vp), Follow::From(333));
        // Only the columns in view (and a few either side) are drawn.
        let (a, b) = visible(lo, hi, max, vp);
        assert_eq!(b, 1000);
        assert!(b - a <= 10 + 2 * OVERSCAN + 1);
        let (a, b) = visible(lo, hi, 100.0 * CELL_W, vp);
        assert_eq!(
            (a, b),
            (101 - OVERSCAN, 101 - OVERSCAN + 10 + 2 * OVERSCAN + 1)
        );
        assert_eq!(visible(lo, hi, f64::NAN, f64::INFINITY).0, 1);
    }

    #[test]
    fn many_nodes_and_a_long_log_cost_only_the_drawn_columns() {
        let rows: Vec<NodeRow> = (0..25)
            .map(|i| {
                row(
                    i,
                    view(
                        if i == 0 { "leader" } else { "follower" },
                        1,
                        0,
                        &[1; 5000],
                        4990,
                    ),
                )
            })
            .collect();
        let inp = GridInput {
            rows,
            now: 0,
            revision: 1,
        };
        let (lo, hi) = span(&inp.rows).unwrap();
        let g = grid(&inp, visible(lo, hi, f64::MAX, 800.0), &[]);
        assert_eq!(g.rows.len(), 25);
        assert!(g.rows.iter().all(|r| r.cells.len() < 50));
        assert_eq!(g.rows[3].cells.last().unwrap().index, 5000);
    }

    #[test]
    fn the_tracker_sees_conflicting_entries_replaced_and_truncated() {
        let mut tr = Tracker::default();
        let mut inp = diverged();
        tr.observe(&inp);
        assert!(tr.recent().is_empty());
        // The leader's append arrives: 3..=5 overwritten with term 3, 6 truncated.
        inp.now += 5 * MS;
        inp.rows[1].view = Some(view("follower", 3, 0, &[1, 1, 3, 3, 3], 4));
        tr.observe(&inp);
        let r: Vec<(u64, u64, Option<u64>)> = tr
            .recent()
            .iter()
            .map(|r| (r.index, r.old_term, r.new_term))
            .collect();
        assert_eq!(
            r,
            vec![
                (3, 2, Some(3)),
                (4, 2, Some(3)),
                (5, 2, Some(3)),
                (6, 2, None)
            ]
        );
        let g = grid(&inp, (1, 10), tr.recent());
        assert!(g.rows[1].cells[2].replaced.is_some());
        assert!(cell_title(1, "term", &g.rows[1].cells[2]).contains("replaced term 2"));
        assert_eq!(g.rows[1].ghosts.len(), 1, "index 6 is a ghost");
        // A while later they are no longer shown; back in time, nothing is remembered.
        inp.now += REPLACED_SHOW + MS;
        tr.observe(&inp);
        assert!(tr.recent().is_empty());
        tr.observe(&diverged());
        assert!(tr.recent().is_empty());
    }

    #[test]
    fn a_crash_is_not_a_replacement() {
        let mut tr = Tracker::default();
        let mut inp = diverged();
        tr.observe(&inp);
        inp.now += MS;
        inp.rows[1].status = RowStatus::Crashed;
        inp.rows[1].source = Source::Nothing;
        inp.rows[1].view = None;
        tr.observe(&inp);
        assert!(tr.recent().is_empty());
    }

    fn run_to(s: &mut Session, ms: u64) -> GridInput {
        s.advance_to(ms * MS, u64::MAX);
        GridInput::of(s.engine().unwrap(), s.revision())
    }

    #[test]
    fn the_divergence_preset_conflicts_before_the_heal_and_is_repaired_after() {
        let sc: Scenario = quorumlab_sim::scenario::load(include_str!(
            "../../../scenarios/raft-log-divergence.json"
        ))
        .unwrap();
        let mut s = Session::with_record(sc, 0);
        // Node 2 is isolated at 1.5 s; at 3.59 s it appends a write it cannot commit; the
        // heal is at 4 s.
        let before = run_to(&mut s, 3_900);
        let g = grid(&before, (1, u64::MAX), &[]);
        assert_ne!(g.leader, Some(2));
        let old = &g.rows[2];
        assert!(
            old.conflicts > 0,
            "node 2 holds entries the new leader lacks: {}",
            old.title
        );
        assert!(old.cells.iter().any(|c| c.conflicting));
        assert!(old
            .cells
            .iter()
            .filter(|c| c.conflicting)
            .all(|c| !c.committed));
        let conflicted: Vec<(u64, u64)> = old
            .cells
            .iter()
            .filter(|c| c.conflicting)
            .map(|c| (c.index, c.term))
            .collect();
        // Watch the heal in 1 ms steps: the conflicting entries get replaced.
        let mut tr = Tracker::default();
        tr.observe(&before);
        let mut seen = Vec::new();
        for ms in 3_990..4_600 {
            let inp = run_to(&mut s, ms);
            tr.observe(&inp);
            seen.extend(tr.recent().iter().filter(|r| r.node == 2).map(|r| r.index));
        }
        seen.sort_unstable();
        seen.dedup();
        for (i, _) in &conflicted {
            assert!(seen.contains(i), "index {i} was seen replaced: {seen:?}");
        }
        let after = run_to(&mut s, 6_000);
        let g = grid(&after, (1, u64::MAX), &[]);
        let lead = g.leader.unwrap() as usize;
        assert_eq!(g.rows[2].conflicts, 0, "{}", g.rows[2].title);
        for (i, old_term) in conflicted {
            let now = g.rows[2].cells.iter().find(|c| c.index == i).unwrap();
            let theirs = g.rows[lead].cells.iter().find(|c| c.index == i).unwrap();
            assert_eq!(
                now.term, theirs.term,
                "index {i} now holds the leader's entry"
            );
            assert_ne!(now.term, old_term);
        }
    }

    /// The grid drawn from views that describe only a window of each log is the grid
    /// drawn from full views, in the columns in view: cells, conflicts, rows' numbers.
    fn same_in_view(full: &GridInput, part: &GridInput, cols: (u64, u64)) {
        let (a, b) = (grid(full, cols, &[]), grid(part, cols, &[]));
        assert_eq!(a.leader, b.leader);
        assert_eq!(a.columns, b.columns);
        for (x, y) in a.rows.iter().zip(&b.rows) {
            assert_eq!(x.cells, y.cells, "node {} in {cols:?}", x.node);
            assert_eq!(
                (x.last, x.commit, x.applied, x.snapshot, x.conflicts),
                (y.last, y.commit, y.applied, y.snapshot, y.conflicts),
                "node {}",
                x.node
            );
        }
        assert_eq!(all_conflicts(&full.rows), all_conflicts(&part.rows));
    }

    #[test]
    fn a_window_of_each_log_draws_the_same_grid_in_view() {
        for (name, text) in [
            (
                "raft-log-divergence",
                include_str!("../../../scenarios/raft-log-divergence.json"),
            ),
            (
                "multi-paxos-leader-crash",
                include_str!("../../../scenarios/multi-paxos-leader-crash.json"),
            ),
        ] {
            let sc: Scenario = quorumlab_sim::scenario::load(text).unwrap();
            let mut s = Session::with_record(sc, 0);
            for ms in [1_000, 3_900, 4_300, 6_000] {
                let full = run_to(&mut s, ms);
                let e = s.engine().unwrap();
                let above = lowest_commit(&full.rows).unwrap_or(0);
                let (lo, hi) = span(&full.rows).unwrap_or((1, 0));
                // Following the newest, and pinned at the start, 240 px wide (10 columns).
                for follow in [Follow::Newest, Follow::From(lo)] {
                    let w = window(follow, 240.0, above);
                    let part = GridInput::window(e, s.revision(), w);
                    let target = scroll_target(lo, hi, follow, 240.0);
                    let cols = visible(lo, hi, target, 240.0);
                    same_in_view(&full, &part, cols);
                    // The protocol's own window is the full view trimmed.
                    let mut trimmed = e.views();
                    for v in trimmed.iter_mut().flatten() {
                        w.trim(v);
                    }
                    assert_eq!(e.views_window(w), trimmed, "{name} at {ms} ms");
                }
            }
        }
    }

    #[test]
    fn a_long_log_is_described_only_where_the_grid_looks() {
        let mut sc = crate::ui::gallery::default_scenario();
        sc.duration_ms = 10_000;
        // No compaction: every entry stays in the logs.
        sc.protocol.params = serde_json::json!({ "snapshot_threshold": 1_000_000 });
        let w = sc.workload.as_mut().unwrap();
        (w.clients, w.rate) = (10, 50.0);
        let mut s = Session::with_record(sc, 0);
        let full = run_to(&mut s, 8_000);
        let e = s.engine().unwrap();
        let above = lowest_commit(&full.rows).unwrap();
        let part = GridInput::window(e, s.revision(), window(Follow::Newest, 240.0, above));
        let held = |g: &GridInput| {
            g.rows
                .iter()
                .filter_map(|r| r.view.as_ref())
                .map(|v| v.entries().len())
                .sum::<usize>()
        };
        let (lo, hi) = span(&full.rows).unwrap();
        assert!(hi > 500, "a long log: {hi}");
        // Each log's newest 10 + 2 x 16 columns and its uncommitted suffix, not all of it.
        assert!(
            held(&part) * 5 < held(&full),
            "{} of {}",
            held(&part),
            held(&full)
        );
        let cols = visible(lo, hi, scroll_target(lo, hi, Follow::Newest, 240.0), 240.0);
        same_in_view(&full, &part, cols);
    }

    #[test]
    fn multi_paxos_slots_fill_the_same_grid() {
        let sc: Scenario = quorumlab_sim::scenario::load(include_str!(
            "../../../scenarios/multi-paxos-leader-crash.json"
        ))
        .unwrap();
        let mut s = Session::with_record(sc, 0);
        let mut tr = Tracker::default();
        let mut crashed_seen = false;
        let end = s.end() / MS;
        for ms in (0..=end).step_by(50) {
            let inp = run_to(&mut s, ms);
            tr.observe(&inp);
            let (lo, hi) = span_with(&inp.rows, tr.recent()).unwrap_or((1, 0));
            let g = grid(&inp, visible(lo, hi, f64::MAX, 600.0), tr.recent());
            assert_eq!(g.rows.len(), inp.rows.len());
            crashed_seen |= g.rows.iter().any(|r| r.status == RowStatus::Crashed);
            for r in &g.rows {
                assert!(r.cells.windows(2).all(|w| w[0].index < w[1].index));
            }
        }
        let inp = GridInput::of(s.engine().unwrap(), s.revision());
        let g = grid(&inp, (1, u64::MAX), &[]);
        assert!(g.leader.is_some(), "a leader at the end");
        assert!(g.span.is_some_and(|(_, hi)| hi > 5), "slots were filled");
        let lead = g.rows.iter().find(|r| r.is_leader).unwrap();
        assert!(lead.cells.iter().any(|c| c.committed && c.term > 0));
        assert!(crashed_seen, "the leader's crash shows as a crashed row");
    }

    #[test]
    fn the_snapshot_preset_shows_a_compacted_block_and_a_crashed_disk() {
        let sc: Scenario = quorumlab_sim::scenario::load(include_str!(
            "../../../scenarios/raft-snapshot-catchup.json"
        ))
        .unwrap();
        let mut s = Session::with_record(sc, 0);
        let inp = run_to(&mut s, 3_900);
        let g = grid(&inp, (1, u64::MAX), &[]);
        let lead = g.leader.unwrap() as usize;
        let b = g.rows[lead].block.clone().expect("the leader compacted");
        assert!(b.snapshot >= 20 && b.from == g.span.unwrap().0, "{b:?}");
        // The follower the preset cuts off (chosen by the seed) lags behind the snapshot.
        let cut = g
            .rows
            .iter()
            .min_by_key(|r| r.last)
            .map(|r| r.node as usize)
            .unwrap();
        assert!(
            g.rows[cut].last < b.snapshot,
            "node {cut} lags behind the snapshot"
        );
        let after = run_to(&mut s, 7_000);
        let g = grid(&after, (1, u64::MAX), &[]);
        assert!(
            g.rows[cut].snapshot > 0,
            "node {cut} caught up from a snapshot"
        );
        // A crash: the row keeps what the disk holds.
        s.act(quorumlab_sim::scenario::FaultKind::Crash {
            node: (cut as NodeId).into(),
        })
        .unwrap();
        let inp = run_to(&mut s, 7_100);
        let r = &inp.rows[cut];
        assert_eq!((r.status, r.source), (RowStatus::Crashed, Source::Disk));
        let g = grid(&inp, (1, u64::MAX), &[]);
        assert!(g.rows[cut].last > 20 && g.rows[cut].snapshot > 0);
        assert!(g.rows[cut].title.contains("disk"));
    }

    /// Multi-Paxos's slot table reaches the grid with its marks: chosen slots are drawn
    /// committed, slots only accepted (phase 2 under way) are not, and tooltips speak of
    /// ballots, not terms.
    #[test]
    fn multi_paxos_slots_show_chosen_and_accepted_marks() {
        let sc: Scenario = quorumlab_sim::scenario::load(include_str!(
            "../../../scenarios/multi-paxos-leader-crash.json"
        ))
        .unwrap();
        let mut s = Session::with_record(sc, 0);
        let (mut chosen, mut accepted) = (0, 0);
        for ms in (100..=3_000).step_by(50) {
            let inp = run_to(&mut s, ms);
            let g = grid(&inp, (1, u64::MAX), &[]);
            for r in g.rows.iter().filter(|r| r.status == RowStatus::Up) {
                assert_eq!(r.epoch, "ballot");
                assert_eq!(r.commit_label, "chosen");
                for c in &r.cells {
                    match c.mark {
                        Mark::Chosen => {
                            chosen += 1;
                            assert!(c.committed, "node {}: slot {}", r.node, c.index);
                        }
                        Mark::Accepted => {
                            accepted += 1;
                            assert!(
                                !c.committed && !c.applied,
                                "node {}: slot {}",
                                r.node,
                                c.index
                            );
                            assert!(cell_title(r.node, &r.epoch, c).contains("· accepted"));
                        }
                        _ => {}
                    }
                    if c.term > 0 {
                        assert!(cell_title(r.node, &r.epoch, c).contains(" · ballot "));
                    }
                }
            }
        }
        assert!(chosen > 100, "{chosen} chosen cells seen");
        assert!(
            accepted > 0,
            "no slot was ever seen accepted and not yet chosen"
        );
    }
}
