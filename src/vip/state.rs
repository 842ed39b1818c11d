//! The VIP state machine: check results in, VIP phases (and so routes) out.
//!
//! Pure and sans-IO like the BGP session: [`VipMachine::handle`] takes
//! `(now, input)` and returns the transitions to apply, and
//! [`VipMachine::poll_timeout`] says when a drain ends or a hold-down lifts.
//! Each transition carries the route to announce (or `None` to withdraw), so
//! the caller applies it to the desired set at once: no timer or batching sits
//! between a state change and the UPDATE.
//!
//! ```text
//!            checks satisfied (and no hold-down, startup delay, drain order)
//!   +------+ ------------------------------------------------------> +----+
//!   | Down |                                                          | Up |
//!   +------+ <----------- hard failure: withdraw at once ------------ +----+
//!      ^                                                                 |
//!      | drain_time over, or a hard failure          on_fail = "drain",  |
//!      |                                             operator drain,     |
//!   +----------+ <------------------------------------ shutdown_drain --+
//!   | Draining |  announced with GRACEFUL_SHUTDOWN (RFC 8326), drain_med,
//!   +----------+  drain_prepend; back to Up if the checks recover
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use super::{RouteAttrs, VipRoute, nth_host};
use crate::bgp::wire::Community;

/// How a VIP combines its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Up while every check is up.
    #[default]
    All,
    /// Up while at least one check is up.
    Any,
}

/// One VIP, or a block of `count` consecutive host prefixes starting at
/// `route.prefix` that share everything else, as the machine needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    pub route: VipRoute,
    /// 1 for a single VIP; more for a `count` block (host prefixes only).
    pub count: u32,
    pub checks: Vec<String>,
    pub policy: Policy,
    /// After going down, stay down at least this long (anti-flap).
    pub hold_down: Option<Duration>,
    pub drain_time: Duration,
    pub drain_med: Option<u32>,
    pub drain_prepend: u8,
}

/// One check as the machine needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckSpec {
    /// A failure drains the VIP first instead of withdrawing it at once.
    pub drain_on_fail: bool,
}

/// Where a VIP stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Down,
    Up,
    Draining,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Down => "down",
            Phase::Up => "up",
            Phase::Draining => "draining",
        })
    }
}

/// What can happen to VIPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VipInput {
    /// A check changed state (after its rise/fall).
    Check {
        name: String,
        up: bool,
        cause: String,
    },
    /// An operator drains (or undrains) one VIP, or all when `prefix` is None.
    AdminDrain { prefix: Option<IpNet>, drain: bool },
    /// vipd is stopping; `drain` drains every Up VIP first.
    Shutdown { drain: bool },
}

/// One VIP changed phase; apply `route` (None = withdraw) to the desired set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub prefix: IpNet,
    pub from: Phase,
    pub to: Phase,
    /// Shared by the VIPs a single event moved (a block has one cause).
    pub cause: Arc<str>,
    pub route: Option<VipRoute>,
}

/// What the VIPs of one spec (a block shares it) have in common.
#[derive(Debug)]
struct Shared {
    spec: VipSpec,
    /// The attributes while draining, built once for the whole block.
    drain_attrs: Arc<RouteAttrs>,
}

impl Shared {
    fn new(spec: VipSpec) -> Arc<Shared> {
        let drain_attrs = Arc::new(draining_attrs(&spec));
        Arc::new(Shared { spec, drain_attrs })
    }

    /// The VIPs of this spec, in prefix order.
    fn prefixes(&self) -> impl Iterator<Item = IpNet> + '_ {
        let first = self.spec.route.prefix;
        (0..self.spec.count.max(1)).filter_map(move |i| nth_host(first, i))
    }
}

/// One VIP: about 100 bytes, whatever its attributes (they are shared).
#[derive(Debug)]
struct Vip {
    prefix: IpNet,
    shared: Arc<Shared>,
    phase: Phase,
    admin_drain: bool,
    since: Instant,
    /// Draining: when the drain ends. Down: when the hold-down lifts.
    until: Option<Instant>,
    cause: Arc<str>,
}

impl Vip {
    fn new(prefix: IpNet, shared: Arc<Shared>, now: Instant, cause: &Arc<str>) -> Vip {
        Vip {
            prefix,
            shared,
            phase: Phase::Down,
            admin_drain: false,
            since: now,
            until: None,
            cause: cause.clone(),
        }
    }

    fn spec(&self) -> &VipSpec {
        &self.shared.spec
    }

    fn route(&self) -> VipRoute {
        VipRoute {
            prefix: self.prefix,
            attrs: self.shared.spec.route.attrs.clone(),
        }
    }

