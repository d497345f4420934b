//! `list` and `info`: what is connected and what one key holds.

use anyhow::Result;
use tessera_hwtool::device::{self, Target, TransportChoice};
use tessera_hwtool::error::HwError;
use tessera_hwtool::oath::OathSession;
use tessera_hwtool::otp::ccid::OtpCcid;
use tessera_hwtool::otp::{OtpBackend, OtpSession, Slot};
use tessera_hwtool::transport::pcsc;

pub fn list(target: &Target) -> Result<()> {
    let mut found = 0;
    match pcsc::list_readers(target.reader.as_deref()) {
        Ok(readers) => {
            for r in readers {
                found += 1;
                let mut line = format!("PC/SC  {}", r.name);
                if r.card_present {
                    let t = Target {
                        reader: Some(r.name.clone()),
                        ..target.clone()
                    };
                    match device::channel(&t)
                        .and_then(OtpCcid::open)
                        .and_then(OtpSession::open)
                    {
                        Ok(mut s) => {
                            let serial = s.serial().map_or("?".to_string(), |n| n.to_string());
                            line += &format!(
                                "  YubiKey serial {serial}, firmware {}",
                                s.status().version_string()
                            );
                        }
                        Err(_) => line += "  (card present, no YubiKey OTP applet)",
                    }
                } else {
                    line += "  (no card)";
                }
                println!("{line}");
            }
        }
        Err(HwError::NoService(e)) => eprintln!("PC/SC: not available ({e})"),
        Err(e) => return Err(e.into()),
    }
    #[cfg(feature = "hid")]
    for h in tessera_hwtool::transport::hid::list() {
        found += 1;
        println!(
            "HID    {} (product id {:04x}) {}",
            h.product,
            h.product_id,
            h.path.to_string_lossy()
        );
    }
    if found == 0 {
        println!("no keys or readers found");
    }
    Ok(())
}

fn slot_line<B: OtpBackend>(s: &OtpSession<B>, slot: Slot) -> String {
    let st = s.status();
    let state = if !st.slot_programmed(slot) {
        "empty"
    } else if st.slot_touch_triggered(slot) {
        "programmed (touch-triggered)"
    } else {
        "programmed (challenge-response)"
    };
    format!("Slot {}: {state}", slot.number())
}

pub fn info(target: &Target) -> Result<()> {
    let mut otp = device::open_otp(target)?;
    let serial = otp.serial();
    println!("Transport: {}", otp.kind());
    match serial {
        Ok(n) => println!("Serial: {n}"),
        Err(_) => println!("Serial: not readable"),
    }
    println!("Firmware: {}", otp.status().version_string());
    println!("{}", slot_line(&otp, Slot::One));
    println!("{}", slot_line(&otp, Slot::Two));
    if target.transport != TransportChoice::Hid {
        let mut applets = vec!["OTP"];
        if let Ok(ch) = device::channel(target)
            && let Ok(oath) = OathSession::open(ch)
        {
            applets.push("OATH");
            let v = oath.info().version;
            println!(
                "OATH: version {}.{}.{}{}",
                v[0],
                v[1],
                v[2],
                if oath.locked() {
                    ", password protected"
                } else {
                    ""
                }
            );
        }
        println!("Applets: {}", applets.join(", "));
    }
    Ok(())
}
