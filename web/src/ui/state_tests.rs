//! The page's behaviour, driven through its reducer as the component drives it: actions
//! in, state and effects out (no browser).

use super::*;
use crate::ui::gallery;
use crate::ui::lab::Source as LabSource;
use quorumlab_sim::scenario::NodeRef;

/// The default scenario (five Raft nodes with clients), 3 s long.
fn scenario() -> Scenario {
    let mut s = gallery::default_scenario();
    s.duration_ms = 3_000;
    s
}

fn state() -> State {
    let mut st = State::new(scenario(), None, Runtime::Inline, gallery::presets(), None);
    st.ready();
    st.take_effects();
    st
}

fn preset(id: &str) -> Scenario {
    gallery::presets_from_disk()
        .into_iter()
        .find(|p| p.id == id)
        .and_then(|p| p.scenario.ok())
        .unwrap_or_else(|| panic!("preset {id}"))
}

/// Play `ms` of wall-clock time in 16 ms frames.
fn play_for(st: &mut State, ms: f64) -> Vec<Effect> {
    let mut effects = Vec::new();
    let mut t = 1_000.0;
    while t <= 1_000.0 + ms {
        effects.extend(st.reduce(Action::Frame(t)).0);
        t += 16.0;
    }
    effects
}

fn posted(effects: &[Effect], ty: &str) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Post(text) => {
                let v: Value = serde_json::from_str(text).expect("events are JSON");
                (v["type"] == ty).then_some(v)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn opening_says_ready_and_plays() {
    let mut st = State::new(scenario(), None, Runtime::Inline, gallery::presets(), None);
    st.ready();
    let ready = posted(&st.take_effects(), "ready");
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0]["api"], 1);
    assert_eq!(ready[0]["nodes"], 5);
    assert!(st.playing);
    assert_eq!(st.session.now(), 0);
}

#[test]
fn frames_advance_time_at_the_speed_and_pause_stops_them() {
    let mut st = state();
    st.reduce(Action::Speed(100.0));
    let effects = play_for(&mut st, 500.0);
    // 100 simulated ms per second for about half a second.
    let now = st.session.now();
    assert!((45 * MS..=55 * MS).contains(&now), "at {now} us");
    assert!(
        !posted(&effects, "time").is_empty(),
        "the embedding page hears the time"
    );
    st.reduce(Action::Pause);
    let before = st.session.now();
    play_for(&mut st, 500.0);
    assert_eq!(st.session.now(), before, "paused: frames do not move time");
    // A nonsense speed is refused.
    st.reduce(Action::Speed(f64::NAN));
    st.reduce(Action::Speed(0.0));
    assert_eq!(st.speed, 100.0);
}

#[test]
fn step_pauses_and_moves_one_engine_step_and_space_toggles_play() {
    let mut st = state();
    let hash = |st: &State| st.session.engine().unwrap().trace_hash();
    let before = hash(&st);
    st.reduce(Action::Step);
    assert!(!st.playing);
    assert_ne!(hash(&st), before, "the run moved by one step");
    let key = |k: &str, ctrl: bool| {
        Action::Key(Key {
            key: k.into(),
            ctrl,
            shift: false,
        })
    };
    st.reduce(key(" ", false));
    assert!(st.playing, "space plays");
    st.reduce(key(" ", false));
    assert!(!st.playing, "space pauses");
    // A key the page does not use changes nothing and asks for no drawing.
    assert!(!st.reduce(key("q", false)).1);
}

#[test]
fn seeking_goes_exactly_there_back_and_forth() {
    let mut st = state();
    st.reduce(Action::Seek(1_500 * MS));
    assert_eq!(st.session.now(), 1_500 * MS);
    let hash = st.session.engine().unwrap().trace_hash();
    st.reduce(Action::Seek(200 * MS));
    assert_eq!(st.session.now(), 200 * MS);
    st.reduce(Action::Seek(1_500 * MS));
    assert_eq!(
        st.session.engine().unwrap().trace_hash(),
        hash,
        "the same run"
    );
    // Scrubbing on the timeline: press, drag, release.
    st.reduce(Action::TimelineDown(700));
    assert!(st.scrubbing);
    st.reduce(Action::TimelineMove(300.0, 900));
    assert_eq!(st.session.now(), 900 * MS);
    st.reduce(Action::TimelineUp);
    assert!(!st.scrubbing);
}

/// The timeline's moments come from the run; clicking the election after a leader crash
/// goes to its moment and selects the new leader.
#[test]
fn a_moment_on_the_timeline_goes_there_and_selects_its_node() {
    let mut st = State::new(
        preset("raft-leader-crash"),
        None,
        Runtime::Inline,
        gallery::presets(),
        None,
    );
    st.ready();
    st.reduce(Action::Seek(3_000 * MS));
    let marks = st.session.engine().unwrap().marks();
    let elected: Vec<_> = marks
        .iter()
        .filter(|m| m.kind == quorumlab_sim::marks::MarkKind::Elected)
        .collect();
    assert!(elected.len() >= 2, "{marks:?}");
    let second = elected[1];
    assert!(
        second.at > 1_500 * MS,
        "the election after the crash: {second:?}"
    );
    st.reduce(Action::SeekSelect(second.at, second.nodes[0]));
    assert_eq!(st.session.now(), second.at);
    assert_eq!(st.selected, Some(second.nodes[0]));
    // Earlier in the run, later moments are not known yet.
    let early = st.session.engine().unwrap().marks();
    assert!(early.iter().all(|m| m.at <= second.at));
}

#[test]
fn crash_and_restart_become_faults_at_the_playhead_and_undo_redo_them() {
    let mut st = state();
    st.reduce(Action::Seek(1_000 * MS + 300));
    let (effects, _) = st.reduce(Action::Act(FaultKind::Crash { node: 2.into() }));
    let faults = &st.session.scenario().faults;
    let crash = faults.last().expect("a fault");
    assert_eq!(crash.at_ms, 1_001, "stamped at the next whole millisecond");
    assert!(matches!(
        crash.kind,
        FaultKind::Crash {
            node: NodeRef::Id(2)
        }
    ));
    assert_eq!(st.session.now(), 1_001 * MS, "replayed up to the action");
    assert_eq!(st.session.engine().unwrap().status()[2], Status::Crashed);
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Store(_))),
        "the edit is autosaved"
    );
    st.reduce(Action::Seek(1_500 * MS));
    st.reduce(Action::Act(FaultKind::Restart {
        node: 2.into(),
        disk: true,
    }));
    assert_eq!(st.session.scenario().faults.len(), faults_before(&st) + 2);
    assert_eq!(st.session.engine().unwrap().status()[2], Status::Up);
    st.reduce(Action::Undo);
    assert_eq!(st.session.scenario().faults.len(), faults_before(&st) + 1);
    assert_eq!(st.session.engine().unwrap().status()[2], Status::Crashed);
    st.reduce(Action::Redo);
    assert_eq!(st.session.scenario().faults.len(), faults_before(&st) + 2);
    st.reduce(Action::Redo);
    assert_eq!(st.notice.as_deref(), Some("Nothing to redo"));
}

