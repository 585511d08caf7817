//! Reading histories: the design's JSON Lines and Jepsen's log lines. Errors are
//! values with a line number; no input makes these functions panic.

use super::{FailedCas, Format};
use crate::history::{EventType, Func, History, HistoryEvent, Value};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// A parsed history file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub history: History,
    /// The 1-based line of each event.
    pub lines: Vec<usize>,
    pub format: Format,
    /// What a failed cas means in this format.
    pub failed_cas: FailedCas,
}

/// Bad input, with the 1-based line where it was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// How a failed cas reads in the Jepsen etcd logs: etcd answers a cas whose comparison
/// failed with a definite "no", which the logs record as `:fail`; Knossos drops such
/// operations, which is also what "fail = it did not happen" means. Both agree with
/// every published verdict of the corpus (see `tests/jepsen_etcd.rs`).
pub const JEPSEN_FAILED_CAS: FailedCas = FailedCas::DidNotHappen;

/// Parse `text` in `format`.
pub fn parse(text: &str, format: Format) -> Result<Parsed, ParseError> {
    match format {
        Format::Jsonl => parse_jsonl(text),
        Format::JepsenLog => parse_jepsen_log(text),
    }
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

fn kind_of(s: &str) -> Option<EventType> {
    Some(match s {
        "invoke" => EventType::Invoke,
        "ok" => EventType::Ok,
        "fail" => EventType::Fail,
        "info" => EventType::Info,
        _ => return None,
    })
}

fn func_of(s: &str) -> Option<Func> {
    Func::from_name(s)
}

fn json_value(v: &serde_json::Value) -> Option<Value> {
    use serde_json::Value as J;
    match v {
        J::Null => Some(Value::Nil),
        J::Number(n) => n.as_i64().map(Value::Int),
        J::String(s) => Some(Value::Str(s.clone())),
        J::Array(a) if a.len() == 2 => Some(Value::Pair([a[0].as_i64()?, a[1].as_i64()?])),
        // A read's siblings: `{"siblings": [3, 5]}`.
        J::Object(o) if o.len() == 1 => {
            let a = o.get("siblings")?.as_array()?;
            let siblings = a.iter().map(|x| x.as_i64()).collect::<Option<Vec<i64>>>()?;
            Some(Value::Siblings { siblings })
        }
        _ => None,
    }
}

/// One JSON line to an event.
fn jsonl_event(line: usize, text: &str) -> Result<HistoryEvent, ParseError> {
    let v: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let what = if e.is_eof() {
                "truncated JSON"
            } else {
                "invalid JSON"
            };
            let msg = e.to_string();
            let msg = msg
                .rsplit_once(" at line ")
                .map(|(m, _)| m.to_string())
                .unwrap_or(msg);
            return err(line, format!("{what} at column {}: {msg}", e.column()));
        }
    };
    let serde_json::Value::Object(obj) = v else {
        return err(
            line,
            "expected a JSON object {\"process\": …, \"type\": …, …}",
        );
    };
    for k in obj.keys() {
        if !matches!(
            k.as_str(),
            "process" | "type" | "f" | "key" | "value" | "time" | "index" | "term" | "gave_up"
        ) {
            return err(
                line,
                format!(
                    "unknown field {k:?} (expected process, type, f, key, value, time, index, term, gave_up)"
                ),
            );
        }
    }
    let need = |name: &str| match obj.get(name) {
        Some(v) => Ok(v),
        None => err(line, format!("missing field {name:?}")),
    };
    let process = need("process")?.as_u64().map_or_else(
        || err(line, "\"process\" must be a non-negative integer"),
        Ok,
    )?;
    let kind = match need("type")?.as_str().map(|s| (s, kind_of(s))) {
        Some((_, Some(k))) => k,
        Some((s, None)) => {
            return err(
                line,
                format!("unknown type {s:?} (expected invoke, ok, fail or info)"),
            )
        }
        None => return err(line, "\"type\" must be a string"),
    };
    let f = match need("f")?.as_str().map(|s| (s, func_of(s))) {
        Some((_, Some(f))) => f,
        Some((s, None)) => {
            return err(
                line,
                format!("unknown f {s:?} (expected read, write, cas, append, acquire or release)"),
            )
        }
        None => return err(line, "\"f\" must be a string"),
    };
    let key = match obj.get("key") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => return err(line, "\"key\" must be a string"),
    };
    let value = match obj.get("value") {
        None => Value::Nil,
        Some(v) => match json_value(v) {
            Some(v) => v,
            None => {
                return err(
                    line,
                    format!(
                        "\"value\" must be null, an integer, a string, a pair [old, new] of integers or a read's {{\"siblings\": [...]}}, not {v}"
                    ),
                )
            }
        },
    };
    let time = need("time")?.as_u64().map_or_else(
        || err(line, "\"time\" must be a non-negative integer (µs)"),
        Ok,
    )?;
    // Where the protocol committed it (written by `quorumlab run --history`; optional).
    let pos = |name: &str| -> Result<Option<u64>, ParseError> {
        match obj.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).map_or_else(
                || err(line, format!("\"{name}\" must be a non-negative integer")),
                Ok,
            ),
        }
    };
    let (index, term) = (pos("index")?, pos("term")?);
    // A `fail` no node answered (written by `quorumlab run --history`; optional).
    let gave_up = match obj.get("gave_up") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => return err(line, "\"gave_up\" must be true or false"),
    };
    Ok(HistoryEvent {
        process,
        kind,
        f,
        key,
        value,
        time,
        index,
        term,
        gave_up,
    })
}

