//! Test and bench inputs: PSKC files encrypted the RFC 6030 way, a lazily generated OATH CSV, a byte-counting reader.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use aes::Aes128;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The pre-shared key of RFC 6030 Figure 6.
pub const PSK: [u8; 16] = [
    0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12,
];
pub const PSK_HEX: &str = "12345678901234567890123456789012";
/// The MAC key of RFC 6030 Figure 6.
pub const MAC_KEY: [u8; 20] =
    *b"\x11\x22\x33\x44\x55\x66\x77\x88\x99\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\x00";

/// AES-128-CBC, IV in front, base64 (xmlenc).
pub fn encrypt(key: &[u8], iv: [u8; 16], plain: &[u8]) -> Vec<u8> {
    let body = cbc::Encryptor::<Aes128>::new_from_slices(key, &iv)
        .unwrap()
        .encrypt_padded_vec_mut::<Pkcs7>(plain);
    [iv.as_slice(), &body].concat()
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The HMAC a `MACMethod` names.
pub fn mac(sha256: bool, key: &[u8], data: &[u8]) -> Vec<u8> {
    if sha256 {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().to_vec()
    } else {
        let mut m = <Hmac<Sha1> as Mac>::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }
}

/// The secret of key `i` of a generated file: 20 bytes.
pub fn secret_of(i: usize) -> Vec<u8> {
    let mut s = format!("{i:020}").into_bytes();
    s.truncate(20);
    s
}

/// Options for a generated PSK-encrypted PSKC file.
pub struct PskcSpec {
    pub keys: usize,
    pub sha256_mac: bool,
    /// Index of a key whose ValueMAC is spoiled.
    pub bad_mac: Option<usize>,
    /// TOTP keys (with TimeInterval 60) instead of HOTP.
    pub totp: bool,
}

/// Writes a PSKC file whose secrets are encrypted with [`PSK`] and MACed with [`MAC_KEY`], like a vendor's.
pub fn pskc_file(spec: &PskcSpec) -> String {
    let mac_uri = if spec.sha256_mac {
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
    } else {
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
    };
    let mut out = String::with_capacity(spec.keys * 1200 + 1200);
    out.push_str(&format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">
  <EncryptionKey><ds:KeyName>Pre-shared-key</ds:KeyName></EncryptionKey>
  <MACMethod Algorithm="{mac_uri}">
    <MACKey>
      <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
      <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData>
    </MACKey>
  </MACMethod>
"#,
        b64(&encrypt(&PSK, [0xa5; 16], &MAC_KEY))
    ));
    let (algorithm, data_extra) = if spec.totp {
        (
            "totp",
            "<TimeInterval><PlainValue>60</PlainValue></TimeInterval><TimeDrift><PlainValue>-2</PlainValue></TimeDrift>",
        )
    } else {
        ("hotp", "<Counter><PlainValue>42</PlainValue></Counter>")
    };
    for i in 0..spec.keys {
        let mut iv = [0u8; 16];
        iv[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let data = encrypt(&PSK, iv, &secret_of(i));
        let mut value_mac = mac(spec.sha256_mac, &MAC_KEY, &data);
        if spec.bad_mac == Some(i) {
            value_mac[0] ^= 1;
        }
        out.push_str(&format!(
            r#"  <KeyPackage>
    <DeviceInfo><Manufacturer>Acme</Manufacturer><SerialNo>ACME{i:07}</SerialNo></DeviceInfo>
    <Key Id="{i}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:{algorithm}">
      <AlgorithmParameters><Suite>SHA1</Suite><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret>
          <EncryptedValue>
            <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
            <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData>
          </EncryptedValue>
          <ValueMAC>{}</ValueMAC>
        </Secret>
        {data_extra}
      </Data>
    </Key>
  </KeyPackage>
"#,
            b64(&data),
            b64(&value_mac)
        ));
    }
    out.push_str("</KeyContainer>\n");
    out
}

/// An OATH CSV of `lines` HOTP tokens, produced as it is read (never held whole in memory).
pub struct OathCsvGen {
    next: usize,
    lines: usize,
    line: Vec<u8>,
    pos: usize,
}

impl OathCsvGen {
    pub fn new(lines: usize) -> Self {
        OathCsvGen {
            next: 0,
            lines,
            line: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for OathCsvGen {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.line.len() {
            if self.next == self.lines {
                return Ok(0);
            }
            self.line = format!(
                "TOK{:08}, {}, hotp, 6, {}\n",
                self.next,
                hex::encode(secret_of(self.next)),
                self.next % 100
            )
            .into_bytes();
            self.pos = 0;
            self.next += 1;
        }
        let n = out.len().min(self.line.len() - self.pos);
        out[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Counts the bytes taken from the reader it wraps (shared counter, readable while the reader is in use).
pub struct Counting<R> {
    pub inner: R,
    pub taken: Rc<Cell<usize>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.taken.set(self.taken.get() + n);
        Ok(n)
    }
}
