//! Matching a request against a `PolicySet`: `Query`, the lazily evaluated `Matched` with its
//! action lookups (switch, value with priority and conflict, list union), and admin/user rights.

use std::borrow::Cow;
use std::cell::RefCell;
use std::net::IpAddr;

use tessera_proto::{ErrorKind, PiError};

use crate::catalogue::{ActionKind, Catalogue};
use crate::compile::{Compiled, PolicySet};
use crate::model::Policy;
use crate::scope::Scope;
use crate::timespec;
use crate::value::ActionValue;

/// What a request looks like to the policies.
///
/// A policy attribute that is empty matches every request. A request attribute that is `None`
/// matches only policies that leave that attribute empty (a policy for realm `r1` does not apply to
/// a request without a realm), with one exception: in the **admin** scope, `realm`, `resolver` and
/// `user` describe the object the administrator acts on, and `None` there means "no particular
/// object" and matches every policy, as in privacyIDEA (which skips the filter for a missing value).
/// Use it for overviews such as the rights list at login; pass `Some("")` for an object that
/// really has no realm (an unassigned token) to match only policies without a realm restriction.
/// Realms compare ignoring case; users exactly unless the policy says `user_case_insensitive`.
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    pub scope: Scope,
    pub realm: Option<&'a str>,
    pub resolver: Option<&'a str>,
    pub user: Option<&'a str>,
    /// Admin scope: the administrator's realm (for example the realm of an admin from a user store).
    pub adminrealm: Option<&'a str>,
    /// Admin scope: the administrator's name.
    pub adminuser: Option<&'a str>,
    pub client: Option<IpAddr>,
    /// The moment of the request (Unix seconds); `time` ranges are UTC.
    pub now_unix: i64,
}

impl<'a> Query<'a> {
    pub fn new(scope: Scope, now_unix: i64) -> Self {
        Query {
            scope,
            realm: None,
            resolver: None,
            user: None,
            adminrealm: None,
            adminuser: None,
            client: None,
            now_unix,
        }
    }
    pub fn realm(mut self, realm: &'a str) -> Self {
        self.realm = Some(realm);
        self
    }
    pub fn resolver(mut self, resolver: &'a str) -> Self {
        self.resolver = Some(resolver);
        self
    }
    pub fn user(mut self, user: &'a str) -> Self {
        self.user = Some(user);
        self
    }
    pub fn adminrealm(mut self, adminrealm: &'a str) -> Self {
        self.adminrealm = Some(adminrealm);
        self
    }
    pub fn adminuser(mut self, adminuser: &'a str) -> Self {
        self.adminuser = Some(adminuser);
        self
    }
    pub fn client(mut self, client: IpAddr) -> Self {
        self.client = Some(client);
        self
    }
}

/// A query with its case-folded names, weekday and second of day worked out once.
struct Prepared<'a> {
    scope: Scope,
    realm: Option<Cow<'a, str>>,
    resolver: Option<&'a str>,
    user: Option<&'a str>,
    user_lower: Option<Cow<'a, str>>,
    adminrealm: Option<Cow<'a, str>>,
    adminuser: Option<&'a str>,
    client: Option<IpAddr>,
    weekday: u8,
    second: u32,
    /// Admin scope: a missing object attribute matches every policy.
    object_absent: bool,
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

impl<'a> Prepared<'a> {
    fn new(q: &Query<'a>) -> Self {
        let (weekday, second) = timespec::weekday_and_second(q.now_unix);
        Prepared {
            scope: q.scope,
            realm: q.realm.map(lower),
            resolver: q.resolver,
            user: q.user,
            user_lower: q.user.map(lower),
            adminrealm: q.adminrealm.map(lower),
            adminuser: q.adminuser,
            client: q.client.map(|ip| ip.to_canonical()),
            weekday,
            second,
            object_absent: q.scope == Scope::Admin,
        }
    }
}

