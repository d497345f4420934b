//! `enroll`: log in to the server, then program the key and create the token (library `enroll`), and report.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use tessera_hwtool::device::{self, Target};
use tessera_hwtool::enroll::{EnrollMode, EnrollRequest, enroll};
use tessera_hwtool::otp::{Slot, parse_access_code};
use tessera_hwtool::server::Server;
use zeroize::Zeroizing;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModeArg {
    /// OATH-HOTP (token type hotp, serial UBOM<serial>_<slot>).
    Hotp,
    /// Yubico OTP (token type yubikey, serial UBAM<serial>_<slot>).
    Yubico,
}

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// Server base URL, e.g. https://tessera.example.com
    #[arg(long, env = "TESSERA_URL")]
    pub server: String,
    /// The user who gets the token.
    #[arg(long)]
    pub user: String,
    /// The user's realm.
    #[arg(long)]
    pub realm: String,
    /// 1 or 2.
    #[arg(long, default_value_t = 2)]
    pub slot: u8,
    #[arg(long, value_enum, default_value_t = ModeArg::Hotp)]
    pub mode: ModeArg,
    /// HOTP digits (6 or 8).
    #[arg(long, default_value_t = 6)]
    pub digits: u8,
    /// Overwrite a programmed slot and replace a token of the same serial.
    #[arg(long)]
    pub force: bool,
    /// The slot's current access code (12 hex digits); it stays set.
    #[arg(long)]
    pub access_code: Option<String>,
    /// Token description on the server.
    #[arg(long)]
    pub description: Option<String>,
    /// Print the secret written to the key.
    #[arg(long)]
    pub show_secret: bool,
}

/// Admin name and password from TESSERA_ADMIN_USER / TESSERA_ADMIN_PASSWORD, or asked on the terminal.
pub fn credentials() -> Result<(String, Zeroizing<String>)> {
    let user = match std::env::var("TESSERA_ADMIN_USER") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            if !std::io::stdin().is_terminal() {
                bail!(
                    "no admin credentials: set TESSERA_ADMIN_USER and TESSERA_ADMIN_PASSWORD (no terminal to ask on)"
                );
            }
            eprint!("Admin user: ");
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim().to_string()
        }
    };
    let password = match std::env::var("TESSERA_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => Zeroizing::new(p),
        _ => {
            if !std::io::stdin().is_terminal() {
                bail!("no admin password: set TESSERA_ADMIN_PASSWORD (no terminal to ask on)");
            }
            Zeroizing::new(rpassword::prompt_password(format!(
                "Password for {user}: "
            ))?)
        }
    };
    Ok((user, password))
}

pub fn run(target: &Target, args: EnrollArgs) -> Result<()> {
    let mode = match args.mode {
        ModeArg::Hotp => {
            if !matches!(args.digits, 6 | 8) {
                bail!("--digits must be 6 or 8");
            }
            EnrollMode::Hotp {
                digits: args.digits,
            }
        }
        ModeArg::Yubico => EnrollMode::YubicoOtp,
    };
    let req = EnrollRequest {
        user: args.user,
        realm: args.realm,
        slot: Slot::from_number(args.slot)?,
        mode,
        force: args.force,
        access_code: args
            .access_code
            .as_deref()
            .map(parse_access_code)
            .transpose()?,
        description: args.description,
    };
    // Log in and find the key before anything is written.
    let (admin, password) = credentials()?;
    let mut server = Server::new(&args.server);
    server
        .login(&admin, &password)
        .map_err(|e| anyhow::anyhow!("{e} (nothing was changed)"))?;
    let mut otp =
        device::open_otp(target).map_err(|e| anyhow::anyhow!("{e} (nothing was changed)"))?;
    let done = enroll(&server, &mut otp, &req)?;
    println!(
        "Enrolled {} for {}@{}: YubiKey {} slot {} over {}.",
        done.token_serial,
        req.user,
        req.realm,
        done.key_serial,
        req.slot.number(),
        otp.kind()
    );
    if args.show_secret {
        println!("Secret: {}", hex::encode(&done.secret[..]));
    }
    Ok(())
}
