//! The YKOATH applet (client side): credentials (TOTP/HOTP, SHA-1/256/512), codes, password, reset.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use crate::apdu::Apdu;
use crate::error::{HwError, Result};
use crate::tlv;
use crate::transport::{Channel, status_error};

pub const OATH_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x01];

pub mod tag {
    pub const NAME: u8 = 0x71;
    pub const NAME_LIST: u8 = 0x72;
    pub const KEY: u8 = 0x73;
    pub const CHALLENGE: u8 = 0x74;
    pub const RESPONSE: u8 = 0x75;
    pub const TRUNCATED: u8 = 0x76;
    pub const HOTP: u8 = 0x77;
    pub const PROPERTY: u8 = 0x78;
    pub const VERSION: u8 = 0x79;
    pub const IMF: u8 = 0x7A;
    pub const ALGORITHM: u8 = 0x7B;
    pub const TOUCH: u8 = 0x7C;
}

pub mod ins {
    pub const PUT: u8 = 0x01;
    pub const DELETE: u8 = 0x02;
    pub const SET_CODE: u8 = 0x03;
    pub const RESET: u8 = 0x04;
    pub const LIST: u8 = 0xA1;
    pub const CALCULATE: u8 = 0xA2;
    pub const VALIDATE: u8 = 0xA3;
    pub const CALCULATE_ALL: u8 = 0xA4;
    pub const SEND_REMAINING: u8 = 0xA5;
}

/// Property bit: the credential needs a touch for each code.
pub const PROP_REQUIRE_TOUCH: u8 = 0x02;
/// Keys are padded to at least this length (as ykman does).
pub const MIN_KEY_SIZE: usize = 14;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OathType {
    Hotp,
    Totp,
}