impl Compiled {
    #[inline]
    fn matches(&self, q: &Prepared<'_>) -> bool {
        let user = if self.user_case_insensitive {
            q.user_lower.as_deref()
        } else {
            q.user
        };
        !self.never
            && self.realm.matches(q.realm.as_deref(), q.object_absent)
            && self.user.matches(user, q.object_absent)
            && self.resolver.matches(q.resolver, q.object_absent)
            && self.adminrealm.matches(q.adminrealm.as_deref(), false)
            && self.adminuser.matches(q.adminuser, false)
            && self.client.matches(q.client)
            && (self.time.is_empty() || timespec::in_ranges(&self.time, q.weekday, q.second))
    }
}

/// The policies of one scope that match one request. Lookups evaluate only the policies that set
/// the action asked for. Remembers which policies supplied an answer, for the audit log.
pub struct Matched<'a> {
    set: &'a PolicySet,
    query: Prepared<'a>,
    used: RefCell<Vec<usize>>,
}

/// Two lists of policy indices, each sorted by rank, merged into one sorted sequence.
struct Merge<'s> {
    a: &'s [usize],
    b: &'s [usize],
    rank: &'s [usize],
}

impl Iterator for Merge<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let take_a = match (self.a.first(), self.b.first()) {
            (Some(x), Some(y)) => self.rank.get(*x) <= self.rank.get(*y),
            (Some(_), None) => true,
            (None, _) => false,
        };
        let list = if take_a { &mut self.a } else { &mut self.b };
        let (first, rest) = list.split_first()?;
        *list = rest;
        Some(*first)
    }
}

/// The answer of `PolicySet::allows`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed<'a> {
    pub yes: bool,
    /// The policies that grant the action (empty when allowed because the scope has no policy).
    pub policies: Vec<&'a str>,
}

impl PolicySet {
    /// The policies of `query.scope` that match the request.
    pub fn matching<'a>(&'a self, query: &Query<'a>) -> Matched<'a> {
        Matched {
            set: self,
            query: Prepared::new(query),
            used: RefCell::new(Vec::new()),
        }
    }

    /// Whether an administrator (`Scope::Admin`) or a user (`Scope::User`) may do `action`, by
    /// privacyIDEA's rule: while the scope has no active policy at all, everything is allowed;
    /// once it has one, only what a matching policy grants. (A policy outside its `time` ranges
    /// still counts as existing: rights fail closed.) Other scopes have no default: there it says
    /// whether a matching policy sets the action.
    pub fn allows<'a>(&'a self, action: &str, query: &Query<'a>) -> Allowed<'a> {
        let rights_scope = matches!(query.scope, Scope::Admin | Scope::User);
        if rights_scope && !self.has_active(query.scope) {
            return Allowed {
                yes: true,
                policies: Vec::new(),
            };
        }
        let matched = self.matching(query);
        let policies: Vec<&'a str> = matched
            .candidates(action)
            .map(|(_, p)| p.name.as_str())
            .collect();
        Allowed {
            yes: !policies.is_empty(),
            policies,
        }
    }

    /// The switch actions of `query.scope` that `allows` grants (for the rights list of `/auth`).
    pub fn rights(&self, query: &Query<'_>, catalogue: &Catalogue) -> Vec<String> {
        let matched = self.matching(query);
        let everything = !self.has_active(query.scope);
        catalogue
            .actions(query.scope)
            .filter(|def| def.kind == ActionKind::Bool)
            .filter(|def| everything || matched.candidates(&def.name).next().is_some())
            .map(|def| def.name.clone())
            .collect()
    }
}

