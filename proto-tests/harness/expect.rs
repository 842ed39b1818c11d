//! A route the test expects on a router, compared field by field so a failure
//! names the field that differs and shows what the router has.

use std::net::IpAddr;

use ipnet::IpNet;

use super::router::{Origin, RouteEntry, show_routes};

#[derive(Clone, Debug)]
pub struct ExpectedRoute {
    pub prefix: IpNet,
    /// The neighbor the path must have been learned from.
    pub peer: IpAddr,
    pub next_hop: IpAddr,
    pub as_path: Vec<u32>,
    pub origin: Origin,
    pub med: Option<u32>,
    /// `None`: not checked (eBGP paths carry no LOCAL_PREF; routers show a
    /// default or nothing).
    pub local_pref: Option<u32>,
    pub communities: Vec<String>,
    pub large_communities: Vec<String>,
}

impl ExpectedRoute {
    /// Ok if `routes` holds this path with every expected attribute.
    pub fn check(&self, routes: &[RouteEntry]) -> Result<(), String> {
        let Some(found) = routes
            .iter()
            .find(|r| r.prefix == self.prefix && r.peer == self.peer)
        else {
            return Err(format!(
                "no path for {} from {}; router has: {}",
                self.prefix,
                self.peer,
                show_routes(routes)
            ));
        };
        let mut wrong = Vec::new();
        if found.next_hop != Some(self.next_hop) {
            wrong.push(format!(
                "next hop {:?}, want {}",
                found.next_hop, self.next_hop
            ));
        }
        if found.as_path != self.as_path {
            wrong.push(format!(
                "AS path {:?}, want {:?}",
                found.as_path, self.as_path
            ));
        }
        if found.origin != self.origin {
            wrong.push(format!("origin {:?}, want {:?}", found.origin, self.origin));
        }
        if found.med != self.med {
            wrong.push(format!("MED {:?}, want {:?}", found.med, self.med));
        }
        if self.local_pref.is_some() && found.local_pref != self.local_pref {
            wrong.push(format!(
                "LOCAL_PREF {:?}, want {:?}",
                found.local_pref, self.local_pref
            ));
        }
        if sorted(&found.communities) != sorted(&self.communities) {
            wrong.push(format!(
                "communities {:?}, want {:?}",
                found.communities, self.communities
            ));
        }
        if sorted(&found.large_communities) != sorted(&self.large_communities) {
            wrong.push(format!(
                "large communities {:?}, want {:?}",
                found.large_communities, self.large_communities
            ));
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} from {}: {}",
                self.prefix,
                self.peer,
                wrong.join("; ")
            ))
        }
    }
}

/// Ok if no path for `prefix` learned from `peer` is in `routes`.
pub fn check_absent(routes: &[RouteEntry], prefix: IpNet, peer: IpAddr) -> Result<(), String> {
    match routes.iter().find(|r| r.prefix == prefix && r.peer == peer) {
        Some(r) => Err(format!("still there: {r}")),
        None => Ok(()),
    }
}

fn sorted(items: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = items.iter().map(String::as_str).collect();
    v.sort_unstable();
    v
}