impl OathType {
    pub fn bits(self) -> u8 {
        match self {
            OathType::Hotp => 0x10,
            OathType::Totp => 0x20,
        }
    }
    pub fn from_bits(b: u8) -> Option<OathType> {
        match b & 0xF0 {
            0x10 => Some(OathType::Hotp),
            0x20 => Some(OathType::Totp),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgo {
    Sha1,
    Sha256,
    Sha512,
}

impl HashAlgo {
    pub fn bits(self) -> u8 {
        match self {
            HashAlgo::Sha1 => 1,
            HashAlgo::Sha256 => 2,
            HashAlgo::Sha512 => 3,
        }
    }
    pub fn from_bits(b: u8) -> Option<HashAlgo> {
        match b & 0x0F {
            1 => Some(HashAlgo::Sha1),
            2 => Some(HashAlgo::Sha256),
            3 => Some(HashAlgo::Sha512),
            _ => None,
        }
    }
    fn block_size(self) -> usize {
        match self {
            HashAlgo::Sha512 => 128,
            _ => 64,
        }
    }
    /// HMAC of `msg` under `key` with this hash.
    pub fn hmac(self, key: &[u8], msg: &[u8]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
            // HMAC takes keys of any length; new_from_slice cannot fail for it.
            match <M as hmac::digest::KeyInit>::new_from_slice(key) {
                Ok(mut m) => {
                    m.update(msg);
                    m.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        }
        match self {
            HashAlgo::Sha1 => run::<Hmac<Sha1>>(key, msg),
            HashAlgo::Sha256 => run::<Hmac<Sha256>>(key, msg),
            HashAlgo::Sha512 => run::<Hmac<Sha512>>(key, msg),
        }
    }
    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgo::Sha1 => Sha1::digest(data).to_vec(),
            HashAlgo::Sha256 => Sha256::digest(data).to_vec(),
            HashAlgo::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Sha1 => "SHA1",
            HashAlgo::Sha256 => "SHA256",
            HashAlgo::Sha512 => "SHA512",
        }
    }
}

/// A credential to add.
#[derive(Clone, Debug)]
pub struct NewCredential {
    pub issuer: Option<String>,
    pub name: String,
    pub oath_type: OathType,
    pub algo: HashAlgo,
    pub digits: u8,
    /// TOTP step in seconds (ignored for HOTP).
    pub period: u32,
    /// HOTP start counter.
    pub counter: u32,
    pub touch: bool,
    pub secret: Vec<u8>,
}

impl NewCredential {
    /// The credential id stored on the key: `[period/][issuer:]name`, the period only for TOTP other than 30 s.
    pub fn id(&self) -> String {
        let mut id = String::new();
        if self.oath_type == OathType::Totp && self.period != 30 {
            id += &format!("{}/", self.period);
        }
        if let Some(i) = &self.issuer {
            id += &format!("{i}:");
        }
        id + &self.name
    }

    /// The key as the applet wants it: hashed if longer than the hash block, zero-padded to 14 bytes.
    pub fn processed_key(&self) -> Vec<u8> {
        let mut k = if self.secret.len() > self.algo.block_size() {
            self.algo.hash(&self.secret)
        } else {
            self.secret.clone()
        };
        if k.len() < MIN_KEY_SIZE {
            k.resize(MIN_KEY_SIZE, 0);
        }
        k
    }

    fn put_data(&self) -> Result<Vec<u8>> {
        let id = self.id();
        if id.len() > 64 {
            return Err(HwError::Invalid(format!(
                "credential id \"{id}\" is longer than 64 bytes"
            )));
        }
        if !matches!(self.digits, 6..=8) {
            return Err(HwError::Invalid(format!(
                "digits must be 6, 7 or 8, not {}",
                self.digits
            )));
        }
        let mut key = vec![self.oath_type.bits() | self.algo.bits(), self.digits];
        key.extend_from_slice(&self.processed_key());
        let mut data = tlv::encode(tag::NAME, id.as_bytes());
        data.extend(tlv::encode(tag::KEY, &key));
        if self.touch {
            data.extend_from_slice(&[tag::PROPERTY, PROP_REQUIRE_TOUCH]);
        }
        if self.oath_type == OathType::Hotp && self.counter > 0 {
            data.extend(tlv::encode(tag::IMF, &self.counter.to_be_bytes()));
        }
        Ok(data)
    }
}

/// A credential as LIST reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub oath_type: OathType,
    pub algo: HashAlgo,
    /// TOTP period parsed from the id (30 when absent).
    pub period: u32,
}

impl Credential {
    pub fn from_id(id: String, oath_type: OathType, algo: HashAlgo) -> Credential {
        let period = match (oath_type, id.split_once('/')) {
            (OathType::Totp, Some((p, _))) => p.parse().unwrap_or(30),
            _ => 30,
        };
        Credential {
            id,
            oath_type,
            algo,
            period,
        }
    }
}

/// Code = (31-bit big-endian number) mod 10^digits, zero-padded.
pub fn format_code(digits: u8, truncated: [u8; 4]) -> String {
    let v = u32::from_be_bytes(truncated) & 0x7FFF_FFFF;
    let m = 10u32.pow(u32::from(digits.min(9)));
    format!("{:0width$}", v % m, width = usize::from(digits))
}

/// The OATH key that protects the applet, from a password (PBKDF2-HMAC-SHA1, 1000 rounds, salt = device id).
pub fn derive_key(salt: &[u8], password: &str) -> [u8; 16] {
    let mut key = [0u8; 16];
    pbkdf2::pbkdf2_hmac::<Sha1>(password.as_bytes(), salt, 1000, &mut key);
    key
}

/// What SELECT told us.
#[derive(Clone, Debug)]
pub struct OathInfo {
    pub version: [u8; 3],
    pub salt: Vec<u8>,
    /// Present iff a password is set.
    pub challenge: Option<Vec<u8>>,
}

/// The OATH applet of one card.
pub struct OathSession {
    ch: Channel,
    info: OathInfo,
}

impl OathSession {
    pub fn open(mut ch: Channel) -> Result<OathSession> {
        let info = select(&mut ch)?;
        Ok(OathSession { ch, info })
    }

    pub fn into_channel(self) -> Channel {
        self.ch
    }

