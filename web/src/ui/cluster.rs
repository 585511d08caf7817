//! The cluster table (issue 21): one row per node with its role, epoch, whom it
//! follows or voted for, commit, applied, log length, snapshot, lag behind the leader,
//! clock offset, and the protocol's own labelled fields. Pure: built from the same rows
//! the log grid draws ([`GridInput`]) and tested natively; `table_view.rs` only draws it.

use super::log_grid::{last_index, leader, GridInput, NodeRow, RowStatus, Source};
use quorumlab_core::NodeId;
use std::cmp::Ordering;

/// One cell's value: numbers sort as numbers, words as words, and empty cells last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    Num(u64),
    /// Microseconds, shown in milliseconds with a sign (a clock offset).
    Us(i64),
    Text(String),
    None,
}

impl Val {
    pub fn show(&self) -> String {
        match self {
            Val::Num(n) => n.to_string(),
            Val::Us(us) => {
                let (sign, a) = (if *us < 0 { '-' } else { '+' }, us.unsigned_abs());
                format!("{sign}{}.{} ms", a / 1000, a % 1000 / 100)
            }
            Val::Text(t) => t.clone(),
            Val::None => "—".into(),
        }
    }

    fn order(&self, other: &Val) -> Ordering {
        let rank = |v: &Val| match v {
            Val::Num(_) | Val::Us(_) => 0,
            Val::Text(_) => 1,
            Val::None => 2,
        };
        match (self, other) {
            (Val::Num(a), Val::Num(b)) => a.cmp(b),
            (Val::Us(a), Val::Us(b)) => a.cmp(b),
            (Val::Text(a), Val::Text(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

/// The fixed columns; the protocol's fields follow them.
pub const FIXED: [&str; 10] = [
    "node", "role", "", "follows", "commit", "applied", "log", "snapshot", "lag", "clock",
];
/// Column of the epoch, headed by the protocol's word for it (`term`, `ballot`).
pub const EPOCH: usize = 2;

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub node: NodeId,
    pub status: RowStatus,
    /// The row of the leader the lag is measured against.
    pub leader: bool,
    /// One value per column of [`Table::columns`].
    pub cells: Vec<Val>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Column headings: [`FIXED`] (the epoch's named by the protocol), then the
    /// protocol's field labels in the order the views first show them.
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

/// The table of a run's rows as they stand, `offsets` the nodes' clock offsets (µs).
pub fn table(input: &GridInput, offsets: &[i64]) -> Table {
    let views = || input.rows.iter().filter_map(|r| r.view.as_ref());
    let epoch = views()
        .map(|v| v.epoch_label.as_str())
        .find(|l| !l.is_empty())
        .unwrap_or("epoch");
    let mut fields: Vec<&str> = Vec::new();
    for v in views() {
        for (k, _) in &v.fields {
            if !fields.contains(&k.as_str()) {
                fields.push(k);
            }
        }
    }
    let lead = leader(&input.rows);
    let lead_end = lead.and_then(|k| input.rows[k].view.as_ref().map(last_index));
    let rows = input
        .rows
        .iter()
        .enumerate()
        .map(|(k, r)| Row {
            node: r.node,
            status: r.status,
            leader: lead == Some(k),
            cells: cells(r, &fields, lead_end, offsets),
        })
        .collect();
    let mut columns: Vec<String> = FIXED.iter().map(|c| c.to_string()).collect();
    columns[EPOCH] = epoch.to_string();
    columns.extend(fields.iter().map(|f| f.to_string()));
    Table { columns, rows }
}

fn cells(r: &NodeRow, fields: &[&str], lead_end: Option<u64>, offsets: &[i64]) -> Vec<Val> {
    let num = |x: Option<u64>| x.map_or(Val::None, Val::Num);
    let v = r.view.as_ref();
    let log = v.filter(|v| v.log.is_some());
    // A crashed node's row shows what its disk holds; its role is its status.
    let role = match (r.status, r.source, v) {
        (RowStatus::Up | RowStatus::Paused, Source::Live, Some(v)) => v.role.label.clone(),
        _ => r.status.name().to_string(),
    };
    let follows = v.map_or(Val::None, |v| match (v.follows(), v.field("voted for")) {
        (Some(n), _) => Val::Num(n as u64),
        (None, Some(f)) if f != "—" => Val::Text(format!("voted {f}")),
        _ => Val::None,
    });
    let mut out = vec![
        Val::Num(r.node as u64),
        Val::Text(role),
        match v {
            Some(v) if !v.epoch_text.is_empty() => Val::Text(v.epoch_text.clone()),
            _ => num(v.map(|v| v.term)),
        },
        follows,
        num(log.map(|v| v.commit_index())),
        num(log.map(|v| v.applied_index())),
        num(log.map(last_index)),
        num(log.map(|v| v.snapshot_index())),
        num(log
            .filter(|_| r.source == Source::Live)
            .and_then(|v| Some(lead_end?.saturating_sub(last_index(v))))),
        offsets
            .get(r.node as usize)
            .filter(|_| r.status != RowStatus::Crashed)
            .map_or(Val::None, |&o| Val::Us(o)),
    ];
    out.extend(fields.iter().map(|f| {
        v.and_then(|v| v.field(f))
            .map_or(Val::None, |x| Val::Text(x.into()))
    }));
    out
}

/// Sort rows by column `col` (descending if `desc`); ties keep node order. Empty cells
/// stay last either way. An insertion sort: a table has at most a few dozen rows, and
/// the standard library's sorts cost the page kilobytes.
pub fn sort(rows: &mut [Row], col: usize, desc: bool) {
    let before = |a: &Row, b: &Row| {
        let (x, y) = (a.cells.get(col), b.cells.get(col));
        let o = match (x.unwrap_or(&Val::None), y.unwrap_or(&Val::None)) {
            (Val::None, Val::None) => Ordering::Equal,
            (Val::None, _) => Ordering::Greater,
            (_, Val::None) => Ordering::Less,
            (x, y) if desc => y.order(x),
            (x, y) => x.order(y),
        };
        o.then(a.node.cmp(&b.node)) == Ordering::Less
    };
    for i in 1..rows.len() {
        let mut j = i;
        while j > 0 && before(&rows[j], &rows[j - 1]) {
            rows.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// The sort after a click on column `col`: the same column flips its direction, another
/// starts ascending.
pub fn clicked(current: (usize, bool), col: usize) -> (usize, bool) {
    if current.0 == col {
        (col, !current.1)
    } else {
        (col, false)
    }
}

/// What the table shows besides the rows: the sort, the node under the mouse, the
/// selected node.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Marks {
    pub sort: (usize, bool),
    pub hover: Option<NodeId>,
    pub selected: Option<NodeId>,
}

/// Text for HTML (every value may come from a stranger's scenario).
fn esc(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// The table as HTML (sorted as `m.sort` says): drawn as one string, far smaller in
/// the page's WebAssembly than a tree of components. Headings carry `data-sort` (the column), rows
/// `data-node`, `data-status`, `data-hover`, `data-leader` and `data-sel`; cells are in
/// column order.
pub fn html(mut t: Table, m: Marks) -> String {
    use std::fmt::Write;
    let (col, desc) = m.sort;
    sort(&mut t.rows, col, desc);
    let mut out = String::from("<table><thead><tr>");
    for (k, c) in t.columns.iter().enumerate() {
        let arrow = match (col == k, desc) {
            (false, _) => "",
            (true, false) => " ▲",
            (true, true) => " ▼",
        };
        let _ = write!(out, "<th data-sort=\"{k}\" title=\"sort\">");
        esc(&mut out, c);
        let _ = write!(out, "{arrow}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        let _ = write!(
            out,
            "<tr data-node=\"{}\" data-status=\"{}\" data-hover=\"{}\" data-leader=\"{}\" data-sel=\"{}\">",
            r.node,
            r.status.name(),
            m.hover == Some(r.node),
            r.leader,
            m.selected == Some(r.node),
        );
        for v in &r.cells {
            out.push_str("<td>");
            esc(&mut out, &v.show());
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::session::Session;
    use quorumlab_sim::Scenario;

    fn preset(name: &str) -> Scenario {
        let text = std::fs::read_to_string(format!(
            "{}/../scenarios/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("preset");
        quorumlab_sim::scenario::load(&text).expect("valid")
    }

    fn at(name: &str, ms: u64) -> (GridInput, Vec<i64>) {
        let mut s = Session::new(preset(name));
        s.advance_to(ms * 1000, u64::MAX);
        let e = s.engine().expect("runs");
        (GridInput::of(e, 0), e.clock_offsets())
    }

    fn col(t: &Table, name: &str) -> usize {
        t.columns.iter().position(|c| c == name).expect(name)
    }

    #[test]
    fn one_row_per_node_with_the_leaders_numbers_and_the_followers_lag() {
        let (input, offsets) = at("raft-leader-crash.json", 700);
        let t = table(&input, &offsets);
        assert_eq!(t.rows.len(), input.rows.len());
        assert_eq!(t.columns[EPOCH], "term");
        // Raft's own fields follow the fixed columns.
        assert!(
            t.columns.iter().any(|c| c == "voted for"),
            "{:?}",
            t.columns
        );
        let leaders: Vec<&Row> = t.rows.iter().filter(|r| r.leader).collect();
        assert_eq!(leaders.len(), 1, "one leader at 700 ms");
        let l = leaders[0];
        assert_eq!(l.cells[1], Val::Text("leader".into()));
        assert_eq!(l.cells[col(&t, "lag")], Val::Num(0));
        let log = col(&t, "log");
        let Val::Num(lead_end) = l.cells[log] else {
            panic!("the leader has a log")
        };
        for r in &t.rows {
            let (Val::Num(end), Val::Num(lag)) = (&r.cells[log], &r.cells[col(&t, "lag")]) else {
                panic!("node {} has a log and a lag", r.node)
            };
            assert_eq!(end + lag, lead_end.max(*end), "node {}", r.node);
            if !r.leader {
                assert_eq!(
                    r.cells[3],
                    Val::Num(l.node as u64),
                    "node {} follows",
                    r.node
                );
            }
            let (Val::Num(c), Val::Num(a)) = (&r.cells[4], &r.cells[5]) else {
                panic!("commit and applied")
            };
            assert!(
                a <= c && *c <= *end,
                "node {}: applied {a} commit {c} log {end}",
                r.node
            );
        }
    }

    #[test]
    fn a_crashed_node_shows_its_status_and_no_lag_or_clock() {
        let s = preset("raft-leader-crash.json");
        let crash = s
            .faults
            .iter()
            .find(|f| f.kind.name() == "crash")
            .expect("the preset crashes a node")
            .at_ms;
        let (input, offsets) = at("raft-leader-crash.json", crash + 50);
        let t = table(&input, &offsets);
        let r = t
            .rows
            .iter()
            .find(|r| r.status == RowStatus::Crashed)
            .expect("a crashed row");
        assert_eq!(r.cells[1], Val::Text("crashed".into()));
        assert_eq!(r.cells[col(&t, "lag")], Val::None);
        assert_eq!(r.cells[col(&t, "clock")], Val::None);
        assert!(!r.leader);
    }

    #[test]
    fn sorting_by_a_column_orders_numbers_as_numbers_and_keeps_empty_cells_last() {
        let row = |node: NodeId, v: Val| Row {
            node,
            status: RowStatus::Up,
            leader: false,
            cells: vec![Val::Num(node as u64), v],
        };
        let mut rows = vec![
            row(0, Val::Num(9)),
            row(1, Val::None),
            row(2, Val::Num(10)),
            row(3, Val::Num(9)),
        ];
        sort(&mut rows, 1, false);
        let ids = |rows: &[Row]| rows.iter().map(|r| r.node).collect::<Vec<_>>();
        assert_eq!(ids(&rows), [0, 3, 2, 1]);
        sort(&mut rows, 1, true);
        assert_eq!(ids(&rows), [2, 0, 3, 1]);
        sort(&mut rows, 0, true);
        assert_eq!(ids(&rows), [3, 2, 1, 0]);
        assert_eq!(clicked((1, false), 1), (1, true));
        assert_eq!(clicked((1, true), 4), (4, false));
        assert_eq!(Val::Us(-1500).show(), "-1.5 ms");
        assert_eq!(Val::None.show(), "—");
    }

    #[test]
    fn the_html_is_sorted_marked_and_escaped() {
        let (input, offsets) = at("raft-leader-crash.json", 700);
        let mut t = table(&input, &offsets);
        t.rows[1].cells[1] = Val::Text("<b>\"x\"&".into());
        let h = html(
            t,
            Marks {
                sort: (0, true),
                hover: Some(2),
                selected: Some(1),
            },
        );
        assert!(h.contains("&lt;b&gt;&quot;x&quot;&amp;"), "{h}");
        assert!(!h.contains("<b>"));
        let first = h.find("data-node=\"4\"").expect("node 4");
        let last = h.find("data-node=\"0\"").expect("node 0");
        assert!(first < last, "descending by node");
        assert!(h.contains("data-node=\"2\" data-status=\"up\" data-hover=\"true\""));
        assert!(h.contains("data-leader=\"true\""));
        assert!(h.contains("data-node=\"1\" data-status=\"up\" data-hover=\"false\" data-leader=\"false\" data-sel=\"true\""));
        assert!(h.contains("node ▼</th>"));
    }

    #[test]
    fn a_protocol_without_a_log_has_no_log_numbers() {
        let text = r#"{"version":1,"protocol":{"name":"phi-accrual"},"nodes":3,"duration_ms":2000,"seed":1}"#;
        let mut s = Session::new(quorumlab_sim::scenario::load(text).expect("valid"));
        s.advance_to(1_000_000, u64::MAX);
        let e = s.engine().expect("runs");
        let t = table(&GridInput::of(e, 0), &e.clock_offsets());
        assert_eq!(t.rows.len(), 3);
        for r in &t.rows {
            assert_eq!(r.cells[col(&t, "log")], Val::None);
            assert_eq!(r.cells[col(&t, "lag")], Val::None);
            assert!(matches!(r.cells[col(&t, "clock")], Val::Us(_)));
        }
    }
}
