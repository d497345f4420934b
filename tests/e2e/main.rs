//! The end-to-end test binary: each test runs a real `tessera serve` on an ephemeral port with a
//! temporary data dir, talks HTTP to it, and computes OTPs with the real `oathtool`.
//!
//! Run: `cargo test --release -p tessera-e2e` (builds `target/release/tessera` first if it is stale;
//! set `TESSERA_BIN` to test another binary). Needs `oathtool` on the PATH.
//! Add tests as modules of this one binary, never as new files in `tests/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit;
mod authz_limits;
mod challenge;
mod durability;
mod errors;
mod harness;
mod hotp_wire;
mod import;
mod lifecycle;
mod policies;
mod policy_admin;
mod race;
mod readme;
mod rights;
mod sandbox;
mod seeds;
mod throttle;
mod totp;
