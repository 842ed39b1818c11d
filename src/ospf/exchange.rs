//! The Database Exchange: Database Description and Link State Request
//! packets (RFC 2328 10.6-10.9), sans-IO.
//!
//! ```text
//!   ExStart   both send empty DDs with I|M|MS, seq = own DD seq, every RxmtInterval
//!             the higher Router ID is master; the slave adopts its seq
//!   Exchange  master sends seq n, slave echoes seq n with its own headers;
//!             master retransmits until echoed, slave answers duplicates
//!   Loading   LS Requests for what the other side had newer, retransmitted
//!             every RxmtInterval until answered by LS Updates
//!   Full
//! ```

use std::net::Ipv4Addr;
use std::time::Instant;

use super::instance::{Instance, Output};
use super::interface::IfaceId;
use super::lsdb::{DbKey, scope_of};
use super::neighbor::{LastDd, NbrEvent, NbrState};
use super::wire::iana::constants::INF_TRANS_DELAY;
use super::wire::lsa::{LSA_HEADER_LEN, is_known_type};
use super::wire::packet::LS_REQUEST_LEN;
use super::wire::{Body, DbDesc, DdFlags, LsRequest, Lsa, LsaHeader, Recency, compare};

/// The fixed part of a Database Description body.
const DD_FIXED_LEN: usize = 12;