/// The default scenario's own faults.
fn faults_before(_: &State) -> usize {
    scenario().faults.len()
}

#[test]
fn dragging_nodes_across_the_line_then_partitioning_makes_that_partition() {
    let mut st = state();
    st.reduce(Action::Seek(500 * MS));
    st.reduce(Action::DrawPartition(true));
    let n = st.session.scenario().n() as NodeId;
    assert_eq!(
        st.groups.len(),
        n as usize,
        "every node in a group by its side"
    );
    let left: Vec<NodeId> = (0..n).filter(|i| st.groups[i] == 1).collect();
    // Drag a node of the left (A) to the far right: it joins B.
    let node = left[0];
    st.reduce(Action::NodeDown(node, 100.0, 100.0));
    st.reduce(Action::CanvasMove((101.0, 100.0), Some((0.9, 0.5))));
    assert!(
        st.drag.as_ref().is_some_and(|d| !d.moved),
        "a pixel is not a drag"
    );
    st.reduce(Action::CanvasMove((400.0, 100.0), Some((0.9, 0.5))));
    let revision = st.session.revision();
    st.reduce(Action::CanvasUp);
    assert_eq!(st.groups[&node], 2, "dropped on the right: group B");
    assert_eq!(
        st.session.revision(),
        revision,
        "moving a node is not a new run"
    );
    assert!(st.undo.can_undo(), "the move can be undone");
    st.reduce(Action::ApplyPartition);
    let last = st.session.scenario().faults.last().expect("a partition");
    let FaultKind::Partition { groups } = &last.kind else {
        panic!("{last:?}")
    };
    let ids = |g: &Vec<NodeRef>| -> Vec<NodeId> {
        g.iter()
            .map(|r| match r {
                NodeRef::Id(i) => *i,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let a: Vec<NodeId> = (0..n).filter(|i| st.groups[i] == 1).collect();
    let b: Vec<NodeId> = (0..n).filter(|i| st.groups[i] == 2).collect();
    assert_eq!(
        groups.iter().map(ids).collect::<Vec<_>>(),
        vec![a, b.clone()]
    );
    assert!(b.contains(&node));
    assert_eq!(last.at_ms, 500);
}

#[test]
fn a_click_on_a_node_selects_it_and_a_second_click_unselects() {
    let mut st = state();
    st.reduce(Action::Tab(Tab::Edit));
    st.reduce(Action::NodeDown(3, 50.0, 50.0));
    st.reduce(Action::CanvasUp);
    assert_eq!(st.selected, Some(3));
    assert_eq!(st.tab, Tab::Node, "the node panel shows it");
    assert_eq!(st.console.node, 3, "the console talks to it");
    st.reduce(Action::NodeDown(3, 50.0, 50.0));
    st.reduce(Action::CanvasUp);
    assert_eq!(st.selected, None);
}

#[test]
fn partition_with_no_groups_says_what_to_do() {
    let mut st = state();
    let faults = st.session.scenario().faults.len();
    st.reduce(Action::ApplyPartition);
    assert_eq!(
        st.notice.as_deref(),
        Some("Put some nodes in group A or B first")
    );
    assert_eq!(st.session.scenario().faults.len(), faults);
}

#[test]
fn dragging_a_fault_mark_moves_it_and_a_click_selects_it() {
    let mut st = state();
    st.reduce(Action::Seek(400 * MS));
    st.reduce(Action::Act(FaultKind::Heal));
    let i = st.session.scenario().faults.len() - 1;
    st.reduce(Action::FaultDown(i, 200.0));
    st.reduce(Action::TimelineMove(202.0, 1_234));
    st.reduce(Action::TimelineUp);
    assert_eq!(st.fault_sel, Some(i), "a click selects");
    assert_eq!(st.session.scenario().faults[i].at_ms, 400);
    st.reduce(Action::FaultDown(i, 200.0));
    st.reduce(Action::TimelineMove(260.0, 1_234));
    assert_eq!(
        st.fault_drag.map(|d| d.at_ms),
        Some(1_234),
        "drawn where dragged"
    );
    st.reduce(Action::TimelineUp);
    let moved = st
        .session
        .scenario()
        .faults
        .iter()
        .find(|f| matches!(f.kind, FaultKind::Heal))
        .unwrap();
    assert_eq!(moved.at_ms, 1_234);
    assert!(st.fault_drag.is_none());
}

#[test]
fn opening_a_preset_resets_the_selection_and_tools_and_keeps_the_speed() {
    let mut st = state();
    st.reduce(Action::Speed(200.0));
    st.reduce(Action::Select(Some(4)));
    st.reduce(Action::DrawPartition(true));
    st.reduce(Action::SelectLink(Some((0, 1))));
    st.error = Some("old".into());
    st.reduce(Action::Seek(800 * MS));
    let next = preset("raft-leader-crash");
    let (effects, _) = st.reduce(Action::Load(Box::new(next.clone())));
    assert_eq!(st.session.scenario().name, next.name);
    assert_eq!(st.session.now(), 0, "from the start");
    assert!(st.playing);
    assert_eq!((st.selected, st.link_sel, st.fault_sel), (None, None, None));
    assert!(st.groups.is_empty());
    assert!(st.error.is_none());
    assert_eq!(
        st.speed, 200.0,
        "the speed is the user's, not the scenario's"
    );
    assert!(st.undo.can_undo(), "the previous scenario is one undo away");
    assert!(effects.iter().any(|e| matches!(e, Effect::Store(_))));
    assert!(
        st.scenario().name == next.name,
        "the panels see the new scenario"
    );
}

#[test]
fn choosing_a_protocol_keeps_the_cluster_and_the_faults() {
    let mut st = state();
    st.reduce(Action::Seek(300 * MS));
    st.reduce(Action::Act(FaultKind::Crash { node: 1.into() }));
    st.reduce(Action::Select(Some(2)));
    let before = st.session.scenario().clone();
    let r = edit::set_protocol(&before, "multi-paxos");
    st.reduce(Action::Edit(r));
    let s = st.session.scenario();
    assert_eq!(s.protocol.name, "multi-paxos");
    assert_eq!(s.n(), before.n());
    assert_eq!(s.faults, before.faults);
    assert_eq!(st.selected, Some(2), "the selection stays");
    assert_eq!(st.session.now(), 300 * MS, "replayed to where the user was");
    // A node that no longer exists is unselected.
    st.reduce(Action::Select(Some(4)));
    let fewer = edit::remove_node(st.session.scenario(), 4);
    st.reduce(Action::Edit(fewer));
    assert_eq!(st.selected, None);
}

#[test]
fn an_invalid_edit_is_a_notice_and_changes_nothing() {
    let mut st = state();
    let before = st.session.scenario().clone();
    let r = edit::set_param(&before, "election_timeout_min_ms", serde_json::json!(-5));
    assert!(r.is_err());
    st.reduce(Action::Edit(r));
    assert!(st.notice.is_some());
    assert_eq!(*st.session.scenario(), before);
}

#[test]
fn a_bad_share_link_keeps_the_current_run_with_a_message() {
    let mut st = state();
    st.reduce(Action::Seek(700 * MS));
    let before = st.session.scenario().clone();
    st.reduce(Action::Hash("this-is-not-a-scenario".into()));
    let e = st.error.as_deref().expect("a message");
    assert!(e.contains("does not hold a scenario"), "{e}");
    assert!(e.contains("current scenario stays"), "{e}");
    assert_eq!(*st.session.scenario(), before);
    assert_eq!(st.session.now(), 700 * MS);
    // A good link opens its scenario.
    let other = preset("raft-leader-crash");
    st.reduce(Action::Hash(quorumlab_sim::url::encode(&other)));
    assert_eq!(st.session.scenario().name, other.name);
}

#[test]
fn share_link_carries_the_scenario_and_goes_to_the_clipboard() {
    let mut st = state();
    st.base_url = "https://example.org/ql/".into();
    let (effects, _) = st.reduce(Action::CopyLink);
    let link = st.link.clone().expect("shown");
    assert!(link.starts_with("https://example.org/ql/#"));
    assert_eq!(effects, vec![Effect::Copy(link.clone())]);
    let frag = link.split_once('#').unwrap().1;
    assert_eq!(
        quorumlab_sim::url::decode(frag).unwrap(),
        *st.session.scenario()
    );
}

#[test]
fn commands_from_the_embedding_page_act_and_bad_ones_are_answered() {
    let mut st = state();
    st.reduce(Action::Message(Ok(
        serde_json::json!({"type": "seek", "time": 600}),
    )));
    assert_eq!(st.session.now(), 600 * MS);
    st.reduce(Action::Message(Ok(
        serde_json::json!({"type": "crash", "node": 1}),
    )));
    assert_eq!(st.session.engine().unwrap().status()[1], Status::Crashed);
    let (effects, _) = st.reduce(Action::Message(Ok(
        serde_json::json!({"type": "crash", "node": 99}),
    )));
    assert_eq!(posted(&effects, "error").len(), 1, "the sender hears why");
    assert!(st
        .notice
        .as_deref()
        .unwrap()
        .starts_with("Ignored a message"));
    // Our own events echoed back are not commands.
    let (effects, changed) = st.reduce(Action::Message(Ok(
        serde_json::json!({"type": "time", "ms": 1}),
    )));
    assert!(effects.is_empty() && !changed);
}

#[test]
fn a_slow_scenario_asks_first_and_no_leaves_everything_as_it_was() {
    let mut st = state();
    let mut big = scenario();
    big.nodes = quorumlab_sim::scenario::Nodes::Count(25);
    big.duration_ms = 3_600_000;
    let q = quorumlab_sim::cost::question(&big);
    assert!(q.is_some(), "an hour of 25 nodes is slow");
    let before = st.session.scenario().clone();
    let (effects, _) = st.reduce(Action::Load(Box::new(big.clone())));
    let Some(Effect::Confirm(text, pending)) = effects.first() else {
        panic!("{effects:?}")
    };
    assert_eq!(Some(text.clone()), q);
    assert_eq!(*st.session.scenario(), before, "nothing yet");
    st.reduce(Action::Confirmed(false, Box::new(pending.0.clone())));
    assert_eq!(*st.session.scenario(), before);
    assert_eq!(
        st.notice.as_deref(),
        Some("Not run: the scenario was left as it was.")
    );
    st.reduce(Action::Confirmed(true, Box::new(pending.0.clone())));
    assert_eq!(st.session.scenario().n(), 25);
}

#[test]
fn the_end_of_the_run_asks_for_the_verdict_once_and_a_stale_answer_is_ignored() {
    let mut st = state();
    let (effects, _) = st.reduce(Action::RunToEnd);
    assert!(!st.playing);
    let asks: Vec<&Request> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Analyse(r) => Some(&**r),
            _ => None,
        })
        .collect();
    assert_eq!(asks.len(), 1);
    assert_eq!(
        posted(&effects, "trace").len(),
        1,
        "inline: the trace hash is posted"
    );
    let end = st.session.now();
    assert_eq!(st.asked, Some(end));
    // An answer about another moment (asked before a reset) does not count.
    let mut stale = quorumlab_sim::analysis::analyse(asks[0], &mut || false);
    let fresh = stale.clone();
    stale.at = end - 1;
    st.reduce(Action::Analysed(Ok(stale)));
    assert!(st.verdict.is_none());
    st.reduce(Action::Analysed(Ok(fresh)));
    assert_eq!(st.verdict, Some(Check::Passed));
    assert_eq!(st.verdict_at, end);
    // At the end again: no second question.
    let (effects, _) = st.reduce(Action::RunToEnd);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Analyse(_))));
}

