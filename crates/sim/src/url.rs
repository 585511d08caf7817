//! Share URLs: a scenario in the URL fragment, as `#1.<base64url(deflate(json))>`.
//! The leading number is the codec version. Decoding never panics: every failure is a
//! message saying what is wrong.

use crate::scenario::{self, Scenario};

/// The codec version written into every URL.
pub const CODEC_VERSION: u32 = 1;
/// The longest fragment accepted (characters after `#`).
pub const MAX_ENCODED: usize = 64 * 1024;
/// The largest scenario JSON a link may expand to.
pub const MAX_JSON: usize = 512 * 1024;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for (i, c) in s.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => {
                return Err(format!(
                    "character {} of the link data ({:?}) is not base64url",
                    i + 1,
                    c as char
                ))
            }
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// The fragment (without `#`) for a scenario.
pub fn encode(s: &Scenario) -> String {
    let json = s.to_json();
    let packed = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9);
    format!("{CODEC_VERSION}.{}", b64_encode(&packed))
}

/// Decode a share link: a whole URL, a fragment with or without `#`. The scenario is
/// parsed and validated.
pub fn decode(input: &str) -> Result<Scenario, String> {
    let input = input.trim();
    let frag = match input.find('#') {
        Some(i) => &input[i + 1..],
        None => input,
    };
    if frag.is_empty() {
        return Err("the link has no scenario in it (nothing after #)".into());
    }
    if frag.len() > MAX_ENCODED {
        return Err(format!(
            "the link is too long ({} characters; the limit is {MAX_ENCODED})",
            frag.len()
        ));
    }
    let Some((ver, data)) = frag.split_once('.') else {
        return Err(
            "the link is not a quorumlab scenario (expected `#1.` followed by data)".into(),
        );
    };
    match ver.parse::<u32>() {
        Ok(CODEC_VERSION) => {}
        Ok(v) if v > CODEC_VERSION => {
            return Err(format!("the link was made by a newer quorumlab (link format {v}; this one reads {CODEC_VERSION})"))
        }
        _ => return Err(format!("the link format `{}` is unknown", ver.chars().take(12).collect::<String>())),
    }
    let packed = b64_decode(data).map_err(|e| format!("the link is damaged: {e}"))?;
    let json =
        miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_JSON).map_err(|e| {
            if matches!(e.status, miniz_oxide::inflate::TINFLStatus::HasMoreOutput) {
                format!("the link expands to more than {MAX_JSON} bytes")
            } else {
                "the link is damaged: its data does not decompress (was it cut short or edited?)"
                    .to_string()
            }
        })?;
    let text = String::from_utf8(json)
        .map_err(|_| "the link is damaged: its data is not text".to_string())?;
    scenario::load(&text).map_err(|errs| {
        format!(
            "the link's scenario is not valid: {}",
            scenario::describe(&errs)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn base64url_round_trips_every_length() {
        for n in 0..40u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(b64_decode(&b64_encode(&data)).unwrap(), data);
        }
    }
}
