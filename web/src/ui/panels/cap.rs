//! The CAP panel: availability, latency and the invariants of this run, side by side
//! with a variant of the scenario (the registry's comparisons), and the verdict.

use super::console::{verdict_view, VerdictProps};
use super::input_text;
use crate::ui::lab::{self, Figures, Item};
use crate::ui::state::{Action, Tab, Variant};
use quorumlab_core::{Time, MS};
use quorumlab_sim::anomaly::Anomalies;
use quorumlab_sim::compare::{downtime_minutes_per_year, nines};
use quorumlab_sim::locks::Spell;
use quorumlab_sim::metrics::WindowReport;
use quorumlab_sim::run::Check;
use quorumlab_sim::sides::{SidesReport, Tally};
use quorumlab_sim::{Engine, Found};
use yew::prelude::*;

pub struct CapProps {
    /// This run's figures (none without a run).
    pub this: Option<CapNumbers>,
    /// What the lab calls this run's configuration, when it came from a column.
    pub this_label: Option<String>,
    pub this_anomalies: LabAnomalies,
    /// The lab's columns: each configuration, and its figures or why it cannot run.
    pub compare: Vec<ColumnView>,
    /// A link to this comparison (the scenario and its columns), when there is one.
    pub lab_link: Option<String>,
    pub variants: &'static [Variant],
    /// The gallery's presets: id, and whether its file has arrived.
    pub presets: Vec<(&'static str, bool)>,
    /// The PACELC view, when shown: this scenario and the comparison's without faults.
    pub pacelc: Option<Pacelc>,
    pub verdict: VerdictProps,
    pub on: Callback<Action>,
}

/// The PACELC view's figures: else (no partition), what consistency costs in latency.
pub struct Pacelc {
    pub this: Result<PacelcNumbers, String>,
    pub other: Vec<(String, Result<PacelcNumbers, String>)>,
}

/// One fault-free run's figures.
pub struct PacelcNumbers {
    pub total: WindowReport,
    pub stale_reads: u64,
}

fn pacelc_view(p: &Pacelc) -> Html {
    let ms = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.1} ms"));
    let cols: Vec<(&str, &Result<PacelcNumbers, String>)> =
        std::iter::once(("this scenario", &p.this))
            .chain(p.other.iter().map(|(l, r)| (l.as_str(), r)))
            .collect();
    let row = |name: &str, id: &str, f: &dyn Fn(&PacelcNumbers) -> String| {
        html! {
            <tr data-testid={format!("pacelc-{id}")}>
                <td>{ name.to_string() }</td>
                { for cols.iter().map(|(_, r)| html! { <td>{ match r { Ok(n) => f(n), Err(e) => e.clone() } }</td> }) }
            </tr>
        }
    };
    html! {
        <div data-testid="pacelc">
            <p class="ql-muted">{ "PACELC: else, when nothing fails, latency or consistency. The same scenario and seed with every fault and the nemesis taken out:" }</p>
            <table class="ql-table ql-sides">
                <tr><th></th>{ for cols.iter().map(|(l, _)| html! { <th>{ l.to_string() }</th> }) }</tr>
                { row("latency p50", "p50", &|n| ms(n.total.p50_ms)) }
                { row("latency p99", "p99", &|n| ms(n.total.p99_ms)) }
                { row("availability", "availability", &|n| format!("{:.1}%", n.total.availability * 100.0)) }
                { row("stale reads", "stale", &|n| n.stale_reads.to_string()) }
                { row("messages per operation", "messages", &|n| {
                    let ops = n.total.ok + n.total.fail + n.total.info;
                    if ops == 0 { "—".into() } else { format!("{:.1}", n.total.messages as f64 / ops as f64) }
                }) }
            </table>
        </div>
    }
}

/// A run's figures for the CAP panel.
#[derive(Clone, Debug)]
pub struct CapNumbers {
    pub total: WindowReport,
    pub windows: Vec<WindowReport>,
    /// The invariant broken, if one was.
    pub violated: Option<String>,
    /// Each side's operations, by where their client stood when the network was split,
    /// over the run and per window.
    pub sides: SidesReport,
    /// Reads and writes apart, throughput and messages per operation.
    pub figures: Figures,
    /// Its end, and whether it is over.
    pub end: Time,
    pub done: bool,
    /// Its node count, and the width of a metrics window (ms).
    pub nodes: usize,
    pub window_ms: u64,
}

