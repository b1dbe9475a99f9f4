#!/usr/bin/env bash
# Installs the Debian packages the platform and its tests use. Quick when they are already there.
# Usage: scripts/install-system-packages.sh [runtime|test]
set -euo pipefail

runtime=(slapd ldap-utils libldap2-dev libsasl2-dev softhsm2 opensc
         poppler-utils libnss3-tools qpdf fonts-dejavu-core fonts-noto-core)
test_only=(chromium chromium-driver postgresql redis-server nginx openssl time)

want=("${runtime[@]}")
if [ "${1:-runtime}" = "test" ]; then
  want+=("${test_only[@]}")
  # The interoperability tests drive npm packages (openid-client, oidc-provider) with Node.js 20 or newer.
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    want+=(nodejs npm)
  fi
fi
# A Python that can make virtual environments and build python-ldap (Debian's python3 needs these packages;
# a Python built elsewhere, such as pyenv's, brings its own).
py=${PYTHON:-python3}
if ! command -v "$py" >/dev/null 2>&1; then
  want+=(python3 python3-venv python3-dev)
else
  "$py" -c "import ensurepip, venv" >/dev/null 2>&1 || want+=(python3-venv)
  inc=$("$py" -c "import sysconfig; print(sysconfig.get_path('include'))" 2>/dev/null || true)
  [ -n "$inc" ] && [ -f "$inc/Python.h" ] || want+=(python3-dev)
fi
command -v gcc >/dev/null 2>&1 || want+=(gcc libc6-dev)

missing=()
for pkg in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo -E)
apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=5)
for attempt in 1 2 3 4 5; do
  if "${sudo[@]}" apt-get "${apt_opts[@]}" update -qq; then break; fi
  echo "apt-get update failed (attempt $attempt); retrying" >&2
  sleep $((attempt * 5))
done
for attempt in 1 2 3; do
  if "${sudo[@]}" apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}"; then
    exit 0
  fi
  echo "apt-get install failed (attempt $attempt); retrying" >&2
  sleep $((attempt * 10))
done
echo "Could not install: ${missing[*]}" >&2
exit 1