    fn draining_route(&self) -> VipRoute {
        VipRoute {
            prefix: self.prefix,
            attrs: self.shared.drain_attrs.clone(),
        }
    }
}

#[derive(Debug)]
struct CheckState {
    spec: CheckSpec,
    up: bool,
    cause: String,
}

/// Every VIP of this node.
#[derive(Debug)]
pub struct VipMachine {
    /// Sorted by prefix (prefixes are unique).
    vips: Vec<Vip>,
    /// The VIPs (indices into `vips`) that use each check.
    by_check: HashMap<String, Vec<u32>>,
    checks: HashMap<String, CheckState>,
    startup_until: Option<Instant>,
    shutting_down: bool,
}

/// A snapshot of one VIP for status output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipStatus {
    pub prefix: IpNet,
    pub phase: Phase,
    pub since: Instant,
    pub cause: String,
    pub admin_drain: bool,
}

impl VipMachine {
    /// Every check starts down: nothing with checks is up before they pass.
    pub fn new(
        now: Instant,
        vips: Vec<VipSpec>,
        checks: BTreeMap<String, CheckSpec>,
        startup_delay: Option<Duration>,
    ) -> Self {
        let starting: Arc<str> = Arc::from("starting");
        let mut all = Vec::with_capacity(vips.iter().map(|s| s.count.max(1) as usize).sum());
        for spec in vips {
            let shared = Shared::new(spec);
            all.extend(
                shared
                    .prefixes()
                    .map(|p| Vip::new(p, shared.clone(), now, &starting)),
            );
        }
        // Sorted by prefix: one VIP is found by binary search.
        all.sort_unstable_by_key(|v| v.prefix);
        VipMachine {
            by_check: index_by_check(&all),
            vips: all,
            checks: checks
                .into_iter()
                .map(|(name, spec)| {
                    (
                        name,
                        CheckState {
                            spec,
                            up: false,
                            cause: "not checked yet".into(),
                        },
                    )
                })
                .collect(),
            startup_until: startup_delay.map(|d| now + d),
            shutting_down: false,
        }
    }

    /// The first evaluation: VIPs without checks go up (after any startup delay).
    pub fn start(&mut self, now: Instant) -> Vec<Transition> {
        self.evaluate(now)
    }

    pub fn handle(&mut self, now: Instant, input: VipInput) -> Vec<Transition> {
        match input {
            VipInput::Check { name, up, cause } => {
                if let Some(c) = self.checks.get_mut(&name) {
                    c.up = up;
                    c.cause = cause;
                }
                // Only the VIPs that use this check can change (timers move
                // the others, through handle_timeout).
                let users = self.by_check.remove(&name);
                let out = self.evaluate_only(now, Some(users.as_deref().unwrap_or_default()));
                if let Some(users) = users {
                    self.by_check.insert(name, users);
                }
                return out;
            }
            VipInput::AdminDrain {
                prefix: Some(prefix),
                drain,
            } => {
                // One VIP: found by binary search (`vips` is sorted by
                // prefix), and only it is evaluated.
                let Ok(i) = self.vips.binary_search_by_key(&prefix, |v| v.prefix) else {
                    return Vec::new();
                };
                self.vips[i].admin_drain = drain;
                return self.evaluate_only(now, Some(&[i as u32]));
            }
            VipInput::AdminDrain {
                prefix: None,
                drain,
            } => {
                for v in &mut self.vips {
                    v.admin_drain = drain;
                }
            }
            VipInput::Shutdown { drain } => {
                self.shutting_down = true;
                if !drain {
                    // Withdraw everything now, drains included.
                    let mut out = Vec::new();
                    let cause: Arc<str> = Arc::from("vipd stopping");
                    for v in &mut self.vips {
                        if v.phase != Phase::Down {
                            out.push(set_phase(v, now, Phase::Down, cause.clone()));
                        }
                    }
                    return out;
                }
            }
        }
        self.evaluate(now)
    }

