//! Per-user counts of recent successful and failed authentications for the authorization
//! policies `auth_max_success` and `auth_max_fail` (`3/5m`: at most 3 within 5 minutes).
//!
//! privacyIDEA counts these in its audit table, so every node of a cluster sees the same numbers.
//! Tessera counts them **in memory, per node**: a restart forgets them, and behind a load balancer
//! each node counts only the requests it served (a user may get `count` per node). Users are keyed
//! by resolver and user id (not by the login they typed), so `alice` and `Alice@realm1` are one user.
//! A user's authentications are counted only while a matching limit exists (policies added later
//! do not see earlier authentications).
//!
//! The window slides: an authentication counts while it is younger than the period. Only the most
//! recent `count` timestamps of a user are kept (enough to tell whether `count` fall in the window),
//! and `count` is at most `tessera_policy::value::MAX_RATE_COUNT`. State is sharded by key hash;
//! a shard holds at most `MAX_PER_SHARD` users: entries whose every timestamp has left its window
//! go first, then the stalest tenth (under that pressure a limit may forget a user early).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

use tessera_policy::value::MAX_RATE_COUNT;

use crate::ResolvedUser;

const SHARDS: usize = 16;
const MAX_PER_SHARD: usize = 4096;

/// A limit of `auth_max_success`/`auth_max_fail`: at most `count` within `period` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rate {
    pub count: u32,
    pub period: u64,
}

impl Rate {
    /// A rate as policies write it (`3/5m`); `None` if it is not one.
    pub fn parse(text: &str) -> Option<Rate> {
        let (count, period) = tessera_policy::value::parse_rate(text)?;
        Some(Rate {
            count: count.min(MAX_RATE_COUNT),
            period,
        })
    }

    /// The period as privacyIDEA prints it in its messages (Python's `timedelta`): `0:05:00`,
    /// `1 day, 0:00:00`, `2 days, 1:00:00`.
    pub fn period_text(self) -> String {
        let days = self.period / 86_400;
        let rem = self.period % 86_400;
        let hms = format!("{}:{:02}:{:02}", rem / 3600, (rem % 3600) / 60, rem % 60);
        match days {
            0 => hms,
            1 => format!("1 day, {hms}"),
            n => format!("{n} days, {hms}"),
        }
    }
}

/// Whose authentications are counted: a user of a resolver.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct UserKey {
    resolver: String,
    user_id: String,
}

