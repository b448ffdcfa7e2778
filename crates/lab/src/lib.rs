//! The fault lab (to be written).
