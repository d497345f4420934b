//! privacyIDEA's OATH CSV (`oathcsv`): `serial, key, type, otplen, counter|timestep`, optionally preceded by
//! `user, resolver, realm` when the first line is `# version: 2`.
//!
//! Rules as privacyIDEA 3.7 (`parseOATHcsv` and the token classes' `get_import_csv`): hex key; type default
//! `hotp`; otplen default 6; the 5th column is the counter for hotp and the time step for totp (default 30);
//! hash from the key length. Tessera also reads an optional 6th column with the hash name
//! (`sha1|sha256|sha512`), tolerates a BOM, CRLF, spaces and empty trailing fields, and reports every bad
//! row with its line number instead of skipping it silently.

use std::io::BufRead;

use crate::FileError;
use crate::lines::{LineReader, fields};
use crate::token::{
    ImportUser, ImportedToken, ItemError, base_info, hashlib_for_key, hex_secret, parse_hashlib,
};

/// Streaming OATH CSV reader.
pub struct OathCsv<R> {
    lines: LineReader<R>,
    with_user: bool,
    /// The first line was data, already read by `open`: hand it out before reading on.
    replay: bool,
    done: bool,
}

impl<R: BufRead> OathCsv<R> {
    /// Reads the first line to learn the file version (`# version: 2` adds the owner columns).
    pub fn open(reader: R) -> Result<Self, FileError> {
        let mut lines = LineReader::new(reader);
        let mut with_user = false;
        let mut replay = false;
        if lines.advance()? {
            match lines.line().ok().and_then(version_header) {
                Some(Ok(2)) => with_user = true,
                Some(Ok(1)) => {}
                Some(Ok(v)) => {
                    return Err(FileError::UnsupportedVersion {
                        what: "OATH CSV",
                        version: v.to_string(),
                    });
                }
                Some(Err(text)) => {
                    return Err(FileError::UnsupportedVersion {
                        what: "OATH CSV",
                        version: text,
                    });
                }
                None => replay = true,
            }
        }
        Ok(OathCsv {
            lines,
            with_user,
            replay,
            done: false,
        })
    }
}

impl<R: BufRead> Iterator for OathCsv<R> {
    type Item = Result<ImportedToken, ItemError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if self.replay {
                self.replay = false;
            } else {
                match self.lines.advance() {
                    Ok(true) => {}
                    Ok(false) => self.done = true,
                    Err(e) => {
                        self.done = true;
                        let line = self.lines.number() + 1;
                        return Some(Err(ItemError::fatal(line, format!("read error: {e}"))));
                    }
                }
                if self.done {
                    break;
                }
            }
            let number = self.lines.number();
            let text = match self.lines.line() {
                Ok(text) => text,
                Err(problem) => return Some(Err(ItemError::new(number, None, problem.reason()))),
            };
            if let Some(item) = parse_row(text, number, self.with_user) {
                return Some(item);
            }
        }
        None
    }
}

/// `Some(Ok(n))` for a `# version: n` line, `Some(Err(text))` for a version that is not a number,
/// `None` for anything else.
fn version_header(line: &str) -> Option<Result<u32, String>> {
    let rest = line.trim().strip_prefix('#')?.trim_start();
    let value = rest
        .strip_prefix("version:")
        .or_else(|| rest.strip_prefix("version :"))?
        .trim();
    Some(value.parse::<u32>().map_err(|_| value.to_owned()))
}

/// Parses one line; `None` for lines that carry no token (blank, comment, only empty fields).
fn parse_row(text: &str, line: usize, with_user: bool) -> Option<Result<ImportedToken, ItemError>> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    let all = fields(trimmed);
    if all.iter().all(|f| f.is_empty()) {
        return None;
    }
    let (user, cols) = if with_user {
        if all.len() < 5 {
            return Some(Err(ItemError::new(
                line,
                all.get(3).copied(),
                "a version 2 row needs user, resolver, realm, serial and key",
            )));
        }
        let user = (!all[0].is_empty()).then(|| ImportUser {
            user: all[0].to_owned(),
            resolver: all[1].to_owned(),
            realm: all[2].to_owned(),
        });
        (user, &all[3..])
    } else {
        (None, &all[..])
    };
    Some(parse_token(cols, line).map(|mut t| {
        t.user = user;
        t
    }))
}

