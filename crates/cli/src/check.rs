//! `quorumlab check` (being written).

pub fn main(_args: &[String]) -> i32 {
    eprintln!("quorumlab check: not written yet");
    2
}
