//! Reliable flooding (RFC 2328 13): receiving LS Updates, flooding out,
//! acknowledging, and retransmitting until acknowledged.
//!
//! ```text
//!   LS Update --> validate (checksum, age, type, sequence)   -> drop + count
//!             --> newer than ours?  MinLSArrival?              -> discard
//!                 flood to every adjacent neighbor that lacks it (13.3),
//!                 install, ack (13.5), and if it is ours from an earlier
//!                 life, re-originate or flush it (13.4)
//!             --> same as ours: implied ack or direct ack
//!             --> older than ours: send ours back
//! ```

use std::net::Ipv4Addr;
use std::time::Instant;

use super::instance::{Instance, Output};
use super::interface::{IfaceId, NetworkType, election_id};
use super::lsdb::{DbKey, Scope, scope_of};
use super::neighbor::{NbrEvent, NbrState};
use super::wire::iana::constants::{INF_TRANS_DELAY, MAX_SEQUENCE_NUMBER, MIN_LS_ARRIVAL};
use super::wire::iana::ls_type;
use super::wire::lsa::LSA_HEADER_LEN;
use super::wire::{Body, Lsa, LsaHeader, Recency, compare};

impl Instance {
    /// RFC 2328 13: an LS Update from neighbor `rid`.
    pub(crate) fn receive_ls_update(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        lsas: Vec<Lsa>,
        out: &mut Vec<Output>,
    ) {
        if !self.ifaces[iface]
            .neighbors
            .get(&rid)
            .is_some_and(|n| n.floods())
        {
            return;
        }
        let version = self.cfg.version;
        let mut direct_acks: Vec<LsaHeader> = Vec::new();
        for lsa in lsas {
            // Steps 1-3: checksum, type, age and sequence number.
            if let Err(e) = lsa.validate(version) {
                self.drop_packet(
                    iface,
                    e.kind(),
                    format!("LSA {} from {rid}: {e}", lsa.key()),
                    out,
                );
                continue;
            }
            let key = DbKey {
                scope: scope_of(version, lsa.header.ls_type, iface),
                key: lsa.key(),
            };
            let db = self.lsdb.get(&key).map(|e| {
                (
                    e.header(now),
                    e.received_by_flooding,
                    e.installed,
                    e.last_sent_back,
                )
            });
            // Step 4: a MaxAge LSA we do not have, with nobody exchanging:
            // acknowledge and forget it.
            if lsa.header.is_max_age() && db.is_none() && !self.anyone_exchanging() {
                direct_acks.push(lsa.header);
                continue;
            }
            let recency = db.map(|(h, ..)| compare(&lsa.header, &h));
            match recency {
                None | Some(Recency::Newer) => {
                    // Step 5a: MinLSArrival, for copies that came by flooding.
                    if let Some((_, true, installed, _)) = db
                        && now.saturating_duration_since(installed) < MIN_LS_ARRIVAL
                    {
                        self.drop_packet(
                            iface,
                            "min_ls_arrival",
                            format!("LSA {key} from {rid}"),
                            out,
                        );
                        continue;
                    }
                    // Step 5c before 5b here, because the retransmission
                    // lists hold keys: drop the old copy, then flood the new.
                    self.remove_from_rxmt_lists(&key);
                    let flooded_back = self.flood(now, key, &lsa, Some((iface, rid)), out);
                    let header = lsa.header;
                    self.lsdb.install(key, lsa, now, true);
                    // Step 5e / table 19: a delayed ack unless flooded back
                    // out of the receiving interface.
                    if !flooded_back {
                        self.ifaces[iface].delayed_acks.push(header);
                    }
                    // Step 5f: ours, from an earlier life (RFC 2328 13.4).
                    if self.is_self_originated(&key) {
                        self.origin.force.insert(key);
                        self.origination_needed = true;
                    }
                }
                Some(Recency::Same) => {
                    // Step 6 comes first for duplicates too: something we
                    // asked for that we already have means the exchange broke.
                    if self.on_request_list(iface, rid, &key) {
                        self.neighbor_event(now, iface, rid, NbrEvent::BadLsReq, out);
                        return;
                    }
                    // Step 7: an implied acknowledgment, else a direct one.
                    let n = self.ifaces[iface].neighbors.get_mut(&rid);
                    if !n.is_some_and(|n| n.rxmt.remove(&key)) {
                        direct_acks.push(lsa.header);
                    }
                }
                Some(Recency::Older) => {
                    if self.on_request_list(iface, rid, &key) {
                        self.neighbor_event(now, iface, rid, NbrEvent::BadLsReq, out);
                        return;
                    }
                    // Step 8: send our newer copy back, at most once per
                    // MinLSArrival, unless it is a MaxAge MaxSequenceNumber
                    // instance on its way out.
                    let Some((ours, _, _, sent_back)) = db else {
                        continue;
                    };
                    if ours.is_max_age() && ours.seq == MAX_SEQUENCE_NUMBER {
                        continue;
                    }
                    if sent_back.is_some_and(|t| now.saturating_duration_since(t) < MIN_LS_ARRIVAL)
                    {
                        continue;
                    }
                    if let Some(e) = self.lsdb.get_mut(&key) {
                        e.last_sent_back = Some(now);
                        let copy = e.to_send(now, INF_TRANS_DELAY);
                        let dst = self.neighbor_dst(iface, rid);
                        self.send_lsas(iface, dst, vec![copy], out);
                    }
                }
            }
        }
        if !direct_acks.is_empty() {
            let dst = self.neighbor_dst(iface, rid);
            self.send_acks(iface, dst, direct_acks, out);
        }
        self.after_updates(now, iface, rid, out);
    }

