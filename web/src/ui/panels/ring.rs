//! The consistent-hash ring of a store that places keys on one (the leaderless quorum
//! store): each node's tokens as coloured arcs, the keys as dots with their preference
//! lists (hover a key: lines to the replicas a request walks to, clockwise), which
//! replicas hold each key now, the hints kept for nodes that were away, and what the
//! last membership change moved. Drawn from the nodes' views ([`RingSection`]), so any
//! protocol that fills that section gets it.

use super::Shared;
use crate::ui::state::Frame;
use quorumlab_core::{NodeId, NodeView, RingSection};
use std::collections::BTreeMap;
use std::f64::consts::TAU;
use yew::prelude::*;

#[derive(PartialEq)]
pub struct RingProps {
    pub frame: Option<Shared<Frame>>,
}

const C: f64 = 150.0;
const R: f64 = 105.0;

/// A node's colour: evenly spread hues.
fn hue(n: NodeId) -> String {
    format!("hsl({}, 65%, 48%)", (n as u64 * 137) % 360)
}

fn point(at: f64, r: f64) -> (f64, f64) {
    // Clockwise from the top.
    let a = at * TAU - TAU / 4.0;
    (C + r * a.cos(), C + r * a.sin())
}

/// An arc of the ring from `a` to `b` (fractions, clockwise; `b < a` wraps).
fn arc(a: f64, b: f64, r: f64) -> String {
    let span = if b >= a { b - a } else { b + 1.0 - a };
    let (x0, y0) = point(a, r);
    let (x1, y1) = point(a + span, r);
    let large = if span > 0.5 { 1 } else { 0 };
    format!("M {x0:.2} {y0:.2} A {r} {r} 0 {large} 1 {x1:.2} {y1:.2}")
}

/// The ring most live nodes see, with the nodes that see another one.
fn consensus(views: &[(NodeId, &NodeView)]) -> Option<(RingSection, Vec<NodeId>)> {
    let rings: Vec<(NodeId, &RingSection)> = views
        .iter()
        .filter_map(|(i, v)| v.ring.as_ref().map(|r| (*i, r)))
        .collect();
    let mut best: Option<(&RingSection, usize)> = None;
    for (_, r) in &rings {
        let same = rings.iter().filter(|(_, o)| o.tokens == r.tokens).count();
        if best.is_none_or(|b| same > b.1) {
            best = Some((r, same));
        }
    }
    let (r, _) = best?;
    let others = rings
        .iter()
        .filter(|(_, o)| o.tokens != r.tokens)
        .map(|(i, _)| *i)
        .collect();
    Some((r.clone(), others))
}

