//! The table: one row per case, with the bytes the scripted peer sends, the
//! reaction the RFC prescribes, and the sentence that prescribes it.
//!
//! Expectations follow the RFC text, not vipd: where they differ the row
//! fails and the lead fixes vipd. Where an RFC leaves the NOTIFICATION data
//! open, the row accepts any data (and the table shows what came).

use std::net::Ipv4Addr;

use super::node::{HOLD_TIME, PeerKind};
use super::wire::*;

/// Where in the session the bytes are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// vipd has sent its OPEN (OpenSent); the bytes go instead of ours.
    OpenSent,
    /// vipd has sent its OPEN; the bytes are our OPEN. If the expectation is
    /// that the session survives, the handshake is completed afterwards.
    Open,
    /// Both OPENs exchanged, vipd's KEEPALIVE received (vipd is in
    /// OpenConfirm until our KEEPALIVE, which is not sent).
    OpenConfirm,
    /// Established, vipd's initial table read to End-of-RIB.
    Established,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// One write.
    Whole,
    /// One octet per write.
    Dribble,
}

/// A NOTIFICATION the RFC allows; `data: None` when the RFC does not
/// prescribe the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifSpec {
    pub code: u8,
    pub subcode: u8,
    pub data: Option<Vec<u8>>,
}

impl std::fmt::Display for NotifSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.code, self.subcode)?;
        match &self.data {
            None => Ok(()),
            Some(d) if d.is_empty() => write!(f, " (no data)"),
            Some(d) if d.len() > 12 => {
                write!(f, " data <{} octets: {}>", d.len(), self.data_hint())
            }
            Some(d) => write!(f, " data {}", hex::encode(d)),
        }
    }
}

impl NotifSpec {
    fn data_hint(&self) -> &'static str {
        match (self.code, self.subcode) {
            (3, 2 | 9) => "the attribute",
            (7, 1) => "the message",
            _ => "as sent",
        }
    }
}

/// RFC 7606 2 approaches that leave the session up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    TreatAsWithdraw,
    AttributeDiscard,
}

impl Action {
    /// How vipd spells it in its log (`Rfc7606Action`'s Debug).
    pub fn log_word(self) -> &'static str {
        match self {
            Action::TreatAsWithdraw => "TreatAsWithdraw",
            Action::AttributeDiscard => "AttributeDiscard",
        }
    }
}

/// The malformed-UPDATE log line the case requires: the only place a
/// treat-as-withdraw or an attribute discard can be seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged {
    /// `None`: the RFC names no attribute (e.g. trailing octets).
    pub type_code: Option<u8>,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// One of these NOTIFICATIONs, then the connection closes.
    Reset(Vec<NotifSpec>),
    /// No NOTIFICATION; KEEPALIVEs keep coming and a ROUTE-REFRESH is
    /// answered; with `Some`, vipd logged the malformation and its approach.
    Survives(Option<Logged>),
    /// Like `Survives(None)`, and vipd sends no UPDATE in reply: the RFC
    /// says the message is ignored.
    Ignored,
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Reset(specs) => {
                let alts: Vec<String> = specs.iter().map(ToString::to_string).collect();
                write!(f, "NOTIFICATION {}, close", alts.join(" or "))
            }
            Expect::Survives(None) => write!(f, "session stays up"),
            Expect::Survives(Some(l)) => match l.type_code {
                Some(t) => write!(f, "stays up, {} type {t}", l.action.log_word()),
                None => write!(f, "stays up, {}", l.action.log_word()),
            },
            Expect::Ignored => write!(f, "stays up, ignored (no UPDATE in reply)"),
        }
    }
}

pub struct Case {
    pub name: &'static str,
    /// The RFC section and what it says, shortly.
    pub rfc: &'static str,
    pub stage: Stage,
    pub peer: PeerKind,
    pub bytes: Vec<u8>,
    pub delivery: Delivery,
    pub expect: Expect,
}

impl Case {
    fn new(
        name: &'static str,
        stage: Stage,
        bytes: Vec<u8>,
        expect: Expect,
        rfc: &'static str,
    ) -> Case {
        Case {
            name,
            rfc,
            stage,
            peer: PeerKind::Ebgp,
            bytes,
            delivery: Delivery::Whole,
            expect,
        }
    }

    fn ibgp(mut self) -> Case {
        self.peer = PeerKind::Ibgp;
        self
    }

    fn dribbled(mut self) -> Case {
        self.delivery = Delivery::Dribble;
        self
    }
}

