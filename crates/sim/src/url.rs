//! Share URLs: a scenario in the URL fragment, as `#2.<check>.<data>`, where `data` is
//! `base64url(deflate(json))` and `check` six base64url characters (36 bits) of a hash
//! of `data`, so that a link cut short or edited is named as damaged instead of being
//! read as some other scenario. The leading number is the codec version; version 1
//! links (`#1.<data>`, no checksum) still open. Decoding never panics: every failure is
//! a message saying what is wrong.

use crate::scenario::{self, Scenario};

/// The codec version written into every URL.
pub const CODEC_VERSION: u32 = 2;
/// Characters of the checksum in a version 2 link.
pub const CHECK_LEN: usize = 6;
/// What a link whose checksum is missing or wrong is called.
pub const DAMAGED: &str = "the link is damaged: truncated or edited";
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

/// The checksum of a link's data: 36 bits of its FNV-1a hash, in base64url.
pub fn checksum(data: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (0..CHECK_LEN)
        .map(|i| ALPHABET[(h >> (58 - 6 * i) & 63) as usize] as char)
        .collect()
}

/// The fragment (without `#`) for a scenario.
pub fn encode(s: &Scenario) -> String {
    let json = s.to_json();
    let packed = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9);
    let data = b64_encode(&packed);
    format!("{CODEC_VERSION}.{}.{data}", checksum(&data))
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
            "the link is not a quorumlab scenario (expected `#2.` followed by data)".into(),
        );
    };
    let data = match ver.parse::<u32>() {
        // Before checksums: the data alone.
        Ok(1) => data,
        Ok(CODEC_VERSION) => {
            let Some((check, data)) = data.split_once('.') else {
                return Err(format!("{DAMAGED} (its checksum is missing)"));
            };
            if check.len() != CHECK_LEN || checksum(data) != check {
                return Err(format!("{DAMAGED} (its checksum does not match its data)"));
            }
            data
        }
        Ok(v) if v > CODEC_VERSION => {
            return Err(format!("the link was made by a newer quorumlab (link format {v}; this one reads {CODEC_VERSION})"))
        }
        _ => return Err(format!("the link format `{}` is unknown", ver.chars().take(12).collect::<String>())),
    };
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
    fn scenario() -> Scenario {
        crate::scenario::load(
            r#"{"version":1,"protocol":{"name":"raft"},"nodes":3,"duration_ms":2000,
                "faults":[{"at_ms":500,"type":"crash","node":1}]}"#,
        )
        .expect("valid")
    }

    #[test]
    fn a_link_carries_a_checksum_that_names_a_cut_or_edited_link_as_damaged() {
        let s = scenario();
        let link = encode(&s);
        assert!(link.starts_with("2."), "{link}");
        assert_eq!(decode(&link), Ok(s.clone()));
        // Cut anywhere after the version: damaged, never another scenario.
        for cut in 2..link.len() {
            let e = decode(&link[..cut]).expect_err("a cut link");
            assert!(e.starts_with(DAMAGED), "cut at {cut}: {e}");
        }
        // Any one character of the data or the checksum changed: damaged.
        let alphabet = std::str::from_utf8(ALPHABET).unwrap_or_default();
        for pos in 2..link.len() {
            if &link[pos..=pos] == "." {
                continue;
            }
            for c in alphabet.chars().step_by(7) {
                let mut edited = link.clone();
                edited.replace_range(pos..=pos, &c.to_string());
                if edited == link {
                    continue;
                }
                let e = decode(&edited).expect_err("an edited link");
                assert!(e.starts_with(DAMAGED), "{c} at {pos}: {e}");
            }
        }
    }

    #[test]
    fn links_made_before_the_checksum_still_open() {
        let s = scenario();
        let packed = miniz_oxide::deflate::compress_to_vec(s.to_json().as_bytes(), 9);
        let old = format!("https://example.org/#1.{}", b64_encode(&packed));
        assert_eq!(decode(&old), Ok(s));
    }

    #[test]
    fn base64url_round_trips_every_length() {
        for n in 0..40u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(b64_decode(&b64_encode(&data)).unwrap(), data);
        }
    }
}
