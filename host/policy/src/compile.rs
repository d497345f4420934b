//! `PolicySet`: policies compiled for fast matching. Lists become sorted (lower-cased where
//! comparison ignores case) include/exclude sets, clients parsed networks, `time` parsed ranges,
//! and an index scope -> action -> active policies with that action, best priority first, split by
//! realm so that a lookup only looks at the policies of the request's realm and those without one.

use std::collections::HashMap;

use ipnet::IpNet;

use crate::model::Policy;
use crate::parse::parse_net;
use crate::scope::Scope;
use crate::timespec::{self, TimeRange};

/// A set of policies ready to be matched. Build it again (it is cheap) whenever a policy changes.
#[derive(Debug, Default)]
pub struct PolicySet {
    pub(crate) policies: Vec<Policy>,
    pub(crate) compiled: Vec<Compiled>,
    /// Per scope: action -> the active policies that set it.
    pub(crate) index: [HashMap<String, ActionIndex>; Scope::ALL.len()],
    /// Policy index -> its place in the order (priority, name): lower is better.
    pub(crate) rank: Vec<usize>,
    /// Per scope: number of active policies (matching or not).
    pub(crate) active: [usize; Scope::ALL.len()],
    broken: Vec<(String, String)>,
}

/// The active policies that set one action, each list sorted best first (by `rank`).
#[derive(Debug, Default)]
pub(crate) struct ActionIndex {
    pub all: Vec<usize>,
    /// Policies without a realm restriction, or with exclusions only.
    pub any_realm: Vec<usize>,
    /// Realm (lower case) -> policies that list it.
    pub by_realm: HashMap<Box<str>, Vec<usize>>,
}

/// The match attributes of one policy, kept small (one cache line) since a lookup visits many.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub realm: Attr,
    pub resolver: Attr,
    pub user: Attr,
    pub adminrealm: Attr,
    pub adminuser: Attr,
    pub user_case_insensitive: bool,
    pub client: Nets,
    /// Empty: always visible.
    pub time: Box<[TimeRange]>,
    /// Stored data that could not be read (a bad network or time): the policy never matches.
    pub never: bool,
}

/// A list attribute: everything, or the listed names (all if none is listed) minus the excluded ones.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Attr {
    Any,
    Listed(Box<Lists<Box<str>>>),
}

/// The listed and the excluded entries of an attribute.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Lists<T> {
    /// Empty: everything not excluded.
    pub include: Vec<T>,
    pub exclude: Vec<T>,
}

impl Attr {
    /// `*` lists everything; `-name` or `!name` excludes.
    fn compile(entries: &[String], lower: bool) -> Attr {
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        let mut everything = false;
        for entry in entries.iter().map(|e| e.trim()) {
            let norm = |s: &str| -> Box<str> {
                if lower {
                    s.trim().to_lowercase().into()
                } else {
                    s.trim().into()
                }
            };
            if entry == "*" {
                everything = true;
            } else if let Some(name) = entry.strip_prefix('-').or_else(|| entry.strip_prefix('!')) {
                exclude.push(norm(name));
            } else if !entry.is_empty() {
                include.push(norm(entry));
            }
        }
        if everything {
            include.clear();
        }
        if include.is_empty() && exclude.is_empty() {
            return Attr::Any;
        }
        include.sort();
        include.dedup();
        exclude.sort();
        exclude.dedup();
        Attr::Listed(Box::new(Lists { include, exclude }))
    }

    /// Whether a request value matches; `absent` is the answer for a request without the value.
    #[inline]
    pub fn matches(&self, value: Option<&str>, absent: bool) -> bool {
        match self {
            Attr::Any => true,
            Attr::Listed(lists) => match value {
                None => absent,
                Some(v) => {
                    let find = |list: &[Box<str>]| list.binary_search_by(|x| (**x).cmp(v)).is_ok();
                    (lists.include.is_empty() || find(&lists.include)) && !find(&lists.exclude)
                }
            },
        }
    }
}

/// The `client` attribute: everything, or the listed networks (all if none) minus the excluded ones.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Nets {
    Any,
    Listed(Box<Lists<IpNet>>),
}

