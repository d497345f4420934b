//! The CRC16 YubiKeys use (ISO 13239 / X.25 bit order: init 0xFFFF, reflected polynomial 0x8408, no final XOR).

/// What `crc16` gives over a block that ends with its own stored (complemented, little-endian) CRC.
pub const CRC_OK_RESIDUAL: u16 = 0xF0B8;

/// `yubikey_crc16` from libyubikey.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            let lsb = crc & 1;
            crc >>= 1;
            if lsb != 0 {
                crc ^= 0x8408;
            }
        }
    }
    crc
}

/// True if `block` (data followed by `!crc16(data)` little-endian) has a valid CRC.
pub fn check(block: &[u8]) -> bool {
    crc16(block) == CRC_OK_RESIDUAL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_crc_of_the_recorded_hmac_configuration_is_valid() {
        // HMAC-SHA1 chal-resp slot 2, as ykman and libykpers wrote it (research doc §2.3).
        let cfg = hex::decode(
            "00000000000000000000000000000000404142430000303132333435363738393a3b3c3d3e3f0000000000000024402600000921",
        )
        .unwrap();
        assert_eq!(crc16(&cfg[..50]), !u16::from_le_bytes([cfg[50], cfg[51]]));
        assert!(check(&cfg));
    }

    #[test]
    fn x25_check_value() {
        // CRC-16/X-25 check value for "123456789" is 0x906E, which is the complement of this CRC.
        assert_eq!(!crc16(b"123456789"), 0x906E);
    }
}
