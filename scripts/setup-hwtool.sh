#!/usr/bin/env bash
# Installs what building and testing tessera-hwtool needs on Debian 12 (as root, or with sudo). Safe to run again.
#  build: libpcsclite-dev + pkg-config (the pcsc crate links libpcsclite)
#  tests: pcscd + vsmartcard-vpcd (the virtual reader the software YubiKey plugs into), ykman (Yubico's client,
#         checked against hwtool both ways), libykpers-1-dev + gcc (the libykpers byte-exact oracle), oathtool,
#         libyubikey-dev (ykgenerate/ykparse for Yubico OTP), pskc-utils (pskc2csv reads the PSKC export)
# pcscd is not started here: the hwtool tests start their own with their own reader configuration.
set -euo pipefail
packages=(pcscd libpcsclite-dev pkg-config vsmartcard-vpcd yubikey-manager libykpers-1-dev libyubikey-dev oathtool gcc libc6-dev pskc-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup-hwtool: installing ${missing[*]} with apt"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" \
    || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; }
fi
