//! Probe stages (to be written).
