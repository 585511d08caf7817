//! The embeddable widget (`?embed=1`): its URL options and what it lets a reader do.
//! The state applies them ([`super::state::State::new`] starts the widget, `reduce`
//! refuses what `readonly` forbids, a frame pauses or loops at `stop_ms`); its compact
//! page is laid out by [`super::playground`] from the full page's own panels. The
//! `postMessage` API it speaks is `embed.rs`.

use super::state::Action;

/// A panel the author may ask for with `panels=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// The cluster table and the log grid.
    Log,
    Spacetime,
    Console,
    Cap,
    /// The selected node's state and its fault buttons.
    Node,
    /// The scenario's checklist of expectations.
    Lesson,
    /// A lock service's timeline.
    Locks,
    /// A consistent-hash ring.
    Ring,
}

const PANELS: &[(&str, Panel)] = &[
    ("log", Panel::Log),
    ("spacetime", Panel::Spacetime),
    ("console", Panel::Console),
    ("cap", Panel::Cap),
    ("node", Panel::Node),
    ("lesson", Panel::Lesson),
    ("locks", Panel::Locks),
    ("ring", Panel::Ring),
];

/// What the reader may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOnly {
    /// Everything, as on the full page.
    No,
    /// No editing of the scenario; faults (crash, restart, partition, operations) still
    /// work.
    Edits,
    /// Nothing but play, pause, step and the timeline.
    All,
}

/// The widget's options, from the page's query string.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub panels: Vec<Panel>,
    /// `light`, `dark`, or `None` (the reader's `prefers-color-scheme`).
    pub theme: Option<&'static str>,
    pub autoplay: bool,
    pub speed: Option<f64>,
    pub start_ms: Option<u64>,
    pub stop_ms: Option<u64>,
    pub looped: bool,
    pub readonly: ReadOnly,
    pub controls: bool,
    pub seed: Option<u64>,
    /// Origins whose commands are obeyed (empty: the parent, whatever its origin).
    pub allow_origins: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            panels: Vec::new(),
            theme: None,
            autoplay: true,
            speed: None,
            start_ms: None,
            stop_ms: None,
            looped: false,
            readonly: ReadOnly::No,
            controls: true,
            seed: None,
            allow_origins: Vec::new(),
        }
    }
}

/// `%XX` and `+` decoded (bad escapes are kept as they are).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn flag(v: &str) -> Option<bool> {
    match v {
        "" | "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Each option and what a good value is (for the message about a bad one).
const HINTS: &[(&str, &str)] = &[
    (
        "panels",
        "a comma-separated list of log, spacetime, console, cap, node, lesson",
    ),
    ("theme", "light, dark or auto"),
    ("autoplay", "1 or 0"),
    ("loop", "1 or 0"),
    ("controls", "1 or 0"),
    ("readonly", "1 (no editing), all (no faults either) or 0"),
    ("speed", "simulated milliseconds per second, 1 to 100000"),
    ("start_ms", "simulated milliseconds, a whole number"),
    ("stop_ms", "simulated milliseconds, a whole number"),
    ("seed", "a whole number"),
    (
        "allow_origins",
        "comma-separated origins such as https://example.org",
    ),
    // Read elsewhere (`workers::runtime_from_query`, `run_status`), named there.
    ("runtime", ""),
    ("lane_kib", ""),
    ("embed", ""),
];

/// Set option `k` to `v`; `None` if the value is not one.
fn set(o: &mut Options, k: &str, v: &str) -> Option<()> {
    let ms = || v.parse::<u64>().ok();
    match k {
        "panels" => {
            let mut ps = Vec::new();
            for p in v.split(',').filter(|p| !p.is_empty()) {
                ps.push(PANELS.iter().find(|(n, _)| *n == p)?.1);
            }
            o.panels = ps;
        }
        "theme" => {
            o.theme = match v {
                "light" => Some("light"),
                "dark" => Some("dark"),
                "auto" | "" => None,
                _ => return None,
            }
        }
        "autoplay" => o.autoplay = flag(v)?,
        "loop" => o.looped = flag(v)?,
        "controls" => o.controls = flag(v)?,
        "readonly" => {
            o.readonly = match (v, flag(v)) {
                ("all", _) => ReadOnly::All,
                (_, Some(true)) => ReadOnly::Edits,
                (_, Some(false)) => ReadOnly::No,
                _ => return None,
            }
        }
        "speed" => {
            o.speed = Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|s| (1.0..=100_000.0).contains(s))?,
            )
        }
        "start_ms" => o.start_ms = Some(ms()?),
        "stop_ms" => o.stop_ms = Some(ms()?),
        "seed" => o.seed = Some(ms()?),
        "allow_origins" => {
            let list: Vec<String> = v
                .split([',', ' '])
                .filter(|x| !x.is_empty())
                .map(|x| x.trim_end_matches('/').to_string())
                .collect();
            if !list
                .iter()
                .all(|x| x.starts_with("https://") || x.starts_with("http://"))
            {
                return None;
            }
            o.allow_origins = list;
        }
        _ => {}
    }
    Some(())
}

