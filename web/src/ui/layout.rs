//! Geometry of the pictures: where nodes sit, where a message is along its link, and
//! how a pointer position maps into the drawing.

use quorumlab_core::Time;
use quorumlab_sim::scenario::{NodeSpec, Nodes, Scenario};
use quorumlab_sim::Flight;

/// The cluster drawing's coordinate system (SVG viewBox).
pub const W: f64 = 1000.0;
pub const H: f64 = 640.0;
/// Room kept free around the unit square for labels.
pub const MARGIN: f64 = 70.0;

/// Node positions in the unit square: the scenario's x/y where given, else on a circle.
pub fn unit_positions(s: &Scenario) -> Vec<(f64, f64)> {
    let n = s.n();
    (0..n)
        .map(|i| {
            let spec = s.nodes.spec(i);
            let (cx, cy) = circle(i, n);
            (
                spec.x
                    .filter(|v| v.is_finite())
                    .unwrap_or(cx)
                    .clamp(0.0, 1.0),
                spec.y
                    .filter(|v| v.is_finite())
                    .unwrap_or(cy)
                    .clamp(0.0, 1.0),
            )
        })
        .collect()
}

/// Position `i` of `n` on a circle, starting at the top, clockwise.
pub fn circle(i: usize, n: usize) -> (f64, f64) {
    if n <= 1 {
        return (0.5, 0.5);
    }
    // Clockwise from the top is the angle a - pi/2: (cos, sin) of it is (sin a, -cos a).
    let (s, c) = sin_cos_turn((i % n) as f64 / n as f64);
    (0.5 + 0.45 * s, 0.5 - 0.45 * c)
}

/// `(sin, cos)` of the angle `t` turns (`0 <= t < 1`), by Taylor series after folding
/// to `|x| <= pi/4`, to within 1e-15: the platform's `sin`/`cos` bring their argument
/// reduction (5 kB of the page's bundle) for a few node positions.
fn sin_cos_turn(t: f64) -> (f64, f64) {
    use std::f64::consts::FRAC_PI_2;
    // Quarter turns, and what is left of the angle in [-pi/4, pi/4].
    let q = (t * 4.0).round();
    let x = (t * 4.0 - q) * FRAC_PI_2;
    let x2 = x * x;
    let (mut s, mut c, mut term_s, mut term_c) = (x, 1.0, x, 1.0);
    for k in 1..10 {
        let k = k as f64;
        term_s *= -x2 / ((2.0 * k) * (2.0 * k + 1.0));
        term_c *= -x2 / ((2.0 * k - 1.0) * (2.0 * k));
        s += term_s;
        c += term_c;
    }
    match (q as i64).rem_euclid(4) {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// From the unit square to drawing coordinates.
pub fn to_view((x, y): (f64, f64)) -> (f64, f64) {
    (
        MARGIN + x * (W - 2.0 * MARGIN),
        MARGIN + y * (H - 2.0 * MARGIN),
    )
}

/// From a pointer position (client pixels) over an SVG element at `rect`
/// (left, top, width, height) drawn with `preserveAspectRatio="xMidYMid meet"`, to the
/// unit square (clamped).
pub fn client_to_unit(cx: f64, cy: f64, rect: (f64, f64, f64, f64)) -> (f64, f64) {
    let (left, top, w, h) = rect;
    if !(w > 0.0 && h > 0.0) {
        return (0.5, 0.5);
    }
    let scale = (w / W).min(h / H);
    let ox = left + (w - W * scale) / 2.0;
    let oy = top + (h - H * scale) / 2.0;
    let vx = (cx - ox) / scale;
    let vy = (cy - oy) / scale;
    let ux = (vx - MARGIN) / (W - 2.0 * MARGIN);
    let uy = (vy - MARGIN) / (H - 2.0 * MARGIN);
    let c = |v: f64| {
        if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.5
        }
    };
    (c(ux), c(uy))
}

/// From a pointer's client x over the timeline at `rect` (left, top, width, height),
/// to the moment under it in a run of `duration_ms` (whole ms, clamped to the run).
pub fn client_to_ms(cx: f64, rect: (f64, f64, f64, f64), duration_ms: u64) -> u64 {
    let (left, _, w, _) = rect;
    if w.is_nan() || w <= 0.0 {
        return 0;
    }
    let x = (cx - left) / w;
    let x = if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    };
    (x * duration_ms as f64).round() as u64
}

