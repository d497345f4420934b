//! PSKC import against RFC 6030's own examples, Yubico's profile, generated vendor-style files and broken ones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::Cell;
use std::io::BufReader;
use std::rc::Rc;

use common::{Counting, MAC_KEY, PSK_HEX, PskcSpec, pskc_file, secret_of};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use tessera_import::{FileError, Format, ImportedToken, ItemError, Secret, open};

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn import(xml: &str, secret: Secret) -> Result<Vec<Result<ImportedToken, ItemError>>, FileError> {
    open(Format::Pskc, xml.as_bytes(), secret).map(Iterator::collect)
}

fn tokens(xml: &str, secret: Secret) -> Vec<ImportedToken> {
    import(xml, secret)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

fn psk() -> Secret {
    Secret::psk_hex(PSK_HEX).unwrap()
}

/// RFC 4226 HOTP, to show an imported seed yields the codes the token shows.
fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).unwrap();
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let code = u32::from_be_bytes([
        h[offset] & 0x7f,
        h[offset + 1],
        h[offset + 2],
        h[offset + 3],
    ]);
    format!(
        "{:0width$}",
        code % 10u32.pow(digits),
        width = digits as usize
    )
}

#[test]
fn figure2_plain_hotp() {
    let t = &tokens(&data("rfc6030-figure2.xml"), Secret::None)[0];
    assert_eq!(
        (t.serial.as_str(), t.tokentype.as_str()),
        ("12345678", "hotp")
    );
    assert_eq!(&t.otpkey[..], b"1234");
    assert_eq!(
        (t.otplen, t.counter, t.hashlib.as_deref()),
        (6, 0, Some("sha1"))
    );
    assert_eq!(t.description, "imported");
    assert_eq!(
        t.info.get("tokenkind").map(String::as_str),
        Some("hardware")
    );
    assert_eq!(t.line, 7, "the line of <KeyPackage>");
}

#[test]
fn figure3_serial_digits_and_counter() {
    let t = &tokens(&data("rfc6030-figure3.xml"), Secret::None)[0];
    assert_eq!(
        t.serial, "987654321",
        "DeviceInfo/SerialNo wins over the Key Id"
    );
    assert_eq!(
        hex::encode(&*t.otpkey),
        "3132333435363738393031323334353637383930"
    );
    assert_eq!((t.otplen, t.counter), (8, 0));
    assert_eq!(t.description, "Manufacturer");
    assert_eq!(
        hotp(&t.otpkey, t.counter, t.otplen),
        "84755224",
        "RFC 4226 8-digit value for counter 0"
    );
}

#[test]
fn figure5_pin_package_is_reported_not_imported() {
    let items = import(&data("rfc6030-figure5.xml"), Secret::None).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().serial, "987654321");
    let e = items[1].as_ref().unwrap_err();
    assert_eq!(e.serial.as_deref(), Some("987654321"));
    assert!(e.reason.contains("'pin' cannot be imported"), "{e}");
    assert!(!e.fatal);
}

#[test]
fn figure6_pre_shared_key_with_mac() {
    let t = &tokens(&data("rfc6030-figure6.xml"), psk())[0];
    assert_eq!(
        (t.serial.as_str(), t.tokentype.as_str()),
        ("987654321", "hotp")
    );
    assert_eq!(
        hex::encode(&*t.otpkey),
        "3132333435363738393031323334353637383930"
    );
    assert_eq!((t.otplen, t.counter), (8, 0));
    assert_eq!(
        hotp(&t.otpkey, 1, 8),
        "94287082",
        "RFC 4226 8-digit value for counter 1"
    );
}

