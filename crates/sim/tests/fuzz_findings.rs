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
    format!("#{}.{}.{b64}", url::CODEC_VERSION, url::checksum(&b64))
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

/// `Job<Raft>` bytes whose one message is `{"x": [[[...]]]}` nested `depth` deep (each
/// level is `level`, a sequence of one or a `Some`): the message is an internally tagged
/// enum, whose fields serde buffers, value inside value, before it looks for the tag.
fn deep_job(depth: usize, level: &[u8]) -> Vec<u8> {
    use quorumlab_sim::host::Host;
    let mut b = vec![8u8, 3, 0, 0, 0]; // Job: a struct of 3 fields
    b.extend(quorumlab_sim::wire::to_vec(&Host::new(0, 1)).unwrap());
    b.extend([8, 1, 0, 0, 0]); // inputs: 1
    b.extend([8, 2, 0, 0, 0, 3, 0]); // (time 0,
    b.extend([12, 0, 8, 2, 0, 0, 0, 3, 1]); //  Input::Msg { from: 1,
    b.extend([9, 1, 0, 0, 0, 6, 1, 0, 0, 0, b'x']); //  msg: {"x":
    for _ in 0..depth {
        b.extend(level);
    }
    b.push(0);
    b.extend([3, 100]); // end: 100
    b
}

/// Found by the `wire` target's review of what 4 KiB inputs cannot reach: bytes nested
/// 200 000 deep (1 MB from a worker) overflowed the stack while decoding, an abort rather
/// than an error.
#[test]
fn wire_bytes_nested_too_deep_are_an_error_not_a_stack_overflow() {
    type Job = quorumlab_sim::host::Job<quorumlab_core::raft::Raft>;
    const SEQ1: &[u8] = &[8, 1, 0, 0, 0];
    const SOME: &[u8] = &[10];
    for (depth, level) in [(200_000, SEQ1), (1_000_000, SOME)] {
        // Since protocol messages are externally tagged, a map where a Raft message
        // should be is refused at once; a value that is read as "any value" (as serde
        // reads the client types' internally tagged enums, value inside value) still
        // meets the depth limit.
        let bytes = deep_job(depth, level);
        assert!(quorumlab_sim::wire::from_slice::<Job>(&bytes).is_err());
        let nest = &bytes[bytes.len() - 3 - depth * level.len()..bytes.len() - 2];
        let e = quorumlab_sim::wire::from_slice::<serde_json::Value>(nest).unwrap_err();
        assert!(e.to_string().contains("nested more than"), "{e}");
    }
    // Shallow nesting is a value.
    for level in [SEQ1, SOME] {
        let bytes = deep_job(3, level);
        let nest = &bytes[bytes.len() - 3 - 3 * level.len()..bytes.len() - 2];
        assert!(quorumlab_sim::wire::from_slice::<serde_json::Value>(nest).is_ok());
    }
}
