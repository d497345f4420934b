//! PSKC (RFC 6030) export with a pre-shared key: secrets AES-128-CBC encrypted, each with an HMAC-SHA1 MAC.

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use data_encoding::BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::enroll::random_bytes;
use crate::record::{Record, iso_utc};

const AES_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";

/// `IV ‖ AES-128-CBC(key, PKCS#7(plain))`.
pub fn encrypt(key: &[u8; 16], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let cipher = Aes128::new(GenericArray::from_slice(key));
    let pad = 16 - plain.len() % 16;
    let mut data = plain.to_vec();
    data.extend(std::iter::repeat_n(u8::try_from(pad).unwrap_or(16), pad));
    let mut out = iv.to_vec();
    let mut prev = *iv;
    for chunk in data.chunks(16) {
        let mut block = [0u8; 16];
        for (i, b) in block.iter_mut().enumerate() {
            *b = chunk[i] ^ prev[i];
        }
        let mut ga = GenericArray::clone_from_slice(&block);
        cipher.encrypt_block(&mut ga);
        prev.copy_from_slice(&ga);
        out.extend_from_slice(&ga);
    }
    out
}

fn random16() -> [u8; 16] {
    let mut a = [0u8; 16];
    a.copy_from_slice(&random_bytes(16));
    a
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A PSKC document holding `records`, encrypted under the pre-shared `psk` (key name `key_name`).
pub fn document(records: &[Record], psk: &[u8; 16], key_name: &str) -> String {
    let mac_key = random_bytes(20);
    let enc_mac_key = encrypt(psk, &random16(), &mac_key);
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<pskc:KeyContainer Version=\"1.0\" \
         xmlns:pskc=\"urn:ietf:params:xml:ns:keyprov:pskc\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" \
         xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\">\n",
    );
    x += &format!(
        " <pskc:EncryptionKey>\n  <ds:KeyName>{}</ds:KeyName>\n </pskc:EncryptionKey>\n",
        xml_escape(key_name)
    );
    x += &format!(
        " <pskc:MACMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#hmac-sha1\">\n  <pskc:MACKey>\n   \
         <xenc:EncryptionMethod Algorithm=\"{AES_CBC}\"/>\n   <xenc:CipherData>\n    \
         <xenc:CipherValue>{}</xenc:CipherValue>\n   </xenc:CipherData>\n  </pskc:MACKey>\n </pskc:MACMethod>\n",
        BASE64.encode(&enc_mac_key)
    );
    for r in records {
        let enc = encrypt(psk, &random16(), &r.secret);
        let mac = match <Hmac<Sha1> as Mac>::new_from_slice(&mac_key) {
            Ok(mut m) => {
                m.update(&enc);
                m.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        };
        let (algorithm, params, counter) = match r.hotp_digits {
            Some(d) => (
                "urn:ietf:params:xml:ns:keyprov:pskc:hotp",
                format!(
                    "   <pskc:AlgorithmParameters>\n    <pskc:ResponseFormat Length=\"{d}\" Encoding=\"DECIMAL\"/>\n   </pskc:AlgorithmParameters>\n"
                ),
                "    <pskc:Counter>\n     <pskc:PlainValue>0</pskc:PlainValue>\n    </pskc:Counter>\n",
            ),
            None => (
                "http://www.yubico.com/#yubikey-aes",
                format!(
                    "   <pskc:AlgorithmParameters>\n    <pskc:ResponseFormat Length=\"{}\" Encoding=\"ALPHANUMERIC\"/>\n   </pskc:AlgorithmParameters>\n",
                    32 + 2 * r.public_id.len()
                ),
                "",
            ),
        };
        // Yubico's conventions (draft-josefsson-keyprov-pskc-yubikey): Key Id `serial:slot`, which importers
        // such as privacyIDEA turn into the same UBOM/UBAM<serial>_<slot> that `enroll` creates, and the
        // Yubico OTP public and private ids in UserId.
        let user_id = match (r.hotp_digits, r.private_id) {
            (None, Some(p)) => format!(
                "   <pskc:UserId>CN={}, UID={}</pskc:UserId>\n",
                crate::modhex::encode(&r.public_id),
                hex::encode(p)
            ),
            _ => String::new(),
        };
        x += &format!(
            " <pskc:KeyPackage>\n  <pskc:DeviceInfo>\n   <pskc:Manufacturer>Yubico</pskc:Manufacturer>\n   \
             <pskc:SerialNo>{}</pskc:SerialNo>\n  </pskc:DeviceInfo>\n  <pskc:Key Id=\"{}\" Algorithm=\"{algorithm}\">\n   \
             <pskc:Issuer>tessera-hwtool {}</pskc:Issuer>\n{params}   <pskc:Data>\n    <pskc:Secret>\n     <pskc:EncryptedValue>\n      \
             <xenc:EncryptionMethod Algorithm=\"{AES_CBC}\"/>\n      <xenc:CipherData>\n       \
             <xenc:CipherValue>{}</xenc:CipherValue>\n      </xenc:CipherData>\n     </pskc:EncryptedValue>\n     \
             <pskc:ValueMAC>{}</pskc:ValueMAC>\n    </pskc:Secret>\n{counter}   </pskc:Data>\n{user_id}  </pskc:Key>\n </pskc:KeyPackage>\n",
            r.key_serial,
            format_args!("{}:{}", r.key_serial, r.slot),
            iso_utc(r.time),
            BASE64.encode(&enc),
            BASE64.encode(&mac),
        );
    }
    x += "</pskc:KeyContainer>\n";
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_cbc_matches_nist_sp800_38a() {
        // SP 800-38A F.2.1 CBC-AES128.Encrypt, first block; PKCS#7 adds a full block of 0x10.
        let key: [u8; 16] = hex::decode("2b7e151628aed2a6abf7158809cf4f3c")
            .unwrap()
            .try_into()
            .unwrap();
        let iv: [u8; 16] = hex::decode("000102030405060708090a0b0c0d0e0f")
            .unwrap()
            .try_into()
            .unwrap();
        let plain = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
        let out = encrypt(&key, &iv, &plain);
        assert_eq!(out.len(), 48);
        assert_eq!(
            hex::encode(&out[16..32]),
            "7649abac8119b246cee98e9b12e9197d"
        );
    }
}