#[test]
fn role_changes_are_posted_once_each() {
    let mut st = state();
    let (effects, _) = st.reduce(Action::Seek(1_000 * MS));
    let roles = posted(&effects, "role");
    assert!(
        roles.iter().any(|r| r["role"] == "leader"),
        "a leader by 1 s: {roles:?}"
    );
    let (effects, _) = st.reduce(Action::Seek(1_000 * MS));
    assert!(posted(&effects, "role").is_empty(), "nothing changed");
    // Paused, a crash from the embedding page is a role change at once (no frame
    // comes to post it).
    st.reduce(Action::Pause);
    let (effects, _) = st.reduce(Action::Message(Ok(
        serde_json::json!({"type": "crash", "node": 1}),
    )));
    let roles = posted(&effects, "role");
    assert!(
        roles
            .iter()
            .any(|r| r["node"] == 1 && r["role"] == "crashed"),
        "{roles:?}"
    );
}

#[test]
fn the_frame_is_built_once_per_moment_and_shared() {
    let mut st = state();
    st.reduce(Action::Seek(500 * MS));
    let a = st.frame().unwrap();
    let b = st.frame().unwrap();
    assert!(Rc::ptr_eq(&a, &b), "the same moment: the same frame");
    assert_eq!(a.input.rows.len(), st.session.scenario().n());
    assert_eq!(a.now, 500 * MS);
    st.reduce(Action::Hover(Some(1)));
    assert!(
        Rc::ptr_eq(&a, &st.frame().unwrap()),
        "hovering does not rebuild it"
    );
    st.reduce(Action::Seek(600 * MS));
    assert!(
        !Rc::ptr_eq(&a, &st.frame().unwrap()),
        "another moment: another frame"
    );
}

