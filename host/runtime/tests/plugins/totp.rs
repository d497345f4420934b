//! The `totp` plugin against RFC 6238 Appendix B: 8 digits, SHA-1/256/512, the RFC's seeds and
//! times, with the host passing `now`.

use tessera_runtime::{CheckOutcome, CheckRequest};

use crate::{both, state};

/// The RFC's seeds: ASCII "1234567890" repeated to 20, 32 and 64 bytes.
fn seed(len: usize) -> Vec<u8> {
    b"1234567890".iter().copied().cycle().take(len).collect()
}

/// (time, SHA-1, SHA-256, SHA-512) from RFC 6238 Appendix B.
const TABLE: [(u64, &str, &str, &str); 6] = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
];

#[test]
fn appendix_b_values_match_at_their_time() {
    for (mode, rt) in both() {
        for (now, sha1, sha256, sha512) in TABLE {
            for (hashlib, key_len, otp) in [
                ("sha1", 20, sha1),
                ("sha256", 32, sha256),
                ("sha512", 64, sha512),
            ] {
                let key = seed(key_len);
                let info = [
                    ("hashlib", hashlib),
                    ("timeStep", "30"),
                    ("timeWindow", "30"),
                    ("timeShift", "0.0"),
                ];
                let req = CheckRequest {
                    key: &key,
                    state: state(0, 8, &info),
                    otp: otp.into(),
                    now,
                    window: 10,
                };
                let outcome = rt.check("totp", "TOTP0001", req).unwrap();
                let CheckOutcome::Matched(next) = outcome else {
                    panic!("{mode}: {hashlib} at {now}: {otp} gave {outcome:?}");
                };
                assert_eq!(next.counter, now / 30, "{mode}: {hashlib} at {now}");
                assert_eq!(next.otplen, 8);

                // The same value again, with the stored state: a replay.
                let req = CheckRequest {
                    key: &key,
                    state: next,
                    otp: otp.into(),
                    now,
                    window: 10,
                };
                assert_eq!(
                    rt.check("totp", "TOTP0001", req).unwrap(),
                    CheckOutcome::Replayed,
                    "{mode}"
                );
            }
        }
    }
}

#[test]
fn a_value_outside_the_time_window_does_not_match() {
    let rt = both()[0].1;
    let key = seed(20);
    let info = [
        ("hashlib", "sha1"),
        ("timeStep", "30"),
        ("timeWindow", "30"),
        ("timeShift", "0.0"),
    ];
    // 94287082 is the value of step 1 (T = 59); ten minutes later it is out of the window.
    let req = CheckRequest {
        key: &key,
        state: state(0, 8, &info),
        otp: "94287082".into(),
        now: 659,
        window: 10,
    };
    assert_eq!(
        rt.check("totp", "TOTP0002", req).unwrap(),
        CheckOutcome::NoMatch
    );
}
