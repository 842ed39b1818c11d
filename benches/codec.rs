//! UPDATE codec micro-benchmarks: encode and decode throughput in messages
//! per second and bytes per second, through the public wire API
//! (`vipd::bgp::wire`), and the bytes each announced prefix costs on the wire.
//!
//! ```sh
//! cargo bench --bench codec            # full run
//! cargo bench --bench codec -- --quick # shorter
//! cargo test --bench codec             # each benchmark once (CI)
//! ```
//!
//! Cases: the announce path (`pack_announce` of 10k VIP host routes, IPv4
//! and IPv6, and `pack_withdraw`), one single-prefix UPDATE (a churn
//! transition), and decoding both the packed VIP UPDATEs and a full-table
//! style stream (4 prefixes per UPDATE, 4-ASN paths) as an upstream sends.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ipnet::IpNet;
use vipd::bgp::wire::{
    AsPath, Community, DecodeOptions, Family, Message, Origin, PathAttribute, decode_message,
    encode_message, pack_announce, pack_withdraw, split_frame,
};

const VIPS: u32 = 10_000;

fn opts() -> DecodeOptions {
    DecodeOptions {
        four_octet_as: true,
        ..DecodeOptions::default()
    }
}

fn vip_attributes() -> Vec<PathAttribute> {
    vec![
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::sequence(vec![65001])),
        PathAttribute::Communities(vec![Community(0xfde8_0064)]),
    ]
}

fn v4_hosts(n: u32) -> Vec<IpNet> {
    (0..n)
        .map(|i| IpNet::from(IpAddr::V4(Ipv4Addr::from(0xc612_0000 + i))))
        .collect()
}

fn v6_hosts(n: u32) -> Vec<IpNet> {
    (0..n)
        .map(|i| {
            IpNet::from(IpAddr::V6(Ipv6Addr::from(
                (0xfd00u128 << 112) | u128::from(i),
            )))
        })
        .collect()
}

fn total(msgs: &[Bytes]) -> u64 {
    msgs.iter().map(|m| m.len() as u64).sum()
}

/// A full-table style stream: 4 /24s per UPDATE, varied 4-ASN paths.
fn upstream_stream(updates: u32) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut count = 0;
    for g in 0..updates {
        let attrs = [
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::sequence(vec![
                65002,
                3000 + g % 4000,
                64512 + g % 97,
                100_000 + g % 50_000,
            ])),
        ];
        let prefixes: Vec<IpNet> = (0..4)
            .map(|k| {
                let addr = Ipv4Addr::from((1u32 << 24) + ((g * 4 + k) << 8));
                IpNet::new(IpAddr::V4(addr), 24).unwrap_or_default()
            })
            .collect();
        let next_hop = IpAddr::V4(Ipv4Addr::new(10, 255, 2, 1));
        for m in pack_announce(&attrs, Family::Ipv4Unicast, next_hop, &prefixes, opts()) {
            out.extend_from_slice(&m);
            count += 1;
        }
    }
    (out, count)
}

fn decode_all(stream: &[u8]) -> usize {
    let mut buf = BytesMut::from(stream);
    let mut n = 0;
    while let Ok(Some(frame)) = split_frame(&mut buf) {
        if let Ok(Message::Update(u)) = decode_message(&frame, opts()) {
            n += u.announced().count();
        }
    }
    n
}

