//! Authorization policies after a successful check (privacyIDEA's post-policies): `authorized`,
//! `tokentype`, `serial`, `tokeninfo` and, last, `auth_max_success` can turn an ACCEPT into a
//! REJECT; `add_user_in_response`, `add_resolver_in_response`, `no_detail_on_success`/
//! `no_detail_on_fail` shape the answer. (`last_auth`, `auth_max_fail` and `application_tokentype`
//! act during the check: see `validate`.)

use tessera_policy::{ActionValue, Scope, value::parse_tokeninfo_rule};
use tessera_proto::PiError;

use super::{Authentication, CheckResult};
use crate::auth_counts::{Rate, UserKey};
use crate::auth_options::PolicyContext;
use crate::{Tessera, store_err};

/// How the answer's `detail` is to be shaped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetailFlags {
    /// `detail.user`: the user's attributes.
    pub add_user: bool,
    /// `detail.user-resolver` and `detail.user-realm`.
    pub add_resolver: bool,
    /// Send no `detail` at all.
    pub hide: bool,
}

impl Tessera {
    /// Apply the post-checks to `r`. `max_success`: the user's `auth_max_success` limit; an
    /// ACCEPT that passes every other check takes one of its places (or is refused).
    pub(crate) fn authorize(
        &self,
        ctx: &PolicyContext<'_>,
        mut r: CheckResult,
        max_success: Option<(Rate, &UserKey)>,
    ) -> Result<CheckResult, PiError> {
        let set = self.policy_set();
        if !set.has_active(Scope::Authorization) {
            return Ok(r);
        }
        let now = self.now();
        let q = ctx.query(Scope::Authorization, now);
        let m = set.matching(&q);
        if r.accepted() {
            let why = match self.refusal(&m, &r)? {
                Some(why) => Some(why),
                None => max_success.and_then(|(rate, key)| {
                    (!self.inner.counts.try_success(key, rate, now)).then(|| {
                        format!(
                            "Only {} successful authentications per {}",
                            rate.count,
                            rate.period_text()
                        )
                    })
                }),
            };
            if let Some(why) = why {
                r = CheckResult {
                    serial: r.serial.clone(),
                    tokentype: r.tokentype.clone(),
                    user: r.user.clone(),
                    policies: r.policies.clone(),
                    ..CheckResult::reject(why)
                };
            } else {
                r.detail.add_user = m.bool("add_user_in_response");
                r.detail.add_resolver = m.bool("add_resolver_in_response");
                r.detail.hide = m.bool("no_detail_on_success");
            }
        }
        if r.authentication == Authentication::Reject {
            r.detail.hide = m.bool("no_detail_on_fail");
        }
        for name in m.policy_names() {
            if !r.policies.iter().any(|p| p == name) {
                r.policies.push(name.to_string());
            }
        }
        Ok(r)
    }

    /// Why the matched authorization policies refuse this accepted check, if they do.
    fn refusal(
        &self,
        m: &tessera_policy::Matched<'_>,
        r: &CheckResult,
    ) -> Result<Option<String>, PiError> {
        if let Some(ActionValue::Str(v)) = m.value("authorized")?
            && v == "deny_access"
        {
            return Ok(Some("Authentication denied by policy.".into()));
        }
        let types = m.list("tokentype");
        if !types.is_empty()
            && !r
                .tokentype
                .as_ref()
                .is_some_and(|t| types.iter().any(|x| x.eq_ignore_ascii_case(t)))
        {
            return Ok(Some("Tokentype not allowed for authentication!".into()));
        }
        if let Some(pattern) = m.value("serial")?.and_then(ActionValue::as_str) {
            let ok = match (regex::Regex::new(pattern), &r.serial) {
                (Ok(re), Some(serial)) => re.is_match(serial),
                _ => false,
            };
            if !ok {
                return Ok(Some("Serial is not allowed for authentication!".into()));
            }
        }
        if let Some(rule) = m.value("tokeninfo")?.and_then(ActionValue::as_str)
            && let Some((key, pattern)) = parse_tokeninfo_rule(rule)
        {
            let info = match &r.serial {
                Some(serial) => self
                    .inner
                    .store
                    .get_token(serial)
                    .map_err(store_err)?
                    .and_then(|t| t.value.info.get(key).cloned()),
                None => None,
            };
            let ok = match (regex::Regex::new(pattern), info) {
                (Ok(re), Some(v)) => re.is_match(&v),
                _ => false,
            };
            if !ok {
                return Ok(Some(format!(
                    "Tokeninfo field {key} does not match the policy."
                )));
            }
        }
        Ok(None)
    }
}