#[test]
fn figure6_wrong_or_missing_key_imports_nothing() {
    let xml = data("rfc6030-figure6.xml");
    let wrong = Secret::psk_hex("12345678901234567890123456789013").unwrap();
    let err = import(&xml, wrong).unwrap_err();
    assert!(
        matches!(
            err,
            FileError::WrongSecret(_) | FileError::MacMismatch { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("wrong pre-shared key"), "{err}");
    assert!(matches!(
        import(&xml, Secret::None),
        Err(FileError::SecretRequired(_))
    ));
    assert!(matches!(
        import(&xml, Secret::password("qwerty")),
        Err(FileError::WrongSecretKind(_))
    ));
    let aes256 = Secret::psk_hex(&PSK_HEX.repeat(2)).unwrap();
    assert!(
        import(&xml, aes256).is_err(),
        "a 32-byte key cannot open an aes128-cbc file"
    );
}

#[test]
fn figure6_tampered_mac_or_ciphertext_imports_nothing() {
    let xml = data("rfc6030-figure6.xml");
    let tampered_mac = xml.replace(
        "Su+NvtQfmvfJzF6bmQiJqoLRExc=",
        "Su+NvtQfmvfJzF6bmQiJqoLRExd=",
    );
    let err = import(&tampered_mac, psk()).unwrap_err();
    assert!(
        matches!(&err, FileError::MacMismatch { serial } if serial == "987654321"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "the MAC of key '987654321' does not verify: wrong pre-shared key or password, or the file was altered"
    );
    let tampered_secret = xml.replace("AAECAwQFBgcICQoLDA0OD+cI", "AAECAwQFBgcICQoLDA0OD+cJ");
    assert!(matches!(
        import(&tampered_secret, psk()),
        Err(FileError::MacMismatch { .. })
    ));
    let no_mac = xml.replace(
        "<ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=\n                    </ValueMAC>",
        "",
    );
    assert_ne!(no_mac, xml);
    assert!(matches!(
        import(&no_mac, psk()),
        Err(FileError::MacMismatch { .. })
    ));
}

#[test]
fn figure7_password_based_key() {
    let xml = data("rfc6030-figure7.xml");
    let t = &tokens(&xml, Secret::password("qwerty"))[0];
    assert_eq!(&t.otpkey[..], b"12345678901234567890");
    assert_eq!((t.serial.as_str(), t.otplen), ("987654321", 8));
    assert_eq!(t.description, "TokenVendorAcme");
    let err = import(&xml, Secret::password("qwertz")).unwrap_err();
    assert!(
        matches!(
            err,
            FileError::WrongSecret(_) | FileError::MacMismatch { .. }
        ),
        "{err}"
    );
    assert!(matches!(
        import(&xml, Secret::None),
        Err(FileError::SecretRequired(_))
    ));
    assert!(matches!(
        import(&xml, psk()),
        Err(FileError::WrongSecretKind(_))
    ));
}

#[test]
fn yubico_aes_profile() {
    let t = &tokens(&data("yubico-pskc-example1.xml"), Secret::None)[0];
    assert_eq!(
        (t.serial.as_str(), t.tokentype.as_str(), t.otplen),
        ("UBAM283599_1", "yubikey", 44)
    );
    assert_eq!(t.otpkey.len(), 16);
    assert_eq!(hex::encode(&*t.otpkey), "2b7e151628aed2a6abf7158809cf4f3c");
    assert_eq!(t.hashlib, None);
    assert_eq!(t.description, "oath.UB");
    assert_eq!(
        t.info.get("yubikey.prefix").map(String::as_str),
        Some("ekhgjhbctrgn")
    );
    assert_eq!(
        t.info.get("yubikey.tokenid").map(String::as_str),
        Some("ca62baca62ba")
    );
}

#[test]
fn vendor_file_hmac_sha256_totp_with_drift() {
    let xml = pskc_file(&PskcSpec {
        keys: 3,
        sha256_mac: true,
        bad_mac: None,
        totp: true,
    });
    let got = tokens(&xml, psk());
    assert_eq!(got.len(), 3);
    for (i, t) in got.iter().enumerate() {
        assert_eq!(t.serial, format!("ACME{i:07}"));
        assert_eq!(&t.otpkey[..], &secret_of(i)[..]);
        assert_eq!(
            (t.tokentype.as_str(), t.timestep, t.otplen),
            ("totp", Some(60), 6)
        );
        assert_eq!(
            t.info.get("timeShift").map(String::as_str),
            Some("-120"),
            "2 steps of 60 s"
        );
        assert_eq!(t.description, "Acme");
    }
}

#[test]
fn a_later_bad_mac_loses_only_that_key() {
    let xml = pskc_file(&PskcSpec {
        keys: 5,
        sha256_mac: false,
        bad_mac: Some(3),
        totp: false,
    });
    let items = import(&xml, psk()).unwrap();
    assert_eq!(items.iter().filter(|i| i.is_ok()).count(), 4);
    let e = items[3].as_ref().unwrap_err();
    assert_eq!(e.serial.as_deref(), Some("ACME0000003"));
    assert!(e.reason.contains("ValueMAC does not verify"), "{e}");
    assert_eq!(items[4].as_ref().unwrap().counter, 42);
    // The same tampering on the first key fails the whole file.
    let xml = pskc_file(&PskcSpec {
        keys: 5,
        sha256_mac: false,
        bad_mac: Some(0),
        totp: false,
    });
    assert!(
        matches!(import(&xml, psk()), Err(FileError::MacMismatch { serial }) if serial == "ACME0000000")
    );
}

#[test]
fn mac_key_under_a_wrong_psk() {
    let xml = pskc_file(&PskcSpec {
        keys: 1,
        sha256_mac: false,
        bad_mac: None,
        totp: false,
    });
    assert_eq!(MAC_KEY.len(), 20);
    let wrong = Secret::psk_hex("00000000000000000000000000000000").unwrap();
    assert!(matches!(
        import(&xml, wrong),
        Err(FileError::WrongSecret(_) | FileError::MacMismatch { .. })
    ));
}

#[test]
fn truncated_file_keeps_what_was_read_and_says_where_it_stopped() {
    let xml = pskc_file(&PskcSpec {
        keys: 3,
        sha256_mac: false,
        bad_mac: None,
        totp: false,
    });
    let cut = &xml[..xml.rfind("<KeyPackage>").unwrap() + 40];
    let items = import(cut, psk()).unwrap();
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[1].is_ok());
    let e = items[2].as_ref().unwrap_err();
    assert!(e.fatal, "{e}");
    assert!(e.reason.contains("XML error"), "{e}");
}

#[test]
fn files_that_are_not_pskc() {
    let bad = |xml: &str| import(xml, Secret::None).unwrap_err();
    assert!(matches!(bad("serial,key\n"), FileError::NotXml(_)));
    assert!(matches!(bad(""), FileError::NotXml(_)));
    assert!(
        matches!(bad("<Tokens><Token serial='1'/></Tokens>"), FileError::NotPskc(n) if n == "Tokens")
    );
    assert!(matches!(
        bad(r#"<KeyContainer Version="2.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"/>"#),
        FileError::UnsupportedVersion { .. }
    ));
    assert!(matches!(
        bad(r#"<!DOCTYPE lolz [<!ENTITY lol "lol">]><KeyContainer Version="1.0"/>"#),
        FileError::Unsupported(_)
    ));
    let empty = r#"<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"/>"#;
    assert_eq!(import(empty, Secret::None).unwrap().len(), 0);
}

#[test]
fn byte_order_mark_and_crlf() {
    let xml = format!(
        "\u{feff}{}",
        data("rfc6030-figure3.xml").replace('\n', "\r\n")
    );
    let t = &tokens(&xml, Secret::None)[0];
    assert_eq!((t.serial.as_str(), t.line), ("987654321", 7));
}

#[test]
fn entities_and_cdata_in_values() {
    let xml = data("rfc6030-figure3.xml")
        .replace(
            "<Manufacturer>Manufacturer</Manufacturer>",
            "<Manufacturer>A&amp;B &#67;orp</Manufacturer>",
        )
        .replace(
            "<PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=",
            "<PlainValue><![CDATA[MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=]]>",
        );
    let t = &tokens(&xml, Secret::None)[0];
    assert_eq!(t.description, "A&B Corp");
    assert_eq!(&t.otpkey[..], b"12345678901234567890");
    let unknown =
        data("rfc6030-figure3.xml").replace("<Manufacturer>Manufacturer", "<Manufacturer>&bogus;");
    let items = import(&unknown, Secret::None).unwrap();
    assert!(items[0].as_ref().unwrap_err().fatal);
}

#[test]
fn streams_one_key_package_at_a_time() {
    // 10 000 encrypted keys (~10 MB); after the first token only a little of it has been read.
    let xml = pskc_file(&PskcSpec {
        keys: 10_000,
        sha256_mac: false,
        bad_mac: None,
        totp: false,
    });
    let taken = Rc::new(Cell::new(0));
    let reader = BufReader::with_capacity(
        8 * 1024,
        Counting {
            inner: xml.as_bytes(),
            taken: Rc::clone(&taken),
        },
    );
    let mut importer = open(Format::Pskc, reader, psk()).unwrap();
    let first = importer.next().unwrap().unwrap();
    assert_eq!(first.serial, "ACME0000000");
    assert!(
        taken.get() <= 16 * 1024,
        "read {} of {} bytes for one token",
        taken.get(),
        xml.len()
    );
    let good = importer.filter(Result::is_ok).count();
    assert_eq!(1 + good, 10_000);
    assert_eq!(taken.get(), xml.len());
}
