//! In-process tests of the whole daemon against a scripted BGP peer on
//! loopback: real sockets, real tasks, no router needed.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::BytesMut;
use ipnet::IpNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::time::timeout;

use crate::bgp::wire::{
    self, Afi, Capability, CeaseSubcode, DecodeOptions, ErrorCode, GracefulRestart, Message, Open,
    RouteRefresh, Safi,
};
use crate::config;

const STEP: Duration = Duration::from_secs(5);

/// A BGP speaker scripted by the test.
struct ScriptedPeer {
    stream: TcpStream,
    rx: BytesMut,
    opts: DecodeOptions,
}

impl ScriptedPeer {
    async fn send(&mut self, msg: &Message) {
        let mut buf = BytesMut::new();
        wire::encode_message(msg, self.opts, &mut buf);
        self.stream.write_all(&buf).await.unwrap();
    }

    /// The next message, or None at end of stream.
    async fn recv(&mut self) -> Option<Message> {
        loop {
            if let Some(frame) = wire::split_frame(&mut self.rx).unwrap() {
                return Some(wire::decode_message(&frame, self.opts).unwrap());
            }
            let mut buf = [0u8; 4096];
            let n = timeout(STEP, self.stream.read(&mut buf))
                .await
                .expect("vipd went silent")
                .ok()?;
            if n == 0 {
                return None;
            }
            self.rx.extend_from_slice(&buf[..n]);
        }
    }

    /// Complete the OPEN exchange as AS 65000.
    async fn establish(&mut self) -> Open {
        let Some(Message::Open(theirs)) = self.recv().await else {
            panic!("expected OPEN")
        };
        let ours = Open {
            version: 4,
            my_as: 65000,
            hold_time: 90,
            bgp_id: Ipv4Addr::new(10, 255, 1, 1),
            capabilities: vec![
                Capability::Multiprotocol {
                    afi: Afi::Ipv4,
                    safi: Safi::Unicast,
                },
                Capability::Multiprotocol {
                    afi: Afi::Ipv6,
                    safi: Safi::Unicast,
                },
                Capability::RouteRefresh,
                Capability::FourOctetAs(65000),
            ],
            unknown_params: vec![],
        };
        self.send(&Message::Open(ours)).await;
        self.send(&Message::Keepalive).await;
        assert_eq!(self.recv().await, Some(Message::Keepalive));
        self.opts = DecodeOptions {
            four_octet_as: true,
            extended_nexthop_ipv4: false,
        };
        theirs
    }

    /// Read UPDATEs until End-of-RIB for both families; returns what was announced.
    async fn initial_table(&mut self) -> BTreeSet<IpNet> {
        let mut announced = BTreeSet::new();
        let mut eors = 0;
        while eors < 2 {
            match self.recv().await {
                Some(Message::Update(u)) => {
                    if u.is_end_of_rib().is_some() {
                        eors += 1;
                    }
                    announced.extend(u.announced());
                }
                Some(Message::Keepalive) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        announced
    }
}

fn node_config(peer_port: u16, extra: &str) -> config::Config {
    let text = format!(
        r#"
[speaker]
asn = 65001
router_id = "10.255.1.2"
connect_retry = 1
{extra}
[[peer]]
address = "127.0.0.1"
port = {peer_port}
remote_asn = 65000
next_hop_ipv6 = "fd00:255:1::2"

[[vip]]
prefix = "198.18.0.10/32"
[[vip]]
prefix = "fd00:198:18::10/128"
"#
    );
    config::parse(&text, "test.toml").unwrap()
}

fn prefixes(list: &[&str]) -> BTreeSet<IpNet> {
    list.iter().map(|p| p.parse().unwrap()).collect()
}

#[tokio::test]
async fn vipd_announces_its_vips_and_withdraws_them_with_a_cease_on_shutdown() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop_tx, stop_rx) = oneshot::channel::<String>();
    let daemon = tokio::spawn(super::run(node_config(port, ""), async move {
        stop_rx.await.unwrap_or_default()
    }));

    let (stream, _) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
    let mut peer = ScriptedPeer {
        stream,
        rx: BytesMut::new(),
        opts: DecodeOptions::default(),
    };
    let open = peer.establish().await;
    assert_eq!(open.asn(), 65001);
    assert_eq!(
        peer.initial_table().await,
        prefixes(&["198.18.0.10/32", "fd00:198:18::10/128"])
    );

    // ROUTE-REFRESH: the IPv6 table again.
    peer.send(&Message::RouteRefresh(RouteRefresh {
        afi: Afi::Ipv6,
        safi: Safi::Unicast,
        subtype: 0,
    }))
    .await;
    let Some(Message::Update(u)) = peer.recv().await else {
        panic!("expected an UPDATE after ROUTE-REFRESH")
    };
    assert_eq!(
        u.announced().collect::<BTreeSet<_>>(),
        prefixes(&["fd00:198:18::10/128"])
    );