#[test]
fn the_scenario_is_shared_until_it_changes() {
    let mut st = state();
    let a = st.scenario();
    st.reduce(Action::Seek(300 * MS));
    assert!(Rc::ptr_eq(&a, &st.scenario()), "time moving keeps it");
    st.reduce(Action::Act(FaultKind::Heal));
    assert!(!Rc::ptr_eq(&a, &st.scenario()), "an edit replaces it");
    assert_eq!(*st.scenario(), *st.session.scenario());
}

#[test]
fn a_determinism_break_between_workers_and_page_is_shown() {
    let mut st = State::new(scenario(), None, Runtime::Workers, Vec::new(), None);
    st.reduce(Action::Seek(200 * MS));
    let st_report = WorkerStatus {
        now: 200 * MS,
        trace_hash: "0000000000000001".into(),
        ..Default::default()
    };
    st.reduce(Action::Workers(st_report));
    let e = st.error.as_deref().expect("shown");
    assert!(e.starts_with("Determinism broken"), "{e}");
    // A worker failure switches to the page's thread and says so.
    st.reduce(Action::Workers(WorkerStatus {
        error: Some("boom".into()),
        ..Default::default()
    }));
    assert_eq!(st.runtime, Runtime::Inline);
    assert!(st.error.as_deref().unwrap().contains("boom"));
}

/// The widget (`?embed=1&...`) opening the test scenario.
fn widget(query: &str) -> State {
    let (o, errors) = embed_view::from_query(query).expect("a widget query");
    assert!(errors.is_empty(), "{errors:?}");
    let mut st = State::new(scenario(), None, Runtime::Inline, Vec::new(), Some(o));
    st.ready();
    st.take_effects();
    st
}

#[test]
fn a_widget_starts_where_and_as_its_options_say() {
    let (o, _) = embed_view::from_query("embed&autoplay=0&speed=200&start_ms=400").unwrap();
    let mut st = State::new(scenario(), None, Runtime::Inline, Vec::new(), Some(o));
    assert!(!st.playing, "autoplay=0");
    assert_eq!(st.speed, 200.0);
    assert_eq!(st.session.now(), 400 * MS);
    st.ready();
    let effects = st.take_effects();
    assert_eq!(posted(&effects, "ready").len(), 1);
    assert!(posted(&effects, "error").is_empty());
    // A bad option is said in the frame and, before `ready`, to the embedding page.
    let (o, errors) = embed_view::from_query("embed&speed=-1").unwrap();
    let mut st = State::new(
        scenario(),
        Some(errors.join("\n")),
        Runtime::Inline,
        Vec::new(),
        Some(o),
    );
    st.ready();
    let effects = st.take_effects();
    let types: Vec<Value> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Post(t) => serde_json::from_str::<Value>(t).ok(),
            _ => None,
        })
        .map(|v| v["type"].clone())
        .collect();
    assert_eq!(types, vec!["error", "ready"]);
}

#[test]
fn a_readonly_widget_refuses_edits_and_keeps_faults() {
    let mut st = widget("embed&readonly=1");
    let before = st.session.scenario().clone();
    let mut edited = before.clone();
    edited.duration_ms = 2_000;
    let (effects, changed) = st.reduce(Action::Edit(Ok(edited)));
    assert!(effects.is_empty() && !changed, "an edit does nothing");
    assert_eq!(*st.session.scenario(), before);
    // Ctrl+Z reaches undo through the keyboard: refused too.
    st.reduce(Action::Act(FaultKind::Crash { node: 1.into() }));
    assert_eq!(st.session.scenario().faults.len(), 1, "a fault still works");
    let (_, changed) = st.reduce(Action::Key(Key {
        key: "z".into(),
        ctrl: true,
        shift: false,
    }));
    assert!(!changed);
    assert_eq!(st.session.scenario().faults.len(), 1, "no undo");
    assert!(!st.reduce(Action::Load(Box::new(before.clone()))).1);
    assert!(
        !st.reduce(Action::Hash(quorumlab_sim::url::encode(&before)))
            .1
    );

    // readonly=all: no faults either, but play, pause and step.
    let mut st = widget("embed&readonly=all");
    assert!(!st.reduce(Action::Act(FaultKind::Heal)).1);
    assert!(!st.reduce(Action::ConsoleSend).1);
    assert!(!st.reduce(Action::ApplyPartition).1);
    assert!(st.session.scenario().faults.is_empty());
    let hash = st.session.engine().unwrap().trace_hash();
    assert!(st.reduce(Action::Step).1);
    assert_ne!(st.session.engine().unwrap().trace_hash(), hash, "a step");
    // Commands from the embedding page are not the reader's: they still act.
    st.reduce(Action::Message(Ok(
        serde_json::json!({"type": "crash", "node": 2}),
    )));
    assert_eq!(st.session.scenario().faults.len(), 1);
}

#[test]
fn a_widget_pauses_at_stop_ms_or_loops_from_start_ms() {
    let mut st = widget("embed&speed=1000&stop_ms=300");
    play_for(&mut st, 1_000.0);
    assert!(!st.playing, "paused at the stop");
    let now = st.session.now();
    assert!((300 * MS..400 * MS).contains(&now), "at {now} us");

    let mut st = widget("embed&speed=2000&start_ms=100&stop_ms=300&loop=1");
    assert_eq!(st.session.now(), 100 * MS);
    let mut t = 1_000.0;
    let mut looped = false;
    for _ in 0..200 {
        let before = st.session.now();
        st.reduce(Action::Frame(t));
        t += 16.0;
        looped |= st.session.now() < before;
        assert!(st.playing, "a loop keeps playing");
    }
    assert!(looped, "back to start_ms after the stop");
    assert!(st.session.now() >= 100 * MS && st.session.now() < 400 * MS);
}

#[test]
fn the_embed_dialog_holds_the_runs_share_link() {
    let mut st = state();
    st.base_url = "https://x.org/ql/".into();
    st.reduce(Action::EmbedForm(true));
    let link = st.embed_form.clone().expect("open");
    let frag = link.strip_prefix("https://x.org/ql/#").expect(&link);
    assert_eq!(
        quorumlab_sim::url::decode(frag).unwrap(),
        *st.session.scenario()
    );
    st.reduce(Action::EmbedForm(false));
    assert!(st.embed_form.is_none());
}

