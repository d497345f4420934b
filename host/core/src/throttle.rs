//! Brute-force throttling of `/validate/check`, beyond privacyIDEA: failed attempts are counted per
//! user and per client address; past a free allowance each further failure doubles a waiting time
//! (up to a maximum) during which that user or address is refused without anything being checked,
//! so a throttled request never reaches the user store (no LDAP account lock-out through
//! `otppin=userstore`) and never touches a token's fail counter. Off unless configured.
//!
//! State is in memory, sharded by key hash; idle entries are forgotten after `forget_after`, and a
//! shard never holds more than `MAX_PER_SHARD` entries (the stalest go first).

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;

const SHARDS: usize = 16;
const MAX_PER_SHARD: usize = 8192;

/// Settings (the daemon's `[throttle]` table).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThrottleConfig {
    pub enabled: bool,
    /// Failures of one user allowed before waiting starts.
    pub user_free_failures: u32,
    /// Failures from one client address allowed before waiting starts.
    pub client_free_failures: u32,
    /// The first wait, seconds; doubled by every further failure.
    pub base_delay_secs: f64,
    pub max_delay_secs: f64,
    /// An entry without failures for this long is forgotten, seconds.
    pub forget_after_secs: f64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            enabled: false,
            user_free_failures: 5,
            client_free_failures: 20,
            base_delay_secs: 1.0,
            max_delay_secs: 300.0,
            forget_after_secs: 900.0,
        }
    }
}

/// Whose failures are counted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Subject {
    /// (realm, login) as the client sent them, lower case.
    User(String, String),
    Client(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    blocked_until: f64,
    last_failure: f64,
}

#[derive(Debug)]
pub(crate) struct Throttle {
    cfg: ThrottleConfig,
    shards: Vec<Mutex<HashMap<Subject, Entry>>>,
}

impl Throttle {
    pub fn new(cfg: ThrottleConfig) -> Self {
        Throttle {
            cfg,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.cfg.enabled
    }

    fn shard(&self, s: &Subject) -> std::sync::MutexGuard<'_, HashMap<Subject, Entry>> {
        let mut h = DefaultHasher::new();
        s.hash(&mut h);
        let i = (h.finish() as usize) % SHARDS;
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seconds left to wait for any of `subjects`, if one is blocked at `now`.
    pub fn blocked(&self, subjects: &[Subject], now: f64) -> Option<f64> {
        if !self.cfg.enabled {
            return None;
        }
        subjects
            .iter()
            .filter_map(|s| self.shard(s).get(s).map(|e| e.blocked_until - now))
            .filter(|left| *left > 0.0)
            .reduce(f64::max)
    }

    /// Count a failed attempt against every subject.
    pub fn failed(&self, subjects: &[Subject], now: f64) {
        if !self.cfg.enabled {
            return;
        }
        for s in subjects {
            let free = match s {
                Subject::User(..) => self.cfg.user_free_failures,
                Subject::Client(_) => self.cfg.client_free_failures,
            };
            let mut shard = self.shard(s);
            if shard.len() >= MAX_PER_SHARD && !shard.contains_key(s) {
                self.evict(&mut shard, now);
            }
            let e = shard.entry(s.clone()).or_insert(Entry {
                failures: 0,
                blocked_until: 0.0,
                last_failure: now,
            });
            if now - e.last_failure > self.cfg.forget_after_secs {
                e.failures = 0;
            }
            e.failures = e.failures.saturating_add(1);
            e.last_failure = now;
            if e.failures > free {
                let doublings = (e.failures - free - 1).min(30);
                let wait = (self.cfg.base_delay_secs * f64::from(1u32 << doublings))
                    .min(self.cfg.max_delay_secs);
                e.blocked_until = now + wait;
            }
        }
    }

    /// A success forgets the user's failures (not the client's: one good account must not
    /// clear an address that guesses at others).
    pub fn succeeded(&self, user: &Subject) {
        if self.cfg.enabled {
            let _ = self.shard(user).remove(user);
        }
    }

    /// Make room: drop forgotten entries, else the stalest tenth.
    fn evict(&self, shard: &mut HashMap<Subject, Entry>, now: f64) {
        let forget = self.cfg.forget_after_secs;
        shard.retain(|_, e| now - e.last_failure <= forget || e.blocked_until > now);
        if shard.len() >= MAX_PER_SHARD {
            let mut ages: Vec<f64> = shard.values().map(|e| e.last_failure).collect();
            ages.sort_by(f64::total_cmp);
            let cut = ages[ages.len() / 10];
            shard.retain(|_, e| e.last_failure > cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> Throttle {
        Throttle::new(ThrottleConfig {
            enabled: true,
            user_free_failures: 3,
            client_free_failures: 5,
            ..Default::default()
        })
    }

    #[test]
    fn waits_start_after_the_allowance_and_double() {
        let t = on();
        let alice = Subject::User("realm1".into(), "alice".into());
        let mut now = 1000.0;
        for _ in 0..3 {
            t.failed(std::slice::from_ref(&alice), now);
            assert_eq!(t.blocked(std::slice::from_ref(&alice), now), None);
        }
        let mut waits = Vec::new();
        for _ in 0..5 {
            t.failed(std::slice::from_ref(&alice), now);
            let left = t.blocked(std::slice::from_ref(&alice), now).unwrap();
            waits.push(left);
            now += left;
            assert_eq!(t.blocked(std::slice::from_ref(&alice), now), None);
        }
        assert_eq!(waits, [1.0, 2.0, 4.0, 8.0, 16.0]);
        t.succeeded(&alice);
        t.failed(std::slice::from_ref(&alice), now);
        assert_eq!(t.blocked(std::slice::from_ref(&alice), now), None);
    }

    #[test]
    fn the_wait_is_capped_and_failures_are_forgotten() {
        let t = on();
        let ip = Subject::Client("192.0.2.7".parse().unwrap());
        for _ in 0..40 {
            t.failed(std::slice::from_ref(&ip), 0.0);
        }
        assert_eq!(t.blocked(std::slice::from_ref(&ip), 0.0), Some(300.0));
        // A user's success does not clear the address.
        t.succeeded(&Subject::User("r".into(), "u".into()));
        assert!(t.blocked(std::slice::from_ref(&ip), 10.0).is_some());
        // Long after, one failure starts from zero again.
        t.failed(std::slice::from_ref(&ip), 5000.0);
        assert_eq!(t.blocked(std::slice::from_ref(&ip), 5000.0), None);
    }

    #[test]
    fn off_by_default() {
        let t = Throttle::new(ThrottleConfig::default());
        let ip = Subject::Client("192.0.2.7".parse().unwrap());
        for _ in 0..100 {
            t.failed(std::slice::from_ref(&ip), 0.0);
        }
        assert_eq!(t.blocked(&[ip], 0.0), None);
    }
}
