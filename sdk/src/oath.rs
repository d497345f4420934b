//! OATH one-time passwords: RFC 4226 dynamic truncation and HOTP, RFC 6238 time steps, computed
//! with a key the plugin holds only as a handle ([`HmacKey`]), and the provisioning URIs
//! (`otpauth://`, `oathtoken://`) and `/token/init` detail entries privacyIDEA answers with.

/// Placeholder the host replaces with the token key in lower-case hex (see WIT `detail-entry`).
pub const SECRET_HEX: &str = "{secret-hex}";
/// Placeholder the host replaces with the token key in unpadded RFC 4648 base32.
pub const SECRET_BASE32: &str = "{secret-base32}";

/// Hash function of the HMAC (privacyIDEA's `hashlib`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hashlib {
    /// HMAC-SHA-1 (the default; 20-byte keys).
    Sha1,
    /// HMAC-SHA-256 (32-byte keys).
    Sha256,
    /// HMAC-SHA-512 (64-byte keys).
    Sha512,
}

impl Hashlib {
    /// The accepted `hashlib` values, as privacyIDEA spells them.
    pub const NAMES: [&'static str; 3] = ["sha1", "sha256", "sha512"];

    /// Parse a `hashlib` value (`sha1`, `sha256`, `sha512`, any case).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "sha1" => Some(Hashlib::Sha1),
            "sha256" => Some(Hashlib::Sha256),
            "sha512" => Some(Hashlib::Sha512),
            _ => None,
        }
    }

    /// The `hashlib` value (`sha1`, ...), as stored in token info.
    pub fn name(self) -> &'static str {
        match self {
            Hashlib::Sha1 => "sha1",
            Hashlib::Sha256 => "sha256",
            Hashlib::Sha512 => "sha512",
        }
    }

    /// The `algorithm` value of an otpauth URI (`SHA1`, ...).
    pub fn uri_name(self) -> &'static str {
        match self {
            Hashlib::Sha1 => "SHA1",
            Hashlib::Sha256 => "SHA256",
            Hashlib::Sha512 => "SHA512",
        }
    }

    /// Length in bytes of a generated key: the hash's output size (RFC 4226 §4 R6, RFC 6238 §5.1).
    pub fn key_len(self) -> u32 {
        match self {
            Hashlib::Sha1 => 20,
            Hashlib::Sha256 => 32,
            Hashlib::Sha512 => 64,
        }
    }
}

/// A key that can compute an HMAC without handing out its bytes. In a plugin this is the host's
/// `secret` resource; native unit tests implement it with a Rust HMAC.
pub trait HmacKey {
    /// HMAC of `data` with this key.
    fn hmac(&self, alg: Hashlib, data: &[u8]) -> Vec<u8>;
}

/// RFC 4226 §5.3 dynamic truncation of an HMAC value to a `digits`-digit number. None if `mac`
/// is too short for the offset its last byte selects (never the case for 20, 32 or 64 bytes).
pub fn truncate(mac: &[u8], digits: u32) -> Option<u32> {
    let offset = usize::from(mac.last()? & 0x0f);
    let bytes: [u8; 4] = mac.get(offset..offset + 4)?.try_into().ok()?;
    let code = u32::from_be_bytes(bytes) & 0x7fff_ffff;
    // 10^10 exceeds every 31-bit code, so larger `digits` leave the code unchanged.
    let modulus = 10u64.pow(digits.min(10));
    u32::try_from(u64::from(code) % modulus).ok()
}

/// The HOTP value (RFC 4226) of `key` at `counter`, as a number. None only if the key returned
/// an HMAC too short to truncate.
pub fn hotp<K: HmacKey + ?Sized>(key: &K, alg: Hashlib, counter: u64, digits: u32) -> Option<u32> {
    truncate(&key.hmac(alg, &counter.to_be_bytes()), digits)
}

/// An OTP value as the user types it: `digits` digits, zero-padded.
pub fn format_otp(value: u32, digits: u32) -> String {
    format!("{value:0width$}", width = digits as usize)
}

/// The value of a typed OTP if it is exactly `digits` ASCII digits, else none (a wrong length or
/// any other character can never match, so callers answer `no-match` without computing).
pub fn parse_otp(otp: &str, digits: u32) -> Option<u32> {
    if otp.len() != digits as usize || !otp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // 10 digits may exceed u32; no HOTP value can then match a larger number anyway.
    otp.parse::<u64>().ok().and_then(|v| u32::try_from(v).ok())
}

