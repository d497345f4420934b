//! BER-style TLVs with one-byte tags, as the OATH applet speaks them (lengths in short form or 0x81/0x82).

use crate::error::{HwError, Result};

/// `tag ‖ length ‖ value`.
pub fn encode(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n <= 0xFF {
        out.extend_from_slice(&[0x81, n as u8]);
    } else {
        out.push(0x82);
        out.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
    }
    out.extend_from_slice(value);
    out
}

/// Parses the first TLV of `data`: tag, value and how many bytes it took.
pub fn parse_one(data: &[u8]) -> Result<(u8, &[u8], usize)> {
    let bad = || HwError::Protocol("truncated TLV".to_string());
    let tag = *data.first().ok_or_else(bad)?;
    let first = *data.get(1).ok_or_else(bad)?;
    let (len, head) = match first {
        0x81 => (usize::from(*data.get(2).ok_or_else(bad)?), 3),
        0x82 => {
            let hi = *data.get(2).ok_or_else(bad)?;
            let lo = *data.get(3).ok_or_else(bad)?;
            (usize::from(u16::from_be_bytes([hi, lo])), 4)
        }
        n if n < 0x80 => (usize::from(n), 2),
        _ => return Err(bad()),
    };
    let value = data.get(head..head + len).ok_or_else(bad)?;
    Ok((tag, value, head + len))
}

/// Parses a sequence of TLVs into `(tag, value)` pairs.
pub fn parse(mut data: &[u8]) -> Result<Vec<(u8, Vec<u8>)>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (tag, value, used) = parse_one(data)?;
        out.push((tag, value.to_vec()));
        data = &data[used..];
    }
    Ok(out)
}

/// The value of the first TLV with `tag`.
pub fn find(tlvs: &[(u8, Vec<u8>)], tag: u8) -> Option<&[u8]> {
    tlvs.iter()
        .find(|(t, _)| *t == tag)
        .map(|(_, v)| v.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for n in [0usize, 1, 127, 128, 255, 256, 1000] {
            let v = vec![0xAB; n];
            let enc = encode(0x71, &v);
            assert_eq!(parse(&enc).unwrap(), vec![(0x71, v)]);
        }
        assert_eq!(hex::encode(encode(0x74, &[1, 2])), "74020102");
        assert_eq!(&encode(0x75, &[0; 200])[..3], &[0x75, 0x81, 200]);
        assert!(parse(&[0x71, 5, 1]).is_err());
    }
}