/// `serial, key, type, otplen, counter|timestep[, hashlib]`.
fn parse_token(cols: &[&str], line: usize) -> Result<ImportedToken, ItemError> {
    let serial = cols.first().copied().unwrap_or_default();
    let err = |reason: String| ItemError::new(line, Some(serial), reason);
    if serial.is_empty() {
        return Err(ItemError::new(
            line,
            None,
            "the serial (first column) is empty",
        ));
    }
    let key_text = cols.get(1).copied().unwrap_or_default();
    if key_text.is_empty() {
        return Err(err("no key (second column)".into()));
    }
    let otpkey = hex_secret(key_text)
        .ok_or_else(|| err("the key is not hex (an even number of 0-9, a-f)".into()))?;
    let tokentype = match cols.get(2).copied().unwrap_or_default() {
        "" => "hotp".to_owned(),
        t => t.to_ascii_lowercase(),
    };
    if tokentype != "hotp" && tokentype != "totp" {
        return Err(err(format!(
            "token type '{tokentype}' cannot be imported from OATH CSV (hotp or totp)"
        )));
    }
    let otplen = match cols.get(3).copied().unwrap_or_default() {
        "" => 6,
        "6" => 6,
        "8" => 8,
        other => return Err(err(format!("otplen '{other}' is not 6 or 8"))),
    };
    let fifth = cols.get(4).copied().unwrap_or_default();
    let (counter, timestep) = if tokentype == "totp" {
        let step = match fifth {
            "" => 30,
            s => match s.parse::<u32>() {
                Ok(n) if (1..=3600).contains(&n) => n,
                _ => return Err(err(format!("time step '{s}' is not 1..3600 seconds"))),
            },
        };
        (0, Some(step))
    } else {
        let counter = match fifth {
            "" => 0,
            s => s
                .parse::<u64>()
                .map_err(|_| err(format!("counter '{s}' is not a non-negative integer")))?,
        };
        (counter, None)
    };
    let hashlib = match cols.get(5).copied().unwrap_or_default() {
        "" => hashlib_for_key(&otpkey),
        h => parse_hashlib(h)
            .ok_or_else(|| err(format!("hash '{h}' is not sha1, sha256 or sha512")))?,
    };
    Ok(ImportedToken {
        serial: serial.to_owned(),
        tokentype,
        otpkey,
        otplen,
        hashlib: Some(hashlib.to_owned()),
        counter,
        timestep,
        description: "imported".to_owned(),
        user: None,
        line,
        info: base_info(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Vec<Result<ImportedToken, ItemError>> {
        OathCsv::open(input.as_bytes()).unwrap().collect()
    }

    /// Checks (serial, type, key hex, otplen, hashlib, counter, timestep) of every good row and
    /// (line, reason fragment) of every bad one.
    /// (serial, type, key hex, otplen, hashlib, counter, timestep) of a good row.
    type Want<'a> = (&'a str, &'a str, &'a str, u32, &'a str, u64, Option<u32>);

    fn check(input: &str, good: &[Want<'_>], bad: &[(usize, &str)]) {
        let items = run(input);
        let oks: Vec<_> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
        let errs: Vec<_> = items.iter().filter_map(|i| i.as_ref().err()).collect();
        assert_eq!(oks.len(), good.len(), "{items:?}");
        for (t, want) in oks.iter().zip(good) {
            assert_eq!(
                (
                    t.serial.as_str(),
                    t.tokentype.as_str(),
                    hex::encode(&*t.otpkey).as_str(),
                    t.otplen,
                    t.hashlib.as_deref().unwrap(),
                    t.counter,
                    t.timestep
                ),
                *want
            );
            assert_eq!(t.description, "imported");
            assert_eq!(
                t.info.get("tokenkind").map(String::as_str),
                Some("hardware")
            );
        }
        assert_eq!(errs.len(), bad.len(), "{errs:?}");
        for (e, (line, reason)) in errs.iter().zip(bad) {
            assert_eq!(e.line, *line, "{e}");
            assert!(e.reason.contains(reason), "{e} should say {reason}");
        }
    }

    const RFC4226_KEY: &str = "3132333435363738393031323334353637383930";

    #[test]
    fn privacyidea_examples() {
        // The rows privacyIDEA's importotp.py documents, and the three imported for captured answer 93:
        // OATHCSV0001 hotp 6 sha1, OATHCSV0002 totp 30 s, OATHCSV0003 hotp 8 sha256 (32-byte key).
        let input = format!(
            "UBOM12345678_1, {RFC4226_KEY}, hotp, 8\n\
             tok1, {RFC4226_KEY}, totp, 6, 30\n\
             OATHCSV0001, {RFC4226_KEY}\n\
             OATHCSV0002, {RFC4226_KEY}, totp\n\
             OATHCSV0003, {RFC4226_KEY}313233343536373839303132, hotp, 8\n"
        );
        check(
            &input,
            &[
                ("UBOM12345678_1", "hotp", RFC4226_KEY, 8, "sha1", 0, None),
                ("tok1", "totp", RFC4226_KEY, 6, "sha1", 0, Some(30)),
                ("OATHCSV0001", "hotp", RFC4226_KEY, 6, "sha1", 0, None),
                ("OATHCSV0002", "totp", RFC4226_KEY, 6, "sha1", 0, Some(30)),
                (
                    "OATHCSV0003",
                    "hotp",
                    "3132333435363738393031323334353637383930313233343536373839303132",
                    8,
                    "sha256",
                    0,
                    None,
                ),
            ],
            &[],
        );
    }

    #[test]
    fn bom_crlf_comments_spaces_and_empty_trailing_fields() {
        let key64 = "ab".repeat(64);
        let input = format!(
            "\u{feff}# exported by the vendor\r\n\
             \r\n\
             \x20 s1 ,  {RFC4226_KEY}  , HOTP , 6 , 17 ,,,\r\n\
             ,,,,\r\n\
             s2,{key64},totp,8,60,\r\n\
             s3,{RFC4226_KEY},hotp,,,sha512\r\n"
        );
        check(
            &input,
            &[
                ("s1", "hotp", RFC4226_KEY, 6, "sha1", 17, None),
                ("s2", "totp", &key64, 8, "sha512", 0, Some(60)),
                ("s3", "hotp", RFC4226_KEY, 6, "sha512", 0, None),
            ],
            &[],
        );
    }

    #[test]
    fn bad_rows_are_reported_with_line_numbers_and_the_rest_imports() {
        let input = format!(
            "bad1, 31323g\n\
             bad2, {RFC4226_KEY}, hotp, 7\n\
             good, {RFC4226_KEY}\n\
             bad3, {RFC4226_KEY}, ocra, OCRA-1:HOTP-SHA1-6:QN08\n\
             bad4\n\
             , {RFC4226_KEY}\n\
             bad5, {RFC4226_KEY}, hotp, 6, -1\n\
             bad6, {RFC4226_KEY}, totp, 6, 0\n\
             bad7, {RFC4226_KEY}, hotp, 6, 0, md5\n\
             bad8, 313\n"
        );
        check(
            &input,
            &[("good", "hotp", RFC4226_KEY, 6, "sha1", 0, None)],
            &[
                (1, "not hex"),
                (2, "otplen '7'"),
                (4, "'ocra'"),
                (5, "no key"),
                (6, "serial"),
                (7, "counter '-1'"),
                (8, "time step '0'"),
                (9, "hash 'md5'"),
                (10, "not hex"),
            ],
        );
        let items = run(&input);
        let first = items[0].as_ref().unwrap_err();
        assert_eq!(first.serial.as_deref(), Some("bad1"));
        assert!(!first.fatal);
        assert_eq!(
            first.to_string(),
            "line 1 (bad1): the key is not hex (an even number of 0-9, a-f)"
        );
    }

    #[test]
    fn version_2_assigns_users() {
        let input = format!(
            "# version: 2\n\
             alice, flat1, realm1, OATH0001, {RFC4226_KEY}, hotp, 6, 5\n\
             , , , OATH0002, {RFC4226_KEY}, totp, 6, 30\n\
             bob, , , OATH0003\n"
        );
        let items = run(&input);
        let t = items[0].as_ref().unwrap();
        assert_eq!((t.serial.as_str(), t.counter, t.line), ("OATH0001", 5, 2));
        assert_eq!(
            t.user,
            Some(ImportUser {
                user: "alice".into(),
                resolver: "flat1".into(),
                realm: "realm1".into()
            })
        );
        let t = items[1].as_ref().unwrap();
        assert_eq!((t.serial.as_str(), t.user.clone()), ("OATH0002", None));
        let e = items[2].as_ref().unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.reason.contains("version 2 row"), "{e}");
        assert_eq!(items.len(), 3);
    }

    #[test]
    fn headers_and_versions() {
        // Version 1 (or none) has no owner columns; a version line later in the file is a comment.
        let input = format!("#version:1\nx, {RFC4226_KEY}\n# version: 2\ny, {RFC4226_KEY}\n");
        let serials: Vec<_> = run(&input).into_iter().map(|t| t.unwrap().serial).collect();
        assert_eq!(serials, ["x", "y"]);
        assert!(matches!(
            OathCsv::open(&b"# version: 3\n"[..]),
            Err(FileError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            OathCsv::open(&b"# version: two\n"[..]),
            Err(FileError::UnsupportedVersion { .. })
        ));
        assert_eq!(run("").len(), 0);
        assert_eq!(run("# only a comment").len(), 0);
    }
}
