//! BGP-4: codec, session state machine, outbound RIB and the tokio driver.

pub mod adj_rib_out;
pub mod peer;
pub mod session;
pub mod sockopt;
pub mod wire;
