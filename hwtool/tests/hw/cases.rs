//! The slot configurations every transport is checked with: our builder, the CLI words and the oracle's words.

use tessera_hwtool::otp::config::{SlotConfig, SlotMode};

pub struct Case {
    pub name: &'static str,
    pub slot: u8,
    pub config: SlotConfig,
    pub cli: Vec<String>,
    pub oracle: Vec<String>,
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

pub const RFC_KEY: &str = "3132333435363738393031323334353637383930";
pub const CR_KEY: &str = "303132333435363738393a3b3c3d3e3f40414243";

pub fn cases() -> Vec<Case> {
    let key2 = "000102030405060708090a0b0c0d0e0f10111213";
    let key18 = "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2";
    let with = |mode, acc: Option<&str>, cr: bool| SlotConfig {
        mode,
        new_access_code: acc.map(|a| h(a).try_into().unwrap()),
        append_cr: cr,
    };
    vec![
        Case {
            name: "OATH-HOTP 8 digits, slot 1",
            slot: 1,
            config: with(
                SlotMode::Hotp {
                    key: h(RFC_KEY),
                    digits: 8,
                    token_id: vec![],
                    imf: 0,
                },
                None,
                true,
            ),
            cli: words(&format!("otp hotp 1 --key {RFC_KEY} --digits 8")),
            oracle: words(&format!("hotp 1 key={RFC_KEY} digits=8")),
        },
        Case {
            name: "OATH-HOTP 6 digits, token id, IMF 32, access code, no Enter, slot 2",
            slot: 2,
            config: with(
                SlotMode::Hotp {
                    key: h(key2),
                    digits: 6,
                    token_id: vec![1, 2, 3],
                    imf: 32,
                },
                Some("010203040506"),
                false,
            ),
            cli: words(&format!(
                "otp hotp 2 --key {key2} --token-id cbcdce --imf 32 --new-access-code 010203040506 --no-enter"
            )),
            oracle: words(&format!(
                "hotp 2 key={key2} tokenid=010203 imf=32 acc=010203040506 nocr"
            )),
        },
        Case {
            name: "Yubico OTP, serial public id, slot 2",
            slot: 2,
            config: with(
                SlotMode::YubicoOtp {
                    public_id: h("ff0000bc614e"),
                    private_id: h("0a1b2c3d4e5f").try_into().unwrap(),
                    aes_key: h("00112233445566778899aabbccddeeff").try_into().unwrap(),
                },
                None,
                true,
            ),
            cli: words(
                "otp yubiotp 2 --public-id vvccccnrhbfu --private-id 0a1b2c3d4e5f --key 00112233445566778899aabbccddeeff",
            ),
            oracle: words(
                "yubico 2 fixed=ff0000bc614e uid=0a1b2c3d4e5f aes=00112233445566778899aabbccddeeff",
            ),
        },
        Case {
            name: "Yubico OTP, 4-byte public id, access code, slot 1",
            slot: 1,
            config: with(
                SlotMode::YubicoOtp {
                    public_id: h("ff000001"),
                    private_id: h("112233445566").try_into().unwrap(),
                    aes_key: h("ffeeddccbbaa99887766554433221100").try_into().unwrap(),
                },
                Some("a1a2a3a4a5a6"),
                true,
            ),
            cli: words(
                "otp yubiotp 1 --public-id vvcccccb --private-id 112233445566 --key ffeeddccbbaa99887766554433221100 --new-access-code a1a2a3a4a5a6",
            ),
            oracle: words(
                "yubico 1 fixed=ff000001 uid=112233445566 aes=ffeeddccbbaa99887766554433221100 acc=a1a2a3a4a5a6",
            ),
        },
        Case {
            name: "HMAC-SHA1 challenge-response, slot 2",
            slot: 2,
            config: with(
                SlotMode::ChalResp {
                    key: h(CR_KEY),
                    touch: false,
                },
                None,
                true,
            ),
            cli: words(&format!("otp chalresp 2 --key {CR_KEY}")),
            oracle: words(&format!("chal 2 key={CR_KEY}")),
        },
        Case {
            name: "HMAC-SHA1 challenge-response, touch, 18-byte key, slot 1",
            slot: 1,
            config: with(
                SlotMode::ChalResp {
                    key: h(key18),
                    touch: true,
                },
                None,
                true,
            ),
            cli: words(&format!("otp chalresp 1 --key {key18} --touch")),
            oracle: words(&format!("chal 1 key={key18}0000 touch")),
        },
    ]
}