impl CapNumbers {
    pub fn of(e: &dyn Engine) -> CapNumbers {
        let total = e.total();
        CapNumbers {
            figures: Figures::of(e.history(), e.now(), total.messages),
            total,
            windows: e.metrics(),
            violated: e.violation().map(|v| v.invariant.clone()),
            sides: e.sides(),
            end: e.end(),
            done: e.done(),
            nodes: e.scenario().n(),
            window_ms: e.scenario().metrics_window_ms.max(1),
        }
    }
}

/// A run's anomaly counts for the exports: lost writes, stale reads, split-brain ms,
/// whether the history is linearizable (none: not known).
pub type Counts = (u64, u64, f64, Option<bool>);

/// A run's anomalies as the lab shows them.
#[derive(Clone, Debug, Default)]
pub struct LabAnomalies {
    /// `running` (asked for at its end), `checking`, `done`, `failed`, or `none` (no run).
    pub state: &'static str,
    /// The counts in words, or why there are none.
    pub summary: String,
    pub items: Vec<Item>,
    /// For the exports: lost writes, stale reads, split-brain ms, linearizable.
    pub counts: Option<Counts>,
}

impl LabAnomalies {
    /// From a run's analysis (none yet: `state` says why), its violation and spells.
    pub fn of(
        state: &'static str,
        verdict: Option<&Check>,
        anomalies: Option<&Anomalies>,
        violation: Option<&Found>,
        spells: &[Spell],
    ) -> LabAnomalies {
        let counts = anomalies.map(|a| {
            let lin = match verdict {
                Some(Check::Passed) => Some(true),
                Some(Check::Failed { .. }) => Some(false),
                _ => None,
            };
            (a.lost_writes, a.stale_reads, a.split_brain_ms, lin)
        });
        let summary = match state {
            "running" => "listed when its run ends".to_string(),
            "checking" => "checking its history…".to_string(),
            _ => lab::summary(verdict, anomalies, spells.len()),
        };
        LabAnomalies {
            state,
            summary,
            items: lab::items(verdict, anomalies, violation, spells),
            counts,
        }
    }
}

/// One column of the lab beside this run.
pub struct ColumnView {
    pub label: String,
    /// Shown on hover (a preset's title).
    pub title: String,
    /// The registry variant's id, for a variant.
    pub variant: Option<&'static str>,
    /// How its shape differs from the run's (node count, duration).
    pub note: String,
    pub numbers: Result<CapNumbers, String>,
    pub anomalies: LabAnomalies,
    /// Where its run is: `worker` (a Web Worker of its own) or `page`.
    pub runs_in: &'static str,
    /// Its trace hash so far (hexadecimal; empty before its run exists).
    pub hash: String,
}

/// What a click on an anomaly of a column does.
#[derive(Clone, Copy)]
enum Owner {
    /// This run: the playhead goes there (and the anomaly's operations are shown).
    This,
    /// Lab column `i`: its run becomes the main run there.
    Column(usize),
}

/// The list of a run's anomalies, each one click from its moment.
fn anomalies_view(a: &LabAnomalies, owner: Owner, on: &Callback<Action>) -> Html {
    const SHOWN: usize = 6;
    let item = |x: &Item| {
        let (at, index) = (x.at, x.index);
        let when = match at {
            Some(t) => format!("{:.0} ms", t as f64 / MS as f64),
            None => "—".into(),
        };
        let click = on.reform(move |_| match (owner, at) {
            (Owner::This, Some(t)) => match index {
                Some(i) => Action::ShowAnomaly(i, t),
                None => Action::Seek(t),
            },
            (Owner::Column(c), t) => Action::OpenColumn(c, t, index),
            (Owner::This, None) => Action::Tab(Tab::Cap),
        });
        let title = match owner {
            Owner::This => "Move the playhead to this moment",
            Owner::Column(_) => "Open this run at this moment: it becomes the main run (this one takes its place in the lab)",
        };
        html! {
            <li data-testid="lab-anomaly" data-kind={x.kind} data-at={at.map(|t| t.to_string()).unwrap_or_default()}>
                <button class="ql-linkish" data-testid="lab-anomaly-seek" disabled={at.is_none()} title={title} onclick={click}>{ when }</button>
                { format!(" {}", x.text) }
            </li>
        }
    };
    let n = a.items.len();
    html! {
        <div class="ql-lab-anomalies" data-testid="lab-anomalies" data-state={a.state} data-count={n.to_string()}>
            <p class={classes!(match (a.state, n) { ("done", 0) => "good", ("done", _) => "bad", _ => "ql-muted" })}>{ format!("anomalies: {}", a.summary) }</p>
            if n > 0 {
                <ol>{ for a.items.iter().take(SHOWN).map(item) }</ol>
                if n > SHOWN {
                    <details>
                        <summary>{ format!("{} more", n - SHOWN) }</summary>
                        <ol start={(SHOWN + 1).to_string()}>{ for a.items.iter().skip(SHOWN).map(item) }</ol>
                    </details>
                }
            }
        </div>
    }
}