fn codec(c: &mut Criterion) {
    let attrs = vip_attributes();
    let next_hop4 = IpAddr::V4(Ipv4Addr::new(10, 255, 1, 2));
    let next_hop6 = IpAddr::V6(Ipv6Addr::from(
        0xfd00_0255_0001_0000_0000_0000_0000_0002u128,
    ));
    let hosts4 = v4_hosts(VIPS);
    let hosts6 = v6_hosts(VIPS);
    let packed4 = pack_announce(&attrs, Family::Ipv4Unicast, next_hop4, &hosts4, opts());
    let packed6 = pack_announce(&attrs, Family::Ipv6Unicast, next_hop6, &hosts6, opts());
    let withdrawn4 = pack_withdraw(Family::Ipv4Unicast, &hosts4, opts());
    eprintln!(
        "wire cost: IPv4 /32 announce {:.2} B/prefix ({} UPDATEs for {VIPS}), IPv6 /128 announce {:.2} B/prefix ({} UPDATEs), IPv4 withdraw {:.2} B/prefix ({} UPDATEs)",
        total(&packed4) as f64 / f64::from(VIPS),
        packed4.len(),
        total(&packed6) as f64 / f64::from(VIPS),
        packed6.len(),
        total(&withdrawn4) as f64 / f64::from(VIPS),
        withdrawn4.len(),
    );
    let single = hosts4[..1].to_vec();
    let single_msg = pack_announce(&attrs, Family::Ipv4Unicast, next_hop4, &single, opts());
    let single_update = match single_msg.first().map(|m| decode_message(m, opts())) {
        Some(Ok(Message::Update(u))) => u,
        other => panic!("cannot decode our own single UPDATE: {other:?}"),
    };
    let stream4: Vec<u8> = packed4.iter().flat_map(|m| m.iter().copied()).collect();
    let (upstream, upstream_msgs) = upstream_stream(2500);
    assert_eq!(decode_all(&stream4), VIPS as usize, "decode lost prefixes");
    assert_eq!(decode_all(&upstream), 10_000, "decode lost prefixes");

    let mut g = c.benchmark_group("update");
    g.measurement_time(Duration::from_secs(3));
    for (what, throughput) in [
        ("msgs", Throughput::Elements(packed4.len() as u64)),
        ("bytes", Throughput::Bytes(total(&packed4))),
    ] {
        g.throughput(throughput);
        g.bench_function(BenchmarkId::new("encode_pack_10k_v4_hosts", what), |b| {
            b.iter(|| {
                pack_announce(
                    &attrs,
                    Family::Ipv4Unicast,
                    next_hop4,
                    black_box(&hosts4),
                    opts(),
                )
            })
        });
    }
    for (what, throughput) in [
        ("msgs", Throughput::Elements(packed6.len() as u64)),
        ("bytes", Throughput::Bytes(total(&packed6))),
    ] {
        g.throughput(throughput);
        g.bench_function(BenchmarkId::new("encode_pack_10k_v6_hosts", what), |b| {
            b.iter(|| {
                pack_announce(
                    &attrs,
                    Family::Ipv6Unicast,
                    next_hop6,
                    black_box(&hosts6),
                    opts(),
                )
            })
        });
    }
    for (what, throughput) in [
        ("msgs", Throughput::Elements(withdrawn4.len() as u64)),
        ("bytes", Throughput::Bytes(total(&withdrawn4))),
    ] {
        g.throughput(throughput);
        g.bench_function(
            BenchmarkId::new("encode_withdraw_10k_v4_hosts", what),
            |b| b.iter(|| pack_withdraw(Family::Ipv4Unicast, black_box(&hosts4), opts())),
        );
    }
    let single_bytes = total(&single_msg);
    for (what, throughput) in [
        ("msgs", Throughput::Elements(1)),
        ("bytes", Throughput::Bytes(single_bytes)),
    ] {
        g.throughput(throughput);
        g.bench_function(BenchmarkId::new("encode_one_prefix", what), |b| {
            let msg = Message::Update(single_update.clone());
            let mut out = BytesMut::with_capacity(4096);
            b.iter(|| {
                out.clear();
                encode_message(black_box(&msg), opts(), &mut out);
                out.len()
            })
        });
    }
    for (what, throughput) in [
        ("msgs", Throughput::Elements(packed4.len() as u64)),
        ("bytes", Throughput::Bytes(stream4.len() as u64)),
    ] {
        g.throughput(throughput);
        g.bench_function(BenchmarkId::new("decode_packed_10k_v4_hosts", what), |b| {
            b.iter(|| decode_all(black_box(&stream4)))
        });
    }
    for (what, throughput) in [
        ("msgs", Throughput::Elements(upstream_msgs as u64)),
        ("bytes", Throughput::Bytes(upstream.len() as u64)),
    ] {
        g.throughput(throughput);
        g.bench_function(BenchmarkId::new("decode_full_table_style", what), |b| {
            b.iter(|| decode_all(black_box(&upstream)))
        });
    }
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