    /// After LSAs arrived: LoadingDone when the request list emptied, or
    /// the next LS Request once the last one is answered.
    fn after_updates(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        out: &mut Vec<Output>,
    ) {
        let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
            return;
        };
        if n.requests.is_empty() {
            n.lsr_sent.clear();
            n.lsr_rxmt_at = None;
            if n.state == NbrState::Loading {
                self.neighbor_event(now, iface, rid, NbrEvent::LoadingDone, out);
            }
        } else if !n.lsr_sent.iter().any(|k| n.requests.contains_key(k)) {
            self.send_ls_request(now, iface, rid, out);
        }
    }

    fn on_request_list(&self, iface: IfaceId, rid: Ipv4Addr, key: &DbKey) -> bool {
        self.ifaces[iface]
            .neighbors
            .get(&rid)
            .is_some_and(|n| n.requests.contains_key(&key.key))
    }

    fn anyone_exchanging(&self) -> bool {
        self.ifaces.iter().any(|i| {
            i.neighbors
                .values()
                .any(|n| matches!(n.state, NbrState::Exchange | NbrState::Loading))
        })
    }

    fn remove_from_rxmt_lists(&mut self, key: &DbKey) {
        for i in &mut self.ifaces {
            for n in i.neighbors.values_mut() {
                n.rxmt.remove(key);
            }
        }
    }

    /// RFC 2328 13.3: floods `lsa` (received from `from`, or originated when
    /// `None`) out of every interface of its scope, adding it to each
    /// adjacent neighbor's retransmission list. Returns whether it went back
    /// out of the interface it came in on.
    pub(crate) fn flood(
        &mut self,
        now: Instant,
        key: DbKey,
        lsa: &Lsa,
        from: Option<(IfaceId, Ipv4Addr)>,
        out: &mut Vec<Output>,
    ) -> bool {
        let ifaces: Vec<IfaceId> = match key.scope {
            Scope::Link(i) => vec![i],
            Scope::Area | Scope::As => (0..self.ifaces.len()).collect(),
        };
        let version = self.cfg.version;
        let mut flooded_back = false;
        let mut loading_done = Vec::new();
        for iface in ifaces {
            if !self.ifaces[iface].is_up() {
                continue;
            }
            let rxmt = self.lsa_rxmt_interval(iface);
            let i = &mut self.ifaces[iface];
            let mut added = false;
            for n in i.neighbors.values_mut() {
                // Step 1a: only neighbors in Exchange or later.
                if !n.floods() {
                    continue;
                }
                // Step 1b: the neighbor may still be asking for it.
                if matches!(n.state, NbrState::Exchange | NbrState::Loading)
                    && let Some(req) = n.requests.get(&key.key)
                {
                    match compare(&lsa.header, req) {
                        Recency::Older => continue,
                        Recency::Same => {
                            n.requests.remove(&key.key);
                            if n.requests.is_empty() && n.state == NbrState::Loading {
                                loading_done.push((iface, n.router_id));
                            }
                            continue;
                        }
                        Recency::Newer => {
                            n.requests.remove(&key.key);
                            if n.requests.is_empty() && n.state == NbrState::Loading {
                                loading_done.push((iface, n.router_id));
                            }
                        }
                    }
                }
                // Step 1c: not back to the neighbor it came from.
                if from == Some((iface, n.router_id)) {
                    continue;
                }
                // Step 1d.
                n.rxmt.insert(key);
                // The earlier of any pending retransmission and this one's:
                // while shutting down the interval is shorter.
                n.rxmt_at = Some(n.rxmt_at.map_or(now + rxmt, |t| t.min(now + rxmt)));
                added = true;
            }
            // Step 2.
            if !added {
                continue;
            }
            // Steps 3-4: on the receiving broadcast interface, the DR (or
            // BDR) floods it; vipd is neither.
            if let Some((from_iface, from_rid)) = from
                && from_iface == iface
                && i.cfg.network == NetworkType::Broadcast
            {
                let from_id = i.neighbors.get(&from_rid).map(|n| election_id(version, n));
                if from_id.is_some_and(|id| id == i.dr || id == i.bdr) {
                    continue;
                }
            }
            // Step 5.
            if from.is_some_and(|(f, _)| f == iface) {
                flooded_back = true;
            }
            let dst = self.flood_dst(iface);
            let copy = lsa.with_age(
                lsa.header
                    .age
                    .saturating_add(INF_TRANS_DELAY)
                    .min(super::wire::iana::constants::MAX_AGE),
            );
            // Packed with whatever else this input floods (one LS Update
            // for two hundred VIPs coming up, not two hundred).
            self.ifaces[iface].pending_floods.push((dst, copy));
        }
        for (iface, rid) in loading_done {
            self.neighbor_event(now, iface, rid, NbrEvent::LoadingDone, out);
        }
        flooded_back
    }

    /// RFC 2328 13.7: acknowledgments take LSAs off the retransmission list
    /// when they are for the instance we hold.
    pub(crate) fn receive_ls_ack(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        headers: Vec<LsaHeader>,
        out: &mut Vec<Output>,
    ) {
        if !self.ifaces[iface]
            .neighbors
            .get(&rid)
            .is_some_and(|n| n.floods())
        {
            return;
        }
        let version = self.cfg.version;
        for h in headers {
            let key = DbKey {
                scope: scope_of(version, h.ls_type, iface),
                key: h.key(),
            };
            let same = self
                .lsdb
                .get(&key)
                .is_some_and(|e| compare(&h, &e.header(now)) == Recency::Same);
            let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
                return;
            };
            if !(same && n.rxmt.remove(&key)) {
                *self.stats.dropped.entry("unexpected_ack").or_default() += 1;
            }
            if n.rxmt.is_empty() {
                n.rxmt_at = None;
            }
        }
        let _ = out;
    }

    /// RFC 2328 13.6: resend everything still unacknowledged, as unicast
    /// (AllSPFRouters on point-to-point links).
    pub(crate) fn retransmit_lsas(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        out: &mut Vec<Output>,
    ) {
        let rxmt = self.lsa_rxmt_interval(iface);
        let dst = self.neighbor_dst(iface, rid);
        let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
            return;
        };
        let lsdb = &self.lsdb;
        n.rxmt.retain(|k| lsdb.get(k).is_some());
        if n.rxmt.is_empty() {
            n.rxmt_at = None;
            return;
        }
        n.rxmt_at = Some(now + rxmt);
        let lsas: Vec<Lsa> = n
            .rxmt
            .iter()
            .filter_map(|k| lsdb.get(k))
            .map(|e| e.to_send(now, INF_TRANS_DELAY))
            .collect();
        self.send_lsas(iface, dst, lsas, out);
    }

    pub(crate) fn send_acks(
        &mut self,
        iface: IfaceId,
        dst: std::net::IpAddr,
        headers: Vec<LsaHeader>,
        out: &mut Vec<Output>,
    ) {
        let room = (self.max_body(iface) / LSA_HEADER_LEN).max(1);
        for chunk in headers.chunks(room) {
            self.send(iface, dst, Body::LsAck(chunk.to_vec()), out);
        }
    }

    /// Delayed acknowledgments (RFC 2328 13.5), sent at the end of each
    /// received packet rather than on a timer: no later than the RFC asks,
    /// and a withdrawal is never held up by an ack timer.
    pub(crate) fn send_delayed_acks(&mut self, iface: IfaceId, out: &mut Vec<Output>) {
        if self.ifaces[iface].delayed_acks.is_empty() {
            return;
        }
        let headers = std::mem::take(&mut self.ifaces[iface].delayed_acks);
        let dst = self.flood_dst(iface);
        self.send_acks(iface, dst, headers, out);
    }

    /// Sends what `flood` queued, packed into as few LS Updates as fit.
    pub(crate) fn send_pending_floods(&mut self, iface: IfaceId, out: &mut Vec<Output>) {
        let queued = std::mem::take(&mut self.ifaces[iface].pending_floods);
        let mut by_dst: Vec<(std::net::IpAddr, Vec<Lsa>)> = Vec::new();
        for (dst, lsa) in queued {
            match by_dst.iter_mut().find(|(d, _)| *d == dst) {
                Some((_, lsas)) => lsas.push(lsa),
                None => by_dst.push((dst, vec![lsa])),
            }
        }
        for (dst, lsas) in by_dst {
            self.send_lsas(iface, dst, lsas, out);
        }
    }

    /// RFC 2328 13.4: LSAs vipd originated, in this life or an earlier one.
    pub(crate) fn is_self_originated(&self, key: &DbKey) -> bool {
        if key.key.adv_router == self.cfg.router_id {
            return true;
        }
        // A Network-LSA whose Link State ID is one of our addresses.
        self.cfg.version == super::wire::Version::V2
            && key.key.ls_type == ls_type::V2_NETWORK
            && self
                .ifaces
                .iter()
                .any(|i| i.ipv4().is_some_and(|n| n.addr() == key.key.lsid))
    }
}