/// Milliseconds as the lab shows them (`—` for none).
fn ms_text(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |x| format!("{x:.1} ms"))
}

/// Reads and writes apart: answered, and the latency of the successful ones.
fn kinds_view(f: &Figures) -> Html {
    let row = |name: &str, id: &str, title: &str, get: &dyn Fn(&lab::KindFigures) -> String| {
        html! {
            <tr data-testid={format!("kind-{id}")} title={title.to_string()}>
                <td>{ name.to_string() }</td>
                <td data-kind="read">{ get(&f.reads) }</td>
                <td data-kind="write">{ get(&f.writes) }</td>
            </tr>
        }
    };
    html! {
        <table class="ql-table ql-sides ql-kinds" data-testid="kinds">
            <tr><th></th><th>{ "reads" }</th><th title="writes, cas and appends">{ "writes" }</th></tr>
            { row("answered", "availability", "answered over completed", &|k| match k.availability() {
                Some(a) => format!("{:.1}% of {}", a * 100.0, k.done),
                None => "—".into(),
            }) }
            { row("p50", "p50", "latency of the successful ones: median", &|k| ms_text(k.p50)) }
            { row("p99", "p99", "99th percentile", &|k| ms_text(k.p99)) }
            { row("p999", "p999", "99.9th percentile", &|k| ms_text(k.p999)) }
        </table>
    }
}