#[test]
fn presets_arriving_replace_the_list_shown() {
    let mut st = State::new(scenario(), None, Runtime::Inline, gallery::presets(), None);
    let loading = st.presets.clone();
    assert!(loading
        .iter()
        .all(|p| matches!(&p.scenario, Err(e) if e == gallery::LOADING)));
    let (id, file) = gallery::PRESETS[1];
    let path = format!("{}/../scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let (_, changed) = st.reduce(Action::Preset(1, Ok(text)));
    assert!(changed);
    assert!(
        !Rc::ptr_eq(&loading, &st.presets),
        "a new list: the gallery redraws"
    );
    assert_eq!(st.presets[1].id, id);
    assert!(st.presets[1].scenario.is_ok());
    st.reduce(Action::Preset(2, Err("scenarios/x.json: HTTP 404".into())));
    assert_eq!(
        st.presets[2].scenario.as_ref().err().map(String::as_str),
        Some("scenarios/x.json: HTTP 404")
    );
    st.reduce(Action::Preset(3, Ok("{ not json".into())));
    assert!(st.presets[3].scenario.is_err());
    // An index past the list changes nothing.
    st.reduce(Action::Preset(999, Ok(String::new())));
    assert_eq!(st.presets.len(), loading.len());
}

#[test]
fn the_embedding_page_hears_the_leader_anomalies_and_the_finish() {
    let mut st = state();
    let (effects, _) = st.reduce(Action::Seek(1_000 * MS));
    let leaders = posted(&effects, "leader");
    assert_eq!(leaders.len(), 1, "one leader by 1 s: {leaders:?}");
    assert_eq!(leaders[0]["api"], 1);
    assert!(leaders[0]["term"].as_u64().unwrap() >= 1);
    let (effects, _) = st.reduce(Action::RunToEnd);
    let fin = posted(&effects, "finished");
    assert_eq!(fin.len(), 1);
    let hash = format!("{:016x}", st.session.engine().unwrap().trace_hash());
    assert_eq!(fin[0]["trace_hash"], hash.as_str());
    assert!(fin[0]["summary"]["ok"].as_u64().unwrap() > 0);
    // Our own new event kinds echoed back are not commands.
    for ty in ["leader", "finished", "anomaly"] {
        let (effects, changed) = st.reduce(Action::Message(Ok(serde_json::json!({ "type": ty }))));
        assert!(effects.is_empty() && !changed, "{ty}");
    }
    // An operation from the embedding page is a client operation at the playhead.
    st.reduce(Action::Seek(500 * MS));
    st.reduce(Action::Message(Ok(
        serde_json::json!({"type": "op", "node": 0, "op": "write", "key": "x", "value": 4}),
    )));
    let last = st.session.scenario().faults.last().unwrap();
    assert_eq!(last.at_ms, 500);
    assert!(
        matches!(&last.kind, FaultKind::Client { node: 0, op: Op::Write { key, value: 4 } } if key == "x")
    );
}

#[test]
fn anomalies_found_are_posted() {
    let mut st = state();
    let (effects, _) = st.reduce(Action::RunToEnd);
    let req = effects
        .iter()
        .find_map(|e| match e {
            Effect::Analyse(r) => Some((**r).clone()),
            _ => None,
        })
        .unwrap();
    let mut answer = quorumlab_sim::analysis::analyse(&req, &mut || false);
    answer.anomalies.list.push(quorumlab_sim::anomaly::Anomaly {
        kind: quorumlab_sim::anomaly::AnomalyKind::StaleRead,
        at_ms: 12.5,
        until_ms: None,
        nodes: vec![1],
        ops: Vec::new(),
        detail: "read k0 saw 1 after 2".into(),
    });
    let (effects, _) = st.reduce(Action::Analysed(Ok(answer)));
    let an = posted(&effects, "anomaly");
    assert_eq!(an.len(), 1);
    assert_eq!(an[0]["time"], 12.5);
    assert_eq!(an[0]["detail"], "read k0 saw 1 after 2");
}

/// A widget whose node workers cannot start tells its embedding page, as it tells the
/// reader in its frame (the page alone only shows it).
#[test]
fn a_widget_posts_a_failed_worker_runtime_as_an_error_event() {
    let mut st = widget("embed");
    st.worker_failed("node 0: the worker did not start within 15 s");
    let effects = st.take_effects();
    let errors = posted(&effects, "error");
    assert_eq!(errors.len(), 1, "{effects:?}");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("did not start"),
        "{errors:?}"
    );
    let mut page = state();
    page.worker_failed("node 0: boom");
    assert!(posted(&page.take_effects(), "error").is_empty());
}

/// The PACELC view runs the scenario and its comparison again with no fault at all, to
/// their ends, on the same seed: Raft against lease reads on a partition preset, both
/// fault-free, answer everything; switching the comparison or the scenario redoes it,
/// and switching it off drops the runs.
#[test]
fn the_pacelc_view_runs_both_configurations_without_faults() {
    let mut st = state();
    st.set_scenario(preset("raft-minority-partition"), 0);
    let v = variants_for(st.session.scenario())
        .iter()
        .copied()
        .find(|v| v.id == "MultiPaxos")
        .expect("Raft compares with Multi-Paxos");
    st.reduce(Action::Compare(Some(v)));
    st.reduce(Action::Pacelc(true));
    let (a, b) = st.pacelc.as_ref().expect("shown");
    let (label, b) = b.first().expect("the comparison's run too");
    assert_eq!(label, "Multi-Paxos");
    for (what, s) in [("this", a), ("multi-paxos", b)] {
        let e = s.engine().expect("runs");
        assert!(e.done(), "{what}: run to its end");
        assert!(
            e.scenario().faults.is_empty() && e.scenario().nemesis.is_none(),
            "{what}"
        );
        let t = e.total();
        assert!(t.ok > 10 && t.availability > 0.99, "{what}: {t:?}");
    }
    assert_eq!(b.engine().unwrap().scenario().protocol.name, "multi-paxos");
    // A new comparison: the view follows it.
    st.reduce(Action::Compare(None));
    assert!(st.pacelc.as_ref().is_some_and(|p| p.1.is_empty()));
    st.reduce(Action::Pacelc(false));
    assert!(st.pacelc.is_none());
}

/// The lab holds up to three columns beside the run, each once; a fourth pushes out the
/// oldest; one can be removed; the link to the lab names them in its query.
#[test]
fn the_lab_keeps_up_to_three_columns_and_links_to_them() {
    let mut st = state();
    st.base_url = "https://q.example/".into();
    let vs = variants_for(st.session.scenario());
    assert!(vs.len() >= 4, "Raft has four comparisons");
    for v in vs.iter().take(4) {
        st.reduce(Action::Compare(Some(*v)));
    }
    st.reduce(Action::Compare(Some(vs[3])));
    assert_eq!(variant_ids(&st), [vs[1].id, vs[2].id, vs[3].id]);
    let link = st.lab_link();
    assert!(
        link.starts_with(&format!(
            "https://q.example/?lab={},{},{}#",
            vs[1].id, vs[2].id, vs[3].id
        )),
        "{link}"
    );
    // The page's own query stays, an older lab goes.
    st.base_url = "https://q.example/?runtime=inline&lab=Old".into();
    let link = st.lab_link();
    assert!(
        link.starts_with("https://q.example/?runtime=inline&lab=") && !link.contains("Old"),
        "{link}"
    );
    st.reduce(Action::Uncompare(0));
    assert_eq!(st.compare.len(), 2);
    // Every column runs where this run stands.
    play_for(&mut st, 200.0);
    let now = st.session.now();
    assert!(now > 0);
    for c in &st.compare {
        assert_eq!(column(c).now(), now, "{}", c.label());
    }
}

