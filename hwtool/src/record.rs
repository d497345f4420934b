//! What was written to one key (for logs): the Yubico-format CSV line that ykman and the personalization tool write.

use zeroize::Zeroizing;

use crate::modhex;

/// One programmed slot, with its secrets.
#[derive(Clone, Debug)]
pub struct Record {
    pub key_serial: u32,
    pub slot: u8,
    /// The server-side serial (`UBOM…` / `UBAM…`).
    pub token_serial: String,
    /// HOTP digits; `None` for Yubico OTP.
    pub hotp_digits: Option<u8>,
    /// Yubico OTP public id (empty for HOTP).
    pub public_id: Vec<u8>,
    /// Yubico OTP private id.
    pub private_id: Option<[u8; 6]>,
    /// HOTP key (20 bytes) or AES key (16 bytes).
    pub secret: Zeroizing<Vec<u8>>,
    pub access_code: Option<[u8; 6]>,
    /// Unix time of programming.
    pub time: u64,
}

impl Record {
    /// `serial,public_id,private_id,key,access_code,timestamp,` (LF-terminated, trailing comma), as ykman 5
    /// `otp yubiotp -O` writes it; HOTP rows have an empty public id and private id `0` (privacyIDEA's reading).
    pub fn yubico_csv_line(&self) -> Zeroizing<String> {
        let private = match (self.hotp_digits, self.private_id) {
            (Some(_), _) => "0".to_string(),
            (None, Some(p)) => hex::encode(p),
            (None, None) => String::new(),
        };
        Zeroizing::new(format!(
            "{},{},{},{},{},{},\n",
            self.key_serial,
            modhex::encode(&self.public_id),
            private,
            hex::encode(&self.secret[..]),
            self.access_code.map(hex::encode).unwrap_or_default(),
            iso_utc(self.time)
        ))
    }
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC.
pub fn iso_utc(unix: u64) -> String {
    let days = i64::try_from(unix / 86_400).unwrap_or(0);
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_as_ykman_writes_them() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00");
        assert_eq!(iso_utc(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(iso_utc(1_796_315_501), "2026-12-03T16:31:41");
        let mut r = Record {
            key_serial: 12345678,
            slot: 2,
            token_serial: "UBAM12345678_2".into(),
            hotp_digits: None,
            public_id: hex::decode("ff0000bc614e").unwrap(),
            private_id: Some([0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]),
            secret: Zeroizing::new(hex::decode("00112233445566778899aabbccddeeff").unwrap()),
            access_code: None,
            time: 1_796_314_301,
        };
        // The line ykman 5.9.2 wrote for the same key (research doc §5).
        assert_eq!(
            r.yubico_csv_line().as_str(),
            "12345678,vvccccnrhbfu,0a1b2c3d4e5f,00112233445566778899aabbccddeeff,,2026-12-03T16:11:41,\n"
        );
        r.hotp_digits = Some(6);
        r.public_id.clear();
        r.secret = Zeroizing::new(hex::decode("69cfb9202438ca68964ec3244bfa4843d073a43b").unwrap());
        r.access_code = Some([1, 2, 3, 4, 5, 6]);
        assert_eq!(
            r.yubico_csv_line().as_str(),
            "12345678,,0,69cfb9202438ca68964ec3244bfa4843d073a43b,010203040506,2026-12-03T16:11:41,\n"
        );
    }
}