    /// Live reload: keep the state of VIPs and checks that stay, start new
    /// ones down, withdraw removed VIPs, and re-announce changed attributes
    /// in place. Checks named in `restarted` begin again from down.
    pub fn reconfigure(
        &mut self,
        now: Instant,
        vips: Vec<VipSpec>,
        checks: BTreeMap<String, CheckSpec>,
        restarted: &[String],
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        let mut old: HashMap<IpNet, Vip> = std::mem::take(&mut self.vips)
            .into_iter()
            .map(|v| (v.prefix, v))
            .collect();
        let changed_cause: Arc<str> = Arc::from("attributes changed by reload");
        let added_cause: Arc<str> = Arc::from("added by reload");
        let removed_cause: Arc<str> = Arc::from("removed by reload");
        for spec in vips {
            let shared = Shared::new(spec);
            // Whether the VIPs of one old spec change is the same for all of them.
            let mut last: Option<(*const Shared, bool)> = None;
            for prefix in shared.prefixes() {
                match old.remove(&prefix) {
                    Some(mut v) => {
                        let changed = match last {
                            Some((p, c)) if std::ptr::eq(p, Arc::as_ptr(&v.shared)) => c,
                            _ => {
                                let (a, b) = (v.spec(), &shared.spec);
                                let c = a.route.attrs != b.route.attrs
                                    || a.drain_med != b.drain_med
                                    || a.drain_prepend != b.drain_prepend;
                                last = Some((Arc::as_ptr(&v.shared), c));
                                c
                            }
                        };
                        v.shared = shared.clone();
                        if changed && v.phase != Phase::Down {
                            let route = match v.phase {
                                Phase::Draining => v.draining_route(),
                                _ => v.route(),
                            };
                            out.push(Transition {
                                prefix,
                                from: v.phase,
                                to: v.phase,
                                cause: changed_cause.clone(),
                                route: Some(route),
                            });
                        }
                        self.vips.push(v);
                    }
                    None => self
                        .vips
                        .push(Vip::new(prefix, shared.clone(), now, &added_cause)),
                }
            }
        }
        let mut removed: Vec<Vip> = old.into_values().collect();
        removed.sort_by_key(|v| v.prefix);
        for mut v in removed {
            if v.phase != Phase::Down {
                out.push(set_phase(&mut v, now, Phase::Down, removed_cause.clone()));
            }
        }
        let mut states = std::mem::take(&mut self.checks);
        self.checks = checks
            .into_iter()
            .map(|(name, spec)| {
                let state = match states.remove(&name) {
                    Some(c) if !restarted.contains(&name) => CheckState { spec, ..c },
                    _ => CheckState {
                        spec,
                        up: false,
                        cause: "not checked yet".into(),
                    },
                };
                (name, state)
            })
            .collect();
        self.vips.sort_unstable_by_key(|v| v.prefix);
        self.by_check = index_by_check(&self.vips);
        out.extend(self.evaluate(now));
        out
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Transition> {
        self.evaluate(now)
    }

    /// When a drain ends, a hold-down lifts or the startup delay is over.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let vip_deadlines = self.vips.iter().filter_map(|v| match v.phase {
            Phase::Draining | Phase::Down => v.until,
            Phase::Up => None,
        });
        vip_deadlines.chain(self.startup_until).min()
    }

    /// True when every VIP is down (a draining shutdown is complete).
    pub fn all_down(&self) -> bool {
        self.vips.iter().all(|v| v.phase == Phase::Down)
    }

    /// Whether the machine has taken in that check `name` is up.
    pub fn check_is_up(&self, name: &str) -> bool {
        self.checks.get(name).is_some_and(|c| c.up)
    }

    pub fn status(&self) -> Vec<VipStatus> {
        self.vips
            .iter()
            .map(|v| VipStatus {
                prefix: v.prefix,
                phase: v.phase,
                since: v.since,
                cause: v.cause.to_string(),
                admin_drain: v.admin_drain,
            })
            .collect()
    }

    fn evaluate(&mut self, now: Instant) -> Vec<Transition> {
        self.evaluate_only(now, None)
    }

    /// Evaluate every VIP, or only those at `only` (indices into `vips`);
    /// the verdict of one spec is worked out once for all the VIPs of its
    /// block.
    fn evaluate_only(&mut self, now: Instant, only: Option<&[u32]>) -> Vec<Transition> {
        let mut only = only;
        if self.startup_until.is_some_and(|t| now >= t) {
            // The startup delay just ended: every VIP may go up now.
            self.startup_until = None;
            only = None;
        }
        let starting = self.startup_until.is_some();
        let mut out = Vec::new();
        let mut cached: Option<(*const Shared, Verdict)> = None;
        let count = self.vips.len();
        let indices: Box<dyn Iterator<Item = usize> + '_> = match only {
            Some(list) => Box::new(list.iter().map(|&i| i as usize)),
            None => Box::new(0..count),
        };
        for i in indices {
            let Some(v) = self.vips.get_mut(i) else {
                continue;
            };
            let ptr = Arc::as_ptr(&v.shared);
            let verdict = match &cached {
                Some((p, known)) if std::ptr::eq(*p, ptr) => known.clone(),
                _ => {
                    let known = verdict(v.spec(), &self.checks);
                    cached = Some((ptr, known.clone()));
                    known
                }
            };
            let t = match v.phase {
                Phase::Down => {
                    let held = v.until.is_some_and(|t| now < t);
                    if !held {
                        v.until = None;
                    }
                    match verdict {
                        Verdict::Satisfied(cause)
                            if !held && !starting && !v.admin_drain && !self.shutting_down =>
                        {
                            Some(set_phase(v, now, Phase::Up, cause))
                        }
                        _ => None,
                    }
                }
                Phase::Up => {
                    if self.shutting_down {
                        // Only a draining shutdown gets here.
                        Some(start_drain(v, now, Arc::from("vipd stopping: draining")))
                    } else if v.admin_drain {
                        Some(start_drain(v, now, Arc::from("drained by operator")))
                    } else {
                        match verdict {
                            Verdict::Satisfied(_) => None,
                            Verdict::Failed { cause, drain: true } => {
                                Some(start_drain(v, now, cause))
                            }
                            Verdict::Failed {
                                cause,
                                drain: false,
                            } => Some(go_down(v, now, cause)),
                        }
                    }
                }
                Phase::Draining => {
                    let over = v.until.is_none_or(|t| now >= t);
                    match verdict {
                        // A hard failure during a drain withdraws at once.
                        Verdict::Failed {
                            cause,
                            drain: false,
                        } => Some(go_down(v, now, cause)),
                        _ if over => {
                            let cause = Arc::from(format!("drain over: {}", v.cause));
                            Some(go_down(v, now, cause))
                        }
                        Verdict::Satisfied(cause) if !v.admin_drain && !self.shutting_down => {
                            Some(set_phase(v, now, Phase::Up, cause))
                        }
                        _ => None,
                    }
                }
            };
            out.extend(t);
        }
        out
    }
}

