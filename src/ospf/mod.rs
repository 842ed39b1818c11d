//! OSPF (placeholder while the module is built).
pub(crate) mod wire;
