//! privacyIDEA's `GET /audit/`: column filters (exact, or `*` wildcards), `timelimit`, paging and sort order,
//! with `sig_check` and `missing_line` per row. Streams over the segments (newest first for `desc`), keeping
//! only the requested page in memory; every entry is read to count the matches, as privacyIDEA's `count` needs.

use serde::Serialize;
use serde_json::json;

use crate::AuditError;
use crate::chain::EntryLine;
use crate::entry::AUDIT_COLUMNS;
use crate::time::{Timestamp, parse_timelimit};

pub use crate::scan::search;

/// Newest first (`desc`, privacyIDEA's default) or oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// A `GET /audit/` request.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// (column, value) pairs, all of which must match. A value with `*` is a wildcard pattern (case-insensitive);
    /// an empty value or one of only `*` is no filter; unknown columns are ignored (privacyIDEA does the same).
    pub filters: Vec<(String, String)>,
    /// 1-based.
    pub page: u64,
    pub page_size: u64,
    pub sortorder: SortOrder,
    /// Only entries whose `date` is at most this many microseconds before `now`.
    pub timelimit: Option<i64>,
    /// When set, only entries of these realms (privacyIDEA's `allowed_audit_realm` for restricted admins).
    pub allowed_realms: Option<Vec<String>>,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            filters: Vec::new(),
            page: 1,
            page_size: 15,
            sortorder: SortOrder::Desc,
            timelimit: None,
            allowed_realms: None,
        }
    }
}

/// Largest page served; bigger requests are cut to this.
pub const MAX_PAGE_SIZE: u64 = 10_000;

impl SearchQuery {
    /// From the request's parameters: `page`, `page_size`, `sortorder`, `timelimit`, and any column.
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<SearchQuery, AuditError> {
        let mut q = SearchQuery::default();
        let number = |key: &str, v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| AuditError::BadParameter(format!("{key} must be a number, not {v:?}")))
        };
        for (key, value) in params {
            match key {
                "page" => q.page = number(key, value)?.max(1),
                "page_size" => q.page_size = number(key, value)?.clamp(1, MAX_PAGE_SIZE),
                "sortorder" => {
                    q.sortorder = if value.trim().eq_ignore_ascii_case("asc") {
                        SortOrder::Asc
                    } else {
                        SortOrder::Desc
                    }
                }
                "timelimit" if !value.trim().is_empty() => {
                    q.timelimit = Some(parse_timelimit(value)?)
                }
                _ => q.filters.push((key.to_string(), value.to_string())),
            }
        }
        Ok(q)
    }
}

/// One row of `auditdata`, with privacyIDEA's keys (plus `authentication` and `user_agent`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    pub action: String,
    pub action_detail: Option<String>,
    pub administrator: Option<String>,
    pub authentication: Option<String>,
    pub clearance_level: Option<String>,
    pub client: Option<String>,
    pub date: Timestamp,
    pub duration: f64,
    pub info: Option<String>,
    pub log_level: Option<String>,
    /// `FAIL` when the entry before this one is missing or changed (the chain link is broken).
    pub missing_line: &'static str,
    /// The entry's sequence number.
    pub number: u64,
    pub policies: Option<String>,
    pub privacyidea_server: Option<String>,
    pub realm: Option<String>,
    pub resolver: Option<String>,
    pub serial: Option<String>,
    /// `OK` when the entry's hash matches its content and a valid signed checkpoint covers it.
    pub sig_check: &'static str,
    pub startdate: Timestamp,
    /// 1 or 0.
    pub success: u8,
    pub token_type: Option<String>,
    pub user: Option<String>,
    pub user_agent: Option<String>,
}

pub(crate) const OK: &str = "OK";
pub(crate) const FAIL: &str = "FAIL";

pub(crate) fn ok(b: bool) -> &'static str {
    if b { OK } else { FAIL }
}

impl AuditRow {
    pub(crate) fn from_line(line: &EntryLine) -> AuditRow {
        let e = line.entry.clone();
        AuditRow {
            action: e.action,
            action_detail: e.action_detail,
            administrator: e.administrator,
            authentication: e.authentication,
            clearance_level: None,
            client: e.client,
            date: e.date,
            duration: e.duration,
            info: e.info,
            log_level: None,
            missing_line: FAIL,
            number: line.seq,
            policies: e.policies,
            privacyidea_server: e.privacyidea_server,
            realm: e.realm,
            resolver: e.resolver,
            serial: e.serial,
            sig_check: FAIL,
            startdate: e.startdate,
            success: u8::from(e.success),
            token_type: e.token_type,
            user: e.user,
            user_agent: e.user_agent,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub rows: Vec<AuditRow>,
    /// Matching entries in the whole log.
    pub count: u64,
    pub current: u64,
    pub next: Option<u64>,
    pub prev: Option<u64>,
}

impl SearchPage {
    /// `result.value` of privacyIDEA's answer: `{auditcolumns, auditdata, count, current, next, prev}`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "auditcolumns": AUDIT_COLUMNS,
            "auditdata": self.rows,
            "count": self.count,
            "current": self.current,
            "next": self.next,
            "prev": self.prev,
        })
    }
}

enum Pattern {
    Exact(String),
    /// Lowercased pieces between `*`s, and whether the pattern starts / ends with `*`.
    Glob {
        parts: Vec<String>,
        open_start: bool,
        open_end: bool,
    },
}