/// Which VIPs use each check.
fn index_by_check(vips: &[Vip]) -> HashMap<String, Vec<u32>> {
    let mut index: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, v) in vips.iter().enumerate() {
        for name in &v.spec().checks {
            match index.get_mut(name) {
                Some(list) => list.push(i as u32),
                None => {
                    index.insert(name.clone(), vec![i as u32]);
                }
            }
        }
    }
    index
}

#[derive(Clone)]
enum Verdict {
    Satisfied(Arc<str>),
    /// `drain`: every failing check asks for a drain rather than a withdrawal.
    Failed {
        cause: Arc<str>,
        drain: bool,
    },
}

fn verdict(spec: &VipSpec, checks: &HashMap<String, CheckState>) -> Verdict {
    if spec.checks.is_empty() {
        return Verdict::Satisfied(Arc::from("no checks: always up"));
    }
    let state = |name: &String| checks.get(name);
    let up: Vec<&String> = spec
        .checks
        .iter()
        .filter(|n| state(n).is_some_and(|c| c.up))
        .collect();
    let satisfied = match spec.policy {
        Policy::All => up.len() == spec.checks.len(),
        Policy::Any => !up.is_empty(),
    };
    if satisfied {
        let names: Vec<&str> = up.iter().map(|s| s.as_str()).collect();
        return Verdict::Satisfied(Arc::from(format!("check {} up", names.join(", "))));
    }
    let failing: Vec<(&String, Option<&CheckState>)> = spec
        .checks
        .iter()
        .map(|n| (n, state(n)))
        .filter(|(_, c)| !c.is_some_and(|c| c.up))
        .collect();
    let drain = failing
        .iter()
        .all(|(_, c)| c.is_some_and(|c| c.spec.drain_on_fail));
    let cause = failing
        .iter()
        .map(|(n, c)| match c {
            Some(c) => format!("check {n} down: {}", c.cause),
            None => format!("check {n} unknown"),
        })
        .collect::<Vec<_>>()
        .join("; ");
    Verdict::Failed {
        cause: Arc::from(cause),
        drain,
    }
}

fn set_phase(v: &mut Vip, now: Instant, to: Phase, cause: Arc<str>) -> Transition {
    let from = v.phase;
    v.phase = to;
    v.since = now;
    v.cause = cause.clone();
    if to != Phase::Draining {
        v.until = None;
    }
    Transition {
        prefix: v.prefix,
        from,
        to,
        cause,
        route: match to {
            Phase::Up => Some(v.route()),
            Phase::Draining => Some(v.draining_route()),
            Phase::Down => None,
        },
    }
}