fn notif(code: u8, subcode: u8, data: Option<&[u8]>) -> NotifSpec {
    NotifSpec {
        code,
        subcode,
        data: data.map(<[u8]>::to_vec),
    }
}

/// NOTIFICATION code/subcode, data not prescribed.
fn reset(code: u8, subcode: u8) -> Expect {
    Expect::Reset(vec![notif(code, subcode, None)])
}

/// NOTIFICATION code/subcode with exactly this data.
fn reset_with(code: u8, subcode: u8, data: &[u8]) -> Expect {
    Expect::Reset(vec![notif(code, subcode, Some(data))])
}

fn taw(type_code: u8) -> Expect {
    Expect::Survives(Some(Logged {
        type_code: Some(type_code),
        action: Action::TreatAsWithdraw,
    }))
}

fn discard(type_code: u8) -> Expect {
    Expect::Survives(Some(Logged {
        type_code: Some(type_code),
        action: Action::AttributeDiscard,
    }))
}

fn up() -> Expect {
    Expect::Survives(None)
}

// ------------------------------------------------------------ building blocks

const EBGP: PeerKind = PeerKind::Ebgp;
const OPT_TRANS: u8 = OPTIONAL | TRANSITIVE;

fn ebgp_id() -> Ipv4Addr {
    EBGP.router_id()
}

/// ORIGIN, AS_PATH and NEXT_HOP as the eBGP peer sends them.
fn ebgp_attrs() -> Vec<u8> {
    concat(&[
        &origin_igp(),
        &as_path(&[EBGP.asn()]),
        &next_hop(EBGP.address()),
    ])
}

/// The same from the iBGP peer: an empty AS_PATH (RFC 4271 5.1.2).
fn ibgp_attrs() -> Vec<u8> {
    concat(&[
        &origin_igp(),
        &attr(WELL_KNOWN, 2, &[]),
        &next_hop(PeerKind::Ibgp.address()),
    ])
}

/// One route the peers announce.
fn nlri() -> Vec<u8> {
    v4_prefix("203.0.113.0/24")
}

/// An eBGP UPDATE announcing `nlri()` with these attributes.
fn announce(attributes: &[u8]) -> Vec<u8> {
    update(&[], attributes, &nlri())
}

/// The usual eBGP UPDATE with `extra` attributes after the mandatory ones.
fn announce_with(extra: &[u8]) -> Vec<u8> {
    announce(&concat(&[&ebgp_attrs(), extra]))
}

fn ibgp_announce_with(extra: &[u8]) -> Vec<u8> {
    update(&[], &concat(&[&ibgp_attrs(), extra]), &nlri())
}

/// ORIGIN and AS_PATH with an IPv6 route in MP_REACH_NLRI.
fn v6_announce_with(mp: &[u8]) -> Vec<u8> {
    update(
        &[],
        &concat(&[&origin_igp(), &as_path(&[EBGP.asn()]), mp]),
        &[],
    )
}

fn v6_nlri() -> Vec<u8> {
    v6_prefix("2001:db8:1::/48")
}

fn ebgp_open_params(caps: &[u8]) -> Vec<u8> {
    param(2, caps)
}

fn open_as(asn: u32) -> Vec<u8> {
    open_with_params(
        4,
        my_as(asn),
        HOLD_TIME,
        ebgp_id(),
        &param(2, &standard_capabilities(asn)),
    )
}

fn open_hold(hold: u16) -> Vec<u8> {
    open_with_params(
        4,
        my_as(EBGP.asn()),
        hold,
        ebgp_id(),
        &param(2, &standard_capabilities(EBGP.asn())),
    )
}

fn good_open() -> Vec<u8> {
    open(EBGP.asn(), HOLD_TIME, ebgp_id())
}

fn bad_marker_keepalive() -> Vec<u8> {
    let mut m = keepalive();
    m[0] = 0;
    m
}

// ------------------------------------------------------------ the table

