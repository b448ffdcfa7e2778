//! Rules (to be written).
use super::Rule;

pub static RULES: &[Rule] = &[];
