//! What a run cost the whole machine: every process on it (PostgreSQL, its replica, Redis, the
//! servers, the worker, this load generator), as Linux counts busy time in `/proc/stat`.

/// The clock ticks (`USER_HZ`, see `getconf CLK_TCK`) the CPUs have spent busy since boot; none
/// where `/proc/stat` cannot be read.
pub fn busy_ticks() -> Option<u64> {
    busy_in(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// The busy ticks of the `cpu` line of a `/proc/stat`: user, nice, system, irq and softirq time
/// (idle, iowait and a guest's share, which user time already holds, left out).
fn busy_in(stat: &str) -> Option<u64> {
    let all_cpus = stat.lines().find_map(|line| line.strip_prefix("cpu "))?;
    let ticks: Vec<u64> = all_cpus.split_whitespace().map(|n| n.parse().ok()).collect::<Option<_>>()?;
    let [user, nice, system, _idle, _iowait, irq, softirq, ..] = ticks[..] else { return None };
    Some(user + nice + system + irq + softirq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_is_the_sum_of_the_busy_columns_of_all_cpus() {
        let stat = "cpu  100 2 30 5000 40 5 6 0 0 0\ncpu0 50 1 15 2500 20 2 3 0 0 0\nintr 12345\n";
        assert_eq!(busy_in(stat), Some(100 + 2 + 30 + 5 + 6));
    }

    #[test]
    fn a_stat_without_the_all_cpus_line_has_no_busy_time() {
        assert_eq!(busy_in("cpu0 50 1 15 2500 20 2 3 0 0 0\n"), None);
        assert_eq!(busy_in("cpu  100 2 30\n"), None);
    }
}