    // Shutdown: withdrawals, then Cease/Administrative Shutdown with the reason, then EOF.
    let started = std::time::Instant::now();
    stop_tx.send("maintenance window".into()).unwrap();
    let mut withdrawn = BTreeSet::new();
    let notification = loop {
        match peer.recv().await {
            Some(Message::Update(u)) => withdrawn.extend(u.withdrawn_all()),
            Some(Message::Notification(n)) => break n,
            Some(Message::Keepalive) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(
        withdrawn,
        prefixes(&["198.18.0.10/32", "fd00:198:18::10/128"])
    );
    assert_eq!(notification.code, ErrorCode::Cease);
    assert_eq!(
        notification.subcode,
        u8::from(CeaseSubcode::AdministrativeShutdown)
    );
    assert_eq!(
        notification.shutdown_communication().as_deref(),
        Some("maintenance window")
    );
    assert_eq!(peer.recv().await, None, "vipd closes the connection");
    timeout(Duration::from_secs(1), daemon)
        .await
        .expect("vipd stops within a second")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn vipd_reconnects_after_the_peer_drops_the_session() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop_tx, stop_rx) = oneshot::channel::<String>();
    let daemon = tokio::spawn(super::run(node_config(port, ""), async move {
        stop_rx.await.unwrap_or_default()
    }));
    for _round in 0..2 {
        let (stream, _) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
        let mut peer = ScriptedPeer {
            stream,
            rx: BytesMut::new(),
            opts: DecodeOptions::default(),
        };
        peer.establish().await;
        assert_eq!(peer.initial_table().await.len(), 2);
        // Drop the TCP connection without a NOTIFICATION.
        drop(peer);
    }
    stop_tx.send("done".into()).unwrap();
    timeout(Duration::from_secs(1), daemon)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// A free loopback port for vipd to listen on.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let deadline = std::time::Instant::now() + STEP;
    loop {
        let socket = TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::new(source.parse().unwrap(), 0))
            .unwrap();
        match socket.connect(to).await {
            Ok(s) => return s,
            Err(e) if std::time::Instant::now() > deadline => panic!("cannot connect: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[tokio::test]
async fn listener_accepts_configured_peers_and_refuses_everyone_else() {
    let listen_port = free_port();
    let extra = format!("listen = \"127.0.0.1:{listen_port}\"");
    let mut cfg = node_config(179, &extra);
    cfg.peers[0].passive = true;
    let (stop_tx, stop_rx) = oneshot::channel::<String>();
    let daemon = tokio::spawn(super::run(
        cfg,
        async move { stop_rx.await.unwrap_or_default() },
    ));
    let to: SocketAddr = format!("127.0.0.1:{listen_port}").parse().unwrap();

    // 127.0.0.2 is not a configured peer: closed without a word.
    let mut stranger = connect_from("127.0.0.2", to).await;
    let mut buf = [0u8; 64];
    let n = timeout(STEP, stranger.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "a stranger gets nothing but a closed connection");

    // 127.0.0.1 is: it gets an OPEN and a session.
    let stream = connect_from("127.0.0.1", to).await;
    let mut peer = ScriptedPeer {
        stream,
        rx: BytesMut::new(),
        opts: DecodeOptions::default(),
    };
    peer.establish().await;
    assert_eq!(peer.initial_table().await.len(), 2);
    stop_tx.send("done".into()).unwrap();
    timeout(Duration::from_secs(1), daemon)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// Read messages until `prefix` shows up as announced (true) or withdrawn (false).
async fn wait_for(peer: &mut ScriptedPeer, prefix: &str, announced: bool) {
    let want: IpNet = prefix.parse().unwrap();
    loop {
        match peer.recv().await {
            Some(Message::Update(u)) => {
                let hit = if announced {
                    u.announced().any(|p| p == want)
                } else {
                    u.withdrawn_all().any(|p| p == want)
                };
                if hit {
                    return;
                }
            }
            Some(Message::Keepalive) => {}
            other => panic!("unexpected {other:?} while waiting for {prefix}"),
        }
    }
}

#[tokio::test]
async fn a_vip_follows_its_tcp_check_and_a_vip_without_checks_stays() {
    let service = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service_addr = service.local_addr().unwrap();
    // Accept (and hold) connections so watch connections stay open.
    let service_task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = service.accept().await {
            held.push(s);
        }
    });

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let text = format!(
        r#"
[speaker]
asn = 65001
router_id = "10.255.1.2"
connect_retry = 1
[[peer]]
address = "127.0.0.1"
port = {port}
remote_asn = 65000
[[vip]]
prefix = "198.18.0.10/32"
checks = ["svc"]
[[vip]]
prefix = "198.18.0.11/32"
[check.svc]
kind = "tcp"
address = "{service_addr}"
interval = "100ms"
timeout = "50ms"
rise = 1
fall = 1
"#
    );
    let cfg = config::parse(&text, "test.toml").unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<String>();
    let daemon = tokio::spawn(super::run(
        cfg,
        async move { stop_rx.await.unwrap_or_default() },
    ));
    let (stream, _) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
    let mut peer = ScriptedPeer {
        stream,
        rx: BytesMut::new(),
        opts: DecodeOptions::default(),
    };
    peer.establish().await;
    let initial = peer.initial_table().await;
    assert!(initial.contains(&"198.18.0.11/32".parse().unwrap()));
    if !initial.contains(&"198.18.0.10/32".parse().unwrap()) {
        wait_for(&mut peer, "198.18.0.10/32", true).await;
    }

    // The service dies: the VIP is withdrawn, the other one is not.
    let killed = std::time::Instant::now();
    service_task.abort();
    let _ = service_task.await;
    wait_for(&mut peer, "198.18.0.10/32", false).await;
    eprintln!(
        "service death to withdrawal on the wire: {:?}",
        killed.elapsed()
    );

    stop_tx.send("done".into()).unwrap();
    let mut withdrawn = BTreeSet::new();
    while let Some(m) = peer.recv().await {
        if let Message::Update(u) = m {
            withdrawn.extend(u.withdrawn_all());
        }
    }
    assert_eq!(withdrawn, prefixes(&["198.18.0.11/32"]));
    timeout(Duration::from_secs(1), daemon)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_dropped_at_the_send_hold_time() {
    // A small receive buffer from the handshake on keeps the window small,
    // so a few tables fill every buffer between vipd and us.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut text = format!(
        "[speaker]\nasn = 65001\nrouter_id = \"10.255.1.2\"\nconnect_retry = 60\n\
         [[peer]]\naddress = \"127.0.0.1\"\nport = {port}\nremote_asn = 65000\n\
         send_hold_time = \"1s\"\n"
    );
    for i in 0..20_000u32 {
        let a = Ipv4Addr::from(0xC612_0000 + i);
        text.push_str(&format!("[[vip]]\nprefix = \"{a}/32\"\n"));
    }
    let cfg = config::parse(&text, "test.toml").unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<String>();
    let (control, control_rx) = tokio::sync::mpsc::channel(4);
    let options = super::RunOptions {
        config_path: None,
        control: Some(control_rx),
    };
    let daemon = tokio::spawn(super::run_with(cfg, options, async move {
        stop_rx.await.unwrap_or_default()
    }));
    let (stream, _) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
    let mut peer = ScriptedPeer {
        stream,
        rx: BytesMut::new(),
        opts: DecodeOptions::default(),
    };
    peer.establish().await;
    // Ask for everything, many times over, and never read again. Separate
    // writes: refreshes that arrive together are answered once. On a slow
    // machine vipd may give up on us (the send hold timer) before the last
    // of them: a write refused by then is that outcome, not a failure.
    for _ in 0..60 {
        let mut buf = BytesMut::new();
        let refresh = Message::RouteRefresh(RouteRefresh {
            afi: Afi::Ipv4,
            safi: Safi::Unicast,
            subtype: 0,
        });
        wire::encode_message(&refresh, peer.opts, &mut buf);
        if peer.stream.write_all(&buf).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // vipd gives up on us by itself while we still read nothing.
    let started = std::time::Instant::now();
    let last_error = loop {
        let (tx, rx) = oneshot::channel();
        control
            .send(super::ControlRequest::Status(tx))
            .await
            .unwrap();
        let status = rx.await.unwrap();
        let error = status.peers[0].last_error.clone().unwrap_or_default();
        if error.contains("send hold timer expired") || started.elapsed() > Duration::from_secs(60)
        {
            break error;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        last_error.contains("send hold timer expired"),
        "vipd kept the connection of a peer that stopped reading (last error: {last_error:?})"
    );
    drop(peer);
    stop_tx.send("done".into()).unwrap();
    timeout(Duration::from_secs(2), daemon)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn with_graceful_restart_end_of_rib_waits_for_the_checks_first_verdict() {
    let service = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service_addr = service.local_addr().unwrap();
    let _service = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = service.accept().await {
            held.push(s);
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let text = format!(
        r#"
[speaker]
asn = 65001
router_id = "10.255.1.2"
graceful_restart_time = 30
[[peer]]
address = "127.0.0.1"
port = {port}
remote_asn = 65000
[[vip]]
prefix = "198.18.0.10/32"
checks = ["svc"]
[check.svc]
kind = "tcp"
address = "{service_addr}"
interval = "100ms"
timeout = "50ms"
rise = 3
"#
    );
    let cfg = config::parse(&text, "test.toml").unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<String>();
    let daemon = tokio::spawn(super::run(
        cfg,
        async move { stop_rx.await.unwrap_or_default() },
    ));
    let (stream, _) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
    let mut peer = ScriptedPeer {
        stream,
        rx: BytesMut::new(),
        opts: DecodeOptions::default(),
    };
    peer.establish().await;
    // The VIP needs three passing probes; End-of-RIB must not come first,
    // or a Graceful Restart helper would flush the VIP's stale route.
    let mut announced = false;
    let mut eors = 0;
    while eors < 2 {
        match peer.recv().await {
            Some(Message::Update(u)) if u.is_end_of_rib().is_some() => {
                assert!(
                    announced,
                    "End-of-RIB before the VIP's checks gave a verdict"
                );
                eors += 1;
            }
            Some(Message::Update(u)) => {
                announced |= u
                    .announced()
                    .any(|p| p == "198.18.0.10/32".parse().unwrap());
            }
            Some(Message::Keepalive) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    stop_tx.send("done".into()).unwrap();
    timeout(Duration::from_secs(1), daemon)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// A stop for a restart (SIGUSR2) against a peer that did or did not
/// advertise Graceful Restart: what the peer receives until EOF.
async fn stop_for_restart_seen_by(peer_helps: bool) -> Vec<Message> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cfg = node_config(port, "graceful_restart_time = 60");
    let (stop_tx, stop_rx) = oneshot::channel::<super::Shutdown>();
    let daemon = tokio::spawn(super::run(cfg, async move {
        stop_rx.await.unwrap_or_else(|_| String::new().into())
    }));
    let (stream, _) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
    let mut peer = ScriptedPeer {
        stream,
        rx: BytesMut::new(),
        opts: DecodeOptions::default(),
    };
    let Some(Message::Open(theirs)) = peer.recv().await else {
        panic!("expected OPEN")
    };
    assert!(
        theirs
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::GracefulRestart(_))),
        "vipd advertises Graceful Restart"
    );
    let mut capabilities = vec![
        Capability::Multiprotocol {
            afi: Afi::Ipv4,
            safi: Safi::Unicast,
        },
        Capability::Multiprotocol {
            afi: Afi::Ipv6,
            safi: Safi::Unicast,
        },
        Capability::FourOctetAs(65000),
    ];
    if peer_helps {
        // A helper (BIRD's `graceful restart aware`): no families of its own.
        capabilities.push(Capability::GracefulRestart(GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time: 120,
            families: vec![],
        }));
    }
    peer.send(&Message::Open(Open {
        version: 4,
        my_as: 65000,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(10, 255, 1, 1),
        capabilities,
        unknown_params: vec![],
    }))
    .await;
    peer.send(&Message::Keepalive).await;
    assert_eq!(peer.recv().await, Some(Message::Keepalive));
    peer.opts = DecodeOptions {
        four_octet_as: true,
        extended_nexthop_ipv4: false,
    };
    assert_eq!(
        peer.initial_table().await,
        prefixes(&["198.18.0.10/32", "fd00:198:18::10/128"])
    );
    stop_tx
        .send(super::Shutdown {
            reason: "upgrade".into(),
            for_restart: true,
        })
        .unwrap();
    let mut seen = Vec::new();
    while let Some(message) = peer.recv().await {
        seen.push(message);
    }
    timeout(Duration::from_secs(1), daemon)
        .await
        .expect("vipd stops within a second")
        .unwrap()
        .unwrap();
    seen
}

#[tokio::test]
async fn a_stop_for_restart_leaves_a_graceful_restart_peer_without_withdrawal_or_notification() {
    let seen = stop_for_restart_seen_by(true).await;
    assert!(
        seen.iter().all(|m| *m == Message::Keepalive),
        "the helper must keep the routes: vipd sent {seen:?}"
    );
}

#[tokio::test]
async fn a_stop_for_restart_withdraws_from_a_peer_without_graceful_restart() {
    let seen = stop_for_restart_seen_by(false).await;
    let withdrawn: BTreeSet<IpNet> = seen
        .iter()
        .filter_map(|m| match m {
            Message::Update(u) => Some(u.withdrawn_all().collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(
        withdrawn,
        prefixes(&["198.18.0.10/32", "fd00:198:18::10/128"])
    );
    assert!(
        matches!(seen.last(), Some(Message::Notification(n)) if n.code == ErrorCode::Cease),
        "a peer that would not keep the routes gets the usual Cease: {seen:?}"
    );
}
