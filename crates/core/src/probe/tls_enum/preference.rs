//! Telling a server that imposes its own suite order from one that follows the client's, for
//! free when possible.
//!
//! Elimination offers the remaining suites again after every pick. The planner alternates the
//! order of those lists (the enumeration's order, then reversed, then again in order, ...). A
//! server that follows the client's order must then pick, at each step, the first accepted suite
//! of that step's list; once the whole accepted set is known this is checkable without another
//! connection ([`follows_client_order`]). A server with its own order picks its favourites in
//! sequence whatever the list's order, so for three or more accepted suites the alternation
//! almost always contradicts "client order" and the server's order is proven for free. Only when
//! the picks are consistent with both explanations does the planner spend one connection
//! ([`check_offer`]).

use std::collections::HashSet;

/// The list offered at elimination step `step` (the number of suites picked so far): the
/// remaining suites in the enumeration's order on even steps, reversed on odd ones.
pub fn arrange(remaining: &[u16], step: usize) -> Vec<u16> {
    let mut v = remaining.to_vec();
    if step % 2 == 1 {
        v.reverse();
    }
    v
}

/// Whether `picks`, made by elimination over `universe` with [`arrange`]d lists, are exactly
/// what a server following the client's order would have picked.
pub fn follows_client_order(universe: &[u16], picks: &[u16]) -> bool {
    let accepted: HashSet<u16> = picks.iter().copied().collect();
    let mut remaining = universe.to_vec();
    for (step, pick) in picks.iter().enumerate() {
        let predicted = arrange(&remaining, step)
            .into_iter()
            .find(|s| accepted.contains(s));
        if predicted != Some(*pick) {
            return false;
        }
        remaining.retain(|s| s != pick);
    }
    true
}

/// The one extra offer that separates the two explanations: the accepted suites in reverse pick
/// order. A server with its own order still picks `picks[0]`; one that follows the client picks
/// the last.
pub fn check_offer(picks: &[u16]) -> Vec<u16> {
    picks.iter().rev().copied().collect()
}

/// What the answer to [`check_offer`] says: `Some(true)` server order, `Some(false)` client
/// order, `None` neither (a server mixing both, e.g. OpenSSL's ChaCha20 prioritisation).
pub fn judge_check(picks: &[u16], answer: u16) -> Option<bool> {
    if picks.first() == Some(&answer) {
        Some(true)
    } else if picks.last() == Some(&answer) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Elimination against a server that picks by `choose` from the offered list.
    fn eliminate(universe: &[u16], choose: impl Fn(&[u16]) -> Option<u16>) -> Vec<u16> {
        let mut remaining = universe.to_vec();
        let mut picks = Vec::new();
        while let Some(p) = choose(&arrange(&remaining, picks.len())) {
            picks.push(p);
            remaining.retain(|s| *s != p);
        }
        picks
    }

    #[test]
    fn client_order_servers_are_consistent_server_order_ones_mostly_not() {
        let universe = [1, 2, 3, 4, 5, 6];
        let accepted = [2, 4, 5];
        let client = |offer: &[u16]| offer.iter().copied().find(|s| accepted.contains(s));
        let picks = eliminate(&universe, client);
        assert_eq!(picks, [2, 5, 4]);
        assert!(follows_client_order(&universe, &picks));

        // A server whose own order equals ours is told apart without a check...
        let own = [2, 4, 5];
        let server = |offer: &[u16]| own.iter().copied().find(|s| offer.contains(s));
        let picks = eliminate(&universe, server);
        assert_eq!(picks, own);
        assert!(!follows_client_order(&universe, &picks));
        // ...and so is one preferring the reverse.
        let own = [5, 4, 2];
        let server = |offer: &[u16]| own.iter().copied().find(|s| offer.contains(s));
        assert!(!follows_client_order(
            &universe,
            &eliminate(&universe, server)
        ));
    }

    #[test]
    fn two_suites_in_our_order_need_the_check() {
        let universe = [1, 2, 3];
        let own = [1, 3];
        let server = |offer: &[u16]| own.iter().copied().find(|s| offer.contains(s));
        let picks = eliminate(&universe, server);
        assert!(follows_client_order(&universe, &picks), "ambiguous");
        let offer = check_offer(&picks);
        assert_eq!(judge_check(&picks, server(&offer).unwrap()), Some(true));
        let client = |offer: &[u16]| offer.iter().copied().find(|s| own.contains(s));
        assert_eq!(judge_check(&picks, client(&offer).unwrap()), Some(false));
        assert_eq!(judge_check(&[1, 2, 3], 2), None);
    }
}
