#!/usr/bin/env bash
# Installs the programs the test suite runs on rendered files (Debian
# packages): mosquitto and its clients, haproxy, nginx with its stream
# module, keepalived, promtool (prometheus), rsyslog (its `-N1` check of the log shipper),
# the shell linter, openssl, gcc, age (the backup drill encrypts with it), and pre-commit and pyhocon from PyPI. Idempotent; uses sudo when not root.
set -euo pipefail

packages=(mosquitto mosquitto-clients haproxy nginx libnginx-mod-stream keepalived prometheus rsyslog shellcheck openssl gcc libc6-dev age)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# From PyPI: pre-commit for the hook test, pyhocon as the second HOCON
# parser the rendered EMQX files are read with.
if ! command -v pre-commit >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore pre-commit
fi
if ! python3 -c 'import pyhocon' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore pyhocon
fi
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "test dependencies already installed"
  exit 0
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
echo "installing: ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# Package scripts may try to start the services; the tests start their own.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
