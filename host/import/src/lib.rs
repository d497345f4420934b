//! Seed import: streaming parsers for the files admins import (OATH CSV, YubiKey CSV, PSKC, ykksm), one token at a time.
//!
//! [`open`] checks what can only be checked for the whole file (format header, PSKC key or password, the
//! first encrypted secret's MAC) and fails with a [`FileError`] before anything is handed out. The
//! [`Importer`] then yields each token, or an [`ItemError`] with the line and reason for a row or key
//! package that cannot be imported; the rest of the file goes on. Memory stays bounded by one line or one
//! `<KeyPackage>`, whatever the file size. Serials, types and defaults follow privacyIDEA 3.7 (see each
//! module for the format and where Tessera reads more than privacyIDEA does).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod lines;
pub mod modhex;
mod oathcsv;
mod pskc;
mod pskc_crypto;
mod pskc_header;
mod pskc_key;
mod token;
mod ykksm;
mod yubikeycsv;

use std::fmt;
use std::io::BufRead;
use std::iter::FusedIterator;
use std::str::FromStr;

use zeroize::Zeroizing;

pub use pskc::READ_AHEAD as PSKC_READ_AHEAD;
pub use token::{ImportUser, ImportedToken, ItemError};

/// The kinds of file that can be imported (privacyIDEA's `type` parameter of `POST /token/load`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `oathcsv`: privacyIDEA's OATH CSV.
    OathCsv,
    /// `yubikeycsv`: ykman / Personalization Tool CSV (Yubico and traditional formats).
    YubikeyCsv,
    /// `pskc`: RFC 6030 Portable Symmetric Key Container.
    Pskc,
    /// `ykksm`: yubikey-ksm key provisioning lines.
    Ykksm,
}

impl Format {
    /// Every format, in the order they are listed to users.
    pub const ALL: [Format; 4] = [
        Format::OathCsv,
        Format::YubikeyCsv,
        Format::Pskc,
        Format::Ykksm,
    ];

