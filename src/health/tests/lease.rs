//! Lease checks: renewals, expiry and release on tokio's paused clock
//! (exact to the nanosecond there), one real HTTP round trip, and the
//! expiry precision on the real clock.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::time::Instant;

use super::super::{CheckEvent, Checks, LeaseError, LeaseState};
use super::check;
use crate::config::{CheckConfig, CheckKind, LeaseCheck};

fn lease(name: &str, ttl: Duration, http: Option<std::net::SocketAddr>) -> CheckConfig {
    let mut c = check(name, CheckKind::Lease(LeaseCheck { ttl, http }), 1000, 500);
    // As the config gives a lease.
    (c.rise, c.fall) = (1, 1);
    c
}

fn start(configs: &[CheckConfig]) -> (Checks, mpsc::UnboundedReceiver<CheckEvent>) {
    let map: BTreeMap<String, CheckConfig> = configs
        .iter()
        .map(|c| (c.name.clone(), c.clone()))
        .collect();
    let (checks, events, _status) = Checks::start(&map);
    (checks, events)
}

/// The next event, and when it came.
async fn next(events: &mut mpsc::UnboundedReceiver<CheckEvent>) -> (CheckEvent, Instant) {
    let event = events.recv().await.expect("the checks are running");
    (event, Instant::now())
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

// ---------------------------------------------------------------------------
// On the paused clock

#[tokio::test(start_paused = true)]
async fn a_lease_starts_down_and_a_renewal_holds_it_up_for_exactly_ttl() {
    let (checks, mut events) = start(&[lease("app", secs(5.0), None)]);
    let leases = checks.leases();
    assert_eq!(
        leases.state("app"),
        Ok(LeaseState {
            ttl: secs(5.0),
            remaining: None,
            changes: 0
        })
    );
    tokio::time::sleep(secs(60.0)).await;
    assert_eq!(
        events.try_recv(),
        Err(TryRecvError::Empty),
        "nothing before a renewal"
    );

    let renewed = Instant::now();
    assert_eq!(leases.renew("app", None), Ok(secs(5.0)));
    let (up, at) = next(&mut events).await;
    assert_eq!((up.up, up.cause.as_str()), (true, "renewed for 5s"));
    assert_eq!(at, renewed, "up at the renewal");

    let (down, at) = next(&mut events).await;
    assert_eq!(
        (down.up, down.cause.as_str()),
        (false, "expired: not renewed within 5s")
    );
    assert_eq!(
        at - renewed,
        secs(5.0),
        "down exactly ttl after the renewal"
    );
}

#[tokio::test(start_paused = true)]
async fn renewals_within_ttl_keep_it_up_without_events() {
    let (checks, mut events) = start(&[lease("app", secs(5.0), None)]);
    let leases = checks.leases();
    leases.renew("app", None).unwrap();
    assert!(next(&mut events).await.0.up);
    let mut last = Instant::now();
    for _ in 0..10 {
        tokio::time::sleep(secs(4.9)).await;
        assert_eq!(events.try_recv(), Err(TryRecvError::Empty));
        leases.renew("app", None).unwrap();
        last = Instant::now();
    }
    assert_eq!(leases.state("app").unwrap().changes, 11);
    let (down, at) = next(&mut events).await;
    assert!(!down.up);
    assert_eq!(at - last, secs(5.0), "ttl after the last renewal");
}

#[tokio::test(start_paused = true)]
async fn a_renewal_may_name_a_longer_or_shorter_ttl() {
    let (checks, mut events) = start(&[lease("app", secs(5.0), None)]);
    let leases = checks.leases();
    assert_eq!(leases.renew("app", Some(secs(30.0))), Ok(secs(30.0)));
    let (up, start) = next(&mut events).await;
    assert_eq!(up.cause, "renewed for 30s");
    tokio::time::sleep(secs(10.0)).await;
    // A shorter ttl replaces what was left: the application knows best.
    assert_eq!(leases.renew("app", Some(secs(1.5))), Ok(secs(1.5)));
    let (down, at) = next(&mut events).await;
    assert_eq!(
        (down.up, down.cause.as_str()),
        (false, "expired: not renewed within 1s 500ms")
    );
    assert_eq!(at - start, secs(11.5));
}

#[tokio::test(start_paused = true)]
async fn a_release_brings_it_down_at_once() {
    let (checks, mut events) = start(&[lease("app", secs(5.0), None)]);
    let leases = checks.leases();
    leases.renew("app", None).unwrap();
    next(&mut events).await;
    tokio::time::sleep(secs(1.0)).await;
    let released = Instant::now();
    assert_eq!(leases.release("app"), Ok(()));
    let (down, at) = next(&mut events).await;
    assert_eq!((down.up, down.cause.as_str()), (false, "released"));
    assert_eq!(at, released);
    assert_eq!(leases.state("app").unwrap().remaining, None);
    // No expiry follows a release.
    tokio::time::sleep(secs(60.0)).await;
    assert_eq!(events.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test(start_paused = true)]
async fn the_state_shows_what_is_left() {
    let (checks, _events) = start(&[lease("app", secs(5.0), None)]);
    let leases = checks.leases();
    leases.renew("app", None).unwrap();
    tokio::time::sleep(secs(1.25)).await;
    assert_eq!(
        leases.state("app"),
        Ok(LeaseState {
            ttl: secs(5.0),
            remaining: Some(secs(3.75)),
            changes: 1
        })
    );
    tokio::time::sleep(secs(3.75)).await;
    assert_eq!(leases.state("app").unwrap().remaining, None);
}

#[tokio::test(start_paused = true)]
async fn unknown_leases_and_unusable_ttls_are_refused() {
    let (checks, _events) = start(&[
        lease("app", secs(5.0), None),
        check(
            "web",
            CheckKind::File(crate::config::FileCheck {
                path: "/nonexistent".into(),
                healthy_when: crate::config::FileState::Absent,
            }),
            1000,
            500,
        ),
    ]);
    let leases = checks.leases();
    assert_eq!(leases.names(), ["app"]);
    let unknown = leases.renew("web", None).unwrap_err();
    assert_eq!(unknown, LeaseError::Unknown("web".into()));
    assert_eq!(unknown.to_string(), "no lease check named \"web\"");
    assert_eq!(
        leases.release("nope"),
        Err(LeaseError::Unknown("nope".into()))
    );
    for ttl in [Duration::ZERO, secs(0.009), secs(86_401.0)] {
        let e = leases.renew("app", Some(ttl)).unwrap_err();
        assert_eq!(e, LeaseError::Ttl(ttl));
    }
    assert_eq!(
        LeaseError::Ttl(secs(0.005)).to_string(),
        "ttl 5ms is out of range (10ms..=1day)"
    );
    assert_eq!(leases.state("app").unwrap().changes, 0, "nothing renewed");
}

#[tokio::test(start_paused = true)]
async fn a_reload_keeps_an_unchanged_lease_and_restarts_a_changed_one() {
    let app = lease("app", secs(5.0), None);
    let db = lease("db", secs(5.0), None);
    let (mut checks, mut events) = start(&[app.clone(), db.clone()]);
    let leases = checks.leases();
    leases.renew("app", None).unwrap();
    leases.renew("db", None).unwrap();
    next(&mut events).await;
    next(&mut events).await;

    let db_longer = lease("db", secs(9.0), None);
    let new = lease("new", secs(5.0), None);
    let started = checks.update(
        &[app.clone(), db_longer, new]
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect(),
    );
    assert_eq!(started, ["db", "new"]);
    assert!(
        leases.state("app").unwrap().remaining.is_some(),
        "still held"
    );
    assert_eq!(
        leases.state("db"),
        Ok(LeaseState {
            ttl: secs(9.0),
            remaining: None,
            changes: 0
        }),
        "restarted unheld"
    );
    assert_eq!(
        leases.renew("new", None),
        Ok(secs(5.0)),
        "renewable at once"
    );

    checks.update(&[(app.name.clone(), app)].into());
    assert_eq!(leases.names(), ["app"]);
    assert_eq!(
        leases.renew("db", None),
        Err(LeaseError::Unknown("db".into()))
    );
}

// ---------------------------------------------------------------------------
// Over HTTP, on the real clock

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[tokio::test]
async fn the_http_endpoint_renews_shows_and_releases_a_lease() {
    let addr = free_port();
    let (checks, mut events) = start(&[
        lease("app", secs(5.0), Some(addr)),
        lease("other", secs(5.0), None),
    ]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let call = |method: reqwest::Method, path: &str| {
        let request = client.request(method, format!("http://{addr}{path}"));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    use reqwest::Method;

    let sent = std::time::Instant::now();
    assert_eq!(
        call(Method::POST, "/lease/app?ttl=10s").await,
        (200, "app renewed for 10s\n".into())
    );
    let (up, _) = next(&mut events).await;
    assert_eq!((up.up, up.cause.as_str()), (true, "renewed for 10s"));
    eprintln!("HTTP renewal to up event: {:?}", up.at - sent);

    let (status, body) = call(Method::GET, "/lease/app").await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with("app up, 9s ") && body.ends_with(" left (ttl 5s)\n"),
        "{body}"
    );
    assert_eq!(
        call(Method::PUT, "/lease/app").await,
        (200, "app renewed for 5s\n".into())
    );
    assert_eq!(
        call(Method::DELETE, "/lease/app").await,
        (200, "app released\n".into())
    );
    let (down, _) = next(&mut events).await;
    assert_eq!((down.up, down.cause.as_str()), (false, "released"));
    assert_eq!(
        call(Method::GET, "/lease/app").await,
        (200, "app down (ttl 5s)\n".into())
    );

    // Mistakes.
    assert_eq!(
        call(Method::POST, "/lease/app?ttl=soon").await,
        (
            400,
            "ttl \"soon\" is not a duration (e.g. \"500ms\", \"2s\", \"1m\")\n".into()
        )
    );
    assert_eq!(
        call(Method::POST, "/lease/app?tll=5s").await,
        (
            400,
            "unknown parameter \"tll\" (only ttl is known)\n".into()
        )
    );
    assert_eq!(
        call(Method::POST, "/lease/app?ttl=2days").await,
        (400, "ttl 2days is out of range (10ms..=1day)\n".into())
    );
    // "other" has no endpoint: this address does not answer for it.
    assert_eq!(
        call(Method::POST, "/lease/other").await,
        (
            404,
            "no lease check at /lease/other here (try /lease/NAME)\n".into()
        )
    );
    assert_eq!(
        call(Method::PATCH, "/lease/app").await,
        (
            405,
            "PATCH is not a lease operation (POST or PUT renews, DELETE releases, GET \
             shows)\n"
                .into()
        )
    );
    assert_eq!(checks.leases().state("app").unwrap().changes, 3);
    assert_eq!(events.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn lease_endpoints_come_and_go_with_the_config() {
    let addr = free_port();
    let with_http = lease("app", secs(5.0), Some(addr));
    let (mut checks, _events) = start(std::slice::from_ref(&with_http));
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    let without = lease("app", secs(5.0), None);
    checks.update(&[(without.name.clone(), without)].into());
    // The listener task is aborted; give it a moment to close.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(refused, "nothing listens once no lease names the address");
    checks.update(&[(with_http.name.clone(), with_http)].into());
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    checks.stop_all();
}

#[tokio::test]
async fn expiry_comes_at_the_expiry_instant_on_the_real_clock() {
    let ttl = Duration::from_millis(100);
    let (checks, mut events) = start(&[lease("app", ttl, None)]);
    let leases = checks.leases();
    let mut late = Vec::new();
    for _ in 0..20 {
        let renewed = std::time::Instant::now();
        leases.renew("app", Some(ttl)).unwrap();
        assert!(next(&mut events).await.0.up);
        let (down, _) = next(&mut events).await;
        assert!(!down.up);
        // Never early: the expiry is ttl after a moment after `renewed`.
        let expected = renewed + ttl;
        assert!(
            down.at >= expected,
            "expired {:?} early",
            expected - down.at
        );
        late.push(down.at - expected);
    }
    late.sort();
    eprintln!(
        "lease expiry after ttl {ttl:?}, 20 runs: min {:?}, median {:?}, max {:?}",
        late[0], late[10], late[19]
    );
    assert!(
        late[10] < Duration::from_millis(20),
        "median {:?}",
        late[10]
    );
}
