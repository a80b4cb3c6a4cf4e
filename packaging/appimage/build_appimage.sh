#!/usr/bin/env bash
# Build an AppImage of the one-folder bundle (packaging/pyinstaller/build.sh makes it first).
#
#   packaging/appimage/build_appimage.sh [--bundle DIR] [--out DIR] [--appdir-only]
#
# An AppImage is an AppDir (the bundle + AppRun + a desktop entry + an icon) packed into a SquashFS
# image, with the AppImage "type 2 runtime" (a small ELF program) put in front of it. This script:
#   1. always makes the AppDir (out/Obscura.AppDir) and checks that AppDir/AppRun runs;
#   2. packs it with `appimagetool` when that is on PATH (or $APPIMAGETOOL names it); otherwise,
#   3. when $APPIMAGE_RUNTIME names a copy of the type-2 runtime file, makes the AppImage itself:
#      mksquashfs (Debian: squashfs-tools) and `cat runtime image.squashfs`; otherwise
#   4. stops after writing out/Obscura.squashfs and says what is missing.
# Neither appimagetool nor the runtime is packaged by Debian or PyPI: both are published only as
# GitHub release files (AppImage/appimagetool, AppImage/type2-runtime). On a machine without that
# access, copy the runtime in once (it is ~1 MB, MIT licensed) and point APPIMAGE_RUNTIME at it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bundle="$repo/dist/obscura"
out="$repo/dist"
appdir_only=0
while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) bundle="$2"; shift ;;
        --out) out="$2"; shift ;;
        --appdir-only) appdir_only=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "build_appimage.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ -x "$bundle/obscura" ] || { echo "build_appimage.sh: no bundle at $bundle (run packaging/pyinstaller/build.sh)" >&2; exit 1; }
version="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$repo/app/__init__.py")"
arch="$(uname -m)"

appdir="$out/Obscura.AppDir"
rm -rf "$appdir"
install -d "$appdir/usr/lib" "$appdir/usr/share/applications" "$appdir/usr/share/icons/hicolor/scalable/apps" \
    "$appdir/usr/share/metainfo"
cp -a "$bundle" "$appdir/usr/lib/obscura"
install -m 0755 "$here/AppRun" "$appdir/AppRun"
install -m 0644 "$repo/resources/obscura.desktop" "$appdir/obscura.desktop"
install -m 0644 "$repo/resources/obscura.desktop" "$appdir/usr/share/applications/obscura.desktop"
install -m 0644 "$repo/resources/obscura.svg" "$appdir/obscura.svg"
install -m 0644 "$repo/resources/obscura.svg" "$appdir/usr/share/icons/hicolor/scalable/apps/obscura.svg"
ln -sf obscura.svg "$appdir/.DirIcon"
sed "s/@VERSION@/$version/" "$here/obscura.appdata.xml" > "$appdir/usr/share/metainfo/obscura.appdata.xml"

echo "== checking the AppDir"
"$appdir/AppRun" --version
env -u OBSCURA_MODELS "$appdir/AppRun" models verify
echo "AppDir: $appdir ($(du -sh "$appdir" | cut -f1))"
[ "$appdir_only" = 1 ] && exit 0

image="$out/Obscura-$version-$arch.AppImage"
tool="${APPIMAGETOOL:-$(command -v appimagetool || true)}"
if [ -n "$tool" ]; then
    ARCH="$arch" "$tool" --no-appstream "$appdir" "$image"
    echo "built $image ($(du -h "$image" | cut -f1))"
    exit 0
fi
command -v mksquashfs >/dev/null || { echo "build_appimage.sh: neither appimagetool nor mksquashfs (apt install squashfs-tools) is available" >&2; exit 1; }
squash="$out/Obscura.squashfs"
rm -f "$squash"
# the options appimagetool uses: root-owned files, no xattrs, zstd (the runtime reads gzip/zstd)
mksquashfs "$appdir" "$squash" -root-owned -noappend -no-xattrs -comp zstd -Xcompression-level 19 -quiet >/dev/null
echo "SquashFS: $squash ($(du -h "$squash" | cut -f1))"
if [ -n "${APPIMAGE_RUNTIME:-}" ]; then
    [ -f "$APPIMAGE_RUNTIME" ] || { echo "build_appimage.sh: APPIMAGE_RUNTIME=$APPIMAGE_RUNTIME is not a file" >&2; exit 1; }
    cat "$APPIMAGE_RUNTIME" "$squash" > "$image"
    chmod 0755 "$image"
    rm -f "$squash"
    echo "built $image ($(du -h "$image" | cut -f1))"
    exit 0
fi
echo "build_appimage.sh: no appimagetool and no APPIMAGE_RUNTIME: stopped at the AppDir and its SquashFS image." >&2
echo "  Both tools are published only on GitHub (AppImage/appimagetool, AppImage/type2-runtime); see packaging/README.md." >&2
exit 3