/// The first counter in `counters` whose HOTP value is `value`.
pub fn find_counter<K, I>(
    key: &K,
    alg: Hashlib,
    digits: u32,
    value: u32,
    counters: I,
) -> Option<u64>
where
    K: HmacKey + ?Sized,
    I: IntoIterator<Item = u64>,
{
    counters
        .into_iter()
        .find(|c| hotp(key, alg, *c, digits) == Some(value))
}

/// The RFC 6238 time step of Unix time `unix` shifted by `shift` seconds: `(unix + shift) / step`
/// rounded down, 0 before the epoch. A `step` of 0 is treated as 1.
pub fn time_step(unix: u64, shift: i64, step: u32) -> u64 {
    let t = i128::from(unix) + i128::from(shift);
    let step = i128::from(step.max(1));
    u64::try_from(t.max(0) / step).unwrap_or(u64::MAX)
}

/// Percent-encode `s` for a URI path segment or query value: everything except the RFC 3986
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`) becomes `%XX` of its UTF-8 bytes. (privacyIDEA's
/// Python `quote` also leaves `/` alone; here it is encoded, so a label cannot add a path level.)
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Event-based (HOTP) or time-based (TOTP) token, for the provisioning URIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OathKind {
    /// HOTP: `otpauth://hotp/...&counter=1`.
    Hotp,
    /// TOTP with a time step of `period` seconds: `otpauth://totp/...&period=30`.
    Totp {
        /// Time step in seconds.
        period: u32,
    },
}

/// What an authenticator app needs to add an OATH token, rendered as privacyIDEA 3.x renders it.
/// The key appears only as the placeholders [`SECRET_BASE32`] / [`SECRET_HEX`].
#[derive(Clone, Copy, Debug)]
pub struct Provisioning<'a> {
    /// HOTP or TOTP.
    pub kind: OathKind,
    /// The account label shown in the app; privacyIDEA's default label is the serial.
    pub label: &'a str,
    /// The issuer (privacyIDEA's `tokenissuer`, default `privacyIDEA`).
    pub issuer: &'a str,
    /// Number of digits.
    pub digits: u32,
    /// HMAC hash; `algorithm=` is written only when it is not SHA-1, as privacyIDEA does.
    pub hashlib: Hashlib,
}

impl Provisioning<'_> {
    /// The Key URI for Google Authenticator and compatible apps, for example
    /// `otpauth://hotp/OATH00001C1B?secret={secret-base32}&counter=1&digits=6&issuer=privacyIDEA`.
    /// privacyIDEA writes `counter=1` for every new HOTP token; so does this.
    pub fn otpauth_uri(&self) -> String {
        let (kind, moving) = match self.kind {
            OathKind::Hotp => ("hotp", "counter=1&".to_owned()),
            OathKind::Totp { period } => ("totp", format!("period={period}&")),
        };
        let algorithm = match self.hashlib {
            Hashlib::Sha1 => String::new(),
            other => format!("algorithm={}&", other.uri_name()),
        };
        format!(
            "otpauth://{kind}/{label}?secret={SECRET_BASE32}&{moving}{algorithm}digits={digits}&issuer={issuer}",
            label = percent_encode(self.label),
            digits = self.digits,
            issuer = percent_encode(self.issuer),
        )
    }

    /// The URI for the "OATH Token" iOS app, for example
    /// `oathtoken:///addToken?name=OATH00001C1B&lockdown=true&key={secret-hex}`
    /// (`&timeBased=true` added for TOTP).
    pub fn oathtoken_uri(&self) -> String {
        let time_based = match self.kind {
            OathKind::Hotp => "",
            OathKind::Totp { .. } => "&timeBased=true",
        };
        format!(
            "oathtoken:///addToken?name={}&lockdown=true&key={SECRET_HEX}{time_based}",
            percent_encode(self.label)
        )
    }

    /// The `detail` entries of privacyIDEA's `/token/init` answer for an OATH token:
    /// `googleurl`, `oathurl` and `otpkey`, each with a QR code of its `value`.
    #[cfg(feature = "token")]
    pub fn detail(&self) -> Vec<crate::token::DetailEntry> {
        use crate::token::DetailEntry;
        let entry = |key: &str, fields: &[(&str, String)]| DetailEntry {
            key: key.to_owned(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            qr_field: Some("value".to_owned()),
        };
        vec![
            entry(
                "googleurl",
                &[
                    ("description", "URL for google Authenticator".to_owned()),
                    ("value", self.otpauth_uri()),
                ],
            ),
            entry(
                "oathurl",
                &[
                    ("description", "URL for OATH token".to_owned()),
                    ("value", self.oathtoken_uri()),
                ],
            ),
            entry(
                "otpkey",
                &[
                    ("description", "OTP seed".to_owned()),
                    ("value", format!("seed://{SECRET_HEX}")),
                    ("value_b32", SECRET_BASE32.to_owned()),
                ],
            ),
        ]
    }
}

