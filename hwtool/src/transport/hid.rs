//! OTP HID transport through hidapi (pure-Rust hidraw backend): finds YubiKey OTP interfaces, moves feature reports.

use super::FeatureReports;
use crate::error::{HwError, Result};

/// Yubico's USB vendor id.
pub const YUBICO_VID: u16 = 0x1050;

/// One YubiKey OTP interface.
#[derive(Clone, Debug)]
pub struct HidInfo {
    pub path: std::ffi::CString,
    pub product_id: u16,
    pub product: String,
}

/// An opened OTP interface.
pub struct HidOtp {
    dev: hidapi::HidDevice,
}

/// YubiKey OTP interfaces (keyboard usage page 1 / usage 6, or interface 0). An empty list where hidraw
/// is absent: HID is optional, PC/SC still works.
pub fn list() -> Vec<HidInfo> {
    let Ok(api) = hidapi::HidApi::new() else {
        return Vec::new();
    };
    api.device_list()
        .filter(|d| d.vendor_id() == YUBICO_VID)
        .filter(|d| (d.usage_page() == 1 && d.usage() == 6) || d.interface_number() == 0)
        .map(|d| HidInfo {
            path: d.path().to_owned(),
            product_id: d.product_id(),
            product: d.product_string().unwrap_or("YubiKey").to_string(),
        })
        .collect()
}

/// Opens the first YubiKey OTP interface.
pub fn open_first() -> Result<HidOtp> {
    let info = list().into_iter().next().ok_or(HwError::NoDevice)?;
    let api = hidapi::HidApi::new().map_err(|e| HwError::Hid(e.to_string()))?;
    let dev = api
        .open_path(&info.path)
        .map_err(|e| HwError::Hid(format!("opening {}: {e}", info.path.to_string_lossy())))?;
    Ok(HidOtp { dev })
}

impl FeatureReports for HidOtp {
    fn get_feature(&mut self) -> Result<[u8; 8]> {
        let mut buf = [0u8; 9];
        let n = self
            .dev
            .get_feature_report(&mut buf)
            .map_err(|e| HwError::Hid(e.to_string()))?;
        if n < 8 {
            return Err(HwError::Hid(format!("short feature report ({n} bytes)")));
        }
        let mut r = [0u8; 8];
        // hidapi returns the report id first when the buffer had room for it.
        r.copy_from_slice(&buf[n - 8..n]);
        Ok(r)
    }

    fn set_feature(&mut self, report: &[u8; 8]) -> Result<()> {
        let mut buf = [0u8; 9];
        buf[1..].copy_from_slice(report);
        self.dev
            .send_feature_report(&buf)
            .map_err(|e| HwError::Hid(e.to_string()))
    }
}