fn cap_numbers(c: &CapNumbers) -> Html {
    let t = &c.total;
    let windows = &c.windows;
    let nw = windows.len().max(1) as f64;
    let pts: Vec<String> = windows
        .iter()
        .enumerate()
        .map(|(i, w)| {
            format!(
                "{:.1},{:.1}",
                (i as f64 + 0.5) / nw * 300.0,
                58.0 - w.availability * 54.0
            )
        })
        .collect();
    let maxp = windows
        .iter()
        .filter_map(|w| w.p99_ms)
        .fold(1.0f64, f64::max);
    let lat: Vec<String> = windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            w.p99_ms.map(|p| {
                format!(
                    "{:.1},{:.1}",
                    (i as f64 + 0.5) / nw * 300.0,
                    58.0 - p / maxp * 54.0
                )
            })
        })
        .collect();
    // The SLA's words: nines, and the downtime a year this availability would mean.
    let down = downtime_minutes_per_year(t.availability);
    let down = if down < 1.0 {
        format!("{:.0} s", down * 60.0)
    } else if down < 120.0 {
        format!("{down:.0} min")
    } else if down < 48.0 * 60.0 {
        format!("{:.1} h", down / 60.0)
    } else {
        format!("{:.1} days", down / 1440.0)
    };
    let total = &c.sides.total;
    let split =
        total.majority.reads + total.majority.writes + total.minority.reads + total.minority.writes
            > 0;
    // Per window, each side's availability (reads and writes together), where the side
    // had operations: the majority solid, the minority dashed.
    let sw = &c.sides.windows;
    let nsw = sw.len().max(1) as f64;
    let side_line = |pick: fn(&quorumlab_sim::sides::BySide) -> &Tally| -> String {
        sw.iter()
            .enumerate()
            .filter_map(|(i, w)| {
                pick(w).availability().map(|a| {
                    format!(
                        "{:.1},{:.1}",
                        (i as f64 + 0.5) / nsw * 300.0,
                        58.0 - a * 54.0
                    )
                })
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let majority_line = side_line(|w| &w.majority);
    let minority_line = side_line(|w| &w.minority);
    let pct = |a: Option<f64>, ok: u64, all: u64| match a {
        Some(a) => format!("{:.0}% ({ok}/{all})", a * 100.0),
        None => "—".to_string(),
    };
    let side_row = |name: &str, id: &str, s: &Tally| {
        html! {
            <tr data-testid={format!("side-{id}")} data-reads={s.read_availability().map(|a| a.to_string()).unwrap_or_default()} data-writes={s.write_availability().map(|a| a.to_string()).unwrap_or_default()}>
                <td>{ name.to_string() }</td>
                <td>{ pct(s.read_availability(), s.reads_answered, s.reads) }</td>
                <td>{ pct(s.write_availability(), s.writes_answered, s.writes) }</td>
            </tr>
        }
    };
    let f = &c.figures;
    html! {
        <div class="ql-cap-col">
            <dl class="ql-kv">
                <dt>{ "availability" }</dt><dd data-testid="availability">{ format!("{:.1}%", t.availability * 100.0) }</dd>
                <dt title="the fraction of operations answered, as nines (99.9% is three), and the downtime a year it would mean">{ "as an SLA" }</dt><dd data-testid="nines">{ format!("{:.1} nines, {down} down a year", nines(t.availability)) }</dd>
                <dt>{ "ops ok / fail / unknown" }</dt><dd>{ format!("{} / {} / {}", t.ok, t.fail, t.info) }</dd>
                <dt title="successful operations per simulated second">{ "throughput" }</dt><dd data-testid="throughput">{ format!("{:.1} ops/s", f.throughput) }</dd>
                <dt title="every message sent (heartbeats too) per successful operation; dropped: lost, blocked by a partition or a cut, or sent to a crashed node">{ "messages / op" }</dt>
                <dd data-testid="messages-per-op">{ match f.messages_per_op { Some(m) => format!("{m:.1} ({} sent, {} dropped)", t.messages, t.dropped), None => format!("— ({} sent)", t.messages) } }</dd>
                <dt>{ "invariants" }</dt><dd data-testid="anomalies">{
                    match &c.violated { Some(v) => format!("violated: {v}"), None => "held so far".into() }
                }</dd>
            </dl>
            { kinds_view(f) }
            if split {
                <table class="ql-table ql-sides" data-testid="sides">
                    <tr><th title="where the client stood when it asked">{ "side" }</th><th>{ "reads answered" }</th><th>{ "writes answered" }</th></tr>
                    { side_row("whole network", "whole", &total.whole) }
                    { side_row("majority side", "majority", &total.majority) }
                    { side_row("minority side", "minority", &total.minority) }
                </table>
                <svg class="ql-spark" data-testid="sides-spark" viewBox="0 0 300 60" preserveAspectRatio="none">
                    <polyline class="majority" data-testid="majority-line" points={majority_line} />
                    <polyline class="minority" data-testid="minority-line" points={minority_line} />
                </svg>
                <p class="ql-muted">{ "per window while split: the majority side's availability (solid), the minority side's (dashed)" }</p>
            }
            <svg class="ql-spark" viewBox="0 0 300 60" preserveAspectRatio="none">
                <polyline class="avail" points={pts.join(" ")} />
                <polyline class="lat" points={lat.join(" ")} />
            </svg>
            <p class="ql-muted">{ "per window: availability (solid), p99 latency (dashed)" }</p>
        </div>
    }
}

/// A data URL of `text` (a download link needs nothing else).
fn data_url(mime: &str, text: &str) -> String {
    let mut out = format!("data:{mime};charset=utf-8,");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One configuration of the lab, for the chart and the exports.
struct Col<'a> {
    name: String,
    numbers: Option<&'a CapNumbers>,
    anomalies: &'a LabAnomalies,
}

/// Every column's figures as rows: `(figure, one value per column)`.
fn table(cols: &[Col]) -> Vec<(&'static str, Vec<String>)> {
    let f = |get: &dyn Fn(&CapNumbers) -> Option<f64>| -> Vec<String> {
        cols.iter()
            .map(|c| {
                c.numbers
                    .and_then(get)
                    .map_or(String::new(), |x| format!("{x}"))
            })
            .collect()
    };
    let a = |get: &dyn Fn(&Counts) -> Option<f64>| -> Vec<String> {
        cols.iter()
            .map(|c| {
                c.anomalies
                    .counts
                    .as_ref()
                    .and_then(get)
                    .map_or(String::new(), |x| format!("{x}"))
            })
            .collect()
    };
    let majority = |c: &CapNumbers| c.sides.total.majority;
    let minority = |c: &CapNumbers| c.sides.total.minority;
    vec![
        ("nodes", f(&|c| Some(c.nodes as f64))),
        ("duration_ms", f(&|c| Some((c.end / MS) as f64))),
        ("availability", f(&|c| Some(c.total.availability))),
        ("nines", f(&|c| Some(nines(c.total.availability)))),
        (
            "downtime_minutes_per_year",
            f(&|c| Some(downtime_minutes_per_year(c.total.availability))),
        ),
        ("read_availability", f(&|c| c.figures.reads.availability())),
        (
            "write_availability",
            f(&|c| c.figures.writes.availability()),
        ),
        ("read_p50_ms", f(&|c| c.figures.reads.p50)),
        ("read_p99_ms", f(&|c| c.figures.reads.p99)),
        ("read_p999_ms", f(&|c| c.figures.reads.p999)),
        ("write_p50_ms", f(&|c| c.figures.writes.p50)),
        ("write_p99_ms", f(&|c| c.figures.writes.p99)),
        ("write_p999_ms", f(&|c| c.figures.writes.p999)),
        ("throughput_ops_per_s", f(&|c| Some(c.figures.throughput))),
        ("messages_per_op", f(&|c| c.figures.messages_per_op)),
        ("ops_ok", f(&|c| Some(c.total.ok as f64))),
        ("ops_fail", f(&|c| Some(c.total.fail as f64))),
        ("ops_unknown", f(&|c| Some(c.total.info as f64))),
        ("messages", f(&|c| Some(c.total.messages as f64))),
        (
            "majority_reads_answered",
            f(&|c| majority(c).read_availability()),
        ),
        (
            "majority_writes_answered",
            f(&|c| majority(c).write_availability()),
        ),
        (
            "minority_reads_answered",
            f(&|c| minority(c).read_availability()),
        ),
        (
            "minority_writes_answered",
            f(&|c| minority(c).write_availability()),
        ),
        ("lost_writes", a(&|x| Some(x.0 as f64))),
        ("stale_reads", a(&|x| Some(x.1 as f64))),
        ("split_brain_ms", a(&|x| Some(x.2))),
        (
            "linearizable",
            a(&|x| x.3.map(|l| if l { 1.0 } else { 0.0 })),
        ),
    ]
}

/// Each configuration's colour, in the chart and the side-by-side table.
const COLOURS: [&str; 4] = ["#3461d1", "#d98a00", "#1f8a4c", "#b0479e"];

/// The chart's size in its own units (the PNG is drawn three times as large).
const CHART_W: f64 = 320.0;

/// The chart's height for `n` columns (a legend line each).
fn chart_height(n: usize) -> f64 {
    108.0 + 11.0 * n as f64
}

/// Every column's availability per window of time, one line each, as a standalone
/// SVG (drawn in the panel and exported as it is). Columns of different durations
/// share the time axis.
fn chart(cols: &[Col]) -> String {
    const DASH: [&str; 4] = ["", "6 3", "2 2", "8 3 2 3"];
    let h = chart_height(cols.len());
    let end_ms = cols
        .iter()
        .filter_map(|c| c.numbers)
        .map(|c| (c.end / MS) as f64)
        .fold(1.0f64, f64::max);
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_W} {h}" width="{CHART_W}" height="{h}" font-family="sans-serif" font-size="8"><rect width="{CHART_W}" height="{h}" fill="white"/><text x="4" y="10">availability per window</text><line x1="24" y1="16" x2="24" y2="86" stroke="#999"/><line x1="24" y1="86" x2="316" y2="86" stroke="#999"/><text x="2" y="19">100%</text><text x="12" y="88">0%</text><text x="24" y="96">0 s</text><text x="316" y="96" text-anchor="end">{} s</text>"##,
        end_ms / 1000.0
    );
    for (i, c) in cols.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let dash = match DASH[i % DASH.len()] {
            "" => String::new(),
            d => format!(r#" stroke-dasharray="{d}""#),
        };
        if let Some(n) = c.numbers {
            let w = n.window_ms as f64;
            let pts: Vec<String> = n
                .windows
                .iter()
                .enumerate()
                .map(|(j, x)| {
                    let mid = ((j as f64 + 0.5) * w).min(end_ms);
                    format!(
                        "{:.1},{:.1}",
                        24.0 + mid / end_ms * 292.0,
                        86.0 - x.availability * 70.0
                    )
                })
                .collect();
            out.push_str(&format!(
                r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points="{}"/>"#,
                pts.join(" ")
            ));
        }
        let mut name: String = c.name.chars().take(70).collect();
        if name.len() < c.name.len() {
            name.push('…');
        }
        let esc = name
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let y = 108.0 + 11.0 * i as f64;
        out.push_str(&format!(
            r#"<line x1="24" y1="{:.1}" x2="38" y2="{:.1}" stroke="{colour}" stroke-width="2"{dash}/><text x="42" y="{y}">{esc}</text>"#,
            y - 3.0,
            y - 3.0
        ));
    }
    out.push_str("</svg>");
    out
}

