//! PSKC (RFC 6030) files read as a stream of XML events with quick-xml: the header (`EncryptionKey`,
//! `MACMethod`) first, then one `<KeyPackage>` at a time; no DOM is ever built.
//!
//! Element names are matched on their local part, whatever the namespace prefix (`pskc:`, `xenc:`...).
//! A wrong pre-shared key or password is found before any token is handed out: `open` reads ahead to
//! the first encrypted secret (at most [`READ_AHEAD`] packages) and fails the file unless its `ValueMAC`
//! verifies and it decrypts. Later packages that fail their MAC are reported one by one.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use zeroize::Zeroizing;

use crate::pskc_header::{Header, keys_from_header};
use crate::pskc_key::{KeyError, Keys, RawPackage};
use crate::token::{ImportedToken, ItemError};
use crate::{FileError, Secret};

/// Packages `open` reads ahead looking for an encrypted secret to check the key with.
pub const READ_AHEAD: usize = 1000;
/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 64;
/// Longest element text kept (base64 secrets are short).
const MAX_TEXT: usize = 64 * 1024;

/// The elements the reader acts on; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    KeyContainer,
    EncryptionKey,
    DerivedKey,
    KeyDerivationMethod,
    Pbkdf2Params,
    Salt,
    Specified,
    IterationCount,
    KeyLength,
    Prf,
    MacMethod,
    MacKey,
    EncryptionMethod,
    CipherData,
    CipherValue,
    KeyPackage,
    DeviceInfo,
    Manufacturer,
    SerialNo,
    Key,
    AlgorithmParameters,
    ResponseFormat,
    Suite,
    Data,
    Secret,
    PlainValue,
    EncryptedValue,
    ValueMac,
    Counter,
    TimeInterval,
    TimeDrift,
    UserId,
    Other,
}

impl Tag {
    fn from_local(name: &[u8]) -> Tag {
        match name {
            b"KeyContainer" => Tag::KeyContainer,
            b"EncryptionKey" => Tag::EncryptionKey,
            b"DerivedKey" => Tag::DerivedKey,
            b"KeyDerivationMethod" => Tag::KeyDerivationMethod,
            b"PBKDF2-params" => Tag::Pbkdf2Params,
            b"Salt" => Tag::Salt,
            b"Specified" => Tag::Specified,
            b"IterationCount" => Tag::IterationCount,
            b"KeyLength" => Tag::KeyLength,
            b"PRF" => Tag::Prf,
            b"MACMethod" => Tag::MacMethod,
            b"MACKey" => Tag::MacKey,
            b"EncryptionMethod" => Tag::EncryptionMethod,
            b"CipherData" => Tag::CipherData,
            b"CipherValue" => Tag::CipherValue,
            b"KeyPackage" => Tag::KeyPackage,
            b"DeviceInfo" => Tag::DeviceInfo,
            b"Manufacturer" => Tag::Manufacturer,
            b"SerialNo" => Tag::SerialNo,
            b"Key" => Tag::Key,
            b"AlgorithmParameters" => Tag::AlgorithmParameters,
            b"ResponseFormat" => Tag::ResponseFormat,
            b"Suite" => Tag::Suite,
            b"Data" => Tag::Data,
            b"Secret" => Tag::Secret,
            b"PlainValue" => Tag::PlainValue,
            b"EncryptedValue" => Tag::EncryptedValue,
            b"ValueMAC" => Tag::ValueMac,
            b"Counter" => Tag::Counter,
            b"TimeInterval" => Tag::TimeInterval,
            b"TimeDrift" => Tag::TimeDrift,
            b"UserId" => Tag::UserId,
            _ => Tag::Other,
        }
    }
}

/// One step of the event loop.
enum Step {
    Continue,
    PackageStart,
    Package(Box<RawPackage>),
    End,
}

/// Counts the newlines of what the XML reader consumed, to give packages a line number.
struct LineCount<R> {
    inner: R,
    newlines: usize,
}

impl<R: BufRead> Read for LineCount<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.newlines += out[..n].iter().filter(|b| **b == b'\n').count();
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCount<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let end = amt.min(buf.len());
            self.newlines += buf[..end].iter().filter(|b| **b == b'\n').count();
        }
        self.inner.consume(amt);
    }
}

