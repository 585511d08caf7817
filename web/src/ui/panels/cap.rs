//! The CAP panel: availability, latency and the invariants of this run, side by side
//! with a variant of the scenario (the registry's comparisons), and the verdict.

use super::console::{verdict_view, VerdictProps};
use super::input_text;
use crate::ui::state::{Action, Variant};
use quorumlab_sim::compare::{downtime_minutes_per_year, nines};
use quorumlab_sim::metrics::WindowReport;
use quorumlab_sim::sides::{SidesReport, Tally};
use quorumlab_sim::Engine;
use yew::prelude::*;

pub struct CapProps {
    /// This run's figures (none without a run).
    pub this: Option<CapNumbers>,
    /// The lab's columns: each variant, and its figures or why it cannot run.
    pub compare: Vec<(Variant, Result<CapNumbers, String>)>,
    /// A link to this comparison (the scenario and its columns), when there is one.
    pub lab_link: Option<String>,
    pub variants: &'static [Variant],
    /// The PACELC view, when shown: this scenario and the comparison's without faults.
    pub pacelc: Option<Pacelc>,
    pub verdict: VerdictProps,
    pub on: Callback<Action>,
}

/// The PACELC view's figures: else (no partition), what consistency costs in latency.
pub struct Pacelc {
    pub this: Result<PacelcNumbers, String>,
    pub other: Vec<(&'static str, Result<PacelcNumbers, String>)>,
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
            .chain(p.other.iter().map(|(l, r)| (*l, r)))
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
}

impl CapNumbers {
    pub fn of(e: &dyn Engine) -> CapNumbers {
        CapNumbers {
            total: e.total(),
            windows: e.metrics(),
            violated: e.violation().map(|v| v.invariant.clone()),
            sides: e.sides(),
        }
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
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.1} ms")).unwrap_or("—".into());
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
    html! {
        <div class="ql-cap-col">
            <dl class="ql-kv">
                <dt>{ "availability" }</dt><dd data-testid="availability">{ format!("{:.1}%", t.availability * 100.0) }</dd>
                <dt title="the fraction of operations answered, as nines (99.9% is three), and the downtime a year it would mean">{ "as an SLA" }</dt><dd data-testid="nines">{ format!("{:.1} nines, {down} down a year", nines(t.availability)) }</dd>
                <dt>{ "latency p50" }</dt><dd data-testid="p50">{ opt(t.p50_ms) }</dd>
                <dt>{ "latency p99" }</dt><dd data-testid="p99">{ opt(t.p99_ms) }</dd>
                <dt>{ "ops ok / fail / unknown" }</dt><dd>{ format!("{} / {} / {}", t.ok, t.fail, t.info) }</dd>
                <dt title="dropped: lost, blocked by a partition or a cut, or sent to a crashed node">{ "messages (dropped)" }</dt><dd>{ format!("{} ({})", t.messages, t.dropped) }</dd>
                <dt>{ "invariants" }</dt><dd data-testid="anomalies">{
                    match &c.violated { Some(v) => format!("violated: {v}"), None => "held so far".into() }
                }</dd>
            </dl>
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

/// Every column's figures as rows: `(figure, one value per column)`.
fn table(cols: &[(String, Option<&CapNumbers>)]) -> Vec<(&'static str, Vec<String>)> {
    let f = |get: &dyn Fn(&CapNumbers) -> Option<f64>| -> Vec<String> {
        cols.iter()
            .map(|(_, c)| c.and_then(get).map_or(String::new(), |x| format!("{x}")))
            .collect()
    };
    let majority = |c: &CapNumbers| c.sides.total.majority;
    let minority = |c: &CapNumbers| c.sides.total.minority;
    vec![
        ("availability", f(&|c| Some(c.total.availability))),
        ("nines", f(&|c| Some(nines(c.total.availability)))),
        (
            "downtime_minutes_per_year",
            f(&|c| Some(downtime_minutes_per_year(c.total.availability))),
        ),
        ("latency_p50_ms", f(&|c| c.total.p50_ms)),
        ("latency_p99_ms", f(&|c| c.total.p99_ms)),
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
    ]
}

/// Every column's availability per window, one line each, as a standalone SVG (drawn
/// in the panel and exported as it is).
fn chart(cols: &[(String, Option<&CapNumbers>)]) -> String {
    const COLOURS: [&str; 4] = ["#3461d1", "#d98a00", "#1f8a4c", "#b0479e"];
    let mut out = String::from(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 120" font-family="sans-serif" font-size="8"><rect width="320" height="120" fill="white"/><text x="4" y="10">availability per window</text><line x1="20" y1="16" x2="20" y2="96" stroke="#999"/><line x1="20" y1="96" x2="316" y2="96" stroke="#999"/><text x="2" y="19">100%</text><text x="8" y="97">0%</text>"##,
    );
    for (i, (name, c)) in cols.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        if let Some(c) = c {
            let n = c.windows.len().max(1) as f64;
            let pts: Vec<String> = c
                .windows
                .iter()
                .enumerate()
                .map(|(j, w)| {
                    format!(
                        "{:.1},{:.1}",
                        20.0 + (j as f64 + 0.5) / n * 296.0,
                        96.0 - w.availability * 80.0
                    )
                })
                .collect();
            out.push_str(&format!(
                r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                pts.join(" ")
            ));
        }
        let esc = name.replace('&', "&amp;").replace('<', "&lt;");
        out.push_str(&format!(
            r#"<rect x="{}" y="104" width="8" height="6" fill="{colour}"/><text x="{}" y="110">{esc}</text>"#,
            22 + i * 75,
            32 + i * 75
        ));
    }
    out.push_str("</svg>");
    out
}

pub fn cap_panel(p: &CapProps) -> Html {
    let Some(e) = &p.this else {
        return html! { <section class="ql-panel"><p>{ "No run." }</p></section> };
    };
    let variants = p.variants;
    let cmp = p.on.reform(move |ev: Event| {
        let v = input_text(&ev);
        Action::Compare(variants.iter().copied().find(|x| x.id == v))
    });
    let full = p.compare.len() >= crate::ui::state::MAX_COMPARE;
    // The lab's figures, for the chart and the exports.
    let cols: Vec<(String, Option<&CapNumbers>)> =
        std::iter::once(("this run".to_string(), Some(e)))
            .chain(
                p.compare
                    .iter()
                    .map(|(v, r)| (v.label.to_string(), r.as_ref().ok())),
            )
            .collect();
    let rows = table(&cols);
    let csv = {
        let mut s = String::from("figure");
        for (name, _) in &cols {
            s.push_str(&format!(",\"{}\"", name.replace('"', "\"\"")));
        }
        s.push('\n');
        for (fig, vals) in &rows {
            s.push_str(fig);
            for v in vals {
                s.push(',');
                s.push_str(v);
            }
            s.push('\n');
        }
        s
    };
    let json = {
        let obj: serde_json::Map<String, serde_json::Value> = cols
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
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
                (name.clone(), serde_json::Value::Object(figs))
            })
            .collect();
        serde_json::to_string_pretty(&obj).unwrap_or_default()
    };
    let svg = chart(&cols);
    html! {
        <section class="ql-panel" data-testid="cap-panel">
            <h2>{ "CAP: availability, latency, anomalies" }</h2>
            <div class="ql-cap">
                <div>
                    <h3>{ "This run" }</h3>
                    { cap_numbers(e) }
                </div>
                { for p.compare.iter().enumerate().map(|(i, (v, other))| html! {
                    <div data-testid="compare" data-variant={v.id}>
                        <h3>{ format!("With {} ", v.label) }
                            <button class="ql-link" data-testid="compare-remove" title="Remove this column" aria-label={format!("Remove the column {}", v.label)}
                                onclick={p.on.reform(move |_| Action::Uncompare(i))}>{ "×" }</button>
                        </h3>
                        {
                            match other {
                                Ok(o) => cap_numbers(o),
                                Err(why) => html! { <p class="bad">{ why.clone() }</p> },
                            }
                        }
                    </div>
                }) }
            </div>
            if !variants.is_empty() {
                <label>{ if p.compare.is_empty() { "Compare side by side with " } else { "Add a column: " } }
                    <select data-testid="compare-select" onchange={cmp} disabled={full}>
                        <option value="" selected=true>{ if full { "(three at most)" } else { "(choose)" } }</option>
                        { for variants.iter().filter(|v| !p.compare.iter().any(|(x, _)| x.id == v.id)).map(|v| html! { <option value={v.id}>{ v.label }</option> }) }
                    </select>
                </label>
            }
            <div class="ql-lab-chart" data-testid="lab-chart">{ Html::from_html_unchecked(AttrValue::from(svg.clone())) }</div>
            <p class="ql-exports">{ "Export: " }
                <a data-testid="export-csv" download="quorumlab-lab.csv" href={data_url("text/csv", &csv)}>{ "CSV" }</a>{ " · " }
                <a data-testid="export-json" download="quorumlab-lab.json" href={data_url("application/json", &json)}>{ "JSON" }</a>{ " · " }
                <a data-testid="export-svg" download="quorumlab-availability.svg" href={data_url("image/svg+xml", &svg)}>{ "SVG chart" }</a>
                if let Some(l) = &p.lab_link {
                    { " · " }<a data-testid="lab-link" href={l.clone()} title="This scenario with the same columns">{ "link to this comparison" }</a>
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
