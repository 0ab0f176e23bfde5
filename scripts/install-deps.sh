#!/usr/bin/env bash
# Installs the Debian 12 packages a build needs, plus any extra ones named as
# arguments. Does nothing for packages already present.
set -euo pipefail
packages=(meson ninja-build pkg-config g++ libfmt-dev catch2 libwine-dev "$@")
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
