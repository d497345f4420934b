//! yubikey-ksm key provisioning files (`ykksm`): a `# ykksm 1` first line, then
//! `serialNr,publicName,internalName,aesKey,lockCode,created,accessed[,progflags] # comment`.
//!
//! Each row becomes a Yubico OTP token named like a Yubico-format CSV row, `UBAM<serialNr>_X` (the file
//! does not say which slot was programmed), with the public name as description and OTP prefix and the
//! internal name as the private id. Only 128-bit AES keys are imported: the YubiKey OTP uses AES-128.

use std::io::BufRead;

use crate::lines::{LineReader, fields};
use crate::token::{
    ImportedToken, ItemError, add_yubikey_ids, base_info, hex_secret, is_hex_of_len,
};
use crate::{FileError, modhex};

/// Streaming ykksm reader.
pub struct Ykksm<R> {
    lines: LineReader<R>,
    done: bool,
}

impl<R: BufRead> Ykksm<R> {
    /// Checks the `# ykksm 1` header (blank lines before it are tolerated).
    pub fn open(reader: R) -> Result<Self, FileError> {
        let mut lines = LineReader::new(reader);
        loop {
            if !lines.advance()? {
                return Err(FileError::NotYkksm);
            }
            let Ok(text) = lines.line() else {
                return Err(FileError::NotYkksm);
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let words: Vec<&str> = text.trim_start_matches('#').split_whitespace().collect();
            if !text.starts_with('#') || words.first() != Some(&"ykksm") {
                return Err(FileError::NotYkksm);
            }
            if words.get(1) != Some(&"1") || words.len() != 2 {
                return Err(FileError::UnsupportedVersion {
                    what: "ykksm",
                    version: words[1..].join(" "),
                });
            }
            return Ok(Ykksm { lines, done: false });
        }
    }
}

impl<R: BufRead> Iterator for Ykksm<R> {
    type Item = Result<ImportedToken, ItemError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.lines.advance() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    self.done = true;
                    let line = self.lines.number() + 1;
                    return Some(Err(ItemError::fatal(line, format!("read error: {e}"))));
                }
            }
            let number = self.lines.number();
            match self.lines.line() {
                Ok(text) => {
                    if let Some(item) = parse_row(text, number) {
                        return Some(item);
                    }
                }
                Err(problem) => return Some(Err(ItemError::new(number, None, problem.reason()))),
            }
        }
        None
    }
}