    pub fn info(&self) -> &OathInfo {
        &self.info
    }

    pub fn locked(&self) -> bool {
        self.info.challenge.is_some()
    }

    fn send(&mut self, apdu: Apdu, what: &str) -> Result<Vec<u8>> {
        let (data, sw) = self.ch.send(&apdu, ins::SEND_REMAINING)?;
        match sw {
            0x9000 => Ok(data),
            0x6982 => Err(HwError::OathLocked),
            _ => Err(status_error(what, sw)),
        }
    }

    /// Unlocks a password-protected applet and checks the key's answer to our own challenge.
    pub fn validate(&mut self, password: &str) -> Result<()> {
        let Some(challenge) = self.info.challenge.clone() else {
            return Ok(());
        };
        let key = derive_key(&self.info.salt, password);
        let response = HashAlgo::Sha1.hmac(&key, &challenge);
        let mut ours = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut ours);
        let mut data = tlv::encode(tag::RESPONSE, &response);
        data.extend(tlv::encode(tag::CHALLENGE, &ours));
        let (resp, sw) = self
            .ch
            .send(&Apdu::new(ins::VALIDATE, 0, 0, data), ins::SEND_REMAINING)?;
        match sw {
            0x9000 => {}
            0x6A80 | 0x6982 => return Err(HwError::OathWrongPassword),
            _ => return Err(status_error("validating the OATH password", sw)),
        }
        let tlvs = tlv::parse(&resp)?;
        if tlv::find(&tlvs, tag::RESPONSE) != Some(&HashAlgo::Sha1.hmac(&key, &ours)[..]) {
            return Err(HwError::Protocol(
                "the key's answer to our challenge is wrong: it does not hold this password".into(),
            ));
        }
        self.info.challenge = None;
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) the password. A locked applet must be validated first.
    pub fn set_password(&mut self, password: Option<&str>) -> Result<()> {
        let data = match password {
            None => tlv::encode(tag::KEY, &[]),
            Some(p) => {
                let key = derive_key(&self.info.salt, p);
                let mut k = vec![OathType::Totp.bits() | HashAlgo::Sha1.bits()];
                k.extend_from_slice(&key);
                let mut challenge = [0u8; 8];
                rand::rngs::OsRng.fill_bytes(&mut challenge);
                let mut data = tlv::encode(tag::KEY, &k);
                data.extend(tlv::encode(tag::CHALLENGE, &challenge));
                data.extend(tlv::encode(
                    tag::RESPONSE,
                    &HashAlgo::Sha1.hmac(&key, &challenge),
                ));
                data
            }
        };
        self.send(
            Apdu::new(ins::SET_CODE, 0, 0, data),
            "setting the OATH password",
        )?;
        Ok(())
    }

    pub fn put(&mut self, cred: &NewCredential) -> Result<Credential> {
        let data = cred.put_data()?;
        self.send(Apdu::new(ins::PUT, 0, 0, data), "adding the credential")?;
        Ok(Credential::from_id(cred.id(), cred.oath_type, cred.algo))
    }

    pub fn list(&mut self) -> Result<Vec<Credential>> {
        let data = self.send(Apdu::new(ins::LIST, 0, 0, vec![]), "listing credentials")?;
        let mut out = Vec::new();
        for (t, v) in tlv::parse(&data)? {
            if t != tag::NAME_LIST || v.is_empty() {
                continue;
            }
            let (Some(ty), Some(algo)) = (OathType::from_bits(v[0]), HashAlgo::from_bits(v[0]))
            else {
                continue;
            };
            out.push(Credential::from_id(
                String::from_utf8_lossy(&v[1..]).into_owned(),
                ty,
                algo,
            ));
        }
        Ok(out)
    }

