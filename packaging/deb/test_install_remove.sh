#!/usr/bin/env bash
# Install the .deb with dpkg into a scratch root, run it from there, remove it, and check that the
# removal left nothing behind. Touches nothing outside the scratch folder (it has its own dpkg
# database), so it is safe on a developer machine.
#
#   packaging/deb/test_install_remove.sh DEB [SCRATCH_DIR]
set -euo pipefail

deb="$(readlink -f "${1:?usage: test_install_remove.sh DEB [SCRATCH_DIR]}")"
scratch="${2:-$(mktemp -d)}"
root="$scratch/root"
admin="$root/var/lib/dpkg"
rm -rf "$root"
mkdir -p "$admin/info" "$admin/updates" "$admin/triggers"
: > "$admin/status"
: > "$admin/available"

dpkg_scratch() {
    # --force-depends: the scratch database knows none of the system's libraries;
    # --force-script-chrootless: never chroot (the package has no maintainer scripts; this keeps it so).
    dpkg --root="$root" --admindir="$admin" --force-not-root --force-depends \
        --force-script-chrootless --log=/dev/null "$@"
}

before="$scratch/before.txt"
after="$scratch/after.txt"
(cd "$root" && find . | sort) > "$before"

echo "== dpkg -i"
dpkg_scratch -i "$deb" >/dev/null
status="$(dpkg_scratch -s obscura | sed -n 's/^Status: //p')"
[ "$status" = "install ok installed" ] || { echo "FAIL: status after install: $status" >&2; exit 1; }
for f in opt/obscura/obscura usr/bin/obscura usr/share/applications/obscura.desktop \
         usr/share/icons/hicolor/scalable/apps/obscura.svg usr/share/mime/packages/obscura.xml; do
    [ -e "$root/$f" ] || [ -L "$root/$f" ] || { echo "FAIL: $f not installed" >&2; exit 1; }
done
[ "$(readlink "$root/usr/bin/obscura")" = "/opt/obscura/obscura" ] || { echo "FAIL: usr/bin/obscura link" >&2; exit 1; }
echo "== running the installed program"
"$root/opt/obscura/obscura" --version
env -u OBSCURA_MODELS "$root/opt/obscura/obscura" models verify

echo "== dpkg -r"
dpkg_scratch -r obscura >/dev/null
# no conffiles, so -r already forgets the package; purge whatever state might remain
if dpkg_scratch -s obscura >/dev/null 2>&1; then dpkg_scratch --purge obscura >/dev/null; fi
(cd "$root" && find . | sort) > "$after"
# what is left besides the scratch database itself must be what was there before
left="$(comm -13 "$before" "$after" | grep -v '^\./var/lib/dpkg' || true)"
if [ -n "$left" ]; then
    echo "FAIL: files left after removal:" >&2
    echo "$left" | head -20 >&2
    exit 1
fi
if dpkg_scratch -s obscura >/dev/null 2>&1; then
    echo "FAIL: the package is still known to dpkg after purge" >&2
    exit 1
fi
echo "OK: installed, ran, removed and purged with nothing left behind ($root)"
