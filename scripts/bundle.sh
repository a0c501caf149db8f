#!/usr/bin/env bash
# `make bundle`: everything scripts/install.sh downloads, in one archive (overlaylab-bundle.tar) for a room
# without a network: the Debian packages with every dependency (for this release and architecture) and the
# Python wheels. Copy the repository with the archive in it; install.sh uses it when present.
#   scripts/bundle.sh --test    also what `make test` installs (vagrant, chromium: twice the size)
#   scripts/bundle.sh --list    the packages and Python requirements it would pack, nothing downloaded
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/packages.sh
ALL=("${PACKAGES[@]}")
LIST=""
for arg in "$@"; do
  case "$arg" in
    --test) ALL+=("${TEST_PACKAGES[@]}") ;;
    --list) LIST=1 ;;
    *) echo "bundle.sh: unknown option $arg (--test, --list)" >&2; exit 2 ;;
  esac
done

closure() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "${ALL[@]}" | grep -v '^ \|<' | sort -u
}

if [ -n "$LIST" ]; then
  closure
  .venv/bin/python -c 'import importlib.metadata as m; print("\n".join(m.requires("overlaylab") or []))'
  exit 0
fi

WORK=$(mktemp -d /tmp/overlaylab-bundle.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/debs" "$WORK/wheels"
chmod 755 "$WORK"; chown _apt "$WORK/debs" 2>/dev/null || true
echo "bundle: Debian packages ($(closure | wc -l) with their dependencies)"
(cd "$WORK/debs" && apt-get download -q $(closure) >/dev/null)
(cd "$WORK/debs" && for deb in *.deb; do  # the index apt reads them by (dpkg-deb is on every Debian)
  dpkg-deb -f "$deb"
  printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' "$deb" "$(stat -c %s "$deb")" "$(sha256sum "$deb" | cut -d' ' -f1)"
done > Packages)
echo "bundle: Python wheels"
.venv/bin/pip wheel -q --disable-pip-version-check -w "$WORK/wheels" ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
rm -f "$WORK"/wheels/overlaylab-*.whl  # install.sh installs the repository itself, editable
printf '%s\n' "debian $(cat /etc/debian_version) $(dpkg --print-architecture)" > "$WORK/MANIFEST"
tar -cf "$BUNDLE" -C "$WORK" MANIFEST debs wheels
echo "bundle: $BUNDLE, $(du -h "$BUNDLE" | cut -f1): $(ls "$WORK/debs" | wc -l) packages, $(ls "$WORK/wheels" | wc -l) wheels"
