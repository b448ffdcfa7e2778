//! TPKT framing (RFC 1006): how many bytes the next X.224 frame needs.
