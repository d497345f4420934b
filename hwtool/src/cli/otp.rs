//! `otp ...`: program a slot (OATH-HOTP, Yubico OTP, HMAC-SHA1 challenge-response), delete, swap, calculate.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use tessera_hwtool::device::{self, Target};
use tessera_hwtool::enroll::{public_id_from_serial, random_bytes};
use tessera_hwtool::modhex;
use tessera_hwtool::otp::config::{SlotConfig, SlotMode};
use tessera_hwtool::otp::{OtpBackend, OtpSession, Slot, parse_access_code};

use super::parse_hex;

#[derive(Debug, Subcommand)]
pub enum OtpCommand {
    /// Slot status.
    Info,
    /// Program OATH-HOTP: the key types a 6- or 8-digit code on touch.
    Hotp {
        #[command(flatten)]
        common: Common,
        /// 6 or 8.
        #[arg(long, default_value_t = 6)]
        digits: u8,
        /// HMAC key (up to 20 bytes hex); generated when absent.
        #[arg(long)]
        key: Option<String>,
        /// Token id typed before the code, as modhex (up to 16 bytes).
        #[arg(long)]
        token_id: Option<String>,
        /// Initial counter (a multiple of 16).
        #[arg(long, default_value_t = 0)]
        imf: u32,
    },
    /// Program Yubico OTP.
    Yubiotp {
        #[command(flatten)]
        common: Common,
        /// Public id as modhex; derived from the serial (ff00 + serial) when absent.
        #[arg(long)]
        public_id: Option<String>,
        /// Private id (6 bytes hex); generated when absent.
        #[arg(long)]
        private_id: Option<String>,
        /// AES-128 key (16 bytes hex); generated when absent.
        #[arg(long)]
        key: Option<String>,
    },
    /// Program HMAC-SHA1 challenge-response.
    Chalresp {
        #[command(flatten)]
        common: Common,
        /// HMAC key (up to 20 bytes hex); generated when absent.
        #[arg(long)]
        key: Option<String>,
        /// Wait for a touch before answering.
        #[arg(long)]
        touch: bool,
    },
    /// Delete a slot's configuration.
    Delete {
        /// 1 or 2.
        slot: u8,
        /// The slot's current access code (12 hex digits).
        #[arg(long)]
        access_code: Option<String>,
        /// Delete without being asked twice (required: deleting cannot be undone).
        #[arg(long)]
        force: bool,
    },
    /// Swap the configurations of slot 1 and slot 2.
    Swap {
        #[arg(long)]
        force: bool,
    },
    /// HMAC-SHA1 challenge-response: print the key's answer to a hex challenge.
    Calculate {
        slot: u8,
        /// Challenge, hex (up to 63 bytes).
        challenge: String,
    },
}

/// Options every programming command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// 1 or 2.
    pub slot: u8,
    /// Overwrite a programmed slot.
    #[arg(long)]
    pub force: bool,
    /// The slot's current access code (12 hex digits).
    #[arg(long)]
    pub access_code: Option<String>,
    /// Protect the slot with this access code from now on (12 hex digits).
    #[arg(long)]
    pub new_access_code: Option<String>,
    /// Do not press Enter after the typed OTP.
    #[arg(long)]
    pub no_enter: bool,
    /// Print the generated secret (otherwise it is never shown).
    #[arg(long)]
    pub show_secret: bool,
}

fn key_or_random(
    arg: Option<&str>,
    what: &str,
    len: usize,
    exact: bool,
) -> Result<(Vec<u8>, bool)> {
    match arg {
        Some(h) => {
            let k = parse_hex(what, h)?;
            if (exact && k.len() != len) || k.len() > len || k.is_empty() {
                bail!(
                    "{what} must be {}{len} bytes, got {}",
                    if exact { "" } else { "1 to " },
                    k.len()
                );
            }
            Ok((k, false))
        }
        None => Ok((random_bytes(len).to_vec(), true)),
    }
}

