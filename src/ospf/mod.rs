//! OSPF (work in progress).
mod exchange;
mod flood;
pub(crate) mod instance;
pub(crate) mod interface;
pub(crate) mod lsdb;
pub(crate) mod neighbor;
mod origin;
pub(crate) mod wire;

#[cfg(test)]
mod tests;
