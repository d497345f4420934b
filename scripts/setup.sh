#!/usr/bin/env bash
# Installs what building and testing Tessera needs on Debian/Ubuntu: the wasm32-wasip2 Rust target
# the OTP oracle `oathtool` (tests compare against it) and libfaketime (tests move the server's clock). Safe to run again.
set -euo pipefail
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "setup: installing the Rust target wasm32-wasip2 (plugins are built for it)"
  rustup target add wasm32-wasip2
fi
missing=()
command -v oathtool >/dev/null 2>&1 || missing+=(oathtool)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# libfaketime: end-to-end tests move the server's wall clock (challenge expiry, lockout timeouts).
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || missing+=(faketime)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]} with apt"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y "${missing[@]}" || { $SUDO apt-get update && $SUDO apt-get install -y "${missing[@]}"; }
fi
# tessera-hwtool: libpcsclite to build; pcscd, the vpcd virtual reader and the YubiKey oracles to test.
"$(dirname "$0")/setup-hwtool.sh"