/// A key held in the plugin's own memory, for native unit tests of plugin logic against RFC
/// vectors. Only with the `soft-key` feature (or in this crate's tests): a real plugin holds keys
/// as host [`Secret`](crate::token::Secret) handles and never sees their bytes.
#[cfg(any(test, feature = "soft-key"))]
#[derive(Clone, Debug)]
pub struct SoftKey<'a>(pub &'a [u8]);

#[cfg(any(test, feature = "soft-key"))]
impl HmacKey for SoftKey<'_> {
    fn hmac(&self, alg: Hashlib, data: &[u8]) -> Vec<u8> {
        use hmac::{Hmac, Mac};
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            // HMAC takes keys of any length.
            #[allow(clippy::expect_used)]
            let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match alg {
            Hashlib::Sha1 => run::<Hmac<sha1::Sha1>>(self.0, data),
            Hashlib::Sha256 => run::<Hmac<sha2::Sha256>>(self.0, data),
            Hashlib::Sha512 => run::<Hmac<sha2::Sha512>>(self.0, data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC4226_KEY: SoftKey<'static> = SoftKey(b"12345678901234567890");

    #[test]
    fn truncation_example_of_rfc4226_section_5_4() {
        let mac = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19,
            0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
        ];
        assert_eq!(truncate(&mac, 6), Some(872921));
        assert_eq!(truncate(&mac, 10), Some(0x50ef7f19));
        assert_eq!(truncate(&mac[..8], 6), None);
        assert_eq!(truncate(&[], 6), None);
    }

    #[test]
    fn hotp_values_of_rfc4226_appendix_d() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.into_iter().enumerate() {
            assert_eq!(
                hotp(&RFC4226_KEY, Hashlib::Sha1, counter as u64, 6),
                Some(want),
                "counter {counter}"
            );
        }
    }

    #[test]
    fn totp_values_of_rfc6238_appendix_b() {
        let sha1 = SoftKey(b"12345678901234567890");
        let sha256 = SoftKey(b"12345678901234567890123456789012");
        let sha512 = SoftKey(b"1234567890123456789012345678901234567890123456789012345678901234");
        let rows: [(u64, [&str; 3]); 6] = [
            (59, ["94287082", "46119246", "90693936"]),
            (1111111109, ["07081804", "68084774", "25091201"]),
            (1111111111, ["14050471", "67062674", "99943326"]),
            (1234567890, ["89005924", "91819424", "93441116"]),
            (2000000000, ["69279037", "90698825", "38618901"]),
            (20000000000, ["65353130", "77737706", "47863826"]),
        ];
        for (time, [a, b, c]) in rows {
            let step = time_step(time, 0, 30);
            let otp = |key: &dyn HmacKey, alg| format_otp(hotp(key, alg, step, 8).unwrap(), 8);
            assert_eq!(otp(&sha1, Hashlib::Sha1), a, "sha1 at {time}");
            assert_eq!(otp(&sha256, Hashlib::Sha256), b, "sha256 at {time}");
            assert_eq!(otp(&sha512, Hashlib::Sha512), c, "sha512 at {time}");
        }
    }

    #[test]
    fn parse_otp_accepts_exactly_the_digits() {
        assert_eq!(parse_otp("755224", 6), Some(755224));
        assert_eq!(parse_otp("012345", 6), Some(12345));
        assert_eq!(parse_otp("75522", 6), None);
        assert_eq!(parse_otp("7552244", 6), None);
        assert_eq!(parse_otp("75522a", 6), None);
        assert_eq!(parse_otp("+75522", 6), None);
        assert_eq!(parse_otp("", 6), None);
        assert_eq!(parse_otp("٣٣٣٣٣٣", 6), None);
        assert_eq!(parse_otp("9999999999", 10), None);
        assert_eq!(format_otp(12345, 6), "012345");
    }

    #[test]
    fn find_counter_searches_the_given_counters() {
        assert_eq!(
            find_counter(&RFC4226_KEY, Hashlib::Sha1, 6, 520489, 0..10),
            Some(9)
        );
        assert_eq!(
            find_counter(&RFC4226_KEY, Hashlib::Sha1, 6, 520489, 0..9),
            None
        );
        assert_eq!(
            find_counter(&RFC4226_KEY, Hashlib::Sha1, 6, 755224, 1..10),
            None
        );
    }

    #[test]
    fn time_steps() {
        assert_eq!(time_step(59, 0, 30), 1);
        assert_eq!(time_step(60, 0, 30), 2);
        assert_eq!(time_step(60, -1, 30), 1);
        assert_eq!(time_step(10, -100, 30), 0);
        assert_eq!(time_step(1111111109, 0, 60), 18518518);
        assert_eq!(time_step(5, 0, 0), 5);
    }

    #[test]
    fn hashlib_names() {
        assert_eq!(Hashlib::from_name("SHA256"), Some(Hashlib::Sha256));
        assert_eq!(Hashlib::from_name("md5"), None);
        for name in Hashlib::NAMES {
            assert_eq!(Hashlib::from_name(name).unwrap().name(), name);
        }
        assert_eq!(Hashlib::Sha512.key_len(), 64);
    }

    #[test]
    fn percent_encoding_of_labels() {
        assert_eq!(percent_encode("OATH00001C1B"), "OATH00001C1B");
        assert_eq!(percent_encode("alice@example.com"), "alice%40example.com");
        assert_eq!(percent_encode("a b/c?d&e=f"), "a%20b%2Fc%3Fd%26e%3Df");
        assert_eq!(percent_encode("Jörg"), "J%C3%B6rg");
        assert_eq!(percent_encode("a-b.c_d~e"), "a-b.c_d~e");
    }

    /// Substitute the placeholders as the host does, for comparing with captured answers.
    fn fill(template: &str, hex: &str, b32: &str) -> String {
        template
            .replace(SECRET_HEX, hex)
            .replace(SECRET_BASE32, b32)
    }

    const HEX: &str = "3132333435363738393031323334353637383930";
    const B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn hotp_uris_match_privacyidea_init_answer() {
        // 20-token-init-hotp.json (privacyIDEA 3.7.1)
        let p = Provisioning {
            kind: OathKind::Hotp,
            label: "OATH00001C1B",
            issuer: "privacyIDEA",
            digits: 6,
            hashlib: Hashlib::Sha1,
        };
        assert_eq!(
            fill(&p.otpauth_uri(), HEX, B32),
            "otpauth://hotp/OATH00001C1B?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=1&digits=6&issuer=privacyIDEA"
        );
        assert_eq!(
            fill(&p.oathtoken_uri(), HEX, B32),
            "oathtoken:///addToken?name=OATH00001C1B&lockdown=true&key=3132333435363738393031323334353637383930"
        );
    }

    #[test]
    fn totp_uris_match_privacyidea_init_answer() {
        // 22-token-init-totp.json (privacyIDEA 3.7.1)
        let p = Provisioning {
            kind: OathKind::Totp { period: 30 },
            label: "TOTPBOB0001",
            issuer: "privacyIDEA",
            digits: 6,
            hashlib: Hashlib::Sha1,
        };
        assert_eq!(
            fill(&p.otpauth_uri(), HEX, B32),
            "otpauth://totp/TOTPBOB0001?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=30&digits=6&issuer=privacyIDEA"
        );
        assert_eq!(
            fill(&p.oathtoken_uri(), HEX, B32),
            "oathtoken:///addToken?name=TOTPBOB0001&lockdown=true&key=3132333435363738393031323334353637383930&timeBased=true"
        );
    }

    #[test]
    fn non_sha1_uris_name_the_algorithm_and_encode_label_and_issuer() {
        let p = Provisioning {
            kind: OathKind::Totp { period: 60 },
            label: "TOTP 1/2",
            issuer: "ACME Corp",
            digits: 8,
            hashlib: Hashlib::Sha256,
        };
        assert_eq!(
            p.otpauth_uri(),
            "otpauth://totp/TOTP%201%2F2?secret={secret-base32}&period=60&algorithm=SHA256&digits=8&issuer=ACME%20Corp"
        );
    }

    #[cfg(feature = "token")]
    #[test]
    fn detail_entries_have_privacyidea_keys_and_fields() {
        let p = Provisioning {
            kind: OathKind::Hotp,
            label: "OATH00001C1B",
            issuer: "privacyIDEA",
            digits: 6,
            hashlib: Hashlib::Sha1,
        };
        let detail = p.detail();
        let keys: Vec<&str> = detail.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["googleurl", "oathurl", "otpkey"]);
        assert_eq!(
            detail[0].fields[0],
            ("description".into(), "URL for google Authenticator".into())
        );
        assert_eq!(
            detail[1].fields[0],
            ("description".into(), "URL for OATH token".into())
        );
        assert_eq!(
            detail[2].fields,
            vec![
                ("description".into(), "OTP seed".into()),
                ("value".into(), "seed://{secret-hex}".into()),
                ("value_b32".into(), "{secret-base32}".into()),
            ]
        );
        assert!(
            detail
                .iter()
                .all(|d| d.qr_field.as_deref() == Some("value"))
        );
    }
}