impl<'a> Matched<'a> {
    /// The matching policies that set `action`, best priority first. Only the policies listing the
    /// request's realm and those without a realm restriction are looked at.
    fn candidates(&self, action: &str) -> impl Iterator<Item = (usize, &'a Policy)> + '_ {
        let set = self.set;
        let empty: &'a [usize] = &[];
        let (a, b) = match set.index[self.query.scope.index()].get(action) {
            None => (empty, empty),
            Some(idx) => match self.query.realm.as_deref() {
                Some(realm) => (
                    idx.by_realm.get(realm).map_or(empty, Vec::as_slice),
                    idx.any_realm.as_slice(),
                ),
                None if self.query.object_absent => (idx.all.as_slice(), empty),
                None => (idx.any_realm.as_slice(), empty),
            },
        };
        Merge {
            a,
            b,
            rank: &set.rank,
        }
        .filter_map(move |i| {
            let compiled = set.compiled.get(i)?;
            let policy = set.policies.get(i)?;
            compiled.matches(&self.query).then_some((i, policy))
        })
    }

    /// Remembers that policy `i` supplied an answer (duplicates are dropped by `policy_names`).
    fn note(&self, i: usize) {
        self.used.borrow_mut().push(i);
    }

    /// Whether a matching policy sets `action` (switches add up: priority does not matter).
    pub fn bool(&self, action: &str) -> bool {
        let mut found = false;
        for (i, _) in self.candidates(action) {
            self.note(i);
            found = true;
        }
        found
    }

    /// The value of `action` from the matching policies of the best (lowest) priority, `None` if no
    /// matching policy sets it. If those policies disagree: privacyIDEA's policy conflict (its
    /// PolicyError, 403/303).
    pub fn value(&self, action: &str) -> Result<Option<&'a ActionValue>, PiError> {
        let mut best: Vec<(usize, &'a Policy)> = Vec::new();
        for (i, p) in self.candidates(action) {
            match best.first() {
                Some((_, first)) if p.priority > first.priority => break,
                _ => best.push((i, p)),
            }
        }
        let Some((_, first)) = best.first() else {
            return Ok(None);
        };
        let value = first.action.get(action);
        if best.iter().any(|(_, p)| p.action.get(action) != value) {
            let names: Vec<String> = best.iter().map(|(_, p)| format!("'{}'", p.name)).collect();
            let values: Vec<String> = best
                .iter()
                .filter_map(|(_, p)| {
                    Some(format!("{action}={} ({})", p.action.get(action)?, p.name))
                })
                .collect();
            return Err(PiError::new(
                ErrorKind::Policy,
                format!(
                    "ERR303: There are policies with conflicting actions: [{}]: {}. Give them \
                     different priorities or the same value.",
                    names.join(", "),
                    values.join(", ")
                ),
            ));
        }
        for (i, _) in &best {
            self.note(*i);
        }
        Ok(value)
    }

    /// The words of `action` over all matching policies, without duplicates, best priority first
    /// (`challenge_response=hotp` and `challenge_response=totp` give `["hotp", "totp"]`).
    pub fn list(&self, action: &str) -> Vec<String> {
        let mut words: Vec<&'a str> = Vec::new();
        let mut numbers: Vec<String> = Vec::new();
        for (i, p) in self.candidates(action) {
            self.note(i);
            match p.action.get(action) {
                Some(ActionValue::Str(s)) => {
                    for w in s.split_whitespace() {
                        if !words.contains(&w) {
                            words.push(w);
                        }
                    }
                }
                Some(ActionValue::Int(n)) => numbers.push(n.to_string()),
                _ => {}
            }
        }
        let mut out: Vec<String> = words.into_iter().map(str::to_string).collect();
        for n in numbers {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// Names of the policies that supplied the answers asked so far, for the audit column
    /// `policies`, in the order they were first used.
    pub fn policy_names(&self) -> Vec<&'a str> {
        let set = self.set;
        let mut names: Vec<&'a str> = Vec::new();
        for &i in self.used.borrow().iter() {
            if let Some(p) = set.policies.get(i)
                && !names.contains(&p.name.as_str())
            {
                names.push(&p.name);
            }
        }
        names
    }
}

#[cfg(test)]
mod tests;
