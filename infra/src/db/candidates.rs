//! Which of the primary candidates takes writes. After a failover the former primary may come back
//! writable, on its own old timeline: two servers then take writes, and whatever reaches the old one
//! diverges from the shop's real state (split brain). A promotion starts a new timeline, so of the
//! writable candidates the one on the highest timeline (then the furthest WAL position) is the
//! primary, and a router never goes back to a timeline below the highest it has seen, even while the
//! primary on it does not answer: a slow primary must not hand the writes to a stale one.

use super::position::WalPosition;

/// What a writable candidate says of itself; a candidate in recovery or that did not answer has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Standing {
    pub timeline: u32,
    pub position: WalPosition,
}

/// The outcome of one look at the candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The candidate that takes writes from now on.
    pub writable: usize,
    /// Writable candidates that must not take writes: behind the chosen one, or behind a timeline
    /// seen before.
    pub stale: Vec<usize>,
    /// The highest timeline seen so far, this look included.
    pub highest_timeline: u32,
}

/// Chooses among `standings` (one per candidate, in order) given the `current` writable candidate
/// and the highest timeline seen before. Without a writable candidate that is not behind, the current
/// one stays (its writes fail until a primary is back).
pub fn choose(current: usize, standings: &[Option<Standing>], highest_seen: u32) -> Choice {
    let writable = || standings.iter().enumerate().filter_map(|(i, s)| s.map(|s| (i, s)));
    let highest_timeline = writable().map(|(_, s)| s.timeline).max().unwrap_or(0).max(highest_seen);
    // The current candidate wins a tie, so that writes do not move between equals.
    let best = writable()
        .filter(|(_, s)| s.timeline == highest_timeline)
        .max_by_key(|(i, s)| (*s, *i == current))
        .map(|(i, _)| i);
    let stale = writable().map(|(i, _)| i).filter(|i| Some(*i) != best).collect();
    Choice { writable: best.unwrap_or(current), stale, highest_timeline }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(timeline: u32, position: u64) -> Option<Standing> {
        Some(Standing { timeline, position: WalPosition::parse(&format!("0/{position:X}")).unwrap() })
    }

    #[test]
    fn writes_go_to_the_promoted_server_and_never_to_the_former_primary_that_came_back() {
        // The former primary restarted writable on timeline 1; the replica promoted is on timeline 2.
        let both = [on(1, 900), on(2, 500)];
        assert_eq!(choose(0, &both, 0), Choice { writable: 1, stale: vec![0], highest_timeline: 2 });
        assert_eq!(choose(1, &both, 2), Choice { writable: 1, stale: vec![0], highest_timeline: 2 });
    }

    #[test]
    fn while_the_primary_does_not_answer_a_stale_candidate_gets_no_writes() {
        let primary_silent = [on(1, 900), None];
        assert_eq!(
            choose(1, &primary_silent, 2),
            Choice { writable: 1, stale: vec![0], highest_timeline: 2 }
        );
    }

    #[test]
    fn a_failover_moves_writes_and_a_tie_keeps_them_where_they_are() {
        assert_eq!(
            choose(0, &[None, on(2, 100)], 1),
            Choice { writable: 1, stale: vec![], highest_timeline: 2 }
        );
        assert_eq!(
            choose(0, &[on(1, 100), None], 1),
            Choice { writable: 0, stale: vec![], highest_timeline: 1 }
        );
        assert_eq!(choose(1, &[on(3, 100), on(3, 100)], 3).writable, 1);
        assert_eq!(choose(1, &[on(3, 200), on(3, 100)], 3).writable, 0, "the further one on a timeline");
        assert_eq!(choose(0, &[None, None], 4), Choice { writable: 0, stale: vec![], highest_timeline: 4 });
    }
}