pub fn all() -> Vec<Case> {
    use Stage::{Established as E, Open as O, OpenConfirm as OC, OpenSent as OS};
    let asn = EBGP.asn();
    let caps = standard_capabilities(asn);
    let cases = vec![
        // ---- message header, RFC 4271 6.1
        Case::new(
            "header_marker_not_all_ones",
            E,
            bad_marker_keepalive(),
            reset(1, 1),
            "RFC 4271 6.1: marker not all ones -> Connection Not Synchronized",
        ),
        Case::new(
            "header_marker_not_all_ones_in_open_sent",
            OS,
            bad_marker_keepalive(),
            reset(1, 1),
            "RFC 4271 6.1: marker not all ones -> Connection Not Synchronized",
        ),
        Case::new(
            "header_length_18",
            E,
            with_length(KEEPALIVE, 18, &[]),
            reset_with(1, 2, &[0x00, 0x12]),
            "RFC 4271 6.1: Length < 19 -> Bad Message Length, Data = the Length field",
        ),
        Case::new(
            "header_length_4097",
            E,
            with_length(UPDATE, 4097, &[0, 0, 0, 0]),
            reset_with(1, 2, &[0x10, 0x01]),
            "RFC 4271 6.1: Length > 4096 -> Bad Message Length, Data = the Length field",
        ),
        Case::new(
            "header_keepalive_length_20",
            E,
            with_length(KEEPALIVE, 20, &[0]),
            reset_with(1, 2, &[0x00, 0x14]),
            "RFC 4271 6.1/4.4: KEEPALIVE is 19 octets -> Bad Message Length, Data = Length",
        ),
        Case::new(
            "header_update_length_22",
            E,
            with_length(UPDATE, 22, &[0, 0, 0]),
            reset_with(1, 2, &[0x00, 0x16]),
            "RFC 4271 6.1/4.3: UPDATE is at least 23 octets -> Bad Message Length, Data = Length",
        ),
        Case::new(
            "header_open_length_28",
            OS,
            with_length(OPEN, 28, &[4, 0xfd, 0xe8, 0, 3, 10, 0, 0, 2]),
            reset_with(1, 2, &[0x00, 0x1c]),
            "RFC 4271 6.1/4.2: OPEN is at least 29 octets -> Bad Message Length, Data = Length",
        ),
        Case::new(
            "header_unknown_type_6",
            E,
            with_length(6, 19, &[]),
            reset_with(1, 3, &[6]),
            "RFC 4271 6.1: unknown Type -> Bad Message Type, Data = the Type field",
        ),
        // ---- OPEN, RFC 4271 6.2 and friends
        Case::new(
            "open_version_5",
            O,
            open_with_params(5, my_as(asn), HOLD_TIME, ebgp_id(), &param(2, &caps)),
            reset_with(2, 1, &[0x00, 0x04]),
            "RFC 4271 6.2: unsupported version -> 2/1, Data = largest supported version below the bid (4)",
        ),
        Case::new(
            "open_bad_peer_as",
            O,
            open_as(65099),
            reset(2, 2),
            "RFC 4271 6.2: My AS unacceptable -> Bad Peer AS",
        ),
        Case::new(
            "open_peer_as_zero",
            O,
            open_with_params(
                4,
                0,
                HOLD_TIME,
                ebgp_id(),
                &param(2, &concat(&[&cap_multiprotocol(AFI_IPV4, SAFI_UNICAST), &cap(2, &[])])),
            ),
            reset(2, 2),
            "RFC 7607 2: peer AS 0 in OPEN -> Bad Peer AS",
        ),
        Case::new(
            "open_four_octet_as_capability_zero",
            O,
            open_with_params(
                4,
                AS_TRANS,
                HOLD_TIME,
                ebgp_id(),
                &param(2, &concat(&[&cap_multiprotocol(AFI_IPV4, SAFI_UNICAST), &cap_four_octet_as(0)])),
            ),
            reset(2, 2),
            "RFC 7607 2: AS 0 in the 4-octet AS capability -> Bad Peer AS",
        ),
        Case::new(
            "open_bgp_identifier_zero",
            O,
            open_with_params(4, my_as(asn), HOLD_TIME, Ipv4Addr::UNSPECIFIED, &param(2, &caps)),
            reset(2, 3),
            "RFC 4271 6.2 / RFC 6286 2.2: BGP Identifier 0 -> Bad BGP Identifier",
        ),
        Case::new(
            "open_hold_time_1",
            O,
            open_hold(1),
            reset(2, 6),
            "RFC 4271 6.2: Hold Time 1 MUST be rejected -> Unacceptable Hold Time",
        ),
        Case::new(
            "open_hold_time_2",
            O,
            open_hold(2),
            reset(2, 6),
            "RFC 4271 6.2: Hold Time 2 MUST be rejected -> Unacceptable Hold Time",
        ),
        Case::new(
            "open_hold_time_0_accepted",
            O,
            open_hold(0),
            up(),
            "RFC 4271 4.2: Hold Time 0 is valid (no KEEPALIVEs)",
        ),
        Case::new(
            "open_optional_parameters_length_overruns_message",
            O,
            open_raw(4, my_as(asn), HOLD_TIME, ebgp_id(), 40, &ebgp_open_params(&caps)),
            reset(2, 0),
            "RFC 4271 6.2: malformed Optional Parameters -> 2/0 Unspecific",
        ),
        Case::new(
            "open_parameter_overruns_optional_parameters",
            O,
            {
                let mut p = ebgp_open_params(&caps);
                p[1] = p[1].saturating_add(10);
                open_with_params(4, my_as(asn), HOLD_TIME, ebgp_id(), &p)
            },
            reset(2, 0),
            "RFC 4271 6.2: malformed Optional Parameters -> 2/0 Unspecific",
        ),
        Case::new(
            "open_capability_overruns_its_parameter",
            O,
            open_with_params(
                4,
                my_as(asn),
                HOLD_TIME,
                ebgp_id(),
                &param(2, &concat(&[&cap_multiprotocol(AFI_IPV4, SAFI_UNICAST), &[65, 8, 0, 0, 0xfd, 0xe8]])),
            ),
            reset(2, 0),
            "RFC 5492 4 / RFC 4271 6.2: recognized parameter, malformed -> 2/0 Unspecific",
        ),
        Case::new(
            "open_rfc9072_extended_optional_parameters_accepted",
            O,
            {
                let caps_len = u16::try_from(caps.len()).expect("fits");
                let params = concat(&[&[2], &caps_len.to_be_bytes(), &caps]);
                let ext_len = u16::try_from(params.len()).expect("fits");
                open_raw(
                    4,
                    my_as(asn),
                    HOLD_TIME,
                    ebgp_id(),
                    255,
                    &concat(&[&[255], &ext_len.to_be_bytes(), &params]),
                )
            },
            up(),
            "RFC 9072 2: Non-Ext OP Len 255 + Type 255 + 2-octet lengths is a valid OPEN",
        ),
        Case::new(
            "open_unknown_capability_accepted",
            O,
            open_with_params(4, my_as(asn), HOLD_TIME, ebgp_id(), &param(2, &concat(&[&caps, &cap(200, &[1, 2, 3])]))),
            up(),
            "RFC 5492 3: an unrecognized capability is ignored",
        ),
        Case::new(
            "open_unknown_optional_parameter",
            O,
            open_with_params(4, my_as(asn), HOLD_TIME, ebgp_id(), &concat(&[&param(2, &caps), &param(99, &[1, 2, 3])])),
            reset(2, 4),
            "RFC 4271 6.2: Optional Parameter not recognized -> Unsupported Optional Parameters",
        ),
        Case::new(
            "open_dribbled_one_octet_at_a_time",
            O,
            good_open(),
            up(),
            "RFC 4271 4.1/8: TCP is a byte stream; a message split over many segments is the same message",
        )
        .dribbled(),
        // ---- messages in the wrong state, RFC 6608 (Data = the message type)
        Case::new(
            "update_in_open_sent",
            OS,
            update(&[], &[], &[]),
            reset_with(5, 1, &[UPDATE]),
            "RFC 6608 4: unexpected message in OpenSent -> 5/1, Data = its type",
        ),
        Case::new(
            "keepalive_in_open_sent",
            OS,
            keepalive(),
            reset_with(5, 1, &[KEEPALIVE]),
            "RFC 6608 4: unexpected message in OpenSent -> 5/1, Data = its type",
        ),
        Case::new(
            "route_refresh_in_open_sent",
            OS,
            route_refresh(AFI_IPV4, 0, SAFI_UNICAST),
            reset_with(5, 1, &[ROUTE_REFRESH]),
            "RFC 6608 4: unexpected message in OpenSent -> 5/1, Data = its type",
        ),
        Case::new(
            "update_in_open_confirm",
            OC,
            update(&[], &[], &[]),
            reset_with(5, 2, &[UPDATE]),
            "RFC 6608 4: unexpected message in OpenConfirm -> 5/2, Data = its type",
        ),
        Case::new(
            "route_refresh_in_open_confirm",
            OC,
            route_refresh(AFI_IPV4, 0, SAFI_UNICAST),
            reset_with(5, 2, &[ROUTE_REFRESH]),
            "RFC 6608 4: unexpected message in OpenConfirm -> 5/2, Data = its type",
        ),
        Case::new(
            "open_in_established",
            E,
            good_open(),
            reset_with(5, 3, &[OPEN]),
            "RFC 6608 4: unexpected message in Established -> 5/3, Data = its type",
        ),
        // ---- UPDATE framing, RFC 4271 6.3 / RFC 7606 4
        Case::new(
            "withdrawn_routes_length_overruns_message",
            E,
            message(UPDATE, &[0x00, 0x40, 24, 198, 51, 100, 0, 0]),
            reset(3, 1),
            "RFC 4271 6.3 / RFC 7606 4: Withdrawn Routes Length too large -> Malformed Attribute List",
        ),
        Case::new(
            "total_path_attribute_length_overruns_message",
            E,
            message(UPDATE, &concat(&[&[0, 0, 0, 200], &ebgp_attrs()])),
            reset(3, 1),
            "RFC 4271 6.3 / RFC 7606 4: Total Attribute Length too large -> Malformed Attribute List",
        ),
        Case::new(
            "attribute_length_overruns_path_attributes",
            E,
            announce_with(&attr_with_length(OPT_TRANS, 8, 200, &[0, 1, 0, 1])),
            taw(8),
            "RFC 7606 4: last attribute overruns Total Attribute Length -> treat-as-withdraw",
        ),
        Case::new(
            "path_attributes_end_with_two_octets",
            E,
            announce_with(&[WELL_KNOWN, 6]),
            Expect::Survives(Some(Logged {
                type_code: None,
                action: Action::TreatAsWithdraw,
            })),
            "RFC 7606 4: fewer than 3 octets left for an attribute -> treat-as-withdraw",
        ),
        // ---- attribute by attribute, RFC 7606 7
        Case::new(
            "origin_length_2",
            E,
            announce(&concat(&[&attr(WELL_KNOWN, 1, &[0, 0]), &as_path(&[asn]), &next_hop(EBGP.address())])),
            taw(1),
            "RFC 7606 7.1: ORIGIN length not 1 -> treat-as-withdraw",
        ),
        Case::new(
            "origin_undefined_value_3",
            E,
            announce(&concat(&[&attr(WELL_KNOWN, 1, &[3]), &as_path(&[asn]), &next_hop(EBGP.address())])),
            taw(1),
            "RFC 7606 7.1: undefined ORIGIN value -> treat-as-withdraw",
        ),
        Case::new(
            "as_path_segment_overruns_attribute",
            E,
            as_path_case(&[2, 2, 0, 0, 0xfd, 0xe8]),
            taw(2),
            "RFC 7606 7.2: segment overrun -> malformed AS_PATH -> treat-as-withdraw",
        ),
        Case::new(
            "as_path_single_trailing_octet",
            E,
            as_path_case(&concat(&[&as_sequence(&[asn]), &[2]])),
            taw(2),
            "RFC 7606 7.2: segment underrun (1 octet left) -> treat-as-withdraw",
        ),
        Case::new(
            "as_path_zero_length_segment",
            E,
            as_path_case(&[2, 0]),
            taw(2),
            "RFC 7606 7.2: Path Segment Length 0 -> treat-as-withdraw",
        ),
        Case::new(
            "as_path_unknown_segment_type",
            E,
            as_path_case(&[5, 1, 0, 0, 0xfd, 0xe8]),
            taw(2),
            "RFC 7606 7.2: unrecognized segment type -> treat-as-withdraw",
        ),
        Case::new(
            "as_path_contains_as_zero",
            E,
            as_path_case(&as_sequence(&[asn, 0])),
            taw(2),
            "RFC 7607 2: AS 0 in AS_PATH -> malformed (RFC 7606) -> treat-as-withdraw",
        ),
        Case::new(
            "as_path_confed_segment_from_ebgp",
            E,
            as_path_case(&concat(&[&[3, 1, 0, 0, 0xfd, 0xe9], &as_sequence(&[asn])])),
            taw(2),
            "RFC 5065 5 + RFC 7606 7.2: AS_CONFED_* from a peer outside our confederation -> malformed AS_PATH -> treat-as-withdraw",
        ),
        Case::new(
            "next_hop_length_5",
            E,
            announce(&concat(&[&origin_igp(), &as_path(&[asn]), &attr(WELL_KNOWN, 3, &[127, 0, 0, 2, 0])])),
            taw(3),
            "RFC 7606 7.3: NEXT_HOP length not 4 -> treat-as-withdraw",
        ),
        Case::new(
            "med_length_3",
            E,
            announce_with(&attr(OPTIONAL, 4, &[0, 0, 1])),
            taw(4),
            "RFC 7606 7.4: MULTI_EXIT_DISC length not 4 -> treat-as-withdraw",
        ),
        Case::new(
            "local_pref_length_3_from_ibgp",
            E,
            ibgp_announce_with(&attr(WELL_KNOWN, 5, &[0, 0, 1])),
            taw(5),
            "RFC 7606 7.5: LOCAL_PREF from an internal peer, length not 4 -> treat-as-withdraw",
        )
        .ibgp(),
        Case::new(
            "local_pref_length_3_from_ebgp",
            E,
            announce_with(&attr(WELL_KNOWN, 5, &[0, 0, 1])),
            discard(5),
            "RFC 7606 7.5: LOCAL_PREF from an external peer SHALL be discarded (attribute discard)",
        ),
        Case::new(
            "atomic_aggregate_length_1",
            E,
            announce_with(&attr(WELL_KNOWN, 6, &[0])),
            discard(6),
            "RFC 7606 7.6: ATOMIC_AGGREGATE length not 0 -> attribute discard",
        ),
        Case::new(
            "aggregator_length_5",
            E,
            announce_with(&attr(OPT_TRANS, 7, &[0, 0, 0xfd, 0xe8, 10])),
            discard(7),
            "RFC 7606 7.7: AGGREGATOR length not 8 (4-octet AS session) -> attribute discard",
        ),
        Case::new(
            "communities_length_5",
            E,
            announce_with(&attr(OPT_TRANS, 8, &[0, 1, 0, 1, 0])),
            taw(8),
            "RFC 7606 7.8: COMMUNITIES length not a non-zero multiple of 4 -> treat-as-withdraw",
        ),
        Case::new(
            "originator_id_length_3_from_ibgp",
            E,
            ibgp_announce_with(&attr(OPTIONAL, 9, &[1, 2, 3])),
            taw(9),
            "RFC 7606 7.9: ORIGINATOR_ID from an internal peer, length not 4 -> treat-as-withdraw",
        )
        .ibgp(),
        Case::new(
            "cluster_list_length_5_from_ibgp",
            E,
            ibgp_announce_with(&attr(OPTIONAL, 10, &[1, 2, 3, 4, 5])),
            taw(10),
            "RFC 7606 7.10: CLUSTER_LIST from an internal peer, length not a multiple of 4 -> treat-as-withdraw",
        )
        .ibgp(),
        Case::new(
            "extended_communities_length_7",
            E,
            announce_with(&attr(OPT_TRANS, 16, &[0; 7])),
            taw(16),
            "RFC 7606 7.14: EXTENDED_COMMUNITIES length not a non-zero multiple of 8 -> treat-as-withdraw",
        ),
        Case::new(
            "large_communities_length_11",
            E,
            announce_with(&attr(OPT_TRANS, 32, &[0; 11])),
            taw(32),
            "RFC 8092 6: LARGE_COMMUNITY length not a non-zero multiple of 12 -> treat-as-withdraw",
        ),
        Case::new(
            "as4_path_malformed",
            E,
            announce_with(&attr(OPT_TRANS, 17, &[2, 2, 0, 0, 0xfd, 0xe8])),
            discard(17),
            "RFC 6793 6 (and 3: NEW speakers discard AS4_PATH): malformed AS4_PATH -> attribute discard",
        ),
        Case::new(
            "origin_flagged_optional",
            E,
            announce(&concat(&[&attr(OPT_TRANS, 1, &[0]), &as_path(&[asn]), &next_hop(EBGP.address())])),
            taw(1),
            "RFC 7606 3.c: Optional/Transitive flags in conflict with the type -> treat-as-withdraw",
        ),
        Case::new(
            "med_flagged_well_known",
            E,
            announce_with(&attr(WELL_KNOWN, 4, &[0, 0, 0, 1])),
            taw(4),
            "RFC 7606 3.c: Optional/Transitive flags in conflict with the type -> treat-as-withdraw",
        ),
        // ---- missing, duplicated, unknown attributes
        Case::new(
            "missing_origin_with_nlri",
            E,
            announce(&concat(&[&as_path(&[asn]), &next_hop(EBGP.address())])),
            taw(1),
            "RFC 7606 3.d: well-known mandatory attribute missing -> treat-as-withdraw",
        ),
        Case::new(
            "missing_as_path_with_nlri",
            E,
            announce(&concat(&[&origin_igp(), &next_hop(EBGP.address())])),
            taw(2),
            "RFC 7606 3.d: well-known mandatory attribute missing -> treat-as-withdraw",
        ),
        Case::new(
            "missing_next_hop_with_nlri",
            E,
            announce(&concat(&[&origin_igp(), &as_path(&[asn])])),
            taw(3),
            "RFC 7606 3.d: NEXT_HOP missing with NLRI present -> treat-as-withdraw",
        ),
        Case::new(
            "missing_origin_with_mp_reach",
            E,
            update(&[], &concat(&[&as_path(&[asn]), &mp_reach_v6(&v6_next_hop(), &v6_nlri())]), &[]),
            taw(1),
            "RFC 7606 3.d: well-known mandatory attribute missing -> treat-as-withdraw",
        ),
        Case::new(
            "duplicate_origin",
            E,
            announce_with(&attr(WELL_KNOWN, 1, &[2])),
            discard(1),
            "RFC 7606 3.g: an attribute more than once -> all but the first discarded",
        ),
        Case::new(
            "duplicate_unknown_optional_attribute",
            E,
            announce_with(&concat(&[&attr(OPT_TRANS, 99, &[1]), &attr(OPT_TRANS, 99, &[2])])),
            discard(99),
            "RFC 7606 3.g: any attribute (recognized or not) more than once -> all but the first discarded",
        ),
        Case::new(
            "duplicate_mp_reach_nlri",
            E,
            v6_announce_with(&concat(&[
                &mp_reach_v6(&v6_next_hop(), &v6_nlri()),
                &mp_reach_v6(&v6_next_hop(), &v6_nlri()),
            ])),
            reset(3, 1),
            "RFC 7606 3.g: MP_REACH_NLRI more than once -> Malformed Attribute List",
        ),
        Case::new(
            "duplicate_mp_unreach_nlri",
            E,
            update(&[], &concat(&[&mp_unreach_v6(&v6_nlri()), &mp_unreach_v6(&v6_nlri())]), &[]),
            reset(3, 1),
            "RFC 7606 3.g: MP_UNREACH_NLRI more than once -> Malformed Attribute List",
        ),
        Case::new(
            "unknown_well_known_attribute",
            E,
            announce_with(&attr(WELL_KNOWN, 99, &[1, 2, 3])),
            reset_with(3, 2, &attr(WELL_KNOWN, 99, &[1, 2, 3])),
            "RFC 4271 6.3: unrecognized well-known attribute -> 3/2, Data = the attribute",
        ),
        Case::new(
            "unknown_optional_non_transitive_ignored",
            E,
            announce_with(&attr(OPTIONAL, 99, &[1, 2, 3])),
            up(),
            "RFC 4271 5: an unrecognized optional non-transitive attribute is quietly ignored",
        ),
        Case::new(
            "unknown_optional_transitive_accepted",
            E,
            announce_with(&attr(OPT_TRANS, 98, &[1, 2, 3])),
            up(),
            "RFC 4271 5: an unrecognized optional transitive attribute is accepted",
        ),
        // ---- NLRI, RFC 4271 6.3 / RFC 7606 5.3 / RFC 4760 7 / RFC 7606 7.11
        Case::new(
            "nlri_prefix_length_33",
            E,
            update(&[], &ebgp_attrs(), &[33, 203, 0, 113, 0, 0]),
            reset(3, 10),
            "RFC 7606 5.3 / RFC 4271 6.3: prefix longer than 32 -> NLRI malformed -> session reset, Invalid Network Field",
        ),
        Case::new(
            "nlri_prefix_overruns_message",
            E,
            update(&[], &ebgp_attrs(), &[24, 203, 0]),
            reset(3, 10),
            "RFC 7606 5.3 / RFC 4271 6.3: NLRI overruns the message -> session reset, Invalid Network Field",
        ),
        Case::new(
            "withdrawn_prefix_length_33",
            E,
            update(&[33, 203, 0, 113, 0, 0], &[], &[]),
            reset(3, 10),
            "RFC 7606 5.3: Withdrawn Routes prefix longer than 32 -> session reset",
        ),
        Case::new(
            "mp_reach_next_hop_length_5",
            E,
            v6_announce_with(&mp_reach_v6(&[0x20, 0x01, 0x0d, 0xb8, 0], &v6_nlri())),
            reset_with(3, 9, &mp_reach_v6(&[0x20, 0x01, 0x0d, 0xb8, 0], &v6_nlri())),
            "RFC 7606 7.11 / RFC 4760 7: next hop length inconsistent -> session reset, Optional Attribute Error, Data = the attribute",
        ),
        Case::new(
            "mp_reach_prefix_length_129",
            E,
            v6_announce_with(&mp_reach_v6(&v6_next_hop(), &concat(&[&[129], &[0x20; 17]]))),
            reset_with(3, 9, &mp_reach_v6(&v6_next_hop(), &concat(&[&[129], &[0x20; 17]]))),
            "RFC 7606 5.3 + 7.11 / RFC 4760 7: MP NLRI malformed -> session reset, Optional Attribute Error",
        ),
        Case::new(
            "mp_unreach_prefix_overruns_attribute",
            E,
            update(&[], &mp_unreach_v6(&[64, 0x20, 0x01]), &[]),
            reset_with(3, 9, &mp_unreach_v6(&[64, 0x20, 0x01])),
            "RFC 7606 5.3 + 7.11 / RFC 4760 7: MP withdrawn malformed -> session reset, Optional Attribute Error",
        ),
        Case::new(
            "mp_reach_too_short_for_afi",
            E,
            v6_announce_with(&attr(OPTIONAL, 14, &[0, 2])),
            reset_with(3, 9, &attr(OPTIONAL, 14, &[0, 2])),
            "RFC 7606 7.11 / RFC 4760 7: MP_REACH_NLRI cannot be parsed -> session reset, Optional Attribute Error",
        ),
        // ---- valid messages that must not disturb anything
        Case::new(
            "end_of_rib_ipv4",
            E,
            update(&[], &[], &[]),
            up(),
            "RFC 4724 2: an empty UPDATE is the IPv4 End-of-RIB",
        ),
        Case::new(
            "end_of_rib_ipv6",
            E,
            update(&[], &mp_unreach_v6(&[]), &[]),
            up(),
            "RFC 4724 2: an UPDATE with only an empty MP_UNREACH_NLRI is that family's End-of-RIB",
        ),
        Case::new(
            "withdrawal_without_attributes",
            E,
            update(&nlri(), &[], &[]),
            up(),
            "RFC 4271 4.3: an UPDATE may only withdraw routes (no attributes needed)",
        ),
        Case::new(
            "update_dribbled_one_octet_at_a_time",
            E,
            announce(&ebgp_attrs()),
            up(),
            "RFC 4271 4.1: TCP is a byte stream; a message split over many segments is the same message",
        )
        .dribbled(),
        Case::new(
            "several_messages_in_one_write",
            E,
            concat(&[&keepalive(), &announce(&ebgp_attrs()), &update(&[], &[], &[]), &keepalive()]),
            up(),
            "RFC 4271 4.1: messages are framed by their Length, however they are segmented",
        ),
        // ---- ROUTE-REFRESH, RFC 2918 / RFC 7313
        Case::new(
            "route_refresh_length_5",
            E,
            message(ROUTE_REFRESH, &[0, 1, 0, 1, 0]),
            Expect::Reset(vec![
                notif(7, 1, Some(&message(ROUTE_REFRESH, &[0, 1, 0, 1, 0]))),
                notif(1, 2, Some(&[0x00, 0x18])),
            ]),
            "RFC 7313 5: wrong length -> 7/1, Data = the complete message (5 names subtypes 1-2; for subtype 0 RFC 4271 6.1 Bad Message Length is also conformant)",
        ),
        Case::new(
            "route_refresh_unknown_afi_ignored",
            E,
            route_refresh(99, 0, SAFI_UNICAST),
            Expect::Ignored,
            "RFC 2918 4: ROUTE-REFRESH for an AFI/SAFI not advertised is ignored",
        ),
        Case::new(
            "route_refresh_reserved_subtype_ignored",
            E,
            route_refresh(AFI_IPV4, 3, SAFI_UNICAST),
            Expect::Ignored,
            "RFC 7313 5: Message Subtype other than 0, 1, 2 -> the ROUTE-REFRESH MUST be ignored",
        ),
    ];
    cases
}

/// The usual eBGP UPDATE with this AS_PATH value.
fn as_path_case(value: &[u8]) -> Vec<u8> {
    announce(&concat(&[
        &origin_igp(),
        &attr(WELL_KNOWN, 2, value),
        &next_hop(EBGP.address()),
    ]))
}