/// The lab's columns as CSV and JSON.
fn exports(cols: &[Col]) -> (String, String) {
    let rows = table(cols);
    let mut csv = String::from("figure");
    for c in cols {
        csv.push_str(&format!(",\"{}\"", c.name.replace('"', "\"\"")));
    }
    csv.push('\n');
    for (fig, vals) in &rows {
        csv.push_str(fig);
        for v in vals {
            csv.push(',');
            csv.push_str(v);
        }
        csv.push('\n');
    }
    let obj: serde_json::Map<String, serde_json::Value> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let figs: serde_json::Map<String, serde_json::Value> = rows
                .iter()
                .map(|(f, vals)| {
                    let v = vals[i]
                        .parse::<f64>()
                        .ok()
                        .map_or(serde_json::Value::Null, serde_json::Value::from);
                    (f.to_string(), v)
                })
                .collect();
            (c.name.clone(), serde_json::Value::Object(figs))
        })
        .collect();
    (csv, serde_json::to_string_pretty(&obj).unwrap_or_default())
}

/// The lab's figures side by side: one row per figure, one column per configuration
/// (the details, each side of a partition and the anomalies, are in the blocks below).
fn side_by_side(cols: &[Col]) -> Html {
    let row = |name: &str, id: &str, get: &dyn Fn(&Col) -> Option<String>| {
        html! {
            <tr data-testid={format!("lab-row-{id}")}>
                <th scope="row">{ name.to_string() }</th>
                { for cols.iter().map(|c| html! { <td>{ get(c).unwrap_or_else(|| "—".into()) }</td> }) }
            </tr>
        }
    };
    let num = |get: fn(&CapNumbers) -> Option<f64>, fmt: fn(f64) -> String| {
        move |c: &Col| c.numbers.and_then(get).map(fmt)
    };
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let ms = |x: f64| format!("{x:.1} ms");
    let count = |get: fn(&Counts) -> String| move |c: &Col| c.anomalies.counts.as_ref().map(get);
    html! {
        <table class="ql-table ql-lab-table" data-testid="lab-table">
            <tr>
                <th></th>
                { for cols.iter().enumerate().map(|(i, c)| html! {
                    <th title={c.name.clone()}>
                        <span class="ql-swatch" style={format!("background:{}", COLOURS[i % 4])}></span>
                        { if i == 0 { "this run".to_string() } else { c.name.clone() } }
                    </th>
                }) }
            </tr>
            { row("availability", "availability", &num(|n| Some(n.total.availability), pct)) }
            { row("reads answered", "read-availability", &num(|n| n.figures.reads.availability(), pct)) }
            { row("writes answered", "write-availability", &num(|n| n.figures.writes.availability(), pct)) }
            { row("read p50", "read-p50", &num(|n| n.figures.reads.p50, ms)) }
            { row("read p99", "read-p99", &num(|n| n.figures.reads.p99, ms)) }
            { row("read p999", "read-p999", &num(|n| n.figures.reads.p999, ms)) }
            { row("write p50", "write-p50", &num(|n| n.figures.writes.p50, ms)) }
            { row("write p99", "write-p99", &num(|n| n.figures.writes.p99, ms)) }
            { row("write p999", "write-p999", &num(|n| n.figures.writes.p999, ms)) }
            { row("throughput, ops/s", "throughput", &num(|n| Some(n.figures.throughput), |x| format!("{x:.1}"))) }
            { row("messages / op", "messages", &num(|n| n.figures.messages_per_op, |x| format!("{x:.1}"))) }
            { row("lost writes", "lost", &count(|c| c.0.to_string())) }
            { row("stale reads", "stale", &count(|c| c.1.to_string())) }
            { row("split brain", "split", &count(|c| format!("{:.0} ms", c.2))) }
            { row("linearizable", "linearizable", &count(|c| match c.3 { Some(true) => "yes".into(), Some(false) => "no".into(), None => "?".into() })) }
        </table>
    }
}

