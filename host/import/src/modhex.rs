//! Yubico's modhex encoding (`cbdefghijklnrtuv` for the nibbles 0-f) and the serial numbers privacyIDEA derives from it.

/// The modhex alphabet: the character at index `n` encodes the nibble `n`.
const ALPHABET: &[u8; 16] = b"cbdefghijklnrtuv";

/// Decodes modhex (either case) into bytes; `None` for an odd length or a character outside the alphabet.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

/// Encodes bytes as lower-case modhex.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(ALPHABET[usize::from(byte >> 4)]));
        out.push(char::from(ALPHABET[usize::from(byte & 0x0f)]));
    }
    out
}

/// True when `text` is non-empty, of even length and only modhex characters.
pub fn is_modhex(text: &str) -> bool {
    !text.is_empty() && decode(text).is_some()
}

/// The public id read as one big-endian number, as privacyIDEA does to name traditional-format tokens
/// (`UBAM<number, at least 8 digits>_<slot>`). `None` when it is not modhex or longer than 16 bytes.
pub fn public_id_number(public_id: &str) -> Option<u128> {
    let bytes = decode(public_id)?;
    if bytes.len() > 16 {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b)),
    )
}

fn nibble(c: u8) -> Option<u8> {
    let lower = c.to_ascii_lowercase();
    ALPHABET
        .iter()
        .position(|a| *a == lower)
        .and_then(|p| u8::try_from(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_encodes_yubico_examples() {
        // `modhex -h` from libyubikey: cccccccccccc is the all-zero public id.
        assert_eq!(decode("cccccccccccc"), Some(vec![0; 6]));
        assert_eq!(decode("vvgutbiedkvi"), hex::decode("ff5ed17329f7").ok());
        assert_eq!(
            encode(&[0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]),
            "clbndretfugv"
        );
        assert_eq!(decode("VVGUTBIEDKVI"), decode("vvgutbiedkvi"));
        assert_eq!(decode("vvg"), None);
        assert_eq!(decode("vvga"), None);
        assert!(!is_modhex(""));
    }

    #[test]
    fn public_id_number_matches_privacyidea_serials() {
        // privacyIDEA 3.7.1 named the traditional-format token with public id vvgutbiedkvi
        // `UBAM280782705994231_1` (captured answer 93).
        assert_eq!(public_id_number("vvgutbiedkvi"), Some(280_782_705_994_231));
        assert_eq!(public_id_number("cccccccccccc"), Some(0));
        assert_eq!(public_id_number(&"v".repeat(34)), None);
    }
}
