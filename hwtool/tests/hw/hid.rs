//! The OTP HID frame protocol against the in-process software key: frames byte-exact with libykpers,
//! skipped zero reports, response CRCs, touch waits, pgmSeq checks, access codes, delete and swap.

use std::sync::{Arc, Mutex};

use tessera_hwtool::error::HwError;
use tessera_hwtool::otp::config::SlotConfig;
use tessera_hwtool::otp::frame;
use tessera_hwtool::otp::hid::OtpHid;
use tessera_hwtool::otp::{OtpSession, Slot};
use tessera_hwtool::softkey::hid::SoftHid;
use tessera_hwtool::softkey::{SoftKey, lock};

use super::cases::{CR_KEY, cases};
use super::oracle::oracle;

type HidSession = OtpSession<OtpHid<SoftHid>>;

fn open(key: &Arc<Mutex<SoftKey>>) -> HidSession {
    OtpSession::open(OtpHid::new(SoftHid::new(key.clone()))).unwrap()
}

/// The frame the device assembled from the reports the host wrote.
fn frame_from(written: &[[u8; 8]]) -> String {
    let mut f = [0u8; frame::FRAME_SIZE];
    for r in written
        .iter()
        .filter(|r| r[7] & frame::SLOT_WRITE_FLAG != 0)
    {
        let seq = usize::from(r[7] & frame::SEQUENCE_MASK);
        f[seq * 7..seq * 7 + 7].copy_from_slice(&r[..7]);
    }
    hex::encode(f)
}

#[test]
fn every_mode_goes_out_as_the_libykpers_frame() {
    for case in cases() {
        let args: Vec<&str> = case.oracle.iter().map(String::as_str).collect();
        let (config, frame_hex) = oracle(&args);
        assert_eq!(
            hex::encode(case.config.to_bytes().unwrap()),
            config,
            "{}",
            case.name
        );

        let key = SoftKey::shared(12345678);
        let mut s = open(&key);
        s.program(
            Slot::from_number(case.slot).unwrap(),
            &case.config,
            None,
            false,
        )
        .unwrap();
        let hid = s.into_backend().into_inner();
        assert_eq!(frame_from(&hid.written), frame_hex, "{}", case.name);
        // The reports are exactly the frame's, zero chunks skipped except the first and the last.
        let oracle_frame: [u8; 70] = hex::decode(&frame_hex).unwrap().try_into().unwrap();
        assert_eq!(hid.written, frame::reports(&oracle_frame), "{}", case.name);
        assert_eq!(hid.bad_frames, 0);
        let k = lock(&key);
        assert_eq!(
            hex::encode(k.otp.slots[usize::from(case.slot - 1)].unwrap()),
            config,
            "{}",
            case.name
        );
        assert_eq!(k.otp_status().pgm_seq, 1);
    }
}

#[test]
fn serial_and_challenge_response_with_touch_over_hid() {
    let key = SoftKey::shared(12345678);
    let mut s = open(&key);
    assert_eq!(s.serial().unwrap(), 12345678);
    let cr = |touch| {
        SlotConfig::new(tessera_hwtool::otp::config::SlotMode::ChalResp {
            key: hex::decode(CR_KEY).unwrap(),
            touch,
        })
    };
    s.program(Slot::Two, &cr(false), None, false).unwrap();
    s.program(Slot::One, &cr(true), None, false).unwrap();
    // HMAC-SHA1(key, "abc") as ykman printed it for the same key (research doc §2.3).
    let want = "e0f2c3f2b93b9eda37a6848ea1253a06e4a85732";
    assert_eq!(hex::encode(s.hmac_sha1(Slot::Two, b"abc").unwrap()), want);
    assert_eq!(lock(&key).otp_touches, 0);
    assert_eq!(hex::encode(s.hmac_sha1(Slot::One, b"abc").unwrap()), want);
    assert_eq!(
        lock(&key).otp_touches,
        1,
        "the touch-triggered slot waited for a touch"
    );
    // A challenge whose last byte is 0 is padded with 1s: still the HMAC of the unpadded bytes.
    let c = [7u8, 0];
    let expect = tessera_hwtool::oath::HashAlgo::Sha1.hmac(&hex::decode(CR_KEY).unwrap(), &c);
    assert_eq!(s.hmac_sha1(Slot::Two, &c).unwrap().to_vec(), expect);
    let hid = s.into_backend().into_inner();
    assert!(
        hid.written.contains(&frame::RESET_REPORT),
        "responses end with the reset report"
    );
}

#[test]
fn programmed_slots_access_codes_delete_and_swap_over_hid() {
    let key = SoftKey::shared(1);
    let mut s = open(&key);
    let case = &cases()[1]; // slot 2 with access code 010203040506
    s.program(Slot::Two, &case.config, None, false).unwrap();
    let stored = lock(&key).otp.slots[1];

    let again = s.program(Slot::Two, &case.config, None, false).unwrap_err();
    assert!(matches!(again, HwError::SlotProgrammed(2)), "{again}");
    let wrong = s
        .program(Slot::Two, &cases()[4].config, Some([9; 6]), true)
        .unwrap_err();
    assert!(matches!(wrong, HwError::Rejected(_)), "{wrong}");
    assert_eq!(
        lock(&key).otp.slots[1],
        stored,
        "a wrong access code changes nothing"
    );
    let acc = [1, 2, 3, 4, 5, 6];
    assert!(s.delete(Slot::Two, None).is_err());
    s.program(Slot::One, &cases()[0].config, None, false)
        .unwrap();
    assert!(s.status().slot_programmed(Slot::One) && s.status().slot_programmed(Slot::Two));
    s.swap().unwrap_err(); // slot 2 is protected: the software key, like ours, refuses to swap it
    s.delete(Slot::Two, Some(acc)).unwrap();
    s.swap().unwrap();
    let st = s.status();
    assert!(!st.slot_programmed(Slot::One) && st.slot_programmed(Slot::Two));
    s.delete(Slot::Two, None).unwrap();
    assert_eq!(
        s.status().pgm_seq,
        0,
        "no slot left: pgmSeq drops to 0 and the write still counts as done"
    );
    assert!(lock(&key).otp.slots.iter().all(Option::is_none));
}
