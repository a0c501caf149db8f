#!/usr/bin/env bash
# Install everything overlaylab needs, from nothing, idempotently: apt packages, a running Open vSwitch,
# a venv at .venv (with the distro's Mininet visible) and the project itself. Safe to re-run; fast when
# nothing is missing. Used by `make install`, `make demo`, `make test` (with --test: also what the tests
# need), CI and the Vagrant provisioner. With overlaylab-bundle.tar beside it (`make bundle`, made where
# there is a network) it installs from that archive and downloads nothing.
set -uo pipefail

cd "$(dirname "$0")/.."
VENV=.venv
PYTHON=/usr/bin/python3  # Debian's Python: the one Mininet's package is built for
OVS_CTL=/usr/share/openvswitch/scripts/ovs-ctl
source scripts/packages.sh
[ "${1:-}" = "--test" ] && PACKAGES+=("${TEST_PACKAGES[@]}")
OFFLINE=""  # the unpacked bundle, if there is one

fail() { echo "install.sh: step '$1' failed: $2" >&2; exit 1; }

step_root() {
  [ "$(id -u)" -eq 0 ] || fail "root" "run it as root: sudo scripts/install.sh (or sudo make install)"
}

step_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "install.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ -n "$OFFLINE" ]; then  # the bundle's packages as the only repository apt knows, for this run
    echo "deb [trusted=yes] file:$OFFLINE/debs ./" > "$OFFLINE/sources.list"
    local apt=(apt-get -q -o Dir::Etc::sourcelist="$OFFLINE/sources.list" -o Dir::Etc::sourceparts=-
               -o Dir::State::Lists="$OFFLINE/lists")
    mkdir -p "$OFFLINE/lists/partial"
    "${apt[@]}" update >/dev/null || fail "read $BUNDLE" "make it again with 'make bundle'"
    "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null \
      || fail "apt-get install (from $BUNDLE)" "was the bundle made on this Debian release and architecture?"
    return
  fi
  apt-get update -q >/dev/null || fail "apt-get update" "check the network and /etc/apt/sources.list"
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || fail "apt-get install" "run 'apt-get install ${missing[*]}' by hand to see why"
}

step_ovs() {
  ovs-vsctl --timeout=3 show >/dev/null 2>&1 && return
  echo "install.sh: starting Open vSwitch"
  "$OVS_CTL" start >/dev/null 2>&1 || true  # it grumbles about ulimit in containers, then works
  ovs-vsctl --timeout=5 show >/dev/null 2>&1 \
    || fail "start Open vSwitch" "see /var/log/openvswitch/ovs-vswitchd.log; try '$OVS_CTL start'"
}

step_venv() {
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import mininet.net" 2>/dev/null; then
    return
  fi
  echo "install.sh: creating $VENV (with system site packages, for Mininet)"
  rm -rf "$VENV"
  "$PYTHON" -m venv --system-site-packages "$VENV" \
    || fail "create venv" "is python3-venv installed? try: apt-get install python3-venv"
}

step_pip() {
  local stamp="$VENV/.overlaylab-installed" want
  want=$(sha256sum setup.py | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$VENV/bin/python" -c "import overlaylab, os_ken" 2>/dev/null; then
    return
  fi
  echo "install.sh: installing overlaylab and its Python dependencies into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check ${OFFLINE:+--no-index --find-links "$OFFLINE/wheels"} \
    -e ".[test]" 2>&1 | grep -v "^WARNING: Location" \
    ; [ "${PIPESTATUS[0]}" -eq 0 ] || fail "pip install" "run '$VENV/bin/pip install -e .[test]' to see why"
  echo "$want" > "$stamp"
}

step_bundle() {
  [ -f "$BUNDLE" ] || return
  OFFLINE=$(mktemp -d /tmp/overlaylab-bundle.XXXXXX)
  chmod 755 "$OFFLINE"  # apt reads it as _apt
  trap 'rm -rf "$OFFLINE"' EXIT
  echo "install.sh: installing from $BUNDLE (no download)"
  tar -xf "$BUNDLE" -C "$OFFLINE" || fail "unpack $BUNDLE" "make it again with 'make bundle'"
}

step_root
step_bundle
step_packages
step_ovs
step_venv
step_pip
echo "install.sh: ready: $(ovs-vsctl --version | head -1), Open vSwitch running," \
     "$("$VENV/bin/python" -c 'import importlib.metadata as m; print("os-ken", m.version("os-ken"), "scapy", m.version("scapy"), "mininet", m.version("mininet"))'),"\
     "venv $VENV"
