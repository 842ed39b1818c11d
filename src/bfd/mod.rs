//! BFD (RFC 5880, RFC 5881): work in progress.