    /// The code of one credential at `unix_time` (TOTP) or at the key's counter (HOTP, which advances it).
    pub fn calculate(&mut self, cred: &Credential, unix_time: u64) -> Result<String> {
        let challenge = match cred.oath_type {
            OathType::Totp => (unix_time / u64::from(cred.period.max(1)))
                .to_be_bytes()
                .to_vec(),
            OathType::Hotp => Vec::new(),
        };
        let mut data = tlv::encode(tag::NAME, cred.id.as_bytes());
        data.extend(tlv::encode(tag::CHALLENGE, &challenge));
        let resp = self.send(Apdu::new(ins::CALCULATE, 0, 1, data), "calculating a code")?;
        let tlvs = tlv::parse(&resp)?;
        let v = tlv::find(&tlvs, tag::TRUNCATED)
            .ok_or_else(|| HwError::Protocol(format!("no code in {}", hex::encode(&resp))))?;
        if v.len() != 5 {
            return Err(HwError::Protocol(format!(
                "bad truncated code {}",
                hex::encode(v)
            )));
        }
        Ok(format_code(v[0], [v[1], v[2], v[3], v[4]]))
    }

    pub fn delete(&mut self, id: &str) -> Result<()> {
        let data = tlv::encode(tag::NAME, id.as_bytes());
        match self.send(
            Apdu::new(ins::DELETE, 0, 0, data),
            "deleting the credential",
        ) {
            Err(HwError::Status { sw: 0x6A82, .. }) => Err(HwError::Invalid(format!(
                "no credential \"{id}\" on the key"
            ))),
            r => r.map(|_| ()),
        }
    }

    /// Deletes every credential and the password.
    pub fn reset(&mut self) -> Result<()> {
        self.send(
            Apdu::new(ins::RESET, 0xDE, 0xAD, vec![]),
            "resetting the OATH applet",
        )?;
        self.info = select(&mut self.ch)?;
        Ok(())
    }
}

fn select(ch: &mut Channel) -> Result<OathInfo> {
    let r = ch.select(&OATH_AID, "selecting the OATH applet")?;
    let tlvs = tlv::parse(&r)?;
    let version = match tlv::find(&tlvs, tag::VERSION) {
        Some(v) if v.len() >= 3 => [v[0], v[1], v[2]],
        _ => [0, 0, 0],
    };
    Ok(OathInfo {
        version,
        salt: tlv::find(&tlvs, tag::NAME).unwrap_or_default().to_vec(),
        challenge: tlv::find(&tlvs, tag::CHALLENGE).map(<[u8]>::to_vec),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keys_and_codes() {
        let mut c = NewCredential {
            issuer: Some("Corp".into()),
            name: "bob".into(),
            oath_type: OathType::Totp,
            algo: HashAlgo::Sha256,
            digits: 6,
            period: 60,
            counter: 0,
            touch: false,
            secret: b"short".to_vec(),
        };
        assert_eq!(c.id(), "60/Corp:bob");
        assert_eq!(c.processed_key(), b"short\0\0\0\0\0\0\0\0\0".to_vec());
        c.secret = vec![7; 65];
        assert_eq!(c.processed_key(), Sha256::digest([7u8; 65]).to_vec());
        c.period = 30;
        c.issuer = None;
        assert_eq!(c.id(), "bob");
        assert_eq!(
            Credential::from_id("60/x".into(), OathType::Totp, HashAlgo::Sha1).period,
            60
        );
        // RFC 6238 SHA-1 vector at T=59 from the research doc: 0x41397eea -> 94287082.
        assert_eq!(format_code(8, [0x41, 0x39, 0x7e, 0xea]), "94287082");
        assert_eq!(format_code(6, [0x41, 0x39, 0x7e, 0xea]), "287082");
    }

    #[test]
    fn password_key_is_pbkdf2_sha1() {
        // RFC 6070 vector 2 ("password"/"salt", 2 iterations) pins the primitive; 1000 rounds is YKOATH's count.
        let mut out = [0u8; 20];
        pbkdf2::pbkdf2_hmac::<Sha1>(b"password", b"salt", 2, &mut out);
        assert_eq!(hex::encode(out), "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
        assert_eq!(derive_key(b"salt", "password").len(), 16);
    }
}