/// The line naming the history's data type, `{"data_type": "cas-register"}`: only as
/// the first line, and naming one of the checker's models.
fn data_type_line(line: usize, text: &str, first: bool) -> Result<String, ParseError> {
    let v: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return err(line, format!("invalid JSON at column {}", e.column())),
    };
    let Some(obj) = v.as_object().filter(|o| o.len() == 1) else {
        return err(
            line,
            "field \"data_type\" goes on a line of its own, {\"data_type\": NAME}, before the events",
        );
    };
    if !first {
        return err(
            line,
            "field \"data_type\": the line naming the data type must be the first line",
        );
    }
    let known = "register, cas-register, kv, lock";
    match obj.get("data_type").and_then(|d| d.as_str()) {
        Some(d) if super::Model::from_name(d).is_some() => Ok(d.to_string()),
        Some(d) => err(
            line,
            format!("field \"data_type\": unknown data type {d:?} (known: {known})"),
        ),
        None => err(
            line,
            format!("field \"data_type\" must be the name of a data type ({known})"),
        ),
    }
}

/// The design's JSON Lines, one event a line; blank lines are skipped. A first line
/// `{"data_type": NAME}` names the data type (files without it are older).
pub fn parse_jsonl(text: &str) -> Result<Parsed, ParseError> {
    let mut history = History::default();
    let mut lines = Vec::new();
    let mut first = true;
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        if t.contains("\"data_type\"") {
            history.data_type = Some(data_type_line(i + 1, t, first)?);
            first = false;
            continue;
        }
        first = false;
        history.push(jsonl_event(i + 1, t)?);
        lines.push(i + 1);
    }
    let parsed = Parsed {
        history,
        lines,
        format: Format::Jsonl,
        failed_cas: FailedCas::DidNotHappen,
    };
    structure(&parsed)?;
    Ok(parsed)
}

fn jepsen_value(line: usize, kind: EventType, f: Func, toks: &[&str]) -> Result<Value, ParseError> {
    let joined = toks.join(" ");
    let t = joined.trim();
    if t.is_empty() {
        return err(line, "missing value (write nil for none)");
    }
    if t == "nil" {
        return Ok(Value::Nil);
    }
    if t.starts_with(':') {
        // An error keyword such as :timed-out: only on fail and info.
        if matches!(kind, EventType::Fail | EventType::Info) {
            return Ok(Value::Nil);
        }
        return err(
            line,
            format!("the value {t} is a keyword, which only fail and info may carry"),
        );
    }
    if let Some(inner) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let parts: Vec<&str> = inner.split_whitespace().collect();
        if let [a, b] = parts[..] {
            if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                return Ok(Value::Pair([a, b]));
            }
        }
        return err(
            line,
            format!("expected a pair [OLD NEW] of integers, got {t}"),
        );
    }
    if let Ok(n) = t.parse::<i64>() {
        return Ok(Value::Int(n));
    }
    if f == Func::Append || t.starts_with('"') {
        if let Ok(s) = serde_json::from_str::<String>(t) {
            return Ok(Value::Str(s));
        }
    }
    err(
        line,
        format!("cannot read the value {t:?} (expected nil, an integer or [OLD NEW])"),
    )
}

