//! The CSV-like formats through the public entry point, as the API and CLI use it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_import::{FileError, Format, Secret, open};

#[test]
fn oath_csv_file_with_one_bad_row() {
    let file = "\u{feff}# version: 2\r\n\
        alice,flat1,realm1,OATHCSV0001,3132333435363738393031323334353637383930,hotp,6,0\r\n\
        ,,,OATHCSV0002,3132333435363738393031323334353637383930,totp,6,30\r\n\
        ,,,BADKEY,31323X,hotp,6\r\n";
    let items: Vec<_> = open(Format::OathCsv, file.as_bytes(), Secret::None)
        .unwrap()
        .collect();
    let serials: Vec<_> = items
        .iter()
        .filter_map(|i| i.as_ref().ok())
        .map(|t| t.serial.clone())
        .collect();
    assert_eq!(serials, ["OATHCSV0001", "OATHCSV0002"]);
    let errors: Vec<_> = items
        .iter()
        .filter_map(|i| i.as_ref().err())
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        ["line 4 (BADKEY): the key is not hex (an even number of 0-9, a-f)"]
    );
}

#[test]
fn yubikey_csv_written_by_ykman() {
    // ykman 5.9.2, virtual YubiKey: `ykman otp yubiotp -f -S -p 0a1b2c3d4e5f
    //   -k 00112233445566778899aabbccddeeff -O keys.csv 2` appends this LF-terminated line.
    let file = "12345678,vvccccnrhbfu,0a1b2c3d4e5f,00112233445566778899aabbccddeeff,,2026-12-03T16:11:41,\n";
    let mut importer = open(Format::YubikeyCsv, file.as_bytes(), Secret::None).unwrap();
    let t = importer.next().unwrap().unwrap();
    assert_eq!(
        (t.serial.as_str(), t.tokentype.as_str(), t.otplen),
        ("UBAM12345678_X", "yubikey", 44)
    );
    assert!(importer.next().is_none());
}

#[test]
fn ykksm_file_needs_its_header() {
    let file = "# ykksm 1\n4711,dlcfffckrcde,ca62baca62ba,ecde18dbe76fbd0c33330f1c354871db,be70aeca62ba,2009-01-22 00:25:11,\n";
    let tokens: Vec<_> = open(Format::Ykksm, file.as_bytes(), Secret::None)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tokens[0].serial, "UBAM4711_X");
    let headerless = &file[10..];
    let err = open(Format::Ykksm, headerless.as_bytes(), Secret::None).unwrap_err();
    assert!(matches!(err, FileError::NotYkksm));
    assert_eq!(
        err.to_string(),
        "not a ykksm file: the first line must be '# ykksm 1'"
    );
}