impl UserKey {
    pub fn of(user: &ResolvedUser) -> UserKey {
        UserKey {
            resolver: user.resolver.clone(),
            user_id: user.user_id.clone(),
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    successes: VecDeque<f64>,
    failures: VecDeque<f64>,
    /// After this time no timestamp of the entry is in its window any more.
    useful_until: f64,
}

/// The in-memory counts (one per `Tessera`).
#[derive(Debug)]
pub(crate) struct AuthCounts {
    shards: Vec<Mutex<HashMap<UserKey, Entry>>>,
}

impl AuthCounts {
    pub fn new() -> Self {
        AuthCounts {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: &UserKey) -> MutexGuard<'_, HashMap<UserKey, Entry>> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let i = (h.finish() as usize) % SHARDS;
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the user already failed `rate.count` times within the period before `now`.
    pub fn failures_reached(&self, key: &UserKey, rate: Rate, now: f64) -> bool {
        let mut shard = self.shard(key);
        let within = shard
            .get_mut(key)
            .map_or(0, |e| within(&mut e.failures, rate, now));
        within >= rate.count as usize
    }

    /// Count a failed authentication of the user.
    pub fn record_failure(&self, key: &UserKey, rate: Rate, now: f64) {
        let mut shard = self.shard(key);
        let e = entry(&mut shard, key, now);
        push(&mut e.failures, rate, now);
        e.useful_until = e.useful_until.max(now + rate.period as f64);
    }

    /// Count a successful authentication of the user, unless `rate.count` were counted within the
    /// period already: then nothing is counted and the answer is false. Check and count are one
    /// step, so concurrent requests cannot both take the last place.
    pub fn try_success(&self, key: &UserKey, rate: Rate, now: f64) -> bool {
        let mut shard = self.shard(key);
        let e = entry(&mut shard, key, now);
        if within(&mut e.successes, rate, now) >= rate.count as usize {
            return false;
        }
        push(&mut e.successes, rate, now);
        e.useful_until = e.useful_until.max(now + rate.period as f64);
        true
    }
}

/// The user's entry, making room in a full shard first.
fn entry<'a>(shard: &'a mut HashMap<UserKey, Entry>, key: &UserKey, now: f64) -> &'a mut Entry {
    if shard.len() >= MAX_PER_SHARD && !shard.contains_key(key) {
        shard.retain(|_, e| e.useful_until > now);
        if shard.len() >= MAX_PER_SHARD {
            let mut ends: Vec<f64> = shard.values().map(|e| e.useful_until).collect();
            ends.sort_by(f64::total_cmp);
            let cut = ends[ends.len() / 10];
            shard.retain(|_, e| e.useful_until > cut);
        }
    }
    shard.entry(key.clone()).or_default()
}

/// How many of `times` are younger than the period at `now` (older ones are dropped).
fn within(times: &mut VecDeque<f64>, rate: Rate, now: f64) -> usize {
    let period = rate.period as f64;
    while times.front().is_some_and(|t| now - t >= period) {
        times.pop_front();
    }
    times.len()
}

/// Note `now`, keeping only the latest `rate.count` timestamps.
fn push(times: &mut VecDeque<f64>, rate: Rate, now: f64) {
    times.push_back(now);
    while times.len() > rate.count as usize {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> UserKey {
        UserKey {
            resolver: "flat1".into(),
            user_id: id.into(),
        }
    }

    const TWO_PER_MINUTE: Rate = Rate {
        count: 2,
        period: 60,
    };

    #[test]
    fn successes_slide_out_of_the_window() {
        let c = AuthCounts::new();
        let alice = key("1000");
        assert!(c.try_success(&alice, TWO_PER_MINUTE, 1000.0));
        assert!(c.try_success(&alice, TWO_PER_MINUTE, 1010.0));
        // The third within the minute is refused, and a refusal is not counted.
        assert!(!c.try_success(&alice, TWO_PER_MINUTE, 1020.0));
        assert!(!c.try_success(&alice, TWO_PER_MINUTE, 1059.9));
        // Another user has their own count.
        assert!(c.try_success(&key("1001"), TWO_PER_MINUTE, 1020.0));
        // At 1060 the first left the window (60 s old): one place is free again.
        assert!(c.try_success(&alice, TWO_PER_MINUTE, 1060.0));
        assert!(!c.try_success(&alice, TWO_PER_MINUTE, 1069.0));
        assert!(c.try_success(&alice, TWO_PER_MINUTE, 1070.0));
    }

    #[test]
    fn failures_are_counted_per_user_within_the_period() {
        let c = AuthCounts::new();
        let alice = key("1000");
        let three = Rate {
            count: 3,
            period: 300,
        };
        for t in [0.0, 10.0] {
            c.record_failure(&alice, three, t);
        }
        assert!(!c.failures_reached(&alice, three, 20.0));
        c.record_failure(&alice, three, 20.0);
        assert!(c.failures_reached(&alice, three, 20.0));
        assert!(!c.failures_reached(&key("1001"), three, 20.0));
        assert!(c.failures_reached(&alice, three, 299.0));
        assert!(!c.failures_reached(&alice, three, 300.0));
        // A stricter limit on the same counts.
        let one = Rate {
            count: 1,
            period: 300,
        };
        assert!(c.failures_reached(&alice, one, 300.0));
        // count 0: always reached.
        let zero = Rate {
            count: 0,
            period: 60,
        };
        assert!(c.failures_reached(&key("new"), zero, 0.0));
        assert!(!c.try_success(&key("new"), zero, 0.0));
    }

    #[test]
    fn only_the_latest_count_timestamps_are_kept() {
        let c = AuthCounts::new();
        let alice = key("1000");
        for i in 0..100 {
            c.record_failure(&alice, TWO_PER_MINUTE, f64::from(i));
        }
        let shard = c.shard(&alice);
        assert_eq!(
            shard[&alice].failures.iter().copied().collect::<Vec<_>>(),
            [98.0, 99.0]
        );
    }

    /// The first `n` keys named `<prefix><i>` that fall into shard `target`.
    fn keys_in_shard(target: usize, prefix: &str, n: usize) -> Vec<UserKey> {
        (0u64..)
            .map(|i| key(&format!("{prefix}{i}")))
            .filter(|k| {
                let mut h = DefaultHasher::new();
                k.hash(&mut h);
                (h.finish() as usize) % SHARDS == target
            })
            .take(n)
            .collect()
    }

    #[test]
    fn a_full_shard_drops_users_whose_counts_expired() {
        let c = AuthCounts::new();
        for k in keys_in_shard(3, "old", MAX_PER_SHARD) {
            c.record_failure(&k, TWO_PER_MINUTE, 0.0);
        }
        assert_eq!(c.shards[3].lock().unwrap().len(), MAX_PER_SHARD);
        let newcomer = keys_in_shard(3, "new", 1).remove(0);
        c.record_failure(&newcomer, TWO_PER_MINUTE, 1000.0);
        let shard = c.shards[3].lock().unwrap();
        assert_eq!(shard.len(), 1);
        assert!(shard.contains_key(&newcomer));
    }

    #[test]
    fn periods_print_as_python_timedeltas() {
        let text = |period| Rate { count: 3, period }.period_text();
        assert_eq!(text(300), "0:05:00");
        assert_eq!(text(60), "0:01:00");
        assert_eq!(text(30), "0:00:30");
        assert_eq!(text(3600), "1:00:00");
        assert_eq!(text(86_400), "1 day, 0:00:00");
        assert_eq!(text(2 * 86_400 + 3600), "2 days, 1:00:00");
        assert_eq!(
            Rate::parse("3/5m"),
            Some(Rate {
                count: 3,
                period: 300
            })
        );
        assert_eq!(Rate::parse("3"), None);
    }
}