impl Nets {
    fn compile(entries: &[String]) -> Result<Nets, String> {
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let (list, text) = match entry.strip_prefix('-').or_else(|| entry.strip_prefix('!')) {
                Some(rest) => (&mut exclude, rest),
                None => (&mut include, entry),
            };
            list.push(
                parse_net(text)
                    .ok_or_else(|| format!("client '{entry}' is not an IP or network"))?,
            );
        }
        if include.is_empty() && exclude.is_empty() {
            return Ok(Nets::Any);
        }
        Ok(Nets::Listed(Box::new(Lists { include, exclude })))
    }

    #[inline]
    pub fn matches(&self, client: Option<std::net::IpAddr>) -> bool {
        match self {
            Nets::Any => true,
            Nets::Listed(lists) => match client {
                None => false,
                Some(ip) => {
                    (lists.include.is_empty() || lists.include.iter().any(|n| n.contains(&ip)))
                        && !lists.exclude.iter().any(|n| n.contains(&ip))
                }
            },
        }
    }
}

impl Compiled {
    fn new(p: &Policy) -> (Compiled, Option<String>) {
        let mut problem = None;
        let client = Nets::compile(&p.client).unwrap_or_else(|why| {
            problem = Some(why);
            Nets::Any
        });
        let time = timespec::parse(&p.time).unwrap_or_else(|why| {
            problem = Some(why);
            Vec::new()
        });
        let compiled = Compiled {
            realm: Attr::compile(&p.realm, true),
            resolver: Attr::compile(&p.resolver, false),
            user: Attr::compile(&p.user, p.user_case_insensitive),
            adminrealm: Attr::compile(&p.adminrealm, true),
            adminuser: Attr::compile(&p.adminuser, false),
            user_case_insensitive: p.user_case_insensitive,
            client,
            time: time.into_boxed_slice(),
            never: problem.is_some(),
        };
        (compiled, problem)
    }
}

impl PolicySet {
    /// Compiles the policies. Inactive policies are kept (listed by `policies`) but never match.
    /// A stored policy whose client networks or time cannot be read never matches either (it still
    /// counts as an active policy of its scope, so admin rights fail closed); `broken` lists them.
    pub fn compile(policies: Vec<Policy>) -> PolicySet {
        let mut set = PolicySet::default();
        let mut order: Vec<usize> = (0..policies.len()).collect();
        order.sort_by(|a, b| {
            let (pa, pb) = (&policies[*a], &policies[*b]);
            (pa.priority, &pa.name).cmp(&(pb.priority, &pb.name))
        });
        set.rank = vec![0; policies.len()];
        for (place, i) in order.iter().enumerate() {
            set.rank[*i] = place;
        }
        for p in &policies {
            let (compiled, problem) = Compiled::new(p);
            if let Some(why) = problem {
                set.broken.push((p.name.clone(), why));
            }
            set.compiled.push(compiled);
        }
        // Visiting the policies best first keeps every index list sorted.
        for &i in &order {
            let p = &policies[i];
            if !p.active {
                continue;
            }
            let scope = p.scope.index();
            set.active[scope] += 1;
            for (action, value) in &p.action {
                if !value.is_set() {
                    continue;
                }
                let entry = set.index[scope].entry(action.clone()).or_default();
                entry.all.push(i);
                match &set.compiled[i].realm {
                    Attr::Listed(lists) if !lists.include.is_empty() => {
                        for realm in &lists.include {
                            entry.by_realm.entry(realm.clone()).or_default().push(i);
                        }
                    }
                    _ => entry.any_realm.push(i),
                }
            }
        }
        set.policies = policies;
        set
    }

    /// All policies, as given to `compile`.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    pub fn get(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Whether the scope has at least one active policy (matching the request or not).
    pub fn has_active(&self, scope: Scope) -> bool {
        self.active[scope.index()] > 0
    }

    /// (name, reason) of stored policies that could not be compiled and therefore never match.
    pub fn broken(&self) -> &[(String, String)] {
        &self.broken
    }
}