/// Streaming PSKC reader.
pub struct Pskc<R> {
    reader: Reader<LineCount<R>>,
    buf: Zeroizing<Vec<u8>>,
    stack: Vec<Tag>,
    text: Zeroizing<String>,
    collect: bool,
    header: Header,
    package: Option<RawPackage>,
    keys: Keys,
    pending: VecDeque<Result<ImportedToken, ItemError>>,
    done: bool,
}

impl<R: BufRead> Pskc<R> {
    /// Reads the header, derives or takes the key, and checks it on the first encrypted secret.
    pub fn open(mut reader: R, secret: Secret) -> Result<Self, FileError> {
        if crate::lines::looks_like_pgp(&mut reader) {
            return Err(FileError::PgpEncrypted);
        }
        let mut xml = Reader::from_reader(LineCount {
            inner: reader,
            newlines: 0,
        });
        xml.config_mut().expand_empty_elements = true;
        let mut pskc = Pskc {
            reader: xml,
            buf: Zeroizing::new(Vec::with_capacity(4096)),
            stack: Vec::new(),
            text: Zeroizing::new(String::new()),
            collect: false,
            header: Header::default(),
            package: None,
            keys: Keys::default(),
            pending: VecDeque::new(),
            done: false,
        };
        pskc.read_root()?;
        let mut first_package = false;
        loop {
            match pskc.step().map_err(FileError::Xml)? {
                Step::Continue => {}
                Step::PackageStart => {
                    first_package = true;
                    break;
                }
                Step::Package(_) | Step::End => break,
            }
        }
        pskc.keys = keys_from_header(&pskc.header, secret)?;
        if !first_package {
            pskc.done = true;
        } else if pskc.keys.encryption.is_some() {
            pskc.check_first_encrypted()?;
        }
        Ok(pskc)
    }

    /// Skips the prolog and checks the root element and its version.
    fn read_root(&mut self) -> Result<(), FileError> {
        loop {
            self.buf.clear();
            let event = self
                .reader
                .read_event_into(&mut self.buf)
                .map_err(|e| FileError::NotXml(e.to_string()))?;
            match event {
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::DocType(_) => {
                    return Err(FileError::Unsupported(
                        "a DOCTYPE declaration (refused: entity expansion)".into(),
                    ));
                }
                Event::Start(start) => {
                    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                    if Tag::from_local(start.local_name().as_ref()) != Tag::KeyContainer {
                        return Err(FileError::NotPskc(name));
                    }
                    if let Some(version) = attr(&start, b"Version").filter(|v| v.trim() != "1.0") {
                        return Err(FileError::UnsupportedVersion {
                            what: "PSKC",
                            version,
                        });
                    }
                    self.stack.push(Tag::KeyContainer);
                    return Ok(());
                }
                Event::Eof => return Err(FileError::NotXml("the file is empty".into())),
                _ => return Err(FileError::NotXml("text before the root element".into())),
            }
        }
    }

    /// Reads packages until one has an encrypted secret and checks it: a wrong key fails the file here.
    fn check_first_encrypted(&mut self) -> Result<(), FileError> {
        let mut seen = 0;
        while seen < READ_AHEAD && !self.done {
            let raw = match self.next_raw() {
                Ok(Some(raw)) => raw,
                Ok(None) => break,
                Err(e) => {
                    self.pending.push_back(Err(e));
                    break;
                }
            };
            seen += 1;
            let encrypted = raw.is_encrypted();
            let serial = raw.serial().unwrap_or_else(|| format!("line {}", raw.line));
            let item = convert(raw, &self.keys);
            if encrypted {
                match &item {
                    Err(e) if e.crypto => {
                        return Err(if e.mac {
                            FileError::MacMismatch { serial }
                        } else {
                            FileError::WrongSecret(e.item.reason.clone())
                        });
                    }
                    Ok(_) => {
                        self.pending.push_back(item.map_err(|e| e.item));
                        break;
                    }
                    Err(_) => {}
                }
            }
            self.pending.push_back(item.map_err(|e| e.item));
        }
        Ok(())
    }

