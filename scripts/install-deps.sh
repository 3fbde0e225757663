#!/usr/bin/env bash
# Installs the Debian packages cocomem needs. Idempotent and quiet when nothing is missing.
set -euo pipefail

packages=(
  cmake ninja-build clang clang-14 libclang-rt-14-dev lld pkg-config make
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libssl-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  chromium  # renders `cocomem run --html` pages in the test suite (headless)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