/// Move node `i` to `(x, y)` (unit square) in the scenario, turning a node count into a
/// list if needed. Other nodes keep where they are drawn now.
pub fn set_position(s: &mut Scenario, i: usize, x: f64, y: f64) {
    let n = s.n();
    if i >= n {
        return;
    }
    let now = unit_positions(s);
    let mut list: Vec<NodeSpec> = (0..n).map(|k| s.nodes.spec(k)).collect();
    for (k, spec) in list.iter_mut().enumerate() {
        if spec.x.is_none() || spec.y.is_none() {
            if let Some(&(px, py)) = now.get(k) {
                spec.x = Some(round3(px));
                spec.y = Some(round3(py));
            }
        }
    }
    if let Some(spec) = list.get_mut(i) {
        spec.x = Some(round3(x.clamp(0.0, 1.0)));
        spec.y = Some(round3(y.clamp(0.0, 1.0)));
    }
    s.nodes = Nodes::List(list);
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// How far along its link a message is at `now`, in `[0, 1]`.
pub fn progress(f: &Flight, now: Time) -> f64 {
    if f.arrives <= f.sent {
        return 1.0;
    }
    let p = now.saturating_sub(f.sent) as f64 / (f.arrives - f.sent) as f64;
    p.clamp(0.0, 1.0)
}

/// A point `p` of the way from `a` to `b`, moved sideways by `side` (so that the two
/// directions of a link do not overlap).
pub fn along(a: (f64, f64), b: (f64, f64), p: f64, side: f64) -> (f64, f64) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (nx, ny) = (-dy / len, dx / len);
    (a.0 + dx * p + nx * side, a.1 + dy * p + ny * side)
}

/// The node radius for a cluster of `n` nodes.
pub fn node_radius(n: usize) -> f64 {
    match n {
        0..=7 => 34.0,
        8..=15 => 26.0,
        16..=31 => 19.0,
        _ => 13.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::gallery::default_scenario;

    #[test]
    fn the_circle_is_the_platforms_to_within_a_hair() {
        for n in [2, 3, 5, 7, 12, 25, 100] {
            for i in 0..n {
                let a = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n as f64;
                let (x, y) = circle(i, n);
                assert!((x - (0.5 + 0.45 * a.cos())).abs() < 1e-12, "{i} of {n}");
                assert!((y - (0.5 + 0.45 * a.sin())).abs() < 1e-12, "{i} of {n}");
            }
        }
        for k in 0..1000 {
            let t = k as f64 / 1000.0;
            let (s, c) = sin_cos_turn(t);
            let a = std::f64::consts::TAU * t;
            assert!(
                (s - a.sin()).abs() < 1e-14 && (c - a.cos()).abs() < 1e-14,
                "{t}"
            );
        }
    }

    #[test]
    fn a_pointer_over_the_timeline_is_a_moment_of_the_run() {
        let rect = (100.0, 0.0, 500.0, 40.0);
        assert_eq!(client_to_ms(100.0, rect, 10_000), 0);
        assert_eq!(client_to_ms(350.0, rect, 10_000), 5_000);
        assert_eq!(client_to_ms(600.0, rect, 10_000), 10_000);
        // Past either end: clamped to the run; an unlaid-out timeline: time 0.
        assert_eq!(client_to_ms(900.0, rect, 10_000), 10_000);
        assert_eq!(client_to_ms(0.0, rect, 10_000), 0);
        assert_eq!(client_to_ms(350.0, (0.0, 0.0, 0.0, 0.0), 10_000), 0);
    }

    #[test]
    fn circle_and_round_trip_through_the_pointer() {
        let s = default_scenario();
        let p = unit_positions(&s);
        assert_eq!(p.len(), 5);
        assert!((p[0].0 - 0.5).abs() < 1e-9 && p[0].1 < 0.1);
        // A drawing at 2x, letterboxed horizontally.
        let rect = (10.0, 20.0, 2.0 * W + 100.0, 2.0 * H);
        let (vx, vy) = to_view((0.25, 0.75));
        let (cx, cy) = (10.0 + 50.0 + vx * 2.0, 20.0 + vy * 2.0);
        let (ux, uy) = client_to_unit(cx, cy, rect);
        assert!((ux - 0.25).abs() < 1e-9 && (uy - 0.75).abs() < 1e-9);
        assert_eq!(client_to_unit(1.0, 1.0, (0.0, 0.0, 0.0, 0.0)), (0.5, 0.5));
        assert_eq!(client_to_unit(-1e9, 1e9, rect), (0.0, 1.0));
    }

    #[test]
    fn dragging_keeps_the_others_in_place() {
        let mut s = default_scenario();
        let before = unit_positions(&s);
        set_position(&mut s, 2, 0.1, 0.2);
        let after = unit_positions(&s);
        assert_eq!(after[2], (0.1, 0.2));
        for k in [0, 1, 3, 4] {
            assert!((after[k].0 - before[k].0).abs() < 1e-3);
        }
        assert!(s.validate().is_ok());
        set_position(&mut s, 99, 0.0, 0.0);
        assert_eq!(s.n(), 5);
    }

    #[test]
    fn message_progress() {
        let f = Flight {
            from: 0,
            to: 1,
            kind: "vote".into(),
            label: "vote t2".into(),
            sent: 1000,
            arrives: 3000,
            fate: "delivered".into(),
        };
        assert_eq!(progress(&f, 2000), 0.5);
        assert_eq!(progress(&f, 0), 0.0);
        assert_eq!(progress(&f, 9000), 1.0);
        let (x, y) = along((0.0, 0.0), (10.0, 0.0), 0.5, 2.0);
        assert!((x - 5.0).abs() < 1e-9 && (y - 2.0).abs() < 1e-9);
    }
}
