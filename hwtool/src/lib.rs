//! tessera-hwtool library: YubiKey protocols (pure, byte-exact), transports (HID, PC/SC, software key) and enrollment.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod apdu;
pub mod crc;
pub mod device;
pub mod enroll;
pub mod error;
pub mod modhex;
pub mod oath;
pub mod otp;
pub mod pskc;
pub mod record;
pub mod server;
pub mod softkey;
pub mod tlv;
pub mod transport;
