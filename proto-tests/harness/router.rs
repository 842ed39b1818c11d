//! What the scenarios need from a router, whichever it is.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use super::fib::NextHop;

/// One path in a router's RIB, normalized from the router's own CLI output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    pub prefix: IpNet,
    /// The BGP next hop as the router recorded it (global address when the
    /// router also shows a link-local one).
    pub next_hop: Option<IpAddr>,
    pub as_path: Vec<u32>,
    pub origin: Origin,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    /// `asn:value`, in the order the router shows them.
    pub communities: Vec<String>,
    /// `global:local1:local2`.
    pub large_communities: Vec<String>,
    /// Address of the BGP neighbor the path was learned from.
    pub peer: IpAddr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Igp,
    Egp,
    Incomplete,
}

impl Origin {
    pub fn from_code(code: u64) -> Option<Origin> {
        match code {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }

    pub fn from_name(name: &str) -> Option<Origin> {
        match name.trim().to_ascii_uppercase().as_str() {
            "IGP" | "I" => Some(Origin::Igp),
            "EGP" | "E" => Some(Origin::Egp),
            "INCOMPLETE" | "?" => Some(Origin::Incomplete),
            _ => None,
        }
    }
}

impl fmt::Display for RouteEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let next_hop = self
            .next_hop
            .map_or_else(|| "-".to_string(), |a| a.to_string());
        write!(
            f,
            "{} from {} nh {next_hop} path {:?} {:?} med {:?} lp {:?} comm {:?} large {:?}",
            self.prefix,
            self.peer,
            self.as_path,
            self.origin,
            self.med,
            self.local_pref,
            self.communities,
            self.large_communities
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterKind {
    Bird,
    Frr,
    Gobgp,
}

impl fmt::Display for RouterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouterKind::Bird => "BIRD",
            RouterKind::Frr => "FRR",
            RouterKind::Gobgp => "GoBGP",
        })
    }
}

/// A real BGP router running in a lab namespace. Every query goes through the
/// router's own CLI; errors are text for the test's panic message.
pub trait Router {
    fn kind(&self) -> RouterKind;
    /// Starts the daemon(s) and returns once its CLI answers.
    fn start(&mut self) -> Result<(), String>;
    /// Stops the daemon(s) by pid (SIGTERM, then SIGKILL after a grace period).
    fn stop(&mut self) -> Result<(), String>;
    fn restart(&mut self) -> Result<(), String> {
        self.stop()?;
        self.start()
    }
    /// Every BGP path in the router's IPv4 and IPv6 unicast RIBs.
    fn routes(&self) -> Result<Vec<RouteEntry>, String>;
    /// Whether the session with `neighbor` is Established.
    fn session_established(&self, neighbor: IpAddr) -> Result<bool, String>;
    /// The router's own words about the session (for failure messages and
    /// for showing how the last session ended).
    fn describe_session(&self, neighbor: IpAddr) -> Result<String, String>;
    /// Everything the router's daemons logged so far.
    fn log(&self) -> String;
    /// The next hops the router put in its forwarding table for exactly
    /// `prefix` (every ECMP member), from its own CLI; empty if none.
    fn fib_next_hops(&self, prefix: IpNet) -> Result<Vec<NextHop>, String> {
        Err(format!(
            "{}: the harness does not read forwarding entries from it ({prefix})",
            self.kind()
        ))
    }
    /// The router's BGP path to exactly `prefix`, from its own CLI: whether
    /// it is stale (kept for a restarting peer, RFC 4724 4.2) and the
    /// router's own words about it; `None` if it has no path to `prefix`.
    fn bgp_path_stale(&self, prefix: IpNet) -> Result<Option<(bool, String)>, String> {
        Err(format!(
            "{}: the harness does not read stale paths from it ({prefix})",
            self.kind()
        ))
    }
    /// Loads another config file into the running router (BIRD: `configure`).
    fn reconfigure(&self, config: &std::path::Path) -> Result<String, String> {
        Err(format!(
            "{}: the harness cannot reconfigure it ({})",
            self.kind(),
            config.display()
        ))
    }
    /// The pids of the daemons that run its BGP and BFD (to freeze them).
    fn daemon_pids(&self) -> Vec<u32> {
        Vec::new()
    }
    /// The router's BFD session with `neighbor`, from its own CLI; `None`
    /// if it has none.
    fn bfd_session(&self, neighbor: IpAddr) -> Result<Option<BfdSession>, String> {
        Err(format!(
            "{}: the harness does not read BFD sessions from it ({neighbor})",
            self.kind()
        ))
    }
}

/// A BFD session as a router shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdSession {
    /// `Up`, `Down`, `Init` or `AdminDown`, whatever the router's spelling.
    pub state: String,
    /// The router's own words (its CLI line or JSON), for messages.
    pub detail: String,
}

/// Splits `a:b` / `(a,b)` / `(a, b, c)` style community text into numbers.
pub(crate) fn community_parts(text: &str) -> Vec<u32> {
    text.trim_matches(|c| c == '(' || c == ')')
        .split([',', ':'])
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

/// Renders a route list for failure messages.
pub fn show_routes(routes: &[RouteEntry]) -> String {
    if routes.is_empty() {
        return "(no BGP routes)".to_string();
    }
    routes
        .iter()
        .map(|r| format!("\n    {r}"))
        .collect::<String>()
}
