//! YubiKey CSV (`yubikeycsv`): the "Yubico format" written by ykman `otp yubiotp -O FILE` and the
//! Personalization Tool, and the tool's "traditional" log format, named as privacyIDEA names them.
//!
//! Yubico format: `serial,public_id,private_id,key,access_code,timestamp,` (an OATH-HOTP row has the
//! initial moving factor in the 3rd column, usually `0`, and a 20-byte key; a static row has it empty).
//! Serials: `UBAM<serial>_X` (Yubico OTP), `UBOM<serial>_X` (OATH-HOTP): the format has no slot.
//!
//! Traditional format (Personalization Tool `yubikeylogger.cpp`): `mode,timestamp,slot,public_id,private_id,
//! key,cur_access,new_access,oath_fixed_modhex1,oath_fixed_modhex2,oath_fixed_modhex,hotp_digits,
//! moving_factor_seed,strong_pw1,strong_pw2,send_ref,chal_btn_trig,hmac_lt64`. The timestamp is in the
//! desktop's locale, so a row with more than 18 columns has commas in it and the surplus is taken as
//! part of the timestamp. Serials: `UBAM<public id as a number, 8 digits or more>_<slot>`, `UBOM...`.
//!
//! Where privacyIDEA 3.7 ignores what the file says (HOTP digits and start counter of a traditional row,
//! a non-zero moving factor in a Yubico-format OATH row), Tessera reads it. Static-password rows are
//! reported, not imported: the password cannot be computed from the file (privacyIDEA skips them too).

use std::io::BufRead;

use crate::lines::{LineReader, fields, next_item};
use crate::modhex;
use crate::token::{
    ImportedToken, ItemError, add_yubikey_ids, base_info, hex_secret, is_hex_of_len,
};

/// Number of columns the traditional format always writes.
const TRADITIONAL_COLUMNS: usize = 18;

/// Streaming YubiKey CSV reader.
pub struct YubikeyCsv<R> {
    lines: LineReader<R>,
    done: bool,
}

