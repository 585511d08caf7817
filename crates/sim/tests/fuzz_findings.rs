//! Untrusted input found or checked by fuzzing (`fuzz/`): the decompression cap of share
//! links, and one regression test per input a fuzz target found.

use quorumlab_sim::url;

/// A link around arbitrary bytes, packed the way `url::encode` packs a scenario.
fn link_around(data: &[u8]) -> String {
    let packed = miniz_oxide::deflate::compress_to_vec(data, 10);
    let mut b64 = String::new();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for chunk in packed.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..chunk.len() + 1 {
            b64.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    format!("#{}.{b64}", url::CODEC_VERSION)
}

#[test]
fn a_tiny_link_cannot_inflate_past_the_cap() {
    // Just over the cap, from a link of well under a kilobyte.
    let link = link_around(&vec![b' '; url::MAX_JSON + 1]);
    assert!(link.len() < 1024, "{} characters", link.len());
    let e = url::decode(&link).unwrap_err();
    assert_eq!(
        e,
        format!("the link expands to more than {} bytes", url::MAX_JSON)
    );

    // The worst a link within the length limit can do: 16 MiB of blanks fits in a link
    // of about 22 000 characters; decoding stops at the cap and says so.
    let link = link_around(&vec![b' '; 16 << 20]);
    assert!(link.len() < url::MAX_ENCODED, "{} characters", link.len());
    assert!(url::decode(&link)
        .unwrap_err()
        .contains(&url::MAX_JSON.to_string()));

    // Exactly at the cap is not "too big": it fails later, as a scenario.
    let e = url::decode(&link_around(&vec![b' '; url::MAX_JSON])).unwrap_err();
    assert!(e.contains("not valid"), "{e}");
}