/// The select's choices: the editor's configuration, the scenario's variants not shown
/// yet, the gallery's presets.
fn add_select(p: &CapProps) -> Html {
    let variants = p.variants;
    let presets = p.presets.clone();
    let pick = p.on.reform(move |ev: Event| {
        let v = input_text(&ev);
        if v == "current" {
            return Action::CompareCurrent;
        }
        if let Some(id) = v.strip_prefix("preset:") {
            if let Some((id, _)) = presets.iter().find(|(p, _)| *p == id) {
                return Action::ComparePreset(id);
            }
        }
        match variants.iter().copied().find(|x| x.id == v) {
            Some(x) => Action::Compare(Some(x)),
            // "(choose)": nothing.
            None => Action::Tab(Tab::Cap),
        }
    });
    let full = p.compare.len() >= crate::ui::state::MAX_COMPARE;
    let shown = |id: &str| p.compare.iter().any(|c| c.variant == Some(id));
    html! {
        <label class="ql-lab-add">{ if p.compare.is_empty() { "Compare side by side with " } else { "Add a column: " } }
            // Keyed by the columns shown: drawn afresh when one is added, so it shows
            // "(choose)" again rather than the choice just made.
            <select key={p.compare.len().to_string()} data-testid="compare-select" onchange={pick} disabled={full}>
                <option value="" selected=true>{ if full { "(three at most: remove one)" } else { "(choose)" } }</option>
                <option value="current" title="This run's protocol and parameters as they stand now, kept as a column while you edit the run">{ "this configuration (pin it)" }</option>
                if !variants.is_empty() {
                    <optgroup label="variants of this scenario">
                        { for variants.iter().filter(|v| !shown(v.id)).map(|v| html! { <option value={v.id}>{ v.label }</option> }) }
                    </optgroup>
                }
                <optgroup label="gallery presets (on this run's seed and faults)">
                    { for p.presets.iter().map(|(id, ready)| html! {
                        <option value={format!("preset:{id}")} disabled={!*ready}>{ *id }</option>
                    }) }
                </optgroup>
            </select>
        </label>
    }
}