/// Jepsen's log lines: `INFO  jepsen.util - PROCESS  :TYPE  :F  VALUE`, separated by
/// tabs or spaces. Each event's time is its line number. Nemesis lines are skipped.
pub fn parse_jepsen_log(text: &str) -> Result<Parsed, ParseError> {
    let mut history = History::default();
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let body = match raw.find(" - ") {
            Some(p) if raw[..p].contains("jepsen") => &raw[p + 3..],
            _ => raw,
        };
        let toks: Vec<&str> = body.split_whitespace().collect();
        if toks.is_empty() {
            continue;
        }
        if toks[0].trim_start_matches(':') == "nemesis" {
            continue;
        }
        if toks.len() < 4 {
            return err(
                line,
                format!(
                    "expected PROCESS :TYPE :F VALUE, got {:?}{}",
                    body.trim(),
                    if i + 1 == text.lines().count() {
                        " (truncated?)"
                    } else {
                        ""
                    }
                ),
            );
        }
        let Ok(process) = toks[0].parse::<u64>() else {
            return err(line, format!("the process {:?} is not a number", toks[0]));
        };
        let Some(kind) = toks[1].strip_prefix(':').and_then(kind_of) else {
            return err(
                line,
                format!(
                    "unknown type {:?} (expected :invoke, :ok, :fail or :info)",
                    toks[1]
                ),
            );
        };
        let Some(f) = toks[2].strip_prefix(':').and_then(func_of) else {
            return err(
                line,
                format!("unknown f {:?} (expected :read, :write or :cas)", toks[2]),
            );
        };
        let value = jepsen_value(line, kind, f, &toks[3..])?;
        history.push(HistoryEvent {
            process,
            kind,
            f,
            key: None,
            value,
            time: line as u64,
            index: None,
            term: None,
            gave_up: false,
        });
        lines.push(line);
    }
    let parsed = Parsed {
        history,
        lines,
        format: Format::JepsenLog,
        failed_cas: JEPSEN_FAILED_CAS,
    };
    structure(&parsed)?;
    Ok(parsed)
}

/// The checks that need no model: every completion has an open invoke of the same
/// function, no process invokes twice without completing, time does not run backwards
/// within an operation.
fn structure(p: &Parsed) -> Result<(), ParseError> {
    let ev = &p.history.events;
    let mut open: HashMap<u64, usize> = HashMap::new();
    let name = Func::name;
    for (i, e) in ev.iter().enumerate() {
        let line = p.lines[i];
        if e.kind == EventType::Invoke {
            if let Some(&j) = open.get(&e.process) {
                return err(
                    line,
                    format!(
                        "process {} invokes a {} while its {} from line {} is still open (a second invoke before a completion)",
                        e.process,
                        name(e.f),
                        name(ev[j].f),
                        p.lines[j]
                    ),
                );
            }
            open.insert(e.process, i);
            continue;
        }
        let Some(j) = open.remove(&e.process) else {
            return err(
                line,
                format!(
                    "process {} completes a {} it never invoked (no open invoke for this process)",
                    e.process,
                    name(e.f)
                ),
            );
        };
        if ev[j].f != e.f {
            return err(
                line,
                format!(
                    "process {} completes a {} but its open invoke on line {} is a {}",
                    e.process,
                    name(e.f),
                    p.lines[j],
                    name(ev[j].f)
                ),
            );
        }
        if e.time < ev[j].time {
            return err(
                line,
                format!(
                    "process {}: the completion at time {} comes before its invoke at time {} (line {})",
                    e.process, e.time, ev[j].time, p.lines[j]
                ),
            );
        }
    }
    Ok(())
}