/// The registry variants' ids of the lab's columns, in order.
fn variant_ids(st: &State) -> Vec<&'static str> {
    st.compare
        .iter()
        .filter_map(|c| match &c.source {
            LabSource::Variant(v) => Some(v.id),
            LabSource::Config(_) => None,
        })
        .collect()
}

/// A column's run (it must have one, on this thread).
fn column(c: &Column) -> &Session {
    match c.run.as_ref() {
        Ok(ColumnRun::Here(r)) => r,
        Ok(ColumnRun::Worker(_)) => panic!("{}: in a worker", c.label()),
        Err(e) => panic!("{}: {e}", c.label()),
    }
}

/// The lab's workers as the page holds them, and the replies they gave.
struct Workers {
    lab: crate::lab_workers::LabWorkers,
    got: Rc<RefCell<Vec<crate::lab_workers::Replies>>>,
}

impl Workers {
    fn new() -> Workers {
        let got: Rc<RefCell<Vec<_>>> = Rc::default();
        let sink = got.clone();
        let lab = crate::lab_workers::LabWorkers::new(yew::Callback::from(move |r| {
            sink.borrow_mut().push(r)
        }));
        Workers { lab, got }
    }
}

/// Frames, with each batch the lab sends to its columns' workers answered as the
/// workers answer it (`LabWorkers`, natively a table of the engine in this process),
/// until the columns are where they are to be. Every effect, in order.
fn settle_in_workers(st: &mut State, workers: &mut Workers, first: Vec<Effect>) -> Vec<Effect> {
    let Workers { lab, got } = workers;
    let (mut pending, mut all) = (first, Vec::new());
    let mut t = 50_000.0;
    for _ in 0..100_000 {
        for e in pending.drain(..) {
            if let Effect::LabCalls(id, protocol, calls) = &e {
                lab.send(*id, protocol, calls.clone());
            }
            all.push(e);
        }
        let replies: Vec<crate::lab_workers::Replies> = got.borrow_mut().drain(..).collect();
        for (id, r) in replies {
            pending.extend(st.reduce(Action::LabReplies(id, r)).0);
        }
        if pending.is_empty() {
            if !st.lab_behind() {
                return all;
            }
            pending.extend(st.reduce(Action::Frame(t)).0);
            t += 16.0;
        }
    }
    panic!("the lab's workers never caught up");
}

/// Where the page is isolated, each column's run is in a worker of its own: the very
/// run the page's thread would make (the same trace hash and figures), followed batch
/// by batch as the main run goes, analysed at its end with the same outcome; opened,
/// it becomes the main run on the page, the same run again.
#[test]
fn columns_in_workers_are_the_runs_the_page_would_make() {
    let mut st = state();
    st.lab_workers = true;
    let vs = variants_for(st.session.scenario());
    let mut first = st.reduce(Action::Compare(Some(vs[0]))).0;
    first.extend(st.reduce(Action::CompareCurrent).0);
    assert!(st
        .compare
        .iter()
        .all(|c| c.run.as_ref().is_ok_and(ColumnRun::in_worker)));
    // Partway: the columns follow the main run's playhead.
    first.extend(st.reduce(Action::Pause).0);
    first.extend(st.reduce(Action::Seek(1_200 * MS)).0);
    let mut workers = Workers::new();
    let effects = settle_in_workers(&mut st, &mut workers, first);
    assert!(effects.iter().any(|e| matches!(e, Effect::LabCalls(..))));
    for c in &st.compare {
        let Ok(ColumnRun::Worker(r)) = &c.run else {
            panic!("{}: not in a worker", c.label())
        };
        assert_eq!(r.now(), 1_200 * MS, "{}", c.label());
        assert!(!c.asked, "not analysed before its end");
    }
    // To the end: each column's run, figures and analysis are the page's own.
    let (first, _) = st.reduce(Action::RunToEnd);
    let effects = settle_in_workers(&mut st, &mut workers, first);
    let asked: Vec<(u64, Request)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::AnalyseColumn(id, r) => Some((*id, (**r).clone())),
            _ => None,
        })
        .collect();
    assert_eq!(asked.len(), 2);
    for c in &st.compare {
        let run = c.run.as_ref().unwrap();
        let mut here = Session::new(run.scenario().clone());
        here.run_to_end();
        let e = here.engine().unwrap();
        assert!(
            e.history().events.len() > 10,
            "{}: a run of substance",
            c.label()
        );
        assert_eq!(run.trace_hash(), Some(e.trace_hash()), "{}", c.label());
        let (w, h) = (
            run.numbers().unwrap(),
            crate::ui::panels::cap::CapNumbers::of(e),
        );
        assert!(w.done);
        assert_eq!(w.figures, h.figures, "{}", c.label());
        assert_eq!(format!("{:?}", w.total), format!("{:?}", h.total));
        assert_eq!(format!("{:?}", w.windows), format!("{:?}", h.windows));
        assert_eq!(format!("{:?}", w.sides), format!("{:?}", h.sides));
        let (_, req) = asked.iter().find(|(id, _)| *id == c.id).unwrap();
        let want = Request::of(e, COLUMN_ANALYSIS_MS);
        assert_eq!(format!("{req:?}"), format!("{want:?}"), "{}", c.label());
    }
    // Opened, a column is made on the page: the same run.
    let want = st.compare[0].run.as_ref().unwrap().trace_hash();
    st.reduce(Action::OpenColumn(0, Some(Time::MAX), None));
    st.reduce(Action::RunToEnd);
    assert_eq!(st.session.engine().map(|e| e.trace_hash()), want);
}