pub fn cap_panel(p: &CapProps) -> Html {
    let Some(e) = &p.this else {
        return html! { <section class="ql-panel"><p>{ "No run." }</p></section> };
    };
    // The lab's figures, for the chart and the exports.
    let this_name = match &p.this_label {
        Some(l) => format!("this run: {l}"),
        None => "this run".to_string(),
    };
    let cols: Vec<Col> = std::iter::once(Col {
        name: this_name,
        numbers: Some(e),
        anomalies: &p.this_anomalies,
    })
    .chain(p.compare.iter().map(|c| Col {
        name: c.label.clone(),
        numbers: c.numbers.as_ref().ok(),
        anomalies: &c.anomalies,
    }))
    .collect();
    let (csv, json) = exports(&cols);
    let svg = chart(&cols);
    let png = {
        let svg = svg.clone();
        p.on.reform(move |_| Action::ExportPng(svg.clone()))
    };
    let state = |n: &CapNumbers| if n.done { "done" } else { "running" };
    html! {
        <section class="ql-panel" data-testid="cap-panel">
            <h2>{ "CAP: availability, latency, anomalies" }</h2>
            <p class="ql-muted">{ "Each column runs on this run's seed and fault schedule. Click an anomaly's moment to go there." }</p>
            if !p.compare.is_empty() { { side_by_side(&cols) } }
            <div class="ql-cap">
                <div data-testid="lab-this" data-done={state(e)}>
                    <h3>{ "This run" }
                        if let Some(l) = &p.this_label { <span class="ql-muted">{ format!(" ({l})") }</span> }
                    </h3>
                    { cap_numbers(e) }
                    { anomalies_view(&p.this_anomalies, Owner::This, &p.on) }
                </div>
                { for p.compare.iter().enumerate().map(|(i, c)| html! {
                    <div data-testid="compare" data-variant={c.variant} data-label={c.label.clone()}
                         data-done={c.numbers.as_ref().map_or("error", state)}
                         data-runs-in={c.runs_in} data-hash={c.hash.clone()}>
                        <h3 title={c.title.clone()}>{ format!("With {} ", c.label) }
                            if c.runs_in == "worker" {
                                <span class="ql-muted ql-runs-in" title="This column's run has a Web Worker of its own: it does not take the page's thread">{ "(in a worker) " }</span>
                            }
                            <button class="ql-link" data-testid="compare-open" title="Open this run on the canvas: it becomes the main run, and this one takes its place in the lab"
                                aria-label={format!("Open the column {}", c.label)} disabled={c.numbers.is_err()}
                                onclick={p.on.reform(move |_| Action::OpenColumn(i, None, None))}>{ "↗" }</button>
                            <button class="ql-link" data-testid="compare-remove" title="Remove this column" aria-label={format!("Remove the column {}", c.label)}
                                onclick={p.on.reform(move |_| Action::Uncompare(i))}>{ "×" }</button>
                        </h3>
                        if !c.note.is_empty() {
                            <p class="ql-muted ql-shape" data-testid="compare-shape">{ format!("not the same shape: {}", c.note) }</p>
                        }
                        {
                            match &c.numbers {
                                Ok(o) => cap_numbers(o),
                                Err(why) => html! { <p class="bad" data-testid="compare-error">{ why.clone() }</p> },
                            }
                        }
                        if c.numbers.is_ok() { { anomalies_view(&c.anomalies, Owner::Column(i), &p.on) } }
                    </div>
                }) }
            </div>
            { add_select(p) }
            <div class="ql-lab-chart" data-testid="lab-chart">{ Html::from_html_unchecked(AttrValue::from(svg.clone())) }</div>
            <p class="ql-exports">{ "Export: " }
                <a data-testid="export-csv" download="quorumlab-lab.csv" href={data_url("text/csv", &csv)}>{ "CSV" }</a>{ " · " }
                <a data-testid="export-json" download="quorumlab-lab.json" href={data_url("application/json", &json)}>{ "JSON" }</a>{ " · " }
                <a data-testid="export-svg" download="quorumlab-availability.svg" href={data_url("image/svg+xml", &svg)}>{ "SVG chart" }</a>{ " · " }
                <button class="ql-linkish" data-testid="export-png" onclick={png} title="The chart as a PNG image">{ "PNG chart" }</button>
                if let Some(l) = &p.lab_link {
                    { " · " }<a data-testid="lab-link" href={l.clone()} title="This scenario with the same columns, seed and faults">{ "link to this comparison" }</a>
                }
            </p>
            <label class="ql-check" title="Run the scenario, and the comparison, again with no fault at all: what consistency costs when nothing fails">
                <input type="checkbox" data-testid="pacelc-toggle" checked={p.pacelc.is_some()}
                    onchange={p.on.reform(|e: Event| Action::Pacelc(input_text(&e) == "true"))} />
                { " PACELC: also without faults" }
            </label>
            if let Some(x) = &p.pacelc { { pacelc_view(x) } }
            { verdict_view(&p.verdict) }
        </section>
    }
}

