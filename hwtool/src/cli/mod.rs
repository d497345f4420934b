//! Command-line interface: the argument tree and what each command prints.

mod batch;
mod enroll;
mod import;
mod info;
mod oath;
mod otp;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use tessera_hwtool::apdu::ApduForm;
use tessera_hwtool::device::{Target, TransportChoice};
use tessera_hwtool::enroll::EnrollError;

/// Program YubiKeys over HID and PC/SC and enroll them in Tessera.
#[derive(Debug, Parser)]
#[command(name = "tessera-hwtool", version)]
pub struct Cli {
    /// Use the PC/SC reader whose name contains this (case-insensitive).
    #[arg(long, global = true, env = "TESSERA_HWTOOL_READER")]
    pub reader: Option<String>,
    /// How to reach the OTP application.
    #[arg(long, global = true, value_enum, default_value_t = TransportArg::Auto)]
    pub transport: TransportArg,
    /// APDU encoding for PC/SC.
    #[arg(long, global = true, value_enum, default_value_t = FormArg::Auto)]
    pub apdu: FormArg,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TransportArg {
    Auto,
    Pcsc,
    Hid,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormArg {
    Auto,
    Short,
    Extended,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connected keys: PC/SC readers (with card presence) and YubiKey OTP HID interfaces.
    List,
    /// Serial, firmware, applets and slot status of one key.
    Info,
    /// OTP slots: program, delete, swap, challenge-response.
    #[command(subcommand)]
    Otp(otp::OtpCommand),
    /// The OATH applet (TOTP/HOTP accounts) over PC/SC.
    Oath(oath::OathArgs),
    /// Program a slot with a fresh secret and create the matching token on a Tessera server.
    Enroll(enroll::EnrollArgs),
    /// Program many keys one after another: CSV log, encrypted PSKC, server tokens.
    Batch(batch::BatchArgs),
    /// Send a seed file (YubiKey CSV, OATH CSV, PSKC, ykksm) to the server's import endpoint.
    Import(import::ImportArgs),
}

impl Cli {
    pub fn target(&self) -> Target {
        Target {
            reader: self.reader.clone(),
            transport: match self.transport {
                TransportArg::Auto => TransportChoice::Auto,
                TransportArg::Pcsc => TransportChoice::Pcsc,
                TransportArg::Hid => TransportChoice::Hid,
            },
            form: match self.apdu {
                FormArg::Auto => ApduForm::Auto,
                FormArg::Short => ApduForm::Short,
                FormArg::Extended => ApduForm::Extended,
            },
        }
    }
}

pub fn run(cli: Cli) -> Result<()> {
    let target = cli.target();
    match cli.command {
        Command::List => info::list(&target),
        Command::Info => info::info(&target),
        Command::Otp(c) => otp::run(&target, c),
        Command::Oath(a) => oath::run(&target, a),
        Command::Enroll(a) => enroll::run(&target, a),
        Command::Batch(a) => batch::run(&target, a),
        Command::Import(a) => import::run(a),
    }
}

/// 3 when the key was written but the server step failed (half done); 1 otherwise.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<EnrollError>() {
        Some(EnrollError::HalfDone { .. }) => 3,
        _ => 1,
    }
}

/// Parses hex (spaces allowed) into bytes, naming the option on failure.
pub fn parse_hex(what: &str, s: &str) -> Result<Vec<u8>> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(&clean).map_err(|_| anyhow::anyhow!("{what} must be hex, got \"{s}\""))
}
