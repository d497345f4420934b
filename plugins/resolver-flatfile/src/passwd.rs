//! Parsing of `/etc/passwd`-format files into users indexed by login and uid, and the mapping of
//! the GECOS field to user attributes, as privacyIDEA's PasswdIdResolver does it.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, DefaultHasher};

use tessera_sdk::resolver::UserInfo;

/// One user line: `login:hash:uid:gid:gecos:home:shell`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Login name (field 1).
    pub login: String,
    /// Password hash (field 2), verified by the host.
    pub hash: String,
    /// User id (field 3): the resolver's `userid`.
    pub uid: String,
    /// GECOS (field 5): `Given Surname,room,mobile,phone,email...`.
    pub gecos: String,
}

/// Parse a file. Skips blank lines, `#` comments and malformed lines (fewer than the five fields
/// up to GECOS, or an empty login or uid); never fails. A later line replaces an earlier one with
/// the same login or uid. Linear in the number of lines.
pub fn parse(text: &str) -> Vec<Entry> {
    let lines: Vec<Entry> = text.lines().filter_map(parse_line).collect();
    // A line is replaced if any later line has its login or its uid, whether or not that later
    // line is replaced in turn: walk backwards, remembering every login and uid seen.
    let mut later_logins = HashSet::with_capacity_and_hasher(lines.len(), Hasher::default());
    let mut later_uids = HashSet::with_capacity_and_hasher(lines.len(), Hasher::default());
    let mut keep = vec![false; lines.len()];
    for (entry, keep) in lines.iter().zip(keep.iter_mut()).rev() {
        let new_login = later_logins.insert(entry.login.as_str());
        let new_uid = later_uids.insert(entry.uid.as_str());
        *keep = new_login && new_uid;
    }
    lines
        .into_iter()
        .zip(keep)
        .filter_map(|(entry, keep)| keep.then_some(entry))
        .collect()
}

/// Hashing of logins and uids. Deterministic, since seeding a random one would call the WASI
/// random interface, which the host does not grant (the call would trap). The keys come from the
/// administrator's file, so nobody else can choose colliding ones.
type Hasher = BuildHasherDefault<DefaultHasher>;

/// The users of one file, indexed by login and by uid.
#[derive(Debug, Default)]
pub struct Users {
    /// In file order; logins and uids are unique (see [`parse`]).
    entries: Vec<Entry>,
    by_login: HashMap<String, usize, Hasher>,
    by_uid: HashMap<String, usize, Hasher>,
}

impl Users {
    /// Parse a file (see [`parse`]) and index its users.
    pub fn parse(text: &str) -> Self {
        let entries = parse(text);
        let mut by_login = HashMap::with_capacity_and_hasher(entries.len(), Hasher::default());
        let mut by_uid = HashMap::with_capacity_and_hasher(entries.len(), Hasher::default());
        for (i, e) in entries.iter().enumerate() {
            by_login.insert(e.login.clone(), i);
            by_uid.insert(e.uid.clone(), i);
        }
        Users {
            entries,
            by_login,
            by_uid,
        }
    }

    /// The user with login name `login`.
    pub fn by_login(&self, login: &str) -> Option<&Entry> {
        self.by_login.get(login).and_then(|&i| self.entries.get(i))
    }

    /// The user with user id `uid`.
    pub fn by_uid(&self, uid: &str) -> Option<&Entry> {
        self.by_uid.get(uid).and_then(|&i| self.entries.get(i))
    }

    /// Every user, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

fn parse_line(line: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let fields: Vec<&str> = line.splitn(7, ':').collect();
    let [login, hash, uid, _gid, gecos, ..] = fields.as_slice() else {
        return None;
    };
    if login.is_empty() || uid.is_empty() {
        return None;
    }
    Some(Entry {
        login: (*login).into(),
        hash: (*hash).into(),
        uid: (*uid).into(),
        gecos: (*gecos).into(),
    })
}

impl Entry {
    /// The user's attributes. GECOS is split at commas: the first part is `Given Surname` (split
    /// at the first space), the third is `mobile` and the fourth `phone` (both only if there are at
    /// least four parts), and `email` is the last part from the fifth on that looks like an e-mail
    /// address. The whole GECOS is `description`.
    pub fn user_info(&self) -> UserInfo {
        let parts: Vec<&str> = self.gecos.split(',').collect();
        let name = parts.first().copied().unwrap_or_default();
        let (givenname, surname) = name.split_once(' ').unwrap_or((name, ""));
        let (mobile, phone) = match parts.as_slice() {
            [_, _, mobile, phone, ..] => (*mobile, *phone),
            _ => ("", ""),
        };
        let email = parts
            .iter()
            .skip(4)
            .rfind(|p| looks_like_email(p))
            .copied()
            .unwrap_or_default();
        UserInfo {
            userid: self.uid.clone(),
            username: self.login.clone(),
            givenname: givenname.into(),
            surname: surname.into(),
            email: email.into(),
            phone: phone.into(),
            mobile: mobile.into(),
            extra: vec![("description".into(), self.gecos.clone())],
        }
    }