/// A column's worker that cannot start leaves the lab on the page's thread; one whose
/// module fails partway ends its column with the reason (and asks for no more frames).
#[test]
fn a_column_worker_that_fails_is_named_or_replaced() {
    let mut st = state();
    st.lab_workers = true;
    let vs = variants_for(st.session.scenario());
    st.reduce(Action::Compare(Some(vs[0])));
    st.reduce(Action::CompareCurrent);
    let (effects, _) = st.reduce(Action::Frame(1_000.0));
    let ids: Vec<u64> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::LabCalls(id, ..) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2, "each column sent its first batch");
    let no = format!("{}: SecurityError", crate::lab_workers::NO_WORKER);
    st.reduce(Action::LabReplies(ids[0], Err(no)));
    assert!(!st.compare[0].run.as_ref().unwrap().in_worker());
    assert!(!st.lab_workers, "later columns run here too");
    // The other one's module traps.
    st.reduce(Action::RunToEnd);
    let id = st.compare[1].id;
    st.reduce(Action::LabReplies(
        id,
        Err("the raft engine failed: unreachable".into()),
    ));
    let c = &st.compare[1];
    assert_eq!(
        c.run.as_ref().unwrap().numbers().err().as_deref(),
        Some("the raft engine failed: unreachable")
    );
    let effects = settle(&mut st);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::LabCalls(i, ..) if *i == id)),
        "nothing more is sent to it"
    );
    assert!(!st.compare[1].asked, "no analysis of a run that failed");
}

/// Frames while the run stands, until the lab's columns are where they are to be.
fn settle(st: &mut State) -> Vec<Effect> {
    let mut effects = Vec::new();
    let mut t = 50_000.0;
    while st.lab_behind() {
        effects.extend(st.reduce(Action::Frame(t)).0);
        t += 16.0;
    }
    effects
}

/// The analysis of each column the effects asked for, answered as the worker would.
fn answer_columns(st: &mut State, effects: &[Effect]) -> usize {
    let asks: Vec<(u64, Request)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::AnalyseColumn(id, r) => Some((*id, (**r).clone())),
            _ => None,
        })
        .collect();
    for (id, r) in &asks {
        let o = quorumlab_sim::analysis::analyse(r, &mut || false);
        st.reduce(Action::ColumnAnalysed(*id, Ok(o)));
    }
    asks.len()
}

