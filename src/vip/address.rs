//! VIP addresses on a local interface, through netlink.
//!
//! A node that announces a VIP must also accept packets for it: vipd adds the
//! address to the VIP's `interface` (usually `lo`, or a dummy interface it
//! creates) at start, and removes it at exit only after the withdrawal was
//! sent and any drain has run, so packets already on their way still land.
//! An address that was already there is left as it is, at start and at exit.

use std::ffi::CString;
use std::net::IpAddr;

use futures_util::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::{Handle, LinkDummy, LinkUnspec};
use tracing::{info, warn};

/// Why an address could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    #[error("cannot open a netlink socket: {0}")]
    Netlink(#[from] std::io::Error),
    #[error("interface {name}: {source}")]
    Link {
        name: String,
        source: rtnetlink::Error,
    },
    #[error("adding {prefix} to {name}: {source}")]
    Add {
        prefix: IpNet,
        name: String,
        source: rtnetlink::Error,
    },
    #[error("interface name {0:?} is not valid")]
    BadName(String),
}

/// What [`Addresses::ensure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    Added,
    AlreadyPresent,
}

/// The addresses (and dummy interfaces) vipd put in place, to undo at exit.
pub struct Addresses {
    handle: Handle,
    added: Vec<(u32, IpNet, String)>,
    created: Vec<(u32, String)>,
}

impl Addresses {
    /// Opens a netlink connection; must run inside a tokio runtime.
    pub fn new() -> Result<Self, AddressError> {
        let (connection, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(connection);
        Ok(Addresses {
            handle,
            added: Vec::new(),
            created: Vec::new(),
        })
    }

    /// Put `prefix` on interface `name`, creating a dummy interface of that
    /// name when there is none.
    pub async fn ensure(&mut self, name: &str, prefix: IpNet) -> Result<Ensured, AddressError> {
        let index = match if_index(name)? {
            Some(i) => i,
            None => self.create_dummy(name).await?,
        };
        if self.has_address(index, prefix).await {
            return Ok(Ensured::AlreadyPresent);
        }
        let link_err = |source| AddressError::Link {
            name: name.to_string(),
            source,
        };
        // The interface must be up for the kernel to accept packets on it.
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(link_err)?;
        self.handle
            .address()
            .add(index, prefix.addr(), prefix.prefix_len())
            .execute()
            .await
            .map_err(|source| AddressError::Add {
                prefix,
                name: name.to_string(),
                source,
            })?;
        info!(%prefix, interface = name, "VIP address added");
        self.added.push((index, prefix, name.to_string()));
        Ok(Ensured::Added)
    }

    /// Remove one address this manager added (reload removed its VIP).
    pub async fn remove(&mut self, prefix: IpNet) {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.added)
            .into_iter()
            .partition(|(_, p, _)| *p == prefix);
        self.added = rest;
        self.delete(mine).await;
    }

    /// Undo everything [`Addresses::ensure`] did; errors are logged, not fatal.
    pub async fn remove_all(&mut self) {
        let added = std::mem::take(&mut self.added);
        self.delete(added).await;
        for (index, name) in std::mem::take(&mut self.created) {
            if let Err(e) = self.handle.link().del(index).execute().await {
                warn!(interface = %name, error = %e, "cannot remove dummy interface");
            }
        }
    }

    async fn delete(&mut self, addresses: Vec<(u32, IpNet, String)>) {
        for (index, prefix, name) in addresses {
            let found = self
                .handle
                .address()
                .get()
                .set_link_index_filter(index)
                .set_address_filter(prefix.addr())
                .set_prefix_length_filter(prefix.prefix_len())
                .execute()
                .try_next()
                .await;
            match found {
                Ok(Some(msg)) => match self.handle.address().del(msg).execute().await {
                    Ok(()) => info!(%prefix, interface = %name, "VIP address removed"),
                    Err(e) => {
                        warn!(%prefix, interface = %name, error = %e, "cannot remove VIP address")
                    }
                },
                Ok(None) => {}
                Err(e) => {
                    warn!(%prefix, interface = %name, error = %e, "cannot look up VIP address")
                }
            }
        }
    }

    async fn has_address(&self, index: u32, prefix: IpNet) -> bool {
        matches!(
            self.handle
                .address()
                .get()
                .set_link_index_filter(index)
                .set_address_filter(prefix.addr())
                .set_prefix_length_filter(prefix.prefix_len())
                .execute()
                .try_next()
                .await,
            Ok(Some(_))
        )
    }

    async fn create_dummy(&mut self, name: &str) -> Result<u32, AddressError> {
        let link_err = |source| AddressError::Link {
            name: name.to_string(),
            source,
        };
        self.handle
            .link()
            .add(LinkDummy::new(name).up().build())
            .execute()
            .await
            .map_err(link_err)?;
        let index = if_index(name)?.ok_or_else(|| AddressError::BadName(name.to_string()))?;
        info!(interface = name, "created dummy interface for VIPs");
        self.created.push((index, name.to_string()));
        Ok(index)
    }
}

fn if_index(name: &str) -> Result<Option<u32>, AddressError> {
    let c = CString::new(name).map_err(|_| AddressError::BadName(name.to_string()))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    Ok((index != 0).then_some(index))
}

/// True when `ip` is one of this host's addresses (any interface).
pub fn is_local(ip: IpAddr) -> bool {
    if_addrs::get_if_addrs()
        .map(|addrs| addrs.iter().any(|a| a.ip() == ip))
        .unwrap_or(false)
}