/// Read the widget's options from a query string (without `?`). `None` when the page is
/// not the widget (no `embed`); else the options and a message for each bad or unknown
/// one (each is then left at its default).
pub fn from_query(query: &str) -> Option<(Options, Vec<String>)> {
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect();
    if !pairs
        .iter()
        .any(|(k, v)| k == "embed" && flag(v) != Some(false))
    {
        return None;
    }
    let mut o = Options::default();
    let mut errors = Vec::new();
    for (k, v) in &pairs {
        match HINTS.iter().find(|(n, _)| n == k) {
            None => errors.push(format!("`{k}` is not an option of the widget")),
            Some((_, hint)) => {
                if set(&mut o, k, v).is_none() {
                    errors.push(format!("{k}={v} is not a value of {k}: give {hint}"));
                }
            }
        }
    }
    if let (Some(a), Some(b)) = (o.start_ms, o.stop_ms) {
        if b <= a {
            errors.push(format!(
                "stop_ms={b} is not after start_ms={a}: playing to the end"
            ));
            o.stop_ms = None;
        }
    }
    Some((o, errors))
}

/// Whether the reader may do `action` (commands from the embedding page do not come
/// here).
pub fn allows(o: &Options, action: &Action) -> bool {
    let edit = matches!(
        action,
        Action::Edit(_)
            | Action::Undo
            | Action::Redo
            | Action::Load(_)
            | Action::CanvasMove(..)
            | Action::FaultDown(..)
            | Action::Hash(_)
            | Action::OpenColumn(..)
    );
    let fault = matches!(
        action,
        Action::Act(_) | Action::ApplyPartition | Action::ConsoleSend | Action::SelectLink(_)
    );
    match o.readonly {
        ReadOnly::No => true,
        ReadOnly::Edits => !edit,
        ReadOnly::All => !edit && !fault,
    }
}

/// The same run on the full page: its address without the widget's options, with the
/// scenario in the fragment.
pub fn open_url(base_url: &str, fragment: &str) -> String {
    let page = base_url.split('?').next().unwrap_or(base_url);
    format!("{page}#{fragment}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_embed_option_is_the_full_page() {
        assert!(from_query("").is_none());
        assert!(from_query("runtime=inline").is_none());
        assert!(from_query("embed=0").is_none());
        assert!(from_query("embed").is_some());
    }

    #[test]
    fn options_are_read_and_bad_ones_named() {
        let (o, e) = from_query(
            "embed=1&panels=log,console,cap&theme=dark&autoplay=0&speed=200&start_ms=100&stop_ms=900&loop=1&readonly=1&controls=0&seed=7&allow_origins=https%3A%2F%2Fa.org%2C%20http://b.net/",
        )
        .unwrap();
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(o.panels, vec![Panel::Log, Panel::Console, Panel::Cap]);
        assert_eq!(o.theme, Some("dark"));
        assert!(!o.autoplay && o.looped && !o.controls);
        assert_eq!(o.speed, Some(200.0));
        assert_eq!(
            (o.start_ms, o.stop_ms, o.seed),
            (Some(100), Some(900), Some(7))
        );
        assert_eq!(o.readonly, ReadOnly::Edits);
        assert_eq!(o.allow_origins, vec!["https://a.org", "http://b.net"]);

        let (o, e) = from_query(
            "embed&panels=log,graph&colour=red&speed=-3&seed=x&theme=pink&autoplay=maybe&start_ms=50&stop_ms=10&allow_origins=evil",
        )
        .unwrap();
        let defaults = Options {
            start_ms: Some(50),
            ..Options::default()
        };
        assert_eq!(o, defaults);
        let all = e.join("\n");
        for needle in [
            "panels=log,graph is not a value of panels: give a comma-separated list of log,",
            "`colour` is not an option",
            "speed=-3 is not a value of speed",
            "seed=x is not a value of seed: give a whole number",
            "theme=pink is not a value of theme: give light, dark or auto",
            "autoplay=maybe is not a value of autoplay: give 1 or 0",
            "stop_ms=10 is not after start_ms=50",
            "allow_origins=evil is not a value of allow_origins",
        ] {
            assert!(all.contains(needle), "{needle} missing from:\n{all}");
        }
        // start_ms alone is kept even though stop_ms was refused.
        let (o, _) = from_query("embed&start_ms=50&stop_ms=10").unwrap();
        assert_eq!((o.start_ms, o.stop_ms), (Some(50), None));
    }

    #[test]
    fn readonly_keeps_faults_unless_all() {
        let (o, _) = from_query("embed&readonly=1").unwrap();
        assert!(!allows(&o, &Action::Undo));
        assert!(allows(&o, &Action::ConsoleSend));
        assert!(allows(&o, &Action::Play));
        let (o, _) = from_query("embed&readonly=all").unwrap();
        assert!(!allows(&o, &Action::ConsoleSend));
        assert!(allows(&o, &Action::Step));
        let (o, _) = from_query("embed").unwrap();
        assert!(allows(&o, &Action::Undo));
    }

    #[test]
    fn the_full_page_link_drops_the_widget_options() {
        assert_eq!(
            open_url("https://x.org/ql/index.html?embed=1&panels=log", "v1abc"),
            "https://x.org/ql/index.html#v1abc"
        );
        assert_eq!(open_url("https://x.org/ql/", "v1"), "https://x.org/ql/#v1");
        assert_eq!(unescape("a%2Cb+c%zz%4"), "a,b c%zz%4");
    }
}