pub fn ring_panel(p: &RingProps) -> Html {
    let Some(f) = &p.frame else {
        return html! {};
    };
    let views: Vec<(NodeId, &NodeView)> = (0..f.input.rows.len())
        .filter_map(|i| f.view(i).map(|v| (i as NodeId, v)))
        .collect();
    let Some((ring, disagree)) = consensus(&views) else {
        return html! {
            <section class="ql-panel" data-testid="ring">
                <h2>{ "Ring" }</h2>
                <p class="ql-muted">{ "No running node places keys on a consistent-hash ring." }</p>
            </section>
        };
    };
    // Which live nodes hold each key now, and every key any of them knows.
    let mut holders: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
    let mut keys: BTreeMap<String, (f64, Vec<NodeId>)> = BTreeMap::new();
    for (i, v) in &views {
        let Some(r) = &v.ring else { continue };
        for k in &r.keys {
            keys.entry(k.key.clone())
                .or_insert((k.at, k.preference.clone()));
            // A version of the key itself (its field `key @...`), not only a hint.
            if v.fields
                .iter()
                .any(|(l, _)| l.starts_with(&format!("{} @", k.key)))
            {
                holders.entry(k.key.clone()).or_default().push(*i);
            }
        }
    }
    let t = &ring.tokens;
    let arcs = t.iter().enumerate().map(|(i, (at, node))| {
        let prev = if i == 0 { t[t.len() - 1].0 } else { t[i - 1].0 };
        let d = if t.len() == 1 {
            // One token owns the whole circle.
            format!("M {C} {} A {R} {R} 0 1 1 {C} {} A {R} {R} 0 1 1 {C} {}", C - R, C + R, C - R)
        } else {
            arc(prev, *at, R)
        };
        html! {
            <path class="ql-ring-arc" d={d} stroke={hue(*node)} data-node={node.to_string()}>
                <title>{ format!("range ending at {:.1}% of the ring: node {node} first", at * 100.0) }</title>
            </path>
        }
    });
    let ticks = t.iter().map(|(at, node)| {
        let (x0, y0) = point(*at, R - 7.0);
        let (x1, y1) = point(*at, R + 7.0);
        html! { <line class="ql-ring-token" x1={format!("{x0:.2}")} y1={format!("{y0:.2}")} x2={format!("{x1:.2}")} y2={format!("{y1:.2}")} stroke={hue(*node)} /> }
    });
    // Where a request for a key walks: from the key clockwise, the first token of each
    // replica of its preference list.
    let walk = |at: f64, pref: &[NodeId]| -> Vec<(NodeId, f64)> {
        let start = t.partition_point(|(x, _)| *x < at);
        let mut out: Vec<(NodeId, f64)> = Vec::new();
        for j in 0..t.len() {
            let (x, n) = t[(start + j) % t.len()];
            if pref.contains(&n) && !out.iter().any(|o| o.0 == n) {
                out.push((n, x));
            }
        }
        out
    };
    let key_marks = keys.iter().map(|(k, (at, pref))| {
        let (x, y) = point(*at, R - 22.0);
        let held = holders.get(k).cloned().unwrap_or_default();
        let lines = walk(*at, pref).into_iter().enumerate().map(|(rank, (n, tok))| {
            let (x1, y1) = point(tok, R);
            html! { <line class="ql-ring-pref" x1={format!("{x:.2}")} y1={format!("{y:.2}")} x2={format!("{x1:.2}")} y2={format!("{y1:.2}")} stroke={hue(n)} data-rank={rank.to_string()} /> }
        });
        let names: Vec<String> = pref.iter().map(|n| n.to_string()).collect();
        html! {
            <g class="ql-ring-key" data-key={k.clone()} data-preference={names.join(",")}>
                <g class="pref">{ for lines }</g>
                <circle cx={format!("{x:.2}")} cy={format!("{y:.2}")} r="4.5" />
                <title>{ format!("{k}: preference list {}; held now by {:?}", names.join(", "), held) }</title>
            </g>
        }
    });
    // Each node's share of the circle, as the first of a preference list.
    let mut share: BTreeMap<NodeId, f64> = BTreeMap::new();
    for (i, (at, node)) in t.iter().enumerate() {
        let prev = if i == 0 {
            t[t.len() - 1].0 - 1.0
        } else {
            t[i - 1].0
        };
        *share.entry(*node).or_default() += if t.len() == 1 { 1.0 } else { at - prev };
    }
    let legend = share.iter().map(|(n, s)| {
        html! { <span class="ql-ring-node" data-node={n.to_string()}><i style={format!("background:{}", hue(*n))}></i>{ format!("node {n}: {:.0}%", s * 100.0) }</span> }
    });
    let rows = keys.iter().map(|(k, (_, pref))| {
        let held = holders.get(k).cloned().unwrap_or_default();
        let cells = pref.iter().map(|n| {
            let has = held.contains(n);
            html! { <span class={classes!("ql-rep", if has { "has" } else { "missing" })}>{ format!("{n}{}", if has { "✓" } else { "✗" }) }</span> }
        });
        let extra: Vec<String> = held.iter().filter(|h| !pref.contains(h)).map(|h| h.to_string()).collect();
        html! {
            <tr data-key={k.clone()}>
                <td>{ k.clone() }</td>
                <td>{ for cells }</td>
                <td>{ if extra.is_empty() { String::new() } else { format!("also on {}", extra.join(", ")) } }</td>
            </tr>
        }
    });
    let hints: Vec<String> = views
        .iter()
        .filter_map(|(i, v)| v.ring.as_ref().map(|r| (i, r)))
        .flat_map(|(i, r)| {
            r.hints
                .iter()
                .map(move |(o, c)| format!("node {i} keeps {c} hinted keys for node {o}"))
        })
        .collect();
    let moved: Vec<String> = views
        .iter()
        .filter_map(|(i, v)| {
            v.field("last membership change")
                .map(|m| format!("node {i}: {m}"))
        })
        .collect();
    html! {
        <section class="ql-panel ql-ring" data-testid="ring">
            <h2>{ format!("Ring ({} tokens, n = {})", t.len(), ring.n) }</h2>
            <div class="ql-ring-wrap">
                <svg class="ql-ring-svg" data-testid="ring-svg" viewBox="0 0 300 300">
                    { for arcs }
                    { for ticks }
                    { for key_marks }
                </svg>
                <div class="ql-ring-legend">{ for legend }</div>
            </div>
            if !disagree.is_empty() {
                <p class="ql-warn" data-testid="ring-disagree">{ format!("Nodes {disagree:?} see another membership: the change has not reached everyone yet.") }</p>
            }
            <table class="ql-table" data-testid="ring-keys">
                <tr><th>{ "key" }</th><th>{ format!("preference list (✓ holds it now)") }</th><th></th></tr>
                { for rows }
            </table>
            <h3>{ "Hinted handoff" }</h3>
            if hints.is_empty() {
                <p class="ql-muted" data-testid="ring-hints-none">{ "No hints kept: every write reached its own replicas." }</p>
            } else {
                <ul data-testid="ring-hints">{ for hints.iter().map(|h| html! { <li>{ h.clone() }</li> }) }</ul>
            }
            if !moved.is_empty() {
                <h3>{ "Last membership change" }</h3>
                <ul data-testid="ring-moved">{ for moved.iter().map(|m| html! { <li>{ m.clone() }</li> }) }</ul>
            }
        </section>
    }
}
