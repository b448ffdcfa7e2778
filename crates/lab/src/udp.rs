//! MS-RDPEUDP endpoints: the place for the UDP SYN responder (a later issue).
//!
//! The plan, so the next change has an obvious home: a scenario that also answers on UDP gets a
//! `tokio::net::UdpSocket` bound next to its TCP listener in `Lab::start_at`, its address goes
//! into [`Endpoint::udp`](crate::Endpoint::udp), and a responder here answers a 1232-byte SYN
//! (uFlags SYN, snSourceAck 0xFFFFFFFF) with a SYN+ACK that echoes the client's
//! snInitialSequenceNumber (REFERENCE.md §8), or stays silent for the "UDP blocked" scenario.
//! Nothing here yet.