impl<R: BufRead> YubikeyCsv<R> {
    /// A reader over the whole file (both formats may even be mixed).
    pub fn new(reader: R) -> Self {
        YubikeyCsv {
            lines: LineReader::new(reader),
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for YubikeyCsv<R> {
    type Item = Result<ImportedToken, ItemError>;

    fn next(&mut self) -> Option<Self::Item> {
        next_item(&mut self.lines, &mut self.done, parse_row)
    }
}

/// One row; `None` for rows that describe no token (blank, comments, the tool's log events).
fn parse_row(text: &str, line: usize) -> Option<Result<ImportedToken, ItemError>> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    let cols = fields(trimmed);
    let mode = cols[0].to_ascii_lowercase();
    if mode == "logging start" || mode.starts_with("configuration ") {
        return None;
    }
    if cols.len() < 6 {
        return Some(Err(ItemError::new(
            line,
            None,
            format!("{} columns; a YubiKey CSV row has at least 6", cols.len()),
        )));
    }
    if !cols[0].is_empty() && cols[0].bytes().all(|b| b.is_ascii_digit()) {
        return Some(yubico_format(&cols, line));
    }
    Some(traditional(&cols, &mode, line))
}

/// `serial,public_id,private_id|moving_factor|"",key,access_code,timestamp,`
fn yubico_format(cols: &[&str], line: usize) -> Result<ImportedToken, ItemError> {
    let (serial_no, public_id, third, key) = (cols[0], cols[1], cols[2], cols[3]);
    if third.is_empty() {
        return Err(ItemError::new(
            line,
            Some(&format!("UBSM{serial_no}_X")),
            "static password (or challenge-response) slot: no OTP secret to import",
        ));
    }
    if is_hex_of_len(key, 20) {
        let serial = format!("UBOM{serial_no}_X");
        let counter = third.parse::<u64>().map_err(|_| {
            ItemError::new(
                line,
                Some(&serial),
                format!("moving factor '{third}' is not a number"),
            )
        })?;
        return hotp(serial, public_id, key, 6, counter, line);
    }
    let serial = format!("UBAM{serial_no}_X");
    if !is_hex_of_len(third, 6) {
        return Err(ItemError::new(
            line,
            Some(&serial),
            "neither an OATH-HOTP row (moving factor, 20-byte key) nor a Yubico OTP row \
             (12 hex digit private id, 16-byte key)",
        ));
    }
    yubikey(serial, public_id, Some(third), key, line)
}

/// `mode,timestamp(with commas?),slot,public_id,private_id,key,...,hotp_digits,moving_factor,...`
fn traditional(cols: &[&str], mode: &str, line: usize) -> Result<ImportedToken, ItemError> {
    let shift = cols.len().saturating_sub(TRADITIONAL_COLUMNS);
    let col = |n: usize| -> &str {
        let i = if n >= 2 { n + shift } else { n };
        cols.get(i).copied().unwrap_or_default()
    };
    let (slot, public_id, private_id, key) = (col(2), col(3), col(4), col(5));
    let prefix = match mode {
        "yubico otp" => "UBAM",
        "oath-hotp" => "UBOM",
        m if m.starts_with("static password") => "UBSM",
        m if m.starts_with("challenge-response") => {
            return Err(ItemError::new(
                line,
                None,
                "challenge-response slot: no OTP token to import",
            ));
        }
        _ => {
            return Err(ItemError::new(
                line,
                None,
                format!(
                    "unknown mode '{}' (expected Yubico OTP, OATH-HOTP or a YubiKey serial number)",
                    cols[0]
                ),
            ));
        }
    };
    if public_id.is_empty() {
        return Err(ItemError::new(
            line,
            None,
            "no public id: the token cannot be named (privacyIDEA skips such rows too)",
        ));
    }
    let number = modhex::public_id_number(public_id).ok_or_else(|| {
        ItemError::new(line, None, format!("public id '{public_id}' is not modhex"))
    })?;
    let serial = format!("{prefix}{number:08}_{slot}");
    match prefix {
        "UBAM" => yubikey(serial, public_id, Some(private_id), key, line),
        "UBOM" => {
            let otplen = if col(11) == "8" { 8 } else { 6 };
            let counter = col(12).parse::<u64>().unwrap_or(0);
            hotp(serial, public_id, key, otplen, counter, line)
        }
        _ => Err(ItemError::new(
            line,
            Some(&serial),
            "static password slot: the password cannot be computed from the file",
        )),
    }
}

/// A Yubico OTP (AES) token.
fn yubikey(
    serial: String,
    public_id: &str,
    private_id: Option<&str>,
    key: &str,
    line: usize,
) -> Result<ImportedToken, ItemError> {
    let err = |reason: &str| ItemError::new(line, Some(&serial), reason);
    if !is_hex_of_len(key, 16) {
        return Err(err("the AES key is not 32 hex digits"));
    }
    if !public_id.is_empty() && !modhex::is_modhex(public_id) {
        return Err(err("the public id is not modhex"));
    }
    let private_id = private_id.filter(|p| !p.is_empty());
    if private_id.is_some_and(|p| !is_hex_of_len(p, 6)) {
        return Err(err("the private id is not 12 hex digits"));
    }
    let otpkey = hex_secret(key).ok_or_else(|| err("the AES key is not hex"))?;
    let mut info = base_info();
    add_yubikey_ids(&mut info, public_id, private_id);
    Ok(ImportedToken {
        serial,
        tokentype: "yubikey".to_owned(),
        otpkey,
        otplen: 32 + u32::try_from(public_id.len()).unwrap_or(0),
        hashlib: None,
        counter: 0,
        timestep: None,
        description: public_id.to_owned(),
        user: None,
        line,
        info,
    })
}

/// An OATH-HOTP (HMAC-SHA1) token.
fn hotp(
    serial: String,
    public_id: &str,
    key: &str,
    otplen: u32,
    counter: u64,
    line: usize,
) -> Result<ImportedToken, ItemError> {
    let otpkey = hex_secret(key)
        .ok_or_else(|| ItemError::new(line, Some(&serial), "the HMAC key is not hex"))?;
    Ok(ImportedToken {
        serial,
        tokentype: "hotp".to_owned(),
        otpkey,
        otplen,
        hashlib: Some("sha1".to_owned()),
        counter,
        timestep: None,
        description: public_id.to_owned(),
        user: None,
        line,
        info: base_info(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Vec<Result<ImportedToken, ItemError>> {
        YubikeyCsv::new(input.as_bytes()).collect()
    }

    /// (serial, type, key hex, otplen, counter, description) of a good item.
    fn summary(t: &ImportedToken) -> (String, String, String, u32, u64, String) {
        (
            t.serial.clone(),
            t.tokentype.clone(),
            hex::encode(&*t.otpkey),
            t.otplen,
            t.counter,
            t.description.clone(),
        )
    }

    fn check(input: &str, want: &[(&str, &str, &str, u32, u64, &str)]) {
        let got: Vec<_> = run(input)
            .iter()
            .map(|i| summary(i.as_ref().unwrap()))
            .collect();
        let want: Vec<_> = want
            .iter()
            .map(|(s, t, k, l, c, d)| {
                (
                    s.to_string(),
                    t.to_string(),
                    k.to_string(),
                    *l,
                    *c,
                    d.to_string(),
                )
            })
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn ykman_yubico_format_line() {
        // Written by ykman 5.9.2 against the virtual YubiKey (virtual-yubikey.md §5):
        //   ykman --reader "CCID 00 00" otp yubiotp -f -S -p 0a1b2c3d4e5f \
        //         -k 00112233445566778899aabbccddeeff -O keys.csv 2
        let items = run(
            "12345678,vvccccnrhbfu,0a1b2c3d4e5f,00112233445566778899aabbccddeeff,,2026-12-03T16:11:41,\n",
        );
        let t = items[0].as_ref().unwrap();
        assert_eq!(
            summary(t),
            (
                "UBAM12345678_X".into(),
                "yubikey".into(),
                "00112233445566778899aabbccddeeff".into(),
                44,
                0,
                "vvccccnrhbfu".into()
            )
        );
        assert_eq!(t.hashlib, None);
        assert_eq!(
            t.info.get("yubikey.prefix").map(String::as_str),
            Some("vvccccnrhbfu")
        );
        assert_eq!(
            t.info.get("yubikey.tokenid").map(String::as_str),
            Some("0a1b2c3d4e5f")
        );
        assert_eq!(
            t.info.get("tokenkind").map(String::as_str),
            Some("hardware")
        );
    }

    #[test]
    fn privacyidea_docstring_examples_in_yubico_format() {
        // parseYubicoCSV's docstring (privacyidea/lib/importotp.py), with its comment lines.
        let input = "# OATH mode\n\
            508326,,0,69cfb9202438ca68964ec3244bfa4843d073a43b,,2013-12-12T08:41:07,\n\
            1382042,,0,bf7efc1c8b6f23604930a9ce693bdd6c3265be00,,2013-12-12T08:41:17,\n\
            # Yubico mode\n\
            508326,cccccccccccc,83cebdfb7b93,a47c5bf9c152202f577be6721c0113af,,2013-12-12T08:43:17,\n";
        check(
            input,
            &[
                (
                    "UBOM508326_X",
                    "hotp",
                    "69cfb9202438ca68964ec3244bfa4843d073a43b",
                    6,
                    0,
                    "",
                ),
                (
                    "UBOM1382042_X",
                    "hotp",
                    "bf7efc1c8b6f23604930a9ce693bdd6c3265be00",
                    6,
                    0,
                    "",
                ),
                (
                    "UBAM508326_X",
                    "yubikey",
                    "a47c5bf9c152202f577be6721c0113af",
                    44,
                    0,
                    "cccccccccccc",
                ),
            ],
        );
        let static_row = run("508326,,,9e2fd386224a7f77e9b5aee775464033,,2013-12-12T08:44:34,\n");
        let e = static_row[0].as_ref().unwrap_err();
        assert_eq!((e.line, e.serial.as_deref()), (1, Some("UBSM508326_X")));
        assert!(e.reason.contains("static"), "{e}");
    }

    #[test]
    fn traditional_format_rows_named_as_privacyidea_named_them() {
        // Rows from the parseYubicoCSV docstring; privacyIDEA 3.7.1 stored them as UBAM280782705994231_1
        // (yubikey, otplen 44, description vvgutbiedkvi) and UBOM00000000_1 (hotp, 6, cccccccccccc): answer 93.
        let input = "LOGGING START,12/11/2013 11:09\n\
            Yubico OTP,12/11/2013 11:10,1,vvgutbiedkvi,ab86c04de6a3,d26a7c0f85fdda28bd816e406342b214,,,0,0,0,0,0,0,0,0,0,0\n\
            OATH-HOTP,11.12.13 18:55,1,cccccccccccc,,916821d3a138bf855e70069605559a206ba854cd,,,0,0,0,6,0,0,0,0,0,0\n";
        let items = run(input);
        check(
            input,
            &[
                (
                    "UBAM280782705994231_1",
                    "yubikey",
                    "d26a7c0f85fdda28bd816e406342b214",
                    44,
                    0,
                    "vvgutbiedkvi",
                ),
                (
                    "UBOM00000000_1",
                    "hotp",
                    "916821d3a138bf855e70069605559a206ba854cd",
                    6,
                    0,
                    "cccccccccccc",
                ),
            ],
        );
        assert_eq!(items[0].as_ref().unwrap().line, 2);
        let yk = items[0].as_ref().unwrap();
        assert_eq!(
            yk.info.get("yubikey.tokenid").map(String::as_str),
            Some("ab86c04de6a3")
        );
    }

    #[test]
    fn traditional_digits_counter_and_a_locale_timestamp_with_a_comma() {
        // 8 digits, moving factor 32, slot 2, and a timestamp "Dec 3, 2026 4:11 PM" (19 columns).
        let input = "OATH-HOTP,Dec 3, 2026 4:11 PM,2,cccccccccccb,,3132333435363738393031323334353637383930,,,0,0,0,8,32,0,0,0,0,0\n";
        check(
            input,
            &[(
                "UBOM00000001_2",
                "hotp",
                "3132333435363738393031323334353637383930",
                8,
                32,
                "cccccccccccb",
            )],
        );
    }

    #[test]
    fn rows_that_cannot_be_imported_are_reported() {
        let input = "Static Password,11.12.13 19:08,1,,d5a3d50327dc,0e8e37b0e38b314a56748c030f58d21d,,,0,0,0,0,0,0,0,0,0,0\n\
            Static Password: Scan Code,11.12.13 19:08,1,vvgutbiedkvi,,0e8e37b0e38b314a56748c030f58d21d,,,0,0,0,0,0,0,0,0,0,0\n\
            Challenge-Response: HMAC-SHA1,11.12.13 19:09,2,,,0e8e37b0e38b314a56748c030f58d21d00000000,,,0,0,0,0,0,0,0,0,0,0\n\
            Yubico OTP,12/11/2013 11:10,1,vvgutbiedkvx,ab86c04de6a3,d26a7c0f85fdda28bd816e406342b214,,,0,0,0,0,0,0,0,0,0,0\n\
            Yubico OTP,12/11/2013 11:10,1,vvgutbiedkvi,ab86c04de6a3,d26a7c0f85fdda28,,,0,0,0,0,0,0,0,0,0,0\n\
            12345678,vvccccnrhbfu,0a1b2c,00112233445566778899aabbccddeeff,,2026-12-03T16:11:41,\n\
            12345678,too,short\n\
            Yubico OTTP,12/11/2013 11:10,1,vvgutbiedkvi,ab86c04de6a3,d26a7c0f85fdda28bd816e406342b214\n";
        let errs: Vec<_> = run(input).into_iter().map(|i| i.unwrap_err()).collect();
        let got: Vec<_> = errs.iter().map(|e| (e.line, e.serial.clone())).collect();
        assert_eq!(
            got,
            vec![
                (1, None),
                (2, Some("UBSM280782705994231_1".into())),
                (3, None),
                (4, None),
                (5, Some("UBAM280782705994231_1".into())),
                (6, Some("UBAM12345678_X".into())),
                (7, None),
                (8, None),
            ]
        );
        assert!(errs[3].reason.contains("not modhex"), "{}", errs[3]);
        assert!(errs[4].reason.contains("AES key"), "{}", errs[4]);
        assert!(errs[7].reason.contains("unknown mode"), "{}", errs[7]);
    }
}
