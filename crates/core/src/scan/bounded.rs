//! A sorted set that keeps only its `limit` smallest items and counts the rest.
//!
//! The fleet summary lists servers per cause and certificates by expiry; a scan of a million
//! closed ports must not keep a million names to list, so every list is bounded and says how
//! many it left out. Keeping the *smallest* items (not the first to arrive) makes the lists
//! independent of completion order: two runs over the same fleet print the same summary.

use serde::{Serialize, Serializer};
use std::collections::BTreeSet;

#[derive(Clone, Debug)]
pub struct Bounded<T: Ord> {
    items: BTreeSet<T>,
    limit: usize,
    /// Items seen but not kept.
    dropped: u64,
}

impl<T: Ord> Bounded<T> {
    pub fn new(limit: usize) -> Self {
        Bounded {
            items: BTreeSet::new(),
            limit,
            dropped: 0,
        }
    }

    pub fn insert(&mut self, item: T) {
        if self.limit == 0 {
            self.dropped += 1;
            return;
        }
        if self.items.contains(&item) {
            return;
        }
        if self.items.len() >= self.limit {
            // Full: the item enters only if it sorts before the current largest.
            match self.items.last() {
                Some(last) if item < *last => {
                    self.items.pop_last();
                    self.dropped += 1;
                }
                _ => {
                    self.dropped += 1;
                    return;
                }
            }
        }
        self.items.insert(item);
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many were left out.
    pub fn more(&self) -> u64 {
        self.dropped
    }
}

impl<T: Ord + Serialize> Serialize for Bounded<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.items.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_smallest_whatever_the_order() {
        let mut a = Bounded::new(3);
        let mut b = Bounded::new(3);
        for x in [5, 1, 9, 3, 7, 2] {
            a.insert(x);
        }
        for x in [2, 7, 3, 9, 1, 5] {
            b.insert(x);
        }
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(b.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!((a.more(), b.more()), (3, 3));
    }

    #[test]
    fn a_zero_limit_only_counts() {
        let mut a = Bounded::new(0);
        a.insert(1);
        assert!(a.is_empty());
        assert_eq!(a.more(), 1);
    }
}
