//! Typed descriptions of a protocol's parameters: what the scenario schema, the
//! `quorumlab protocols` listing, validation messages and the page's parameter editor
//! are derived from. Each protocol lists its parameters next to its `Params` struct
//! (as [`crate::Protocol::PARAMS`]); defaults are not repeated here, they are the
//! `Params` type's `Default`.

/// The values a parameter takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamKind {
    /// A whole number in `[min, max]`.
    Int {
        min: u64,
        max: u64,
    },
    /// A number in `[min, max]` (either bound may be infinite: no bound).
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    /// One of these strings.
    Choice(&'static [&'static str]),
}

/// One parameter of a protocol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamSpec {
    /// The field name in `protocol.params`.
    pub name: &'static str,
    pub kind: ParamKind,
    /// The unit of a number (`ms`, `entries`, ...), empty when it has none.
    pub unit: &'static str,
    /// One or two sentences for a user (the schema's description, the editor's help).
    pub help: &'static str,
}

impl ParamSpec {
    /// A whole number of milliseconds in `[min, u64::MAX]`.
    pub const fn ms(name: &'static str, min: u64, help: &'static str) -> Self {
        ParamSpec {
            name,
            kind: ParamKind::Int { min, max: u64::MAX },
            unit: "ms",
            help,
        }
    }
    /// A whole number in `[min, u64::MAX]`, counted in `unit`.
    pub const fn count(
        name: &'static str,
        min: u64,
        unit: &'static str,
        help: &'static str,
    ) -> Self {
        ParamSpec {
            name,
            kind: ParamKind::Int { min, max: u64::MAX },
            unit,
            help,
        }
    }
    pub const fn flag(name: &'static str, help: &'static str) -> Self {
        ParamSpec {
            name,
            kind: ParamKind::Bool,
            unit: "",
            help,
        }
    }
    pub const fn choice(
        name: &'static str,
        options: &'static [&'static str],
        help: &'static str,
    ) -> Self {
        ParamSpec {
            name,
            kind: ParamKind::Choice(options),
            unit: "",
            help,
        }
    }
    /// A seeded bug (the parameter names start with `unsafe_`): the page marks them.
    pub fn is_seeded_bug(&self) -> bool {
        self.name.starts_with("unsafe_")
    }
    /// What values are allowed, in words ("an integer from 1 to 18446744073709551615").
    pub fn allowed(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.unit)
        };
        match self.kind {
            ParamKind::Int { min, max } if max == u64::MAX => {
                format!("a whole number of at least {min}{unit}")
            }
            ParamKind::Int { min, max } => format!("a whole number from {min} to {max}{unit}"),
            ParamKind::Float { min, max } => match (min.is_finite(), max.is_finite()) {
                (true, true) => format!("a number from {min} to {max}{unit}"),
                (true, false) => format!("a number of at least {min}{unit}"),
                (false, true) => format!("a number of at most {max}{unit}"),
                (false, false) => format!("a number{unit}"),
            },
            ParamKind::Bool => "true or false".to_string(),
            ParamKind::Choice(options) => format!("one of {}", options.join(", ")),
        }
    }
}
