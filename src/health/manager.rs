//! The running set of checks, changeable at run time (live reload).
//!
//! Each check has its own stop signal, so a reload restarts only the checks
//! whose config changed; the others keep their state and their rise/fall
//! streaks (and a lease that did not change stays held). The HTTP endpoints
//! of lease checks follow the config the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::lease::LeaseHandle;
use super::lease_http::LeaseServer;
use super::probe::io_detail;
use super::runner::{CheckEvent, CheckStatus, StatusMap, spawn_one};
use crate::config::{CheckConfig, CheckKind, LeaseCheck};

struct Running {
    config: CheckConfig,
    stop: watch::Sender<Option<String>>,
}

/// Every running check.
pub struct Checks {
    events: mpsc::UnboundedSender<CheckEvent>,
    status: watch::Sender<StatusMap>,
    running: BTreeMap<String, Running>,
    leases: LeaseHandle,
    /// The lease endpoints listening, by address.
    lease_servers: BTreeMap<SocketAddr, LeaseServer>,
}

impl Checks {
    /// Start every check; returns the manager, the event stream (state
    /// changes after rise/fall) and the latest status of every check.
    pub fn start(
        checks: &BTreeMap<String, CheckConfig>,
    ) -> (
        Self,
        mpsc::UnboundedReceiver<CheckEvent>,
        watch::Receiver<StatusMap>,
    ) {
        let (events, events_rx) = mpsc::unbounded_channel();
        let (status, status_rx) = watch::channel(StatusMap::new());
        let mut manager = Checks {
            events,
            status,
            running: BTreeMap::new(),
            leases: LeaseHandle::default(),
            lease_servers: BTreeMap::new(),
        };
        manager.update(checks);
        (manager, events_rx, status_rx)
    }

    /// Converge on `checks`: stop removed ones, restart changed ones, start
    /// new ones. Returns the names that (re)started from down.
    pub fn update(&mut self, checks: &BTreeMap<String, CheckConfig>) -> Vec<String> {
        let gone: Vec<String> = self
            .running
            .keys()
            .filter(|name| !checks.contains_key(*name))
            .cloned()
            .collect();
        for name in gone {
            self.stop_one(&name, "check removed");
        }
        let mut started = Vec::new();
        for (name, config) in checks {
            if self.running.get(name).is_some_and(|r| r.config == *config) {
                continue;
            }
            self.stop_one(name, "check changed");
            let (stop, stop_rx) = watch::channel(None);
            let now = std::time::Instant::now();
            self.status.send_modify(|m| {
                m.insert(name.clone(), CheckStatus::new(config, now));
            });
            spawn_one(config, &self.events, &self.status, stop_rx, &self.leases);
            self.running.insert(
                name.clone(),
                Running {
                    config: config.clone(),
                    stop,
                },
            );
            started.push(name.clone());
        }
        self.serve_leases(checks);
        started
    }

    /// Renews and releases lease checks, for the control socket; it follows
    /// every later [`Checks::update`].
    pub fn leases(&self) -> LeaseHandle {
        self.leases.clone()
    }

    /// Stop every check (shutdown).
    pub fn stop_all(&mut self) {
        let names: Vec<String> = self.running.keys().cloned().collect();
        for name in names {
            self.stop_one(&name, "vipd stopping");
        }
        self.lease_servers.clear();
    }

    fn stop_one(&mut self, name: &str, why: &str) {
        if let Some(r) = self.running.remove(name) {
            let _ = r.stop.send(Some(why.to_string()));
            self.leases.remove(name);
            self.status.send_modify(|m| {
                m.remove(name);
            });
        }
    }

    /// One listener per `http` address of the lease checks, answering for
    /// the leases that name it. An address that cannot be bound is logged
    /// and tried again at the next reload; those leases can still be
    /// renewed through the control socket.
    fn serve_leases(&mut self, checks: &BTreeMap<String, CheckConfig>) {
        let mut wanted: BTreeMap<SocketAddr, BTreeSet<String>> = BTreeMap::new();
        for c in checks.values() {
            if let CheckKind::Lease(LeaseCheck {
                http: Some(addr), ..
            }) = &c.kind
            {
                wanted.entry(*addr).or_default().insert(c.name.clone());
            }
        }
        self.lease_servers
            .retain(|addr, _| wanted.contains_key(addr));
        for (addr, names) in wanted {
            if let Some(server) = self.lease_servers.get(&addr) {
                server.serve(names);
                continue;
            }
            match LeaseServer::bind(addr, self.leases.clone(), names) {
                Ok(server) => {
                    info!(%addr, "taking lease renewals at http://{addr}/lease/NAME");
                    self.lease_servers.insert(addr, server);
                }
                Err(e) => warn!(
                    %addr,
                    error = %io_detail(&e),
                    "cannot listen for lease renewals"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn checks(text: &str) -> BTreeMap<String, CheckConfig> {
        let toml = format!("[speaker]\nasn = 65001\nrouter_id = \"10.255.1.2\"\n{text}");
        config::parse(&toml, "t.toml").unwrap().checks
    }

    #[tokio::test]
    async fn update_restarts_only_changed_and_new_checks() {
        let a = "[check.a]\nkind = \"file\"\npath = \"/nonexistent/a\"\n";
        let b = "[check.b]\nkind = \"file\"\npath = \"/nonexistent/b\"\n";
        let b2 = "[check.b]\nkind = \"file\"\npath = \"/nonexistent/b2\"\n";
        let c = "[check.c]\nkind = \"file\"\npath = \"/nonexistent/c\"\n";
        let (mut m, _events, status) = Checks::start(&checks(&format!("{a}{b}")));
        assert_eq!(status.borrow().len(), 2);
        let started = m.update(&checks(&format!("{a}{b2}{c}")));
        assert_eq!(started, vec!["b".to_string(), "c".to_string()]);
        let started = m.update(&checks(c));
        assert!(started.is_empty());
        assert_eq!(status.borrow().keys().collect::<Vec<_>>(), vec!["c"]);
        m.stop_all();
        assert!(status.borrow().is_empty());
    }
}
