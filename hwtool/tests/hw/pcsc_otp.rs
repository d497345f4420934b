//! The OTP applet over PC/SC through the real CLI: every mode byte-exact in short and extended APDUs,
//! refusals, access codes, delete, swap, challenge-response, info, and the reader/card errors.

use tessera_hwtool::otp::config::CONFIG_SIZE;

use super::cases::{CR_KEY, cases};
use super::oracle::oracle;
use super::rig::{EMPTY_READER, hwtool, session};

#[test]
fn cli_programs_every_mode_byte_exact_in_short_and_extended_apdus() {
    for form in ["short", "extended"] {
        for case in cases() {
            let s = session();
            let args: Vec<&str> = case.oracle.iter().map(String::as_str).collect();
            let (config, _) = oracle(&args);
            let mut cli = vec!["--apdu", form];
            cli.extend(case.cli.iter().map(String::as_str));
            hwtool(&cli).ok();
            let k = s.key();
            let w = k.otp.writes.last().unwrap();
            assert!(w.accepted, "{} ({form})", case.name);
            assert_eq!(
                hex::encode(&w.data[..CONFIG_SIZE]),
                config,
                "{} ({form})",
                case.name
            );
            assert_eq!(
                w.data.len(),
                CONFIG_SIZE + 6,
                "config + current access code"
            );
            let apdu = k
                .apdu_log
                .iter()
                .rev()
                .find(|a| a.get(1) == Some(&0x01))
                .unwrap();
            // Short: Lc in byte 4; extended: 00 then a two-byte Lc.
            let extended = apdu[4] == 0 && apdu[5..7] == [0, 58];
            assert_eq!(
                extended,
                form == "extended",
                "{} sent {}",
                case.name,
                hex::encode(apdu)
            );
        }
    }
}

#[test]
fn a_programmed_slot_needs_force_and_its_access_code() {
    let s = session();
    let case = &cases()[1]; // slot 2, access code 010203040506
    let cli: Vec<&str> = case.cli.iter().map(String::as_str).collect();
    hwtool(&cli).ok().stdout.contains("Slot 2 programmed");
    let writes = s.key().otp.writes.len();
    let stored = s.key().otp.slots[1];

    hwtool(&cli).failed_with("slot 2 is already programmed: pass --force");
    assert_eq!(
        s.key().otp.writes.len(),
        writes,
        "nothing written without --force"
    );

    let overwrite = ["otp", "chalresp", "2", "--key", CR_KEY, "--force"];
    hwtool(&overwrite).failed_with("wrong or missing access code");
    let mut wrong = overwrite.to_vec();
    wrong.extend(["--access-code", "ffffffffffff"]);
    hwtool(&wrong).failed_with("not accepted");
    assert_eq!(
        s.key().otp.slots[1],
        stored,
        "the slot is unchanged after a wrong access code"
    );
    hwtool(&["otp", "delete", "2"]).failed_with("pass --force");
    hwtool(&[
        "otp",
        "delete",
        "2",
        "--force",
        "--access-code",
        "010203040506",
    ])
    .ok();
    assert_eq!(s.key().otp.slots[1], None);
    let info = hwtool(&["otp", "info"]);
    assert_eq!(info.ok().stdout, "Slot 1: empty\nSlot 2: empty\n");
}

#[test]
fn swap_calculate_and_info() {
    let s = session();
    hwtool(&["otp", "chalresp", "1", "--key", CR_KEY]).ok();
    hwtool(&["otp", "swap"]).failed_with("pass --force");
    hwtool(&["otp", "swap", "--force"]).ok();
    assert!(s.key().otp.slots[0].is_none() && s.key().otp.slots[1].is_some());
    let r = hwtool(&["otp", "calculate", "2", "616263"]);
    assert_eq!(
        r.ok().stdout.trim(),
        "e0f2c3f2b93b9eda37a6848ea1253a06e4a85732"
    );
    let info = hwtool(&["info"]);
    let out = &info.ok().stdout;
    for line in [
        "Transport: CCID",
        "Serial: 12345678",
        "Firmware: 5.4.3",
        "Slot 1: empty",
        "Slot 2: programmed (challenge-response)",
        "Applets: OTP, OATH",
    ] {
        assert!(out.contains(line), "info lacks \"{line}\":\n{out}");
    }
    let list = hwtool(&["--reader", "OTP+FIDO+CCID", "list"]);
    assert!(
        list.ok()
            .stdout
            .contains("YubiKey serial 12345678, firmware 5.4.3"),
        "{list:?}"
    );
    assert!(
        list.stdout.contains(&format!("{EMPTY_READER}  (no card)")),
        "{list:?}"
    );
}

#[test]
fn no_reader_and_no_card_are_clear_errors() {
    let _s = session();
    let r = hwtool(&["--reader", "Nonexistent Reader", "info"]);
    r.failed_with("no reader matches \"Nonexistent Reader\"");
    assert!(
        r.stderr.contains("OTP+FIDO+CCID 00 00"),
        "lists the readers present: {r:?}"
    );
    hwtool(&["--reader", EMPTY_READER, "otp", "info"]).failed_with("no YubiKey in reader");
    hwtool(&[
        "--reader",
        EMPTY_READER,
        "--transport",
        "pcsc",
        "oath",
        "list",
    ])
    .failed_with("no YubiKey in reader");
}