/// The CAP panel's figures change with every moment of the run: always drawn again
/// (comparing them would cost the bundle more than drawing saves).
impl PartialEq for CapProps {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_and_exports_name_every_column_and_their_figures() {
        let mut n = CapNumbers {
            total: WindowReport::default(),
            windows: vec![WindowReport::default(); 3],
            violated: None,
            sides: SidesReport::default(),
            figures: Figures::default(),
            end: 3_000 * MS,
            done: true,
            nodes: 5,
            window_ms: 1000,
        };
        n.figures.reads.p999 = Some(12.5);
        let a = LabAnomalies {
            counts: Some((1, 2, 30.0, Some(false))),
            ..Default::default()
        };
        let none = LabAnomalies::default();
        let cols = [
            Col {
                name: "this run".into(),
                numbers: Some(&n),
                anomalies: &a,
            },
            Col {
                name: "a <b> & \"c\"".into(),
                numbers: None,
                anomalies: &none,
            },
        ];
        let svg = chart(&cols);
        assert!(svg.starts_with("<svg xmlns="), "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains("a &lt;b&gt; &amp; \"c\""), "{svg}");
        assert!(svg.contains(&format!("height=\"{}\"", chart_height(2))));
        let (csv, json) = exports(&cols);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "figure,\"this run\",\"a <b> & \"\"c\"\"\"");
        assert!(lines.contains(&"read_p999_ms,12.5,"), "{csv}");
        assert!(lines.contains(&"stale_reads,2,"), "{csv}");
        assert!(lines.contains(&"linearizable,0,"), "{csv}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["this run"]["split_brain_ms"], 30.0);
        assert_eq!(v["this run"]["nodes"], 5.0);
        assert!(v["a <b> & \"c\""]["availability"].is_null());
    }
}
