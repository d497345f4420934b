//! Opening a key: PC/SC (the OTP and OATH applets over CCID) or HID (the OTP interface), as the user chose.

use crate::apdu::ApduForm;
use crate::error::{HwError, Result};
use crate::oath::OathSession;
use crate::otp::ccid::OtpCcid;
use crate::otp::{OtpBackend, OtpSession, Status};
use crate::transport::{Channel, pcsc};

/// Which transport to use for the OTP application.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransportChoice {
    /// PC/SC first; the HID OTP interface if no PC/SC card is found (and no reader was named).
    #[default]
    Auto,
    Pcsc,
    Hid,
}

/// Where and how to find the key.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub reader: Option<String>,
    pub transport: TransportChoice,
    pub form: ApduForm,
}

impl<T: OtpBackend + ?Sized> OtpBackend for Box<T> {
    fn read_status(&mut self) -> Result<Status> {
        (**self).read_status()
    }
    fn write_update(&mut self, cmd: u8, data: &[u8]) -> Result<Status> {
        (**self).write_update(cmd, data)
    }
    fn send_and_receive(&mut self, cmd: u8, data: &[u8], resp_len: usize) -> Result<Vec<u8>> {
        (**self).send_and_receive(cmd, data, resp_len)
    }
    fn kind(&self) -> &'static str {
        (**self).kind()
    }
}

/// An APDU channel to the card in the chosen reader.
pub fn channel(target: &Target) -> Result<Channel> {
    let card = pcsc::connect(target.reader.as_deref())?;
    Ok(Channel::new(Box::new(card), target.form))
}

/// The OATH applet (PC/SC only).
pub fn open_oath(target: &Target) -> Result<OathSession> {
    if target.transport == TransportChoice::Hid {
        return Err(HwError::Invalid(
            "the OATH applet is only reachable over PC/SC (CCID)".into(),
        ));
    }
    OathSession::open(channel(target)?)
}

#[cfg(feature = "hid")]
fn open_hid() -> Result<Box<dyn OtpBackend>> {
    let dev = crate::transport::hid::open_first()?;
    Ok(Box::new(crate::otp::hid::OtpHid::new(dev)))
}

#[cfg(not(feature = "hid"))]
fn open_hid() -> Result<Box<dyn OtpBackend>> {
    Err(HwError::Invalid(
        "this build has no HID support (feature \"hid\")".into(),
    ))
}

/// The OTP application over the chosen transport.
pub fn open_otp(target: &Target) -> Result<OtpSession<Box<dyn OtpBackend>>> {
    let backend: Box<dyn OtpBackend> = match target.transport {
        TransportChoice::Hid => open_hid()?,
        TransportChoice::Pcsc => Box::new(OtpCcid::open(channel(target)?)?),
        TransportChoice::Auto => match channel(target) {
            Ok(ch) => Box::new(OtpCcid::open(ch)?),
            Err(e) if target.reader.is_none() => match open_hid() {
                Ok(b) => b,
                Err(_) => return Err(e),
            },
            Err(e) => return Err(e),
        },
    };
    OtpSession::open(backend)
}