fn start_drain(v: &mut Vip, now: Instant, cause: Arc<str>) -> Transition {
    if v.spec().drain_time.is_zero() {
        return go_down(v, now, cause);
    }
    v.until = Some(now + v.spec().drain_time);
    set_phase(v, now, Phase::Draining, cause)
}

fn go_down(v: &mut Vip, now: Instant, cause: Arc<str>) -> Transition {
    let t = set_phase(v, now, Phase::Down, cause);
    v.until = v.spec().hold_down.map(|d| now + d);
    t
}

/// RFC 8326: the route stays, marked GRACEFUL_SHUTDOWN so routers prefer
/// any other path; optionally worse MED and a longer AS path too. LOCAL_PREF
/// 0 makes it lose inside an iBGP domain as well.
fn draining_attrs(spec: &VipSpec) -> RouteAttrs {
    let mut r = RouteAttrs::clone(&spec.route.attrs);
    if !r.communities.contains(&Community::GRACEFUL_SHUTDOWN) {
        r.communities.push(Community::GRACEFUL_SHUTDOWN);
    }
    if let Some(med) = spec.drain_med {
        r.med = Some(med);
    }
    r.as_path_prepend = r.as_path_prepend.saturating_add(spec.drain_prepend);
    r.local_pref = Some(0);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn route(p: &str) -> VipRoute {
        VipRoute::new(
            p.parse().unwrap(),
            RouteAttrs {
                med: Some(10),
                ..RouteAttrs::default()
            },
        )
    }

    fn spec(p: &str, checks: &[&str]) -> VipSpec {
        VipSpec {
            route: route(p),
            count: 1,
            checks: checks.iter().map(|s| s.to_string()).collect(),
            policy: Policy::All,
            hold_down: None,
            drain_time: 10 * S,
            drain_med: Some(1000),
            drain_prepend: 2,
        }
    }

    fn checks(list: &[(&str, bool)]) -> BTreeMap<String, CheckSpec> {
        list.iter()
            .map(|(n, drain)| {
                (
                    n.to_string(),
                    CheckSpec {
                        drain_on_fail: *drain,
                    },
                )
            })
            .collect()
    }

    fn check(name: &str, up: bool, cause: &str) -> VipInput {
        VipInput::Check {
            name: name.into(),
            up,
            cause: cause.into(),
        }
    }

    fn phases(ts: &[Transition]) -> Vec<(Phase, Phase)> {
        ts.iter().map(|t| (t.from, t.to)).collect()
    }

    #[test]
    fn a_vip_without_checks_goes_up_at_start() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(t0, vec![spec("198.18.0.10/32", &[])], checks(&[]), None);
        let ts = m.start(t0);
        assert_eq!(phases(&ts), vec![(Phase::Down, Phase::Up)]);
        assert_eq!(ts[0].route, Some(route("198.18.0.10/32")));
    }

    #[test]
    fn a_vip_with_checks_stays_down_until_they_pass() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(
            t0,
            vec![spec("198.18.0.10/32", &["web"])],
            checks(&[("web", false)]),
            None,
        );
        assert!(m.start(t0).is_empty());
        let ts = m.handle(t0 + S, check("web", true, "HTTP 200"));
        assert_eq!(phases(&ts), vec![(Phase::Down, Phase::Up)]);
        assert_eq!(&*ts[0].cause, "check web up");
    }

    #[test]
    fn a_hard_failure_withdraws_at_once_with_its_cause() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(
            t0,
            vec![spec("198.18.0.10/32", &["web"])],
            checks(&[("web", false)]),
            None,
        );
        m.handle(t0, check("web", true, "ok"));
        let ts = m.handle(t0 + S, check("web", false, "connection refused"));
        assert_eq!(phases(&ts), vec![(Phase::Up, Phase::Down)]);
        assert_eq!(ts[0].route, None);
        assert_eq!(&*ts[0].cause, "check web down: connection refused");
        assert_eq!(m.poll_timeout(), None, "nothing waits on a timer");
    }

    #[test]
    fn policy_all_needs_every_check_and_any_needs_one() {
        let t0 = Instant::now();
        let mut any = spec("198.18.0.11/32", &["a", "b"]);
        any.policy = Policy::Any;
        let mut m = VipMachine::new(
            t0,
            vec![spec("198.18.0.10/32", &["a", "b"]), any],
            checks(&[("a", false), ("b", false)]),
            None,
        );
        let ts = m.handle(t0, check("a", true, "ok"));
        assert_eq!(ts.len(), 1);
        assert_eq!(ts[0].prefix, "198.18.0.11/32".parse::<IpNet>().unwrap());
        let ts = m.handle(t0, check("b", true, "ok"));
        assert_eq!(ts.len(), 1);
        assert_eq!(ts[0].prefix, "198.18.0.10/32".parse::<IpNet>().unwrap());
        // a fails: "all" goes down, "any" stays up on b.
        let ts = m.handle(t0, check("a", false, "timeout after 500ms"));
        assert_eq!(ts.len(), 1);
        assert_eq!(ts[0].prefix, "198.18.0.10/32".parse::<IpNet>().unwrap());
        assert_eq!(ts[0].to, Phase::Down);
    }

    #[test]
    fn a_drain_check_keeps_the_route_marked_graceful_shutdown_then_withdraws() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(
            t0,
            vec![spec("198.18.0.10/32", &["maint"])],
            checks(&[("maint", true)]),
            None,
        );
        m.handle(t0, check("maint", true, "file absent"));
        let ts = m.handle(t0 + S, check("maint", false, "file /etc/maint present"));
        assert_eq!(phases(&ts), vec![(Phase::Up, Phase::Draining)]);
        let r = ts[0].route.clone().expect("still announced");
        assert!(r.communities.contains(&Community::GRACEFUL_SHUTDOWN));
        assert_eq!(r.med, Some(1000));
        assert_eq!(r.as_path_prepend, 2);
        assert_eq!(r.local_pref, Some(0));
        // Nothing more until drain_time is over; then withdrawn.
        assert_eq!(m.poll_timeout(), Some(t0 + 11 * S));
        assert!(m.handle_timeout(t0 + 10 * S).is_empty());
        let ts = m.handle_timeout(t0 + 11 * S);
        assert_eq!(phases(&ts), vec![(Phase::Draining, Phase::Down)]);
        assert_eq!(ts[0].route, None);
    }

    #[test]
    fn a_drain_ends_early_when_the_check_recovers() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(
            t0,
            vec![spec("198.18.0.10/32", &["maint"])],
            checks(&[("maint", true)]),
            None,
        );
        m.handle(t0, check("maint", true, ""));
        m.handle(t0, check("maint", false, "present"));
        let ts = m.handle(t0 + S, check("maint", true, "absent"));
        assert_eq!(phases(&ts), vec![(Phase::Draining, Phase::Up)]);
        assert_eq!(ts[0].route, Some(route("198.18.0.10/32")));
    }

    #[test]
    fn a_hard_failure_during_a_drain_withdraws_at_once() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(
            t0,
            vec![spec("198.18.0.10/32", &["maint", "web"])],
            checks(&[("maint", true), ("web", false)]),
            None,
        );
        m.handle(t0, check("maint", true, ""));
        m.handle(t0, check("web", true, ""));
        m.handle(t0, check("maint", false, "present"));
        let ts = m.handle(t0 + S, check("web", false, "HTTP 503"));
        assert_eq!(phases(&ts), vec![(Phase::Draining, Phase::Down)]);
        assert!(ts[0].cause.contains("HTTP 503"));
    }

    #[test]
    fn hold_down_keeps_a_flapping_vip_down() {
        let t0 = Instant::now();
        let mut s = spec("198.18.0.10/32", &["web"]);
        s.hold_down = Some(30 * S);
        let mut m = VipMachine::new(t0, vec![s], checks(&[("web", false)]), None);
        m.handle(t0, check("web", true, ""));
        m.handle(t0 + S, check("web", false, "refused"));
        // Back up at once, but held down for 30 s.
        assert!(m.handle(t0 + 2 * S, check("web", true, "")).is_empty());
        assert_eq!(m.poll_timeout(), Some(t0 + 31 * S));
        assert!(m.handle_timeout(t0 + 30 * S).is_empty());
        let ts = m.handle_timeout(t0 + 31 * S);
        assert_eq!(phases(&ts), vec![(Phase::Down, Phase::Up)]);
    }

    #[test]
    fn startup_delay_holds_every_vip_back() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(
            t0,
            vec![spec("198.18.0.10/32", &[])],
            checks(&[]),
            Some(5 * S),
        );
        assert!(m.start(t0).is_empty());
        assert_eq!(m.poll_timeout(), Some(t0 + 5 * S));
        assert_eq!(m.handle_timeout(t0 + 5 * S).len(), 1);
        assert_eq!(m.poll_timeout(), None);
    }

    #[test]
    fn operator_drain_and_undrain() {
        let t0 = Instant::now();
        let p: IpNet = "198.18.0.10/32".parse().unwrap();
        let mut m = VipMachine::new(
            t0,
            vec![spec("198.18.0.10/32", &[]), spec("198.18.0.11/32", &[])],
            checks(&[]),
            None,
        );
        m.start(t0);
        let ts = m.handle(
            t0,
            VipInput::AdminDrain {
                prefix: Some(p),
                drain: true,
            },
        );
        assert_eq!(phases(&ts), vec![(Phase::Up, Phase::Draining)]);
        assert_eq!(&*ts[0].cause, "drained by operator");
        let ts = m.handle_timeout(t0 + 10 * S);
        assert_eq!(phases(&ts), vec![(Phase::Draining, Phase::Down)]);
        // It stays down while drained...
        assert!(m.handle_timeout(t0 + 20 * S).is_empty());
        // ...and comes back on undrain.
        let ts = m.handle(
            t0 + 21 * S,
            VipInput::AdminDrain {
                prefix: Some(p),
                drain: false,
            },
        );
        assert_eq!(phases(&ts), vec![(Phase::Down, Phase::Up)]);
    }

    #[test]
    fn shutdown_without_drain_withdraws_everything_at_once() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(
            t0,
            vec![spec("198.18.0.10/32", &[]), spec("198.18.0.11/32", &[])],
            checks(&[]),
            None,
        );
        m.start(t0);
        let ts = m.handle(t0, VipInput::Shutdown { drain: false });
        assert_eq!(ts.len(), 2);
        assert!(ts.iter().all(|t| t.to == Phase::Down && t.route.is_none()));
        assert!(m.all_down());
    }

    #[test]
    fn shutdown_with_drain_drains_then_withdraws_and_never_comes_back() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(t0, vec![spec("198.18.0.10/32", &[])], checks(&[]), None);
        m.start(t0);
        let ts = m.handle(t0, VipInput::Shutdown { drain: true });
        assert_eq!(phases(&ts), vec![(Phase::Up, Phase::Draining)]);
        assert!(!m.all_down());
        let ts = m.handle_timeout(t0 + 10 * S);
        assert_eq!(phases(&ts), vec![(Phase::Draining, Phase::Down)]);
        assert!(m.all_down());
        assert!(m.handle_timeout(t0 + 60 * S).is_empty());
    }

    #[test]
    fn reload_keeps_state_announces_new_withdraws_removed_and_updates_in_place() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(
            t0,
            vec![
                spec("198.18.0.10/32", &["web"]),
                spec("198.18.0.11/32", &[]),
            ],
            checks(&[("web", false)]),
            None,
        );
        m.start(t0);
        m.handle(t0, check("web", true, "ok"));
        let mut changed = spec("198.18.0.10/32", &["web"]);
        changed.route.communities = vec![Community::new(65000, 200)];
        let ts = m.reconfigure(
            t0 + S,
            vec![changed.clone(), spec("198.18.0.12/32", &[])],
            checks(&[("web", false)]),
            &[],
        );
        let by_prefix = |p: &str| {
            let p: IpNet = p.parse().unwrap();
            ts.iter().find(|t| t.prefix == p).cloned()
        };
        // .10 stays up (its check kept its state) with the new community.
        let t = by_prefix("198.18.0.10/32").unwrap();
        assert_eq!((t.from, t.to), (Phase::Up, Phase::Up));
        assert_eq!(t.route, Some(changed.route));
        // .11 removed: withdrawn. .12 new and without checks: up.
        assert_eq!(by_prefix("198.18.0.11/32").unwrap().to, Phase::Down);
        assert_eq!(by_prefix("198.18.0.12/32").unwrap().to, Phase::Up);
        assert_eq!(ts.len(), 3);
        // Nothing changed: nothing happens.
        let same = m.reconfigure(
            t0 + 2 * S,
            vec![
                spec("198.18.0.10/32", &["web"]),
                spec("198.18.0.12/32", &[]),
            ],
            checks(&[("web", false)]),
            &[],
        );
        assert_eq!(same.len(), 1, "only the community reverts: {same:?}");
    }

    #[test]
    fn reload_restarting_a_check_takes_its_vips_down_until_it_passes_again() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(
            t0,
            vec![spec("198.18.0.10/32", &["web"])],
            checks(&[("web", false)]),
            None,
        );
        m.handle(t0, check("web", true, "ok"));
        let ts = m.reconfigure(
            t0 + S,
            vec![spec("198.18.0.10/32", &["web"])],
            checks(&[("web", false)]),
            &["web".to_string()],
        );
        assert_eq!(phases(&ts), vec![(Phase::Up, Phase::Down)]);
        let ts = m.handle(t0 + 2 * S, check("web", true, "ok"));
        assert_eq!(phases(&ts), vec![(Phase::Down, Phase::Up)]);
    }

    #[test]
    fn a_count_block_expands_into_vips_that_share_their_attributes() {
        let t0 = Instant::now();
        let mut block = spec("198.18.0.254/32", &["web"]);
        block.count = 4;
        let mut m = VipMachine::new(t0, vec![block], checks(&[("web", false)]), None);
        assert!(m.start(t0).is_empty());
        let ts = m.handle(t0, check("web", true, "ok"));
        let prefixes: Vec<String> = ts.iter().map(|t| t.prefix.to_string()).collect();
        assert_eq!(
            prefixes,
            [
                "198.18.0.254/32",
                "198.18.0.255/32",
                "198.18.1.0/32",
                "198.18.1.1/32"
            ]
        );
        let routes: Vec<&VipRoute> = ts.iter().filter_map(|t| t.route.as_ref()).collect();
        assert!(
            routes
                .iter()
                .all(|r| Arc::ptr_eq(&r.attrs, &routes[0].attrs))
        );
        assert!(routes.iter().all(|r| r.med == Some(10)));
        assert_eq!(m.status().len(), 4);
        // One VIP of the block drains on its own.
        let p: IpNet = "198.18.1.0/32".parse().unwrap();
        let ts = m.handle(
            t0 + S,
            VipInput::AdminDrain {
                prefix: Some(p),
                drain: true,
            },
        );
        assert_eq!(ts.len(), 1);
        assert_eq!(ts[0].prefix, p);
        assert_eq!(ts[0].to, Phase::Draining);
        let attrs = &ts[0].route.as_ref().unwrap().attrs;
        assert!(attrs.communities.contains(&Community::GRACEFUL_SHUTDOWN));
    }

    #[test]
    fn a_check_event_moves_only_the_vips_that_use_that_check() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(
            t0,
            vec![
                spec("198.18.0.10/32", &["a"]),
                spec("198.18.0.11/32", &["b"]),
                spec("198.18.0.12/32", &["a", "b"]),
            ],
            checks(&[("a", false), ("b", false)]),
            None,
        );
        m.start(t0);
        let ts = m.handle(t0, check("a", true, "ok"));
        assert_eq!(ts.len(), 1);
        assert_eq!(ts[0].prefix.to_string(), "198.18.0.10/32");
        let ts = m.handle(t0, check("b", true, "ok"));
        let mut moved: Vec<String> = ts.iter().map(|t| t.prefix.to_string()).collect();
        moved.sort();
        assert_eq!(moved, ["198.18.0.11/32", "198.18.0.12/32"]);
    }

    #[test]
    fn a_check_event_after_the_startup_delay_brings_up_every_vip() {
        let t0 = Instant::now();
        let mut m = VipMachine::new(
            t0,
            vec![spec("198.18.0.10/32", &["a"]), spec("198.18.0.11/32", &[])],
            checks(&[("a", false)]),
            Some(5 * S),
        );
        assert!(m.start(t0).is_empty());
        // The delay is over when this check event comes in: the VIP without
        // checks goes up too, not only the one of check "a".
        let ts = m.handle(t0 + 6 * S, check("a", true, "ok"));
        assert_eq!(ts.len(), 2);
    }

    #[test]
    fn reload_shrinking_or_growing_a_block_withdraws_or_announces_only_the_difference() {
        let t0 = Instant::now();
        let block = |count| {
            let mut b = spec("198.18.0.0/32", &[]);
            b.count = count;
            b
        };
        let mut m = VipMachine::new(t0, vec![block(10)], BTreeMap::new(), None);
        assert_eq!(m.start(t0).len(), 10);
        let ts = m.reconfigure(t0 + S, vec![block(6)], BTreeMap::new(), &[]);
        let gone: Vec<String> = ts.iter().map(|t| t.prefix.to_string()).collect();
        assert_eq!(
            gone,
            [
                "198.18.0.6/32",
                "198.18.0.7/32",
                "198.18.0.8/32",
                "198.18.0.9/32"
            ]
        );
        assert!(ts.iter().all(|t| t.to == Phase::Down && t.route.is_none()));
        let ts = m.reconfigure(t0 + 2 * S, vec![block(8)], BTreeMap::new(), &[]);
        assert_eq!(phases(&ts), vec![(Phase::Down, Phase::Up); 2]);
        assert_eq!(m.status().len(), 8);
        // The same block again: nothing moves.
        assert!(
            m.reconfigure(t0 + 3 * S, vec![block(8)], BTreeMap::new(), &[])
                .is_empty()
        );
    }
}
