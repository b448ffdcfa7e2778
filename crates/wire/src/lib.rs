//! Sans-IO codecs rdpdoctor needs beyond IronRDP.
//!
//! Invariant: no I/O, no async, no panics on peer input. Every decoder takes a byte slice,
//! checks every length against the bytes it has and a hard upper bound, and returns a typed
//! error naming what was wrong. Every decoder has a fuzz target in `fuzz/` and property tests.

pub mod tpkt;