    /// The next complete `<KeyPackage>`; `None` after the container ends.
    fn next_raw(&mut self) -> Result<Option<RawPackage>, ItemError> {
        loop {
            let step = self.step().map_err(|e| {
                self.done = true;
                ItemError::fatal(
                    self.line(),
                    format!("XML error: {e}; the rest of the file was not read"),
                )
            })?;
            match step {
                Step::Continue | Step::PackageStart => {}
                Step::Package(raw) => return Ok(Some(*raw)),
                Step::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }

    fn line(&self) -> usize {
        self.reader.get_ref().newlines + 1
    }

    /// Handles one XML event.
    fn step(&mut self) -> Result<Step, String> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let step = self.handle_event(&mut buf);
        self.buf = buf;
        step
    }

    fn handle_event(&mut self, buf: &mut Vec<u8>) -> Result<Step, String> {
        let event = self
            .reader
            .read_event_into(buf)
            .map_err(|e| e.to_string())?;
        match event {
            Event::Start(start) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                }
                let tag = Tag::from_local(start.local_name().as_ref());
                self.stack.push(tag);
                self.text.clear();
                self.collect = false;
                let line = self.reader.get_ref().newlines + 1;
                Ok(start_element(self, &start, line))
            }
            Event::End(_) => {
                let step = end_element(self);
                self.stack.pop();
                self.collect = false;
                Ok(step)
            }
            Event::Text(t) if self.collect => {
                let text = t.xml_content().map_err(|e| e.to_string())?;
                self.push_text(&text)
            }
            Event::CData(t) if self.collect => {
                let text = t.decode().map_err(|e| e.to_string())?;
                self.push_text(&text)
            }
            Event::GeneralRef(r) if self.collect => {
                let name = r.decode().map_err(|e| e.to_string())?;
                if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                    let mut tmp = [0u8; 4];
                    self.push_text(c.encode_utf8(&mut tmp))
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&name) {
                    self.push_text(s)
                } else {
                    Err(format!("unknown entity &{name};"))
                }
            }
            Event::DocType(_) => Err("DOCTYPE inside the document".into()),
            Event::Eof => {
                if self.stack.is_empty() {
                    Ok(Step::End)
                } else {
                    Err("the file ends inside an element (truncated?)".into())
                }
            }
            _ => Ok(Step::Continue),
        }
    }

    fn push_text(&mut self, text: &str) -> Result<Step, String> {
        if self.text.len() + text.len() > MAX_TEXT {
            return Err(format!("an element's text is longer than {MAX_TEXT} bytes"));
        }
        self.text.push_str(text);
        Ok(Step::Continue)
    }
}

/// Reacts to a start tag (the tag is already on the stack): records attributes, decides whether its text
/// is wanted, opens a new package.
fn start_element<R>(p: &mut Pskc<R>, start: &BytesStart<'_>, line: usize) -> Step {
    use Tag::*;
    let h = &mut p.header;
    match p.stack.as_slice() {
        [KeyContainer, KeyPackage] => {
            p.package = Some(RawPackage {
                line,
                ..RawPackage::default()
            });
            return Step::PackageStart;
        }
        [KeyContainer, EncryptionKey] => h.encryption_key = true,
        [KeyContainer, EncryptionKey, DerivedKey] => h.derived_key = true,
        [KeyContainer, EncryptionKey, DerivedKey, KeyDerivationMethod] => {
            h.kdf_algorithm = attr(start, b"Algorithm");
        }
        [.., KeyDerivationMethod, Pbkdf2Params, Prf] => h.prf = attr(start, b"Algorithm"),
        [KeyContainer, MacMethod] => h.mac_method = attr(start, b"Algorithm"),
        [KeyContainer, MacMethod, MacKey, EncryptionMethod] => {
            h.mac_key_method = attr(start, b"Algorithm");
        }
        [KeyContainer, KeyPackage, Key] => {
            if let Some(pk) = p.package.as_mut() {
                pk.key_count += 1;
                pk.key_id = attr(start, b"Id").or_else(|| attr(start, b"KeyId"));
                pk.algorithm = attr(start, b"Algorithm");
            }
        }
        [
            KeyContainer,
            KeyPackage,
            Key,
            AlgorithmParameters,
            ResponseFormat,
        ] => {
            if let Some(pk) = p.package.as_mut() {
                pk.response_length = attr(start, b"Length");
            }
        }
        [KeyContainer, KeyPackage, Key, AlgorithmParameters, Suite] => {
            if let Some(pk) = p.package.as_mut() {
                pk.suite = attr(start, b"hashalgo");
            }
            p.collect = true;
        }
        [
            KeyContainer,
            KeyPackage,
            Key,
            Data,
            Secret,
            EncryptedValue,
            EncryptionMethod,
        ] => {
            if let Some(pk) = p.package.as_mut() {
                pk.encryption_method = attr(start, b"Algorithm");
            }
        }
        [
            KeyContainer,
            KeyPackage,
            Key,
            Data,
            Counter | TimeInterval | TimeDrift,
            EncryptedValue,
        ] => {
            if let Some(pk) = p.package.as_mut() {
                pk.encrypted_data = true;
            }
        }
        _ => p.collect = wants_text(&p.stack),
    }
    Step::Continue
}

