//! Roles as the page draws them, from the generic view alone: a node's label (the
//! protocol's word: `leader`, `pre-candidate`, `acceptor`, `primary`, ...) and its
//! colour, which comes from the role's [`RoleKind`] or, when the node is not running,
//! from its status. The canvas legend lists the kinds on screen with the labels seen
//! for each, so a new protocol's roles draw without page edits. Pure, tested natively.

use quorumlab_core::{NodeView, RoleKind};
use quorumlab_sim::Status;

/// A node's role as drawn: its label and the CSS class of its colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drawn {
    pub label: String,
    /// `None` while the node is not running (crashed, paused, spare).
    pub kind: Option<RoleKind>,
    pub class: &'static str,
}

impl Drawn {
    pub fn is_leader(&self) -> bool {
        self.kind == Some(RoleKind::Leader)
    }
}

/// The CSS class of a role kind's colour.
pub fn kind_class(k: RoleKind) -> &'static str {
    match k {
        RoleKind::Leader => "r-leader",
        RoleKind::Candidate => "r-candidate",
        RoleKind::Follower => "r-follower",
        RoleKind::Learner => "r-learner",
        RoleKind::Replica => "r-replica",
        RoleKind::Neutral => "r-neutral",
        RoleKind::Down => "r-crashed",
    }
}

/// How node with `status` and `view` is drawn.
pub fn drawn(status: Status, view: Option<&NodeView>) -> Drawn {
    let status_only = |label: &str, class| Drawn {
        label: label.into(),
        kind: None,
        class,
    };
    match status {
        Status::Crashed => status_only("crashed", "r-crashed"),
        Status::Paused => status_only("paused", "r-paused"),
        Status::Spare => status_only("spare", "r-spare"),
        Status::Up => match view {
            Some(v) => Drawn {
                label: v.role.label.clone(),
                kind: Some(v.role.kind),
                class: kind_class(v.role.kind),
            },
            None => status_only("up", "r-neutral"),
        },
    }
}

/// One legend key: a colour and the labels drawn in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub class: &'static str,
    pub text: String,
}

/// The legend for the roles on screen: one key per kind present (in [`RoleKind::ALL`]
/// order) naming the labels seen in it, then `crashed` and `paused` (always: the user
/// can cause them).
pub fn legend(roles: &[Drawn]) -> Vec<Key> {
    let mut keys = Vec::new();
    for k in RoleKind::ALL {
        // Kept sorted by insertion (a few labels; no sort routine in the bundle).
        let mut labels: Vec<&str> = Vec::new();
        for r in roles.iter().filter(|r| r.kind == Some(k)) {
            if let Err(at) = labels.binary_search(&r.label.as_str()) {
                labels.insert(at, &r.label);
            }
        }
        if !labels.is_empty() {
            keys.push(Key {
                class: kind_class(k),
                text: labels.join(" / "),
            });
        }
    }
    keys.push(Key {
        class: "r-crashed",
        text: "crashed".into(),
    });
    keys.push(Key {
        class: "r-paused",
        text: "paused".into(),
    });
    keys
}

/// The first letter of an epoch's name, upper case, as a prefix for its number on
/// the canvas (`T3` for a term, `B3` for a ballot); `#` when the protocol has none.
pub fn epoch_prefix(label: &str) -> String {
    label
        .chars()
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "#".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorumlab_core::Role;

    fn up(label: &str, kind: RoleKind) -> Drawn {
        let v = NodeView {
            role: Role::new(label, kind),
            ..Default::default()
        };
        drawn(Status::Up, Some(&v))
    }

    #[test]
    fn colours_come_from_the_kind_and_labels_from_the_protocol() {
        let p = up("primary", RoleKind::Leader);
        assert_eq!((p.label.as_str(), p.class), ("primary", "r-leader"));
        assert!(p.is_leader());
        assert_eq!(up("backup", RoleKind::Replica).class, "r-replica");
        assert_eq!(
            up("pre-candidate", RoleKind::Candidate).class,
            "r-candidate"
        );
        // Status wins over the view: a paused leader is drawn paused.
        let v = NodeView {
            role: Role::new("leader", RoleKind::Leader),
            ..Default::default()
        };
        let d = drawn(Status::Paused, Some(&v));
        assert_eq!(
            (d.label.as_str(), d.class, d.is_leader()),
            ("paused", "r-paused", false)
        );
        assert_eq!(drawn(Status::Crashed, None).class, "r-crashed");
    }

    #[test]
    fn the_legend_lists_the_kinds_on_screen_with_their_labels() {
        let roles = vec![
            up("follower", RoleKind::Follower),
            up("candidate", RoleKind::Candidate),
            up("pre-candidate", RoleKind::Candidate),
            up("follower", RoleKind::Follower),
            drawn(Status::Crashed, None),
        ];
        let l = legend(&roles);
        let keys: Vec<(&str, &str)> = l.iter().map(|k| (k.class, k.text.as_str())).collect();
        assert_eq!(
            keys,
            vec![
                ("r-candidate", "candidate / pre-candidate"),
                ("r-follower", "follower"),
                ("r-crashed", "crashed"),
                ("r-paused", "paused"),
            ]
        );
        assert_eq!(epoch_prefix("ballot"), "B");
        assert_eq!(epoch_prefix(""), "#");
    }
}