    /// Whether the password field can hold a hash at all: not empty, not `x` or `*` (shadow file,
    /// no login), not locked with a leading `!`.
    pub fn has_usable_hash(&self) -> bool {
        !(self.hash.is_empty()
            || self.hash == "x"
            || self.hash == "*"
            || self.hash.starts_with('!'))
    }
}

/// privacyIDEA's e-mail test, the regular expression `.+@.+\..+`: something, `@`, something,
/// a dot, something.
fn looks_like_email(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    chars.iter().enumerate().any(|(at, c)| {
        *c == '@' && at >= 1 && {
            let rest = &chars[at + 1..];
            rest.iter()
                .enumerate()
                .any(|(dot, d)| *d == '.' && dot >= 1 && dot + 1 < rest.len())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The users behind privacyIDEA's `GET /user/` capture (15-user-list.json).
    const CAPTURED: &str = "\
alice:$6$salt$hash:1000:1000:Alice Anchor,Room 1,+49111,+49222,alice@example.com:/home/alice:/bin/bash
bob:$6$salt$hash2:1001:1001:Bob Anchor,,,,bob@example.com:/home/bob:/bin/bash
";

    fn user(login: &str, uid: &str, gecos: &str) -> UserInfo {
        Entry {
            login: login.into(),
            hash: "h".into(),
            uid: uid.into(),
            gecos: gecos.into(),
        }
        .user_info()
    }

    #[test]
    fn captured_users_map_like_privacyidea() {
        let users: Vec<UserInfo> = parse(CAPTURED).iter().map(Entry::user_info).collect();
        let alice = &users[0];
        assert_eq!(
            (
                alice.userid.as_str(),
                alice.username.as_str(),
                alice.givenname.as_str(),
                alice.surname.as_str()
            ),
            ("1000", "alice", "Alice", "Anchor")
        );
        assert_eq!(
            (alice.mobile.as_str(), alice.phone.as_str()),
            ("+49111", "+49222")
        );
        assert_eq!(alice.email, "alice@example.com");
        assert_eq!(
            alice.extra,
            vec![(
                "description".to_string(),
                "Alice Anchor,Room 1,+49111,+49222,alice@example.com".to_string()
            )]
        );
        let bob = &users[1];
        assert_eq!(
            (bob.givenname.as_str(), bob.surname.as_str()),
            ("Bob", "Anchor")
        );
        assert_eq!(
            (bob.mobile.as_str(), bob.phone.as_str(), bob.email.as_str()),
            ("", "", "bob@example.com")
        );
        assert_eq!(bob.userid, "1001");
    }

    #[test]
    fn gecos_variants() {
        let u = user("c", "1", "");
        assert_eq!(
            (u.givenname.as_str(), u.surname.as_str(), u.email.as_str()),
            ("", "", "")
        );
        let u = user("c", "1", "Carol");
        assert_eq!((u.givenname.as_str(), u.surname.as_str()), ("Carol", ""));
        let u = user("c", "1", "Anna Maria Schmidt");
        assert_eq!(
            (u.givenname.as_str(), u.surname.as_str()),
            ("Anna", "Maria Schmidt")
        );
        // Phones need at least four parts.
        let u = user("c", "1", "Carol C,Room,+1");
        assert_eq!((u.mobile.as_str(), u.phone.as_str()), ("", ""));
        let u = user("c", "1", "Carol C,Room,+1,+2");
        assert_eq!(
            (u.mobile.as_str(), u.phone.as_str(), u.email.as_str()),
            ("+1", "+2", "")
        );
        // E-mail only from the fifth part on, the last that looks like one.
        let u = user("c", "1", "Carol C,a@b.c,,,not-mail,c@x.org,d@y.org,nope");
        assert_eq!(u.email, "d@y.org");
        let u = user("c", "1", "a@b.cc,,,,");
        assert_eq!(u.email, "");
    }

    #[test]
    fn email_test_follows_the_regular_expression() {
        for (s, want) in [
            ("a@b.c", true),
            ("alice@example.com", true),
            ("a@b.", false),
            ("a@.c", false),
            ("@b.c", false),
            ("a@bc", false),
            ("x@@y.z", true),
            ("ä@ö.ü", true),
            ("", false),
        ] {
            assert_eq!(looks_like_email(s), want, "{s:?}");
        }
    }

    #[test]
    fn comments_blank_and_malformed_lines_are_skipped() {
        let text = "# comment\n\n   \nroot:x:0:0:root:/root:/bin/sh\r\nshort:x:1\n:x:2:2:no login::\nnouid:x::3:x::\n\
                    min:x:5:5:Min Imal\n  spaced:x:6:6:Sp Aced:/h:/s  \n";
        let logins: Vec<String> = parse(text).into_iter().map(|e| e.login).collect();
        assert_eq!(logins, ["root", "min", "spaced"]);
        assert_eq!(parse(text)[0].gecos, "root");
    }

    #[test]
    fn later_lines_replace_earlier_ones() {
        let entries =
            parse("a:h:1:1:First:/:/\nb:h:2:2:B:/:/\na:h:3:3:Second:/:/\nc:h:2:2:C:/:/\n");
        let pairs: Vec<(String, String)> = entries.into_iter().map(|e| (e.login, e.uid)).collect();
        assert_eq!(pairs, [("a".into(), "3".into()), ("c".into(), "2".into())]);
    }

    #[test]
    fn replacement_chains_and_indexes() {
        // `a:2` replaces `a:1`, then `b:2` replaces `a:2`: no `a` is left.
        let users = Users::parse("a:h:1:1:A1:/:/\na:h:2:2:A2:/:/\nb:h:2:2:B:/:/\nd:h:4:4:D:/:/\n");
        let pairs: Vec<(&str, &str)> = users
            .entries()
            .iter()
            .map(|e| (e.login.as_str(), e.uid.as_str()))
            .collect();
        assert_eq!(pairs, [("b", "2"), ("d", "4")]);
        assert_eq!(users.by_login("b").map(|e| e.gecos.as_str()), Some("B"));
        assert_eq!(users.by_uid("4").map(|e| e.login.as_str()), Some("d"));
        assert_eq!(users.by_login("a"), None);
        assert_eq!(users.by_uid("1"), None);
        assert_eq!(users.by_login("B"), None, "logins are case-sensitive");
        assert!(Users::parse("").entries().is_empty());
    }

    /// The definition of replacement, one line at a time (quadratic).
    fn parse_by_definition(text: &str) -> Vec<Entry> {
        let mut entries: Vec<Entry> = Vec::new();
        for entry in text.lines().filter_map(parse_line) {
            entries.retain(|e| e.login != entry.login && e.uid != entry.uid);
            entries.push(entry);
        }
        entries
    }

    #[test]
    fn linear_parse_matches_the_definition() {
        let mut seed: u32 = 777;
        let mut next = || {
            seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
            (seed >> 16) % 6
        };
        for _ in 0..300 {
            // Few distinct logins and uids, so that replacements chain.
            let text: String = (0..12)
                .map(|_| format!("u{}:h:{}:0:G{}:/:/\n", next(), next(), next()))
                .collect();
            assert_eq!(parse(&text), parse_by_definition(&text), "{text}");
            let users = Users::parse(&text);
            for e in parse_by_definition(&text) {
                assert_eq!(users.by_login(&e.login), Some(&e));
                assert_eq!(users.by_uid(&e.uid), Some(&e));
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed: u32 = 12345;
        let mut next = || {
            seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
            (seed >> 16) as u8
        };
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..300)
                .map(|_| {
                    [b':', b',', b'\n', b' ', b'@', b'.', b'#', next()][usize::from(next() % 8)]
                })
                .collect();
            for entry in parse(&String::from_utf8_lossy(&bytes)) {
                let _ = entry.user_info();
            }
        }
    }

    #[test]
    fn unusable_hashes() {
        let e = |hash: &str| Entry {
            login: "a".into(),
            hash: hash.into(),
            uid: "1".into(),
            gecos: String::new(),
        };
        assert!(e("$6$salt$hash").has_usable_hash());
        for hash in ["", "x", "*", "!$6$salt$hash", "!"] {
            assert!(!e(hash).has_usable_hash(), "{hash:?}");
        }
    }
}
