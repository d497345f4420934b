//! tessera-hwtool tests: libykpers byte-exact configurations, the HID protocol against the software key, and
//! PC/SC end to end (pcscd + vpcd + the software key as a virtual card) with ykman and a real Tessera server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod batch;
mod cases;
mod enroll;
mod hid;
mod import;
mod oracle;
mod pcsc_oath;
mod pcsc_otp;
mod rig;
mod server;
mod ykman;
