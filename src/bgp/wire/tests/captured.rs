//! Vectors captured from real BIRD, FRR and GoBGP sessions
//! (`src/bgp/wire/testdata/*.hex`, written by
//! `proto-tests/tools/capture_vectors.sh`).
//!
//! Every message must decode cleanly. Re-encoding must give the same
//! octets, except where the sender chose one of two valid encodings that we
//! do not reproduce: one capability per optional parameter (FRR), or the
//! extended-length flag on a short attribute (FRR's AS_PATH).

use super::super::*;
use super::{FOUR_OCTET, encode};

const FILES: &[(&str, &str)] = &[
    ("bird.hex", include_str!("../testdata/bird.hex")),
    ("frr.hex", include_str!("../testdata/frr.hex")),
    ("gobgp.hex", include_str!("../testdata/gobgp.hex")),
];

/// (file, comment above the line, message octets)
fn vectors() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    for (file, text) in FILES {
        let mut comment = String::new();
        for line in text.lines().map(str::trim) {
            if let Some(c) = line.strip_prefix('#') {
                comment = c.trim().to_string();
            } else if !line.is_empty() {
                let bytes = hex::decode(line).unwrap_or_else(|e| panic!("{file}: {comment}: {e}"));
                out.push((*file, comment.clone(), bytes));
            }
        }
    }
    out
}

/// Why the sender's octets legitimately differ from ours, if they do.
fn non_canonical_reason(wire: &[u8]) -> Option<&'static str> {
    let body = &wire[19..];
    match wire[18] {
        1 => {
            // Count optional parameters (classic encoding only).
            let params = &body[10..];
            let mut n = 0;
            let mut i = 0;
            while i + 1 < params.len() {
                n += 1;
                i += 2 + usize::from(params[i + 1]);
            }
            (n > 1).then_some("one capability per optional parameter")
        }
        2 => {
            let wlen = usize::from(u16::from_be_bytes([body[0], body[1]]));
            let a = 2 + wlen;
            let alen = usize::from(u16::from_be_bytes([body[a], body[a + 1]]));
            let attrs = &body[a + 2..a + 2 + alen];
            let mut i = 0;
            while i + 2 < attrs.len() {
                let flags = attrs[i];
                if flags & 0x10 != 0 {
                    let len = usize::from(u16::from_be_bytes([attrs[i + 2], attrs[i + 3]]));
                    if len <= 255 {
                        return Some("extended length on a short attribute");
                    }
                    i += 4 + len;
                } else {
                    i += 3 + usize::from(attrs[i + 2]);
                }
            }
            None
        }
        _ => None,
    }
}

#[test]
fn captured_vectors_are_present() {
    let v = vectors();
    assert!(v.len() >= 15, "only {} captured vectors", v.len());
    for (file, _, _) in FILES.iter().map(|(f, _)| (f, (), ())) {
        assert!(v.iter().any(|(f, _, _)| f == file), "no vectors in {file}");
    }
}

#[test]
fn captured_vectors_decode_and_re_encode() {
    let mut canonical = 0;
    for (file, comment, wire) in vectors() {
        let what = format!("{file}: {comment}");
        let msg = decode_message(&wire, FOUR_OCTET).unwrap_or_else(|e| panic!("{what}: {e}"));
        if let Message::Update(u) = &msg {
            assert_eq!(u.errors, vec![], "{what}");
        }
        let again = encode(&msg, FOUR_OCTET);
        match non_canonical_reason(&wire) {
            None => {
                assert_eq!(hex::encode(&again), hex::encode(&wire), "{what}");
                canonical += 1;
            }
            Some(why) => {
                assert_ne!(again, wire, "{what}: expected to differ because {why}");
                assert_eq!(decode_message(&again, FOUR_OCTET).unwrap(), msg, "{what}");
            }
        }
    }
    assert!(canonical >= 12, "only {canonical} canonical vectors");
}

#[test]
fn captured_messages_mean_what_the_capture_script_configured() {
    // The script announces one /24 or /64 with community 65000:100, large
    // community 65000:1:1 and MED 10, from AS 65000.
    for (file, comment, wire) in vectors() {
        let Ok(Message::Update(u)) = decode_message(&wire, FOUR_OCTET) else {
            continue;
        };
        if u.is_end_of_rib().is_some() {
            continue;
        }
        let what = format!("{file}: {comment}");
        assert_eq!(
            u.as_path().map(|p| p.asns().collect::<Vec<_>>()),
            Some(vec![65000]),
            "{what}"
        );
        assert!(
            u.attributes.contains(&PathAttribute::MultiExitDisc(10)),
            "{what}"
        );
        assert!(
            u.attributes
                .contains(&PathAttribute::Communities(vec![Community::new(
                    65000, 100
                )])),
            "{what}"
        );
        assert!(
            u.attributes.contains(&PathAttribute::LargeCommunities(vec![
                "65000:1:1".parse().unwrap()
            ])),
            "{what}"
        );
        let announced: Vec<_> = u.announced().collect();
        assert_eq!(announced.len(), 1, "{what}");
        assert!(matches!(announced[0].prefix_len(), 24 | 64), "{what}");
    }
    for (file, comment, wire) in vectors() {
        if let Ok(Message::Open(o)) = decode_message(&wire, FOUR_OCTET) {
            assert_eq!(o.asn(), 65000, "{file}: {comment}");
            assert_eq!(o.hold_time, 9, "{file}: {comment}");
        }
        if let Ok(Message::Notification(n)) = decode_message(&wire, FOUR_OCTET) {
            assert_eq!(
                (n.code, n.subcode),
                (ErrorCode::Cease, 2),
                "{file}: {comment}"
            );
        }
    }
}
