//! `*` wildcard matching for resolver filters (`username` = `ali*`), case-insensitive like
//! privacyIDEA's resolvers.

/// Whether `value` matches `pattern`, where `*` stands for any run of characters (also none).
/// Letters are compared case-insensitively. A pattern without `*` must equal the whole value.
pub fn matches(pattern: &str, value: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let value: Vec<char> = value.chars().flat_map(char::to_lowercase).collect();
    // Greedy matching with backtracking to the last `*`: linear in practice, never exponential.
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, v));
            p += 1;
        } else if p < pattern.len() && pattern[p] == value[v] {
            p += 1;
            v += 1;
        } else if let Some((sp, sv)) = star {
            p = sp + 1;
            v = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn check(pattern: &str, value: &str, expected: bool) {
        assert_eq!(
            matches(pattern, value),
            expected,
            "{pattern:?} against {value:?}"
        );
    }

    #[test]
    fn wildcards() {
        check("ali*", "alice", true);
        check("ALI*", "alice", true);
        check("*ce", "alice", true);
        check("*lic*", "alice", true);
        check("a*e", "alice", true);
        check("a*c*e", "alice", true);
        check("*", "", true);
        check("*", "anything", true);
        check("alice", "alice", true);
        check("alice", "alice2", false);
        check("ali", "alice", false);
        check("bob*", "alice", false);
        check("a*x", "alice", false);
        check("", "", true);
        check("", "a", false);
        check("**a**", "xay", true);
        check("Jürgen*", "jürgen müller", true);
    }
}