fn program<B: OtpBackend>(
    s: &mut OtpSession<B>,
    common: &Common,
    mode: SlotMode,
    secrets: &[(&str, Vec<u8>, bool)],
) -> Result<()> {
    let slot = Slot::from_number(common.slot)?;
    let mut config = SlotConfig::new(mode);
    config.append_cr = !common.no_enter;
    let current = common
        .access_code
        .as_deref()
        .map(parse_access_code)
        .transpose()?;
    config.new_access_code = match &common.new_access_code {
        Some(a) => Some(parse_access_code(a)?),
        None => current,
    };
    s.program(slot, &config, current, common.force)?;
    println!("Slot {} programmed.", slot.number());
    for (what, value, generated) in secrets {
        if common.show_secret {
            println!("{what}: {}", hex::encode(value));
        } else if *generated {
            println!(
                "{what}: generated and written to the key, not shown (--show-secret shows it)"
            );
        }
    }
    Ok(())
}

pub fn run(target: &Target, cmd: OtpCommand) -> Result<()> {
    let mut s = device::open_otp(target)?;
    match cmd {
        OtpCommand::Info => {
            for slot in [Slot::One, Slot::Two] {
                let st = s.status();
                println!(
                    "Slot {}: {}",
                    slot.number(),
                    if st.slot_programmed(slot) {
                        "programmed"
                    } else {
                        "empty"
                    }
                );
            }
        }
        OtpCommand::Hotp {
            common,
            digits,
            key,
            token_id,
            imf,
        } => {
            let (k, generated) = key_or_random(key.as_deref(), "--key", 20, false)?;
            let token_id = match token_id {
                Some(t) => modhex::decode(&t)
                    .ok_or_else(|| anyhow::anyhow!("--token-id must be modhex"))?,
                None => Vec::new(),
            };
            let mode = SlotMode::Hotp {
                key: k.clone(),
                digits,
                token_id,
                imf,
            };
            program(&mut s, &common, mode, &[("HOTP key", k, generated)])?;
        }
        OtpCommand::Yubiotp {
            common,
            public_id,
            private_id,
            key,
        } => {
            let public = match public_id {
                Some(p) => modhex::decode(&p)
                    .ok_or_else(|| anyhow::anyhow!("--public-id must be modhex"))?,
                None => public_id_from_serial(s.serial()?),
            };
            let (uid, uid_gen) = key_or_random(private_id.as_deref(), "--private-id", 6, true)?;
            let (aes, aes_gen) = key_or_random(key.as_deref(), "--key", 16, true)?;
            let mut private_id = [0u8; 6];
            private_id.copy_from_slice(&uid);
            let mut aes_key = [0u8; 16];
            aes_key.copy_from_slice(&aes);
            println!("Public id: {}", modhex::encode(&public));
            let mode = SlotMode::YubicoOtp {
                public_id: public,
                private_id,
                aes_key,
            };
            program(
                &mut s,
                &common,
                mode,
                &[("Private id", uid, uid_gen), ("AES key", aes, aes_gen)],
            )?;
        }
        OtpCommand::Chalresp { common, key, touch } => {
            let (k, generated) = key_or_random(key.as_deref(), "--key", 20, false)?;
            let mode = SlotMode::ChalResp {
                key: k.clone(),
                touch,
            };
            program(&mut s, &common, mode, &[("HMAC key", k, generated)])?;
        }
        OtpCommand::Delete {
            slot,
            access_code,
            force,
        } => {
            let slot = Slot::from_number(slot)?;
            if !s.status().slot_programmed(slot) {
                println!("Slot {} is already empty.", slot.number());
                return Ok(());
            }
            if !force {
                bail!(
                    "deleting slot {} cannot be undone: pass --force",
                    slot.number()
                );
            }
            let acc = access_code.as_deref().map(parse_access_code).transpose()?;
            s.delete(slot, acc)?;
            println!("Slot {} deleted.", slot.number());
        }
        OtpCommand::Swap { force } => {
            if !force {
                bail!("swapping changes which touch types which OTP: pass --force");
            }
            s.swap()?;
            println!("Slots swapped.");
        }
        OtpCommand::Calculate { slot, challenge } => {
            let slot = Slot::from_number(slot)?;
            let c = parse_hex("challenge", &challenge)?;
            println!("{}", hex::encode(s.hmac_sha1(slot, &c)?));
        }
    }
    Ok(())
}
