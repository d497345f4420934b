//! Modhex, the keyboard-layout-independent hex alphabet of Yubico OTP public ids and tokens.

const ALPHABET: &[u8; 16] = b"cbdefghijklnrtuv";

/// Bytes to modhex (two characters per byte).
pub fn encode(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 2);
    for &b in data {
        s.push(char::from(ALPHABET[usize::from(b >> 4)]));
        s.push(char::from(ALPHABET[usize::from(b & 0x0F)]));
    }
    s
}

/// Modhex to bytes; `None` on an odd length or a character outside the alphabet (case-insensitive).
pub fn decode(s: &str) -> Option<Vec<u8>> {
    let digits: Option<Vec<u8>> = s
        .bytes()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            ALPHABET
                .iter()
                .position(|&a| a == c)
                .and_then(|p| u8::try_from(p).ok())
        })
        .collect();
    let digits = digits?;
    if digits.len() % 2 != 0 {
        return None;
    }
    Some(digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_public_id_as_modhex_tool_prints_it() {
        // `modhex -h ff0000bc614e` -> vvccccnrhbfu (research doc §4.3).
        assert_eq!(
            encode(&[0xff, 0x00, 0x00, 0xbc, 0x61, 0x4e]),
            "vvccccnrhbfu"
        );
        assert_eq!(
            decode("vvccccnrhbfu").unwrap(),
            vec![0xff, 0, 0, 0xbc, 0x61, 0x4e]
        );
        assert_eq!(decode("VVCC").unwrap(), vec![0xff, 0]);
        assert!(decode("vvc").is_none());
        assert!(decode("vvca").is_none());
    }
}