fn parse_row(text: &str, line: usize) -> Option<Result<ImportedToken, ItemError>> {
    let data = text.split('#').next().unwrap_or_default().trim();
    if data.is_empty() {
        return None;
    }
    let cols = fields(data);
    if cols.len() < 7 {
        return Some(Err(ItemError::new(
            line,
            None,
            format!("{} columns; a ykksm row has at least 7", cols.len()),
        )));
    }
    let (serial_no, public, internal, key) = (cols[0], cols[1], cols[2], cols[3]);
    if serial_no.is_empty() || !serial_no.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Err(ItemError::new(
            line,
            None,
            format!("serial number '{serial_no}' is not a decimal number"),
        )));
    }
    let serial = format!("UBAM{serial_no}_X");
    let err = |reason: &str| Some(Err(ItemError::new(line, Some(&serial), reason)));
    if public.len() > 32 || (!public.is_empty() && !modhex::is_modhex(public)) {
        return err("publicName is not 0-16 bytes of modhex");
    }
    if !is_hex_of_len(internal, 6) {
        return err("internalName is not 12 hex digits");
    }
    if !is_hex_of_len(key, 16) {
        return if matches!(key.len(), 48 | 64) {
            err("192- and 256-bit AES keys are not used by Yubico OTP")
        } else {
            err("aesKey is not 32 hex digits")
        };
    }
    let Some(otpkey) = hex_secret(key) else {
        return err("aesKey is not hex");
    };
    let mut info = base_info();
    add_yubikey_ids(&mut info, public, Some(internal));
    Some(Ok(ImportedToken {
        serial,
        tokentype: "yubikey".to_owned(),
        otpkey,
        otplen: 32 + u32::try_from(public.len()).unwrap_or(0),
        hashlib: None,
        counter: 0,
        timestep: None,
        description: public.to_owned(),
        user: None,
        line,
        info,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_provisioning_format_examples() {
        // The "valid data lines" of yubikey-ksm's doc/Key_Provisioning_Format.adoc, with CRLF and comments.
        let input = "# ykksm 1\r\n\
            # generated by ykksm-gen-keys\r\n\
            4711,dlcfffckrcde,ca62baca62ba,ecde18dbe76fbd0c33330f1c354871db,be70aeca62ba,2009-01-22 00:25:11,\r\n\
            4712,,ca62baca62ba,ecde18dbe76fbd0c33330f1c354871db,be70aeca62ba,2009-01-22 00:25:11,2009-02-13 00:05:40\r\n\
            4713,dlcfffckrcdedlcf,ca62baca62ba,ecde18dbe76fbd0c33330f1c354871db,be70aeca62ba,2009-01-22 00:25:11,2009-02-13 00:05:40,0\r\n\
            4714,dlcfffckrcdedlcf,ca62baca62ba,ecde18dbe76fbd0c33330f1c354871db,be70aeca62ba,2009-01-22 00:25:11,2009-02-13 00:05:40,4711 # spare\r\n";
        let items: Vec<_> = Ykksm::open(input.as_bytes())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let got: Vec<_> = items
            .iter()
            .map(|t| (t.serial.as_str(), t.otplen, t.description.as_str(), t.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("UBAM4711_X", 44, "dlcfffckrcde", 3),
                ("UBAM4712_X", 32, "", 4),
                ("UBAM4713_X", 48, "dlcfffckrcdedlcf", 5),
                ("UBAM4714_X", 48, "dlcfffckrcdedlcf", 6),
            ]
        );
        let t = &items[0];
        assert_eq!(t.tokentype, "yubikey");
        assert_eq!(hex::encode(&*t.otpkey), "ecde18dbe76fbd0c33330f1c354871db");
        assert_eq!(
            t.info.get("yubikey.tokenid").map(String::as_str),
            Some("ca62baca62ba")
        );
        assert_eq!(
            t.info.get("yubikey.prefix").map(String::as_str),
            Some("dlcfffckrcde")
        );
        assert!(!items[1].info.contains_key("yubikey.prefix"));
    }

    #[test]
    fn header_is_required_and_bad_rows_are_reported() {
        assert!(matches!(
            Ykksm::open(&b"4711,dlcfffckrcde\n"[..]),
            Err(FileError::NotYkksm)
        ));
        assert!(matches!(Ykksm::open(&b""[..]), Err(FileError::NotYkksm)));
        assert!(matches!(
            Ykksm::open(&b"# ykksm 2\n"[..]),
            Err(FileError::UnsupportedVersion { .. })
        ));
        let input = "\n#ykksm 1\n\
            x711,dlcfffckrcde,ca62baca62ba,ecde18dbe76fbd0c33330f1c354871db,be70aeca62ba,,\n\
            4711,dlcfffckrcda,ca62baca62ba,ecde18dbe76fbd0c33330f1c354871db,be70aeca62ba,,\n\
            4712,dlcfffckrcde,ca62baca62,ecde18dbe76fbd0c33330f1c354871db,be70aeca62ba,,\n\
            4713,dlcfffckrcde,ca62baca62ba,ecde18dbe76fbd0c33330f1c354871dbecde18dbe76fbd0c,be70aeca62ba,,\n\
            4714,dlcfffckrcde\n";
        let errs: Vec<_> = Ykksm::open(input.as_bytes())
            .unwrap()
            .map(|i| i.unwrap_err())
            .collect();
        let got: Vec<_> = errs.iter().map(|e| (e.line, e.serial.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (3, None),
                (4, Some("UBAM4711_X")),
                (5, Some("UBAM4712_X")),
                (6, Some("UBAM4713_X")),
                (7, None),
            ]
        );
        assert!(errs[3].reason.contains("192-"), "{}", errs[3]);
    }
}