impl Instance {
    /// Entering ExStart (RFC 2328 10.3): "increment the DD sequence number
    /// ..., declare itself master (MS bit set), and start sending Database
    /// Description Packets, with the initialize (I), more (M) and master (MS)
    /// bits set ... empty ... retransmitted every RxmtInterval".
    pub(crate) fn start_exchange(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        out: &mut Vec<Output>,
    ) {
        let seq = self.take_dd_seq();
        let options = self.our_options();
        let mtu = self.ifaces[iface].mtu();
        let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
            return;
        };
        n.clear_lists();
        n.master = true;
        n.dd_seq = seq;
        n.last_sent_dd = Some(DbDesc {
            mtu,
            options,
            flags: DdFlags(DdFlags::I | DdFlags::M | DdFlags::MS),
            seq,
            headers: Vec::new(),
        });
        self.retransmit_dd(now, iface, rid, out);
    }

    /// Sends `last_sent_dd` again; only the master keeps a timer for it.
    pub(crate) fn retransmit_dd(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        out: &mut Vec<Output>,
    ) {
        let rxmt = self.ifaces[iface].rxmt_interval();
        let dst = self.neighbor_dst(iface, rid);
        let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
            return;
        };
        let Some(dd) = n.last_sent_dd.clone() else {
            n.dd_rxmt_at = None;
            return;
        };
        let master_pending = n.master && matches!(n.state, NbrState::ExStart | NbrState::Exchange);
        n.dd_rxmt_at = master_pending.then_some(now + rxmt);
        self.send(iface, dst, Body::DbDesc(dd), out);
    }

    /// NegotiationDone (RFC 2328 10.3): the summary list is every LSA the
    /// neighbor should know; MaxAge ones go on the retransmission list.
    pub(crate) fn build_summary(&mut self, now: Instant, iface: IfaceId, rid: Ipv4Addr) {
        let mut summary = Vec::new();
        let mut max_age = Vec::new();
        for (key, e) in self.lsdb.visible_from(iface) {
            if e.is_max_age(now) {
                max_age.push(*key);
            } else {
                summary.push(*key);
            }
        }
        let rxmt = self.ifaces[iface].rxmt_interval();
        if let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) {
            n.summary = summary.into();
            if !max_age.is_empty() {
                n.rxmt.extend(max_age);
                n.rxmt_at.get_or_insert(now + rxmt);
            }
        }
    }

    /// Takes the next Database Description's worth of headers off the
    /// summary list (current ages; anything flushed since is skipped).
    fn next_headers(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
    ) -> (Vec<LsaHeader>, bool) {
        let room = (self.max_body(iface) - DD_FIXED_LEN) / LSA_HEADER_LEN;
        let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
            return (Vec::new(), false);
        };
        let mut headers = Vec::new();
        while headers.len() < room {
            let Some(key) = n.summary.pop_front() else {
                break;
            };
            if let Some(e) = self.lsdb.get(&key) {
                headers.push(e.header(now));
            }
        }
        (headers, !n.summary.is_empty())
    }

    /// RFC 2328 10.6: a Database Description arrived from `rid`.
    pub(crate) fn receive_dd(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        dd: DbDesc,
        out: &mut Vec<Output>,
    ) {
        // "If the Interface MTU field in the Database Description packet
        // indicates an IP datagram size that is larger than the router can
        // accept on the receiving interface without fragmentation, the
        // Database Description packet is rejected."
        let our_mtu = self.ifaces[iface].mtu();
        if dd.mtu > our_mtu {
            self.drop_packet(
                iface,
                "mtu_mismatch",
                format!("DD from {rid} with MTU {}, ours {our_mtu}", dd.mtu),
                out,
            );
            return;
        }
        let Some(state) = self.ifaces[iface].neighbors.get(&rid).map(|n| n.state) else {
            return;
        };
        let state = match state {
            NbrState::Down => return,
            NbrState::Init => {
                self.neighbor_event(now, iface, rid, NbrEvent::TwoWayReceived, out);
                match self.ifaces[iface].neighbors.get(&rid).map(|n| n.state) {
                    Some(NbrState::ExStart) => NbrState::ExStart,
                    _ => return,
                }
            }
            NbrState::TwoWay => return,
            s => s,
        };
        let this = LastDd {
            flags: dd.flags.0,
            options: dd.options,
            seq: dd.seq,
        };
        let me = self.cfg.router_id;
        let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
            return;
        };
        let duplicate = n.last_rcvd_dd == Some(this);
        match state {
            NbrState::ExStart => {
                let f = dd.flags;
                if f.init() && f.more() && f.master() && dd.headers.is_empty() && rid > me {
                    // We are slave: adopt the master's sequence number.
                    n.master = false;
                    n.dd_seq = dd.seq;
                } else if !f.init() && !f.master() && dd.seq == n.dd_seq && rid < me {
                    // We are master, and this acknowledges our first packet.
                    n.master = true;
                } else {
                    // The packet is ignored (RFC 2328 10.6). But a lower
                    // Router ID still offering to be master is waiting for
                    // our initial packet, which it may have dropped while
                    // not yet in ExStart: send it again now rather than a
                    // RxmtInterval later.
                    if f.init() && f.master() && rid < me {
                        self.retransmit_dd(now, iface, rid, out);
                    }
                    return;
                }
                n.options = dd.options;
                n.dd_rxmt_at = None;
                self.neighbor_event(now, iface, rid, NbrEvent::NegotiationDone, out);
                self.accept_dd(now, iface, rid, dd, this, out);
            }
            NbrState::Exchange => {
                if duplicate {
                    if !n.master {
                        self.retransmit_dd(now, iface, rid, out);
                    }
                    return;
                }
                let in_sequence = if n.master {
                    dd.seq == n.dd_seq
                } else {
                    dd.seq == n.dd_seq.wrapping_add(1)
                };
                if dd.flags.master() == n.master
                    || dd.flags.init()
                    || dd.options != n.options
                    || !in_sequence
                {
                    self.neighbor_event(now, iface, rid, NbrEvent::SeqNumberMismatch, out);
                    return;
                }
                self.accept_dd(now, iface, rid, dd, this, out);
            }
            NbrState::Loading | NbrState::Full => {
                // Only duplicates are expected: the master discards them,
                // the slave answers them.
                if duplicate {
                    if !n.master {
                        self.retransmit_dd(now, iface, rid, out);
                    }
                } else {
                    self.neighbor_event(now, iface, rid, NbrEvent::SeqNumberMismatch, out);
                }
            }
            NbrState::Down | NbrState::Init | NbrState::TwoWay => {}
        }
    }

    /// RFC 2328 10.6, "the next in sequence": request what is newer, then
    /// reply (slave) or go on (master).
    fn accept_dd(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        dd: DbDesc,
        this: LastDd,
        out: &mut Vec<Output>,
    ) {
        let version = self.cfg.version;
        for h in &dd.headers {
            if !is_known_type(version, h.ls_type) {
                self.neighbor_event(now, iface, rid, NbrEvent::SeqNumberMismatch, out);
                return;
            }
        }
        let wanted: Vec<LsaHeader> = dd
            .headers
            .iter()
            .filter(|h| {
                let key = DbKey {
                    scope: scope_of(version, h.ls_type, iface),
                    key: h.key(),
                };
                self.lsdb
                    .get(&key)
                    .is_none_or(|e| compare(h, &e.header(now)) == Recency::Newer)
            })
            .copied()
            .collect();
        let options = self.our_options();
        let mtu = self.ifaces[iface].mtu();
        let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
            return;
        };
        n.last_rcvd_dd = Some(this);
        for h in wanted {
            n.requests.insert(h.key(), h);
        }
        let done;
        if n.master {
            // "Increments the DD sequence number ... If the router has
            // already sent its entire sequence ... and the just accepted
            // packet has the more bit (M) set to 0, ... ExchangeDone."
            let sent_all = n.last_sent_dd.as_ref().is_some_and(|d| !d.flags.more());
            n.dd_seq = n.dd_seq.wrapping_add(1);
            done = sent_all && !dd.flags.more();
            if !done {
                let seq = n.dd_seq;
                let (headers, more) = self.next_headers(now, iface, rid);
                let flags = DdFlags(DdFlags::MS | if more { DdFlags::M } else { 0 });
                if let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) {
                    n.last_sent_dd = Some(DbDesc {
                        mtu,
                        options,
                        flags,
                        seq,
                        headers,
                    });
                }
                self.retransmit_dd(now, iface, rid, out);
            } else if let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) {
                n.dd_rxmt_at = None;
            }
        } else {
            // "Sets the DD sequence number ... to [the one] in the received
            // packet. The slave must also send a Database Description Packet
            // in reply."
            n.dd_seq = dd.seq;
            let seq = n.dd_seq;
            let (headers, more) = self.next_headers(now, iface, rid);
            let flags = DdFlags(if more { DdFlags::M } else { 0 });
            if let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) {
                n.last_sent_dd = Some(DbDesc {
                    mtu,
                    options,
                    flags,
                    seq,
                    headers,
                });
            }
            self.retransmit_dd(now, iface, rid, out);
            done = !dd.flags.more() && !more;
        }
        let requesting = self.ifaces[iface]
            .neighbors
            .get(&rid)
            .is_some_and(|n| n.lsr_sent.is_empty() && !n.requests.is_empty());
        if requesting {
            self.send_ls_request(now, iface, rid, out);
        }
        if done {
            self.neighbor_event(now, iface, rid, NbrEvent::ExchangeDone, out);
        }
    }

    /// RFC 2328 10.9: ask for the first MTU's worth of the request list;
    /// asked again every RxmtInterval until the answers arrive.
    pub(crate) fn send_ls_request(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        out: &mut Vec<Output>,
    ) {
        let room = self.max_body(iface) / LS_REQUEST_LEN;
        let rxmt = self.ifaces[iface].rxmt_interval();
        let dst = self.neighbor_dst(iface, rid);
        let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
            return;
        };
        if n.requests.is_empty() || !matches!(n.state, NbrState::Exchange | NbrState::Loading) {
            n.lsr_sent.clear();
            n.lsr_rxmt_at = None;
            return;
        }
        let entries: Vec<LsRequest> = n
            .requests
            .keys()
            .take(room)
            .map(|k| LsRequest {
                ls_type: k.ls_type,
                lsid: k.lsid,
                adv_router: k.adv_router,
            })
            .collect();
        n.lsr_sent = entries.iter().map(LsRequest::key).collect();
        n.lsr_rxmt_at = Some(now + rxmt);
        self.send(iface, dst, Body::LsRequest(entries), out);
    }

    /// RFC 2328 10.7: answer a Link State Request with LS Updates, or
    /// BadLSReq if something asked for is not in the database.
    pub(crate) fn receive_ls_request(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        entries: Vec<LsRequest>,
        out: &mut Vec<Output>,
    ) {
        let state = self.ifaces[iface].neighbors.get(&rid).map(|n| n.state);
        if !matches!(
            state,
            Some(NbrState::Exchange | NbrState::Loading | NbrState::Full)
        ) {
            return;
        }
        let version = self.cfg.version;
        let mut lsas = Vec::with_capacity(entries.len());
        for e in &entries {
            let key = DbKey {
                scope: scope_of(version, e.ls_type, iface),
                key: e.key(),
            };
            match self.lsdb.get(&key) {
                Some(entry) => lsas.push(entry.to_send(now, INF_TRANS_DELAY)),
                None => {
                    self.drop_packet(
                        iface,
                        "bad_ls_request",
                        format!("{rid} asked for {key}, which is not in the database"),
                        out,
                    );
                    self.neighbor_event(now, iface, rid, NbrEvent::BadLsReq, out);
                    return;
                }
            }
        }
        let dst = self.neighbor_dst(iface, rid);
        self.send_lsas(iface, dst, lsas, out);
    }

    /// Sends LSAs in as few LS Updates as fit the MTU (an LSA bigger than
    /// one packet goes alone, and IP fragments it).
    pub(crate) fn send_lsas(
        &mut self,
        iface: IfaceId,
        dst: std::net::IpAddr,
        lsas: Vec<Lsa>,
        out: &mut Vec<Output>,
    ) {
        let room = self.max_body(iface).saturating_sub(4);
        let mut batch: Vec<Lsa> = Vec::new();
        let mut size = 0;
        for lsa in lsas {
            if !batch.is_empty() && size + lsa.raw.len() > room {
                self.send(iface, dst, Body::LsUpdate(std::mem::take(&mut batch)), out);
                size = 0;
            }
            size += lsa.raw.len();
            batch.push(lsa);
        }
        if !batch.is_empty() {
            self.send(iface, dst, Body::LsUpdate(batch), out);
        }
    }
}