/// Elements whose text the reader keeps.
fn wants_text(stack: &[Tag]) -> bool {
    use Tag::*;
    matches!(
        stack,
        [.., Pbkdf2Params, Salt, Specified]
            | [.., Pbkdf2Params, IterationCount | KeyLength]
            | [KeyContainer, MacMethod, MacKey, CipherData, CipherValue]
            | [
                KeyContainer,
                KeyPackage,
                DeviceInfo,
                Manufacturer | SerialNo
            ]
            | [KeyContainer, KeyPackage, Key, UserId]
            | [
                KeyContainer,
                KeyPackage,
                Key,
                Data,
                Secret,
                PlainValue | ValueMac
            ]
            | [
                KeyContainer,
                KeyPackage,
                Key,
                Data,
                Secret,
                EncryptedValue,
                CipherData,
                CipherValue
            ]
            | [
                KeyContainer,
                KeyPackage,
                Key,
                Data,
                Counter | TimeInterval | TimeDrift,
                PlainValue
            ]
    )
}

/// Reacts to an end tag (the tag is still on the stack): stores the collected text, closes a package.
fn end_element<R>(p: &mut Pskc<R>) -> Step {
    use Tag::*;
    let text = || Some(p.text.trim().to_owned());
    let h = &mut p.header;
    match p.stack.as_slice() {
        [KeyContainer] => return Step::End,
        [KeyContainer, KeyPackage] => {
            return p
                .package
                .take()
                .map_or(Step::Continue, |pk| Step::Package(Box::new(pk)));
        }
        [.., Pbkdf2Params, Salt, Specified] => h.salt = text(),
        [.., Pbkdf2Params, IterationCount] => h.iterations = text(),
        [.., Pbkdf2Params, KeyLength] => h.key_length = text(),
        [KeyContainer, MacMethod, MacKey, CipherData, CipherValue] => h.mac_key_cipher = text(),
        _ if !p.collect => {}
        _ => {
            let value = text();
            let plain = Zeroizing::new(p.text.trim().to_owned());
            let Some(pk) = p.package.as_mut() else {
                return Step::Continue;
            };
            match p.stack.as_slice() {
                [.., DeviceInfo, Manufacturer] => pk.manufacturer = value,
                [.., DeviceInfo, SerialNo] => pk.serial_no = value,
                [.., Key, UserId] => pk.user_id = value,
                [.., AlgorithmParameters, Suite]
                    if value.as_deref().is_some_and(|v| !v.is_empty()) =>
                {
                    pk.suite = value;
                }
                [.., Data, Secret, PlainValue] => pk.plain_secret = Some(plain),
                [.., Data, Secret, ValueMac] => pk.value_mac = value,
                [.., Secret, EncryptedValue, CipherData, CipherValue] => pk.cipher_value = value,
                [.., Data, Counter, PlainValue] => pk.counter = value,
                [.., Data, TimeInterval, PlainValue] => pk.time_interval = value,
                [.., Data, TimeDrift, PlainValue] => pk.time_drift = value,
                _ => {}
            }
        }
    }
    Step::Continue
}

/// An attribute's unescaped value, looked up by local name (the first if repeated). Without
/// quick-xml's duplicate check, which is quadratic in the number of attributes of an element.
fn attr(start: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    start
        .attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// A package's conversion result, with what kind of failure it was.
struct Converted {
    item: ItemError,
    crypto: bool,
    mac: bool,
}

fn convert(raw: RawPackage, keys: &Keys) -> Result<ImportedToken, Converted> {
    let line = raw.line;
    let serial = raw.serial();
    raw.into_token(keys).map_err(|e| Converted {
        item: ItemError::new(line, serial.as_deref(), e.reason()),
        crypto: matches!(e, KeyError::Mac(_) | KeyError::Decrypt(_) | KeyError::NoKey),
        mac: matches!(e, KeyError::Mac(_)),
    })
}

impl<R: BufRead> Iterator for Pskc<R> {
    type Item = Result<ImportedToken, ItemError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(item) = self.pending.pop_front() {
            return Some(item);
        }
        if self.done {
            return None;
        }
        match self.next_raw() {
            Ok(Some(raw)) => Some(convert(raw, &self.keys).map_err(|e| e.item)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
