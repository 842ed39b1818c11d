//! The interface check: a network interface's link state, read over
//! rtnetlink (RTM_GETLINK) at each probe and followed through the kernel's
//! RTNLGRP_LINK notifications, so a link going down is seen in the time it
//! takes the kernel to send one message rather than at the next interval.
//!
//! Netlink multicast is best effort (a full socket buffer drops messages),
//! so periodic probes go on as a safety net, and a notification only
//! triggers a probe: the state judged is always the one the probe reads.

use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt, TryStreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};
use rtnetlink::sys::SocketAddr as NetlinkAddr;
use rtnetlink::{MulticastGroup, new_connection, new_multicast_connection};
use tokio::task::JoinHandle;

use super::probe::io_detail;
use crate::config::{InterfaceCheck, LinkRequirement};

/// What the kernel says about a link: its flags and RFC 2863 operational state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LinkState {
    pub(super) flags: LinkFlags,
    pub(super) oper: State,
}

impl LinkState {
    fn of(message: &LinkMessage) -> Self {
        let oper = message
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::OperState(s) => Some(*s),
                _ => None,
            })
            .unwrap_or(State::Unknown);
        LinkState {
            flags: message.header.flags,
            oper,
        }
    }
}

/// One probe: the link's state read now, judged by `require`.
pub(super) async fn probe(i: &InterfaceCheck) -> (bool, String) {
    match read(&i.name).await {
        Ok(Some(state)) => judge(i, state),
        Ok(None) => (false, format!("{} missing", i.name)),
        Err(detail) => (false, detail),
    }
}

/// The verdict on one link state, with details in `ip link`'s words.
pub(super) fn judge(i: &InterfaceCheck, s: LinkState) -> (bool, String) {
    let name = &i.name;
    match i.require {
        LinkRequirement::Up => match s.oper {
            // Administratively down: the operational state may lag a moment
            // behind (the kernel's linkwatch updates it after the flags).
            _ if !s.flags.contains(LinkFlags::Up) => (false, format!("{name} down")),
            State::Up => (true, format!("{name} up")),
            // Documentation/networking/operstates.rst: a driver that does not
            // report a state leaves it unknown; the flags still tell.
            State::Unknown if s.flags.contains(LinkFlags::Up | LinkFlags::Running) => {
                (true, format!("{name} up (state unknown, running)"))
            }
            State::Unknown => (false, format!("{name} not running (state unknown)")),
            State::Down => (false, format!("{name} down")),
            State::LowerLayerDown => (false, format!("{name} down (lower layer down)")),
            State::Dormant => (false, format!("{name} dormant")),
            State::Testing => (false, format!("{name} testing")),
            State::NotPresent => (false, format!("{name} not present")),
            State::Other(n) => (false, format!("{name} in operational state {n}")),
            // `State` is non-exhaustive.
            _ => (false, format!("{name} in operational state {:?}", s.oper)),
        },
        LinkRequirement::Running if s.flags.contains(LinkFlags::Running) => {
            (true, format!("{name} running"))
        }
        LinkRequirement::Running if !s.flags.contains(LinkFlags::Up) => {
            (false, format!("{name} down"))
        }
        LinkRequirement::Running => (false, format!("{name} not running")),
        LinkRequirement::LowerUp if s.flags.contains(LinkFlags::LowerUp) => {
            (true, format!("{name} lower up"))
        }
        LinkRequirement::LowerUp => (false, format!("{name} no carrier")),
    }
}

/// Aborts a spawned netlink connection when dropped: it holds a socket.
struct Connection(JoinHandle<()>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The state of link `name`, or `None` when there is no such link.
async fn read(name: &str) -> Result<Option<LinkState>, String> {
    let (connection, handle, _) =
        new_connection().map_err(|e| format!("netlink: {}", io_detail(&e)))?;
    let _connection = Connection(tokio::spawn(connection));
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(message)) => Ok(Some(LinkState::of(&message))),
        Ok(None) => Ok(None),
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(None),
        Err(rtnetlink::Error::NetlinkError(e)) => {
            Err(format!("netlink: {}", io_detail(&e.to_io())))
        }
        Err(e) => Err(format!("netlink: {e}")),
    }
}

type Notifications = BoxStream<'static, (NetlinkMessage<RouteNetlinkMessage>, NetlinkAddr)>;

/// Follows RTNLGRP_LINK for one interface.
pub(crate) struct LinkWatch {
    name: String,
    /// The link's index, once a notification named it: after a rename the
    /// kernel's messages carry the new name and the same index.
    index: Option<u32>,
    subscription: Option<(Notifications, Connection)>,
}

impl LinkWatch {
    pub(crate) fn new(name: &str) -> Self {
        LinkWatch {
            name: name.to_string(),
            index: None,
            subscription: None,
        }
    }

    /// Resolves when the kernel announces a change of this link (or when
    /// notifications stop, which may have lost one). Cancel-safe. Never
    /// resolves when no subscription can be opened; each call tries again.
    pub(crate) async fn changed(&mut self) -> String {
        if self.subscription.is_none() {
            // Subscribed before the caller's next probe, so no change
            // between that probe and the subscription goes unseen.
            self.subscription = subscribe().ok();
        }
        let Some((messages, _)) = &mut self.subscription else {
            return std::future::pending().await;
        };
        loop {
            let Some((message, _)) = messages.next().await else {
                self.subscription = None;
                return "netlink notifications ended".into();
            };
            if concerns(&self.name, &mut self.index, &message) {
                // `ip link set down` sends several; one probe answers them all.
                while let Some(Some(_)) = messages.next().now_or_never() {}
                return format!("netlink: {} changed", self.name);
            }
        }
    }
}

/// Whether a notification is about link `name`, whose index is learnt from
/// the first one that names it.
fn concerns(
    name: &str,
    index: &mut Option<u32>,
    message: &NetlinkMessage<RouteNetlinkMessage>,
) -> bool {
    let link = match &message.payload {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l))
        | NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => l,
        // The kernel could not deliver some: any of them may be ours.
        NetlinkPayload::Overrun(_) => return true,
        _ => return false,
    };
    let named = link
        .attributes
        .iter()
        .any(|a| matches!(a, LinkAttribute::IfName(n) if n == name));
    if named {
        *index = Some(link.header.index);
    }
    named || *index == Some(link.header.index)
}

fn subscribe() -> std::io::Result<(Notifications, Connection)> {
    let (connection, _handle, messages) = new_multicast_connection(&[MulticastGroup::Link])?;
    Ok((messages.boxed(), Connection(tokio::spawn(connection))))
}