/// The editor's configuration and gallery presets are columns too, each run on the
/// run's seed and fault schedule whatever its own; an edit of the run's parameters
/// keeps them, an edit of its faults runs them again with the new ones; a preset of
/// another shape is allowed and says so; one that cannot take the run's faults is named
/// with its error while the others still run; four configurations at most.
#[test]
fn the_lab_takes_the_editors_configuration_and_presets_on_the_runs_seed_and_faults() {
    let mut st = state();
    st.presets = Rc::new(gallery::presets_from_disk());
    let mut s = scenario();
    s.seed = 77;
    s.faults
        .push(serde_json::from_str(r#"{"at_ms": 800, "type": "crash", "node": 1}"#).unwrap());
    st.set_scenario(s, 0);
    st.reduce(Action::CompareCurrent);
    assert_eq!(st.compare.len(), 1);
    assert_eq!(st.compare[0].label(), "raft (defaults)");
    let pinned = st.compare[0].id;
    // The run's parameters change: the pinned configuration stays as it was.
    let mut edited = st.session.scenario().clone();
    edited.protocol.params = serde_json::json!({"read_mode": "lease"});
    st.reduce(Action::Edit(Ok(edited.clone())));
    assert_eq!(st.compare[0].id, pinned, "the same run, kept");
    assert_eq!(
        column(&st.compare[0]).scenario().protocol.params,
        Value::Null
    );
    // A preset of another protocol and shape, on this run's seed and faults.
    st.reduce(Action::ComparePreset("quorum-r1w1-stale"));
    let c = column(&st.compare[1]);
    assert_eq!(st.compare[1].label(), "quorum-r1w1-stale");
    assert_eq!(c.scenario().protocol.name, "quorum-kv");
    assert_eq!(c.scenario().seed, 77);
    assert_eq!(c.scenario().faults.len(), 1);
    assert!(c.scenario().expect.is_empty());
    assert_eq!(
        crate::ui::lab::shape_note(c.scenario(), st.session.scenario()),
        "4 s long (this run: 3 s)"
    );
    // The run's faults change: every column takes them.
    let mut more = edited;
    more.faults
        .push(serde_json::from_str(r#"{"at_ms": 1200, "type": "restart", "node": 1}"#).unwrap());
    st.reduce(Action::Edit(Ok(more)));
    assert_ne!(st.compare[0].id, pinned, "run again");
    for c in &st.compare {
        assert_eq!(column(c).scenario().faults.len(), 2, "{}", c.label());
    }
    // Pinned again now: the edited configuration, named by what it sets.
    st.reduce(Action::CompareCurrent);
    assert_eq!(st.compare[2].label(), "raft read_mode=lease");
    // Full: a fourth goes in and the oldest goes out.
    st.reduce(Action::ComparePreset("multi-paxos-leader-crash"));
    assert_eq!(st.compare.len(), MAX_COMPARE);
    assert_eq!(st.compare[0].label(), "quorum-r1w1-stale");
    // A configuration that cannot take the run's faults (a node it lacks): its error.
    let mut three = scenario();
    three.nodes = quorumlab_sim::scenario::Nodes::Count(3);
    st.set_scenario(scenario(), 0);
    let mut s = scenario();
    s.faults
        .push(serde_json::from_str(r#"{"at_ms": 800, "type": "crash", "node": 4}"#).unwrap());
    st.compare.clear();
    st.set_scenario(s, 0);
    st.reduce(Action::Compare(Some(variants_for(&three)[0])));
    st.add_column(LabSource::Config(Box::new(crate::ui::lab::config(
        &three,
        "three nodes".into(),
    ))));
    let bad = st.compare[1].run.as_ref().err().expect("an error");
    assert!(bad.contains("faults[0]"), "{bad}");
    st.reduce(Action::RunToEnd);
    settle(&mut st);
    let ok = column(&st.compare[0]);
    assert!(ok.done() && ok.now() == ok.end(), "the other runs on");
}

/// Each column's figures: reads and writes apart (answered, p50/p99/p999), throughput
/// and messages per operation, from its own run.
#[test]
fn each_column_has_its_reads_and_writes_apart() {
    let mut st = state();
    let v = variants_for(st.session.scenario())[0];
    st.reduce(Action::Compare(Some(v)));
    st.reduce(Action::RunToEnd);
    settle(&mut st);
    for e in std::iter::once(st.session.engine().unwrap())
        .chain(st.compare.iter().map(|c| column(c).engine().unwrap()))
    {
        let n = crate::ui::panels::cap::CapNumbers::of(e);
        let f = n.figures;
        let t = n.total;
        assert_eq!(
            f.reads.done + f.writes.done,
            t.ok + t.fail + t.info,
            "every completion counted once"
        );
        assert_eq!(f.ok, t.ok);
        assert!(f.reads.done > 0 && f.writes.done > 0, "{f:?}");
        for k in [f.reads, f.writes] {
            let (a, b, c) = (k.p50.unwrap(), k.p99.unwrap(), k.p999.unwrap());
            assert!(a <= b && b <= c, "{k:?}");
        }
        assert!(f.throughput > 0.0);
        assert!(f.messages_per_op.unwrap() > 1.0, "{f:?}");
    }
}

/// The lab's link carries every configuration (variants by id, the others as scenario
/// codes) with the run's seed and faults in its fragment, and opens the same lab;
/// an old link of ids still opens, and an unknown or damaged entry is ignored with a
/// message while the page carries on.
#[test]
fn the_lab_link_carries_the_whole_comparison() {
    let mut st = state();
    st.presets = Rc::new(gallery::presets_from_disk());
    st.base_url = "https://q.example/?runtime=inline".into();
    let mut s = scenario();
    s.seed = 9;
    s.faults
        .push(serde_json::from_str(r#"{"at_ms": 800, "type": "crash", "node": 1}"#).unwrap());
    st.set_scenario(s, 0);
    let v = variants_for(st.session.scenario())[0];
    st.reduce(Action::Compare(Some(v)));
    st.reduce(Action::CompareCurrent);
    st.reduce(Action::ComparePreset("quorum-r1w1-stale"));
    let link = st.lab_link();
    let (query, fragment) = link.split_once('#').unwrap();
    let value = query.split_once("lab=").unwrap().1;
    assert!(query.starts_with("https://q.example/?runtime=inline&lab="));
    assert!(value.starts_with(&format!("{},2.", v.id)), "{value}");
    // Opened anew: the same run and the same columns.
    let run = quorumlab_sim::url::decode(fragment).unwrap();
    let mut again = State::new(run, None, Runtime::Inline, Vec::new(), None);
    again.open_lab(value);
    assert!(again.notice.is_none(), "{:?}", again.notice);
    assert_eq!(again.tab, Tab::Cap);
    assert!(again.session.scenario().same(st.session.scenario()));
    assert_eq!(again.compare.len(), 3);
    for (a, b) in again.compare.iter().zip(&st.compare) {
        assert_eq!(a.label(), b.label());
        assert!(
            column(a).scenario().same(column(b).scenario()),
            "{}",
            a.label()
        );
    }
    // An old link of ids, with an unknown and a damaged entry.
    let mut old = state();
    old.open_lab("MultiPaxos,Nope,2.AAAAAA.broken,LeaseReads");
    assert_eq!(variant_ids(&old), ["MultiPaxos", "LeaseReads"]);
    let notice = old.notice.clone().unwrap();
    assert!(
        notice.contains("`Nope` was ignored") && notice.contains("damaged"),
        "{notice}"
    );
    assert!(old.session.engine().is_some(), "the page carries on");
}

/// The columns run to the end when the run has (in slices of frames), then each asks
/// the analysis worker about its run; an answer about a run since replaced is ignored.
#[test]
fn the_columns_run_to_their_ends_and_are_analysed() {
    let mut st = state();
    let vs = variants_for(st.session.scenario());
    st.reduce(Action::Compare(Some(vs[0])));
    st.reduce(Action::Compare(Some(vs[1])));
    let (effects, _) = st.reduce(Action::RunToEnd);
    let mut effects = effects;
    effects.extend(settle(&mut st));
    assert!(!st.lab_behind());
    for c in &st.compare {
        assert!(column(c).done(), "{}", c.label());
        assert!(c.asked);
    }
    let stale = st.compare[0].id;
    assert_eq!(answer_columns(&mut st, &effects), 2);
    for c in &st.compare {
        assert!(matches!(c.analysis, Some(Ok(_))), "{}", c.label());
    }
    // Not asked twice.
    assert!(!settle(&mut st)
        .iter()
        .chain(&st.reduce(Action::RunToEnd).0)
        .any(|e| matches!(e, Effect::AnalyseColumn(..))));
    // A new seed: every column runs again; a late answer about the old run is ignored.
    let mut s = st.session.scenario().clone();
    s.seed += 1;
    st.reduce(Action::Edit(Ok(s)));
    assert!(st
        .compare
        .iter()
        .all(|c| c.analysis.is_none() && c.id != stale));
    let (_, changed) = st.reduce(Action::ColumnAnalysed(stale, Err("late".into())));
    assert!(!changed);
    assert!(st.compare.iter().all(|c| c.analysis.is_none()));
}

/// An anomaly of a column is one click from its moment: that column's run becomes the
/// main run there, with its analysis (the anomaly shown), and the run before takes its
/// place in the lab; undo brings the scenario back.
#[test]
fn an_anomaly_of_a_column_opens_its_run_at_that_moment() {
    let mut st = state();
    st.set_scenario(preset("pb-split-brain-fenced"), 0);
    let before = st.session.scenario().clone();
    let nofence = variants_for(&before)
        .iter()
        .copied()
        .find(|v| v.id == "NoFencing")
        .unwrap();
    st.reduce(Action::Compare(Some(nofence)));
    st.reduce(Action::CompareCurrent);
    let (mut effects, _) = st.reduce(Action::RunToEnd);
    effects.extend(settle(&mut st));
    answer_columns(&mut st, &effects);
    let o = match &st.compare[0].analysis {
        Some(Ok(o)) => o.clone(),
        other => panic!("{:?}", other.as_ref().map(|_| ())),
    };
    let e = column(&st.compare[0]).engine().unwrap();
    let items = crate::ui::lab::items(Some(&o.verdict), Some(&o.anomalies), e.violation(), &[]);
    let split = items
        .iter()
        .find(|x| x.kind == "split_brain")
        .expect("fencing off: a split brain");
    let (at, index) = (split.at.unwrap(), split.index);
    let opened = column(&st.compare[0]).scenario().clone();
    st.reduce(Action::OpenColumn(0, Some(at), index));
    assert!(st.session.scenario().same(&opened));
    assert_eq!(st.session.now(), at);
    assert_eq!(st.main_label.as_deref(), Some("fencing off"));
    assert_eq!(st.anomaly_sel, index);
    assert!(st.verdict.is_some(), "its analysis came with it");
    assert_eq!(st.anomalies.split_brains, o.anomalies.split_brains);
    assert!(!st.playing);
    // The run before is in the lab where the column was, run to its end; the pinned
    // column stays what it ran.
    assert_eq!(st.compare.len(), 2);
    assert_eq!(st.compare[0].label(), before.name);
    assert!(column(&st.compare[0]).done());
    assert!(column(&st.compare[0]).scenario().same(&before));
    assert_eq!(st.compare[1].label(), crate::ui::lab::config_label(&before));
    let notice = st.notice.clone().unwrap();
    assert!(
        notice.contains("fencing off") && notice.contains(&before.name),
        "{notice}"
    );
    st.reduce(Action::Undo);
    assert!(st.session.scenario().same(&before));
}

#[test]
fn the_png_export_is_an_effect_with_the_chart() {
    let mut st = state();
    let (effects, _) = st.reduce(Action::ExportPng("<svg/>".into()));
    assert_eq!(effects, vec![Effect::Png("<svg/>".into())]);
}