    /// The name used in requests.
    pub fn name(self) -> &'static str {
        match self {
            Format::OathCsv => "oathcsv",
            Format::YubikeyCsv => "yubikeycsv",
            Format::Pskc => "pskc",
            Format::Ykksm => "ykksm",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `type` that names no known format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown file type '{0}'; known types: oathcsv, yubikeycsv, pskc, ykksm")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Accepts the names above and privacyIDEA's older `OATH CSV` / `Yubikey CSV`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "oathcsv" | "oath csv" => Ok(Format::OathCsv),
            "yubikeycsv" | "yubikey csv" => Ok(Format::YubikeyCsv),
            "pskc" => Ok(Format::Pskc),
            "ykksm" => Ok(Format::Ykksm),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

/// What unlocks an encrypted PSKC file (ignored by the other formats).
pub enum Secret {
    /// Nothing given.
    None,
    /// A pre-shared AES key (16 bytes; 24 or 32 for AES-192/256 files).
    Psk(Zeroizing<Vec<u8>>),
    /// A password for a PBKDF2-derived key.
    Password(Zeroizing<String>),
}

impl Secret {
    /// A pre-shared key given in hex, as privacyIDEA's `psk` parameter (32 hex digits for AES-128).
    pub fn psk_hex(hex_key: &str) -> Result<Secret, FileError> {
        let key = hex::decode(hex_key.trim()).map_err(|_| FileError::BadPsk)?;
        if !matches!(key.len(), 16 | 24 | 32) {
            return Err(FileError::BadPsk);
        }
        Ok(Secret::Psk(Zeroizing::new(key)))
    }

    /// A password.
    pub fn password(password: &str) -> Secret {
        Secret::Password(Zeroizing::new(password.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Secret::None => "Secret::None",
            Secret::Psk(_) => "Secret::Psk(<redacted>)",
            Secret::Password(_) => "Secret::Password(<redacted>)",
        })
    }
}

/// Why a whole file imports nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// ASCII-armoured OpenPGP (`-----BEGIN PGP MESSAGE-----`): needs decrypting first.
    #[error("the file is an OpenPGP message: decrypt it first (gpg --decrypt)")]
    PgpEncrypted,
    /// Reading the input failed.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// Not well-formed XML before the first key package.
    #[error("not an XML file: {0}")]
    NotXml(String),
    /// An XML error in the PSKC header.
    #[error("XML error in the PSKC header: {0}")]
    Xml(String),
    /// XML, but the root element is not `KeyContainer`.
    #[error("not a PSKC file: the root element is <{0}>, expected <KeyContainer>")]
    NotPskc(String),
    /// A file version this importer does not know.
    #[error("unsupported {what} version '{version}'")]
    UnsupportedVersion {
        /// Which format.
        what: &'static str,
        /// The version the file declares.
        version: String,
    },
    /// A ykksm file must start with `# ykksm 1`.
    #[error("not a ykksm file: the first line must be '# ykksm 1'")]
    NotYkksm,
    /// The file is encrypted and nothing to decrypt it was given.
    #[error("the file is encrypted: {0}")]
    SecretRequired(&'static str),
    /// A password for a pre-shared-key file, or the other way round.
    #[error("{0}")]
    WrongSecretKind(&'static str),
    /// A pre-shared key of the wrong length or not hex.
    #[error("the pre-shared key must be 32 hex digits (16 bytes; 48 or 64 for AES-192/256 files)")]
    BadPsk,
    /// The key or password does not open the file.
    #[error("wrong pre-shared key or password: {0}")]
    WrongSecret(String),
    /// The first encrypted secret's `ValueMAC` does not verify.
    #[error(
        "the MAC of key '{serial}' does not verify: wrong pre-shared key or password, or the file was altered"
    )]
    MacMismatch {
        /// Serial of the key package checked.
        serial: String,
    },
    /// Something the file needs that is not implemented (algorithm, key derivation...).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The PSKC header is incomplete or malformed.
    #[error("invalid PSKC header: {0}")]
    BadHeader(String),
}

/// The tokens of one file, in file order. Ends after the last token or after a fatal [`ItemError`].
pub struct Importer<R> {
    inner: Inner<R>,
}

enum Inner<R> {
    OathCsv(oathcsv::OathCsv<R>),
    YubikeyCsv(yubikeycsv::YubikeyCsv<R>),
    Pskc(Box<pskc::Pskc<R>>),
    Ykksm(ykksm::Ykksm<R>),
}

/// Opens an import file: checks what concerns the whole file, then hands out tokens one at a time.
pub fn open<R: BufRead>(
    format: Format,
    mut reader: R,
    secret: Secret,
) -> Result<Importer<R>, FileError> {
    if lines::looks_like_pgp(&mut reader) {
        return Err(FileError::PgpEncrypted);
    }
    let inner = match format {
        Format::OathCsv => Inner::OathCsv(oathcsv::OathCsv::open(reader)?),
        Format::YubikeyCsv => Inner::YubikeyCsv(yubikeycsv::YubikeyCsv::new(reader)),
        Format::Pskc => Inner::Pskc(Box::new(pskc::Pskc::open(reader, secret)?)),
        Format::Ykksm => Inner::Ykksm(ykksm::Ykksm::open(reader)?),
    };
    Ok(Importer { inner })
}

impl<R> Importer<R> {
    /// The format being read.
    pub fn format(&self) -> Format {
        match self.inner {
            Inner::OathCsv(_) => Format::OathCsv,
            Inner::YubikeyCsv(_) => Format::YubikeyCsv,
            Inner::Pskc(_) => Format::Pskc,
            Inner::Ykksm(_) => Format::Ykksm,
        }
    }
}

impl<R: BufRead> Iterator for Importer<R> {
    type Item = Result<ImportedToken, ItemError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::OathCsv(p) => p.next(),
            Inner::YubikeyCsv(p) => p.next(),
            Inner::Pskc(p) => p.next(),
            Inner::Ykksm(p) => p.next(),
        }
    }
}

impl<R: BufRead> FusedIterator for Importer<R> {}

impl<R> fmt::Debug for Importer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Importer")
            .field("format", &self.format())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names() {
        for format in Format::ALL {
            assert_eq!(format.name().parse::<Format>(), Ok(format));
        }
        assert_eq!("OATH CSV".parse::<Format>(), Ok(Format::OathCsv));
        assert_eq!("Yubikey CSV".parse::<Format>(), Ok(Format::YubikeyCsv));
        let err = "aladdin-xml".parse::<Format>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown file type 'aladdin-xml'; known types: oathcsv, yubikeycsv, pskc, ykksm"
        );
    }

    #[test]
    fn psk_in_hex() {
        assert!(matches!(
            Secret::psk_hex("12345678901234567890123456789012"),
            Ok(Secret::Psk(k)) if k.len() == 16
        ));
        assert!(matches!(Secret::psk_hex("1234"), Err(FileError::BadPsk)));
        assert!(matches!(
            Secret::psk_hex("zz345678901234567890123456789012"),
            Err(FileError::BadPsk)
        ));
        assert_eq!(
            format!("{:?}", Secret::password("qwerty")),
            "Secret::Password(<redacted>)"
        );
    }

    #[test]
    fn pgp_armoured_files_are_refused_whatever_the_format() {
        let armoured =
            "-----BEGIN PGP MESSAGE-----\nVersion: GnuPG v1.4.9 (GNU/Linux)\n\njA0EAwMC\n";
        for format in Format::ALL {
            let got = open(format, armoured.as_bytes(), Secret::None);
            assert!(matches!(got, Err(FileError::PgpEncrypted)), "{format}");
        }
    }
}