impl Pattern {
    fn new(value: &str) -> Pattern {
        if !value.contains('*') {
            return Pattern::Exact(value.to_string());
        }
        Pattern::Glob {
            parts: value
                .split('*')
                .filter(|p| !p.is_empty())
                .map(str::to_lowercase)
                .collect(),
            open_start: value.starts_with('*'),
            open_end: value.ends_with('*'),
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Pattern::Exact(v) => v == text,
            Pattern::Glob {
                parts,
                open_start,
                open_end,
            } => {
                let text = text.to_lowercase();
                let mut rest = text.as_str();
                for (i, part) in parts.iter().enumerate() {
                    let last = i + 1 == parts.len();
                    if i == 0 && !open_start {
                        let Some(r) = rest.strip_prefix(part.as_str()) else {
                            return false;
                        };
                        rest = r;
                        if last && !open_end {
                            return rest.is_empty();
                        }
                    } else if last && !open_end {
                        return rest.ends_with(part.as_str());
                    } else {
                        let Some(at) = rest.find(part.as_str()) else {
                            return false;
                        };
                        rest = &rest[at + part.len()..];
                    }
                }
                true
            }
        }
    }
}

enum Filter {
    Text(String, Pattern),
    Success(i64),
    Date(Pattern),
    Startdate(Pattern),
    Number(Pattern),
}

pub(crate) struct Matcher {
    filters: Vec<Filter>,
    since: Option<Timestamp>,
    realms: Option<Vec<String>>,
    /// `"column":"value"` as the writer serializes it, for each exact text filter: a line without it cannot
    /// match, so it is not parsed. (A hand-edited line with another escaping is missed by such a filter; it
    /// fails its hash anyway, and shows in unfiltered searches and in verify.)
    needles: Vec<String>,
}

impl Matcher {
    pub(crate) fn new(q: &SearchQuery, now: Timestamp) -> Matcher {
        let probe = crate::entry::Entry::new("", Timestamp(0), Timestamp(0));
        let mut filters = Vec::new();
        for (column, value) in &q.filters {
            let value = value.trim();
            if value.trim_matches('*').is_empty() {
                continue;
            }
            filters.push(match column.as_str() {
                "success" => match value.trim_matches('*').trim().parse() {
                    Ok(n) => Filter::Success(n),
                    Err(_) => continue,
                },
                "date" => Filter::Date(Pattern::new(value)),
                "startdate" => Filter::Startdate(Pattern::new(value)),
                "number" => Filter::Number(Pattern::new(value)),
                c if probe.text_column(c).is_ok() => {
                    Filter::Text(c.to_string(), Pattern::new(value))
                }
                _ => continue,
            });
        }
        let needles = filters
            .iter()
            .filter_map(|f| match f {
                Filter::Text(column, Pattern::Exact(v)) => {
                    let value = serde_json::to_string(v).ok()?;
                    Some(format!("\"{column}\":{value}"))
                }
                _ => None,
            })
            .collect();
        Matcher {
            filters,
            since: q.timelimit.map(|t| now.minus_micros(t)),
            realms: q.allowed_realms.clone(),
            needles,
        }
    }

    /// False when every entry matches (no filter, no time limit, no realm restriction).
    pub(crate) fn filters_anything(&self) -> bool {
        !self.filters.is_empty() || self.since.is_some() || self.realms.is_some()
    }

    /// False when the raw line cannot match (checked before parsing it).
    pub(crate) fn may_match(&self, line: &[u8]) -> bool {
        // `str::contains` is the fast two-way search; a line that is not UTF-8 is left to the parser.
        match std::str::from_utf8(line) {
            Ok(text) => self.needles.iter().all(|n| text.contains(n.as_str())),
            Err(_) => true,
        }
    }

    pub(crate) fn matches(&self, line: &EntryLine) -> bool {
        let e = &line.entry;
        if self.since.is_some_and(|since| e.date < since) {
            return false;
        }
        if let Some(realms) = &self.realms
            && !e.realm.as_ref().is_some_and(|r| realms.contains(r))
        {
            return false;
        }
        self.filters.iter().all(|f| match f {
            Filter::Text(column, p) => matches!(e.text_column(column), Ok(Some(v)) if p.matches(v)),
            Filter::Success(n) => i64::from(e.success) == *n,
            Filter::Date(p) => p.matches(&e.date.to_string()),
            Filter::Startdate(p) => p.matches(&e.startdate.to_string()),
            Filter::Number(p) => p.matches(&line.seq.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_like_privacyidea() {
        let cases = [
            ("POST /validate/check", "POST /validate/check", true),
            ("POST /validate/check", "post /validate/check", false),
            ("*validate*", "POST /validate/check", true),
            ("*VALIDATE*", "POST /validate/check", true),
            ("POST*", "POST /validate/check", true),
            ("POST*", "GET /validate/check", false),
            ("*check", "POST /validate/check", true),
            ("*check", "POST /validate/checks", false),
            ("P*/*/c*k", "POST /validate/check", true),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("al*", "al", true),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(
                Pattern::new(pattern).matches(text),
                want,
                "{pattern} ~ {text}"
            );
        }
    }

    #[test]
    fn parameters() {
        let q = SearchQuery::from_params([
            ("page", "2"),
            ("page_size", "5"),
            ("sortorder", "asc"),
            ("timelimit", "2h"),
            ("user", "alice"),
        ])
        .unwrap();
        assert_eq!((q.page, q.page_size, q.sortorder), (2, 5, SortOrder::Asc));
        assert_eq!(q.timelimit, Some(7_200_000_000));
        assert_eq!(q.filters, vec![("user".to_string(), "alice".to_string())]);
        assert!(SearchQuery::from_params([("page", "x")]).is_err());
        assert!(SearchQuery::from_params([("timelimit", "2x")]).is_err());
        assert_eq!(
            SearchQuery::from_params([]).unwrap(),
            SearchQuery::default()
        );
    }
}
