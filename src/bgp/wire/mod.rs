//! BGP-4 wire codec. (Being written: see the codec brief.)

pub mod community;

pub use community::{Community, LargeCommunity};
