#!/usr/bin/env bash
# Build obscura_<version>_<arch>.deb from the PyInstaller bundle (packaging/pyinstaller/build.sh).
#
#   packaging/deb/build_deb.sh [--bundle dist/obscura] [--out dist] [--version X.Y.Z] [--compress xz|gzip|zstd]
#
# --compress: xz (default: smallest, ~8 min for the ~580 MB bundle on 2 busy cores), gzip (fast,
# for tests) or zstd.
#
# Layout: /opt/obscura/ (the bundle), /usr/bin/obscura -> /opt/obscura/obscura, a desktop entry,
# the icon, and a MIME type for *.obscura.json projects. No network; only dpkg-deb is needed.
# DEB_MAINTAINER="Name <mail@your.org>" sets the Maintainer field (default: a placeholder).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bundle="$repo/dist/obscura"
out="$repo/dist"
version=""
compress="xz"
while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) bundle="$2"; shift ;;
        --out) out="$2"; shift ;;
        --version) version="$2"; shift ;;
        --compress) compress="$2"; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "build_deb.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ -x "$bundle/obscura" ] || { echo "build_deb.sh: no bundle at $bundle (run packaging/pyinstaller/build.sh)" >&2; exit 1; }
if [ -z "$version" ]; then
    version="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$repo/app/__init__.py")"
fi
arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
mkdir -p "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/obscura_${version}_${arch}"

install -d "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
    "$root/usr/share/icons/hicolor/scalable/apps" "$root/usr/share/mime/packages" \
    "$root/usr/share/doc/obscura"
cp -a "$bundle" "$root/opt/obscura"
chmod -R u+rwX,go+rX,go-w "$root/opt/obscura"
# shared objects need no execute bit (lintian: shared-library-is-executable); the launcher keeps it
find "$root/opt/obscura/_internal" -type f \( -name '*.so' -o -name '*.so.*' \) -exec chmod 0644 {} +
ln -s /opt/obscura/obscura "$root/usr/bin/obscura"
install -m 0644 "$repo/resources/obscura.desktop" "$root/usr/share/applications/obscura.desktop"
install -m 0644 "$repo/resources/obscura.svg" "$root/usr/share/icons/hicolor/scalable/apps/obscura.svg"
install -m 0644 "$here/obscura-mime.xml" "$root/usr/share/mime/packages/obscura.xml"
cat > "$root/usr/share/doc/obscura/copyright" <<'TXT'
Obscura: proprietary; see the licence you received with the product.
The bundle contains third-party components under their own licences (Python, Qt/PySide6 (LGPLv3),
FFmpeg via PyAV and OpenCV (LGPL), ONNX Runtime (MIT), NumPy/SciPy (BSD)) and the models listed
in _internal/app/_data/manifest.toml (CenterFace: MIT; plate detector: Apache-2.0).
TXT
gzip -9n -c > "$root/usr/share/doc/obscura/changelog.gz" <<TXT
obscura ($version) stable; urgency=medium

  * Release $version.

 -- ${DEB_MAINTAINER:-Obscura maintainers <obscura@localhost>}  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")
TXT

size_kb="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<TXT
Package: obscura
Version: $version
Section: video
Priority: optional
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-Obscura maintainers <obscura@localhost>}
Installed-Size: $size_kb
Depends: libc6 (>= 2.34), libgl1, libegl1, libfontconfig1, libxkbcommon0, libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0, libxcb-render-util0, libxcb-shape0, libxcb-xkb1, libdbus-1-3
Recommends: shared-mime-info, desktop-file-utils
Description: on-premise video anonymisation editor (faces, licence plates)
 Obscura finds faces and licence plates in video and photos, lets an operator
 review and edit the masks, and exports a redacted copy with an audit report.
 Everything runs on this machine: the detection models are inside the package
 and no network is used. Includes the headless command line 'obscura'
 (process, batch, export).
TXT
# No maintainer scripts: the MIME database, the desktop-entry cache and the icon cache are refreshed by
# dpkg triggers that shared-mime-info, desktop-file-utils and the icon theme declare on the folders
# we install into (calling update-mime-database from postinst/postrm is what lintian warns about, and
# a postrm that regenerates the MIME cache where nothing else is registered leaves files behind).

deb="$out/obscura_${version}_${arch}.deb"
case "$compress" in
    xz) level=6 ;; gzip) level=6 ;; zstd) level=12 ;;
    *) echo "build_deb.sh: --compress must be xz, gzip or zstd" >&2; exit 2 ;;
esac
dpkg-deb --root-owner-group "-Z$compress" "-z$level" --build "$root" "$deb" >/dev/null
echo "built $deb ($(du -h "$deb" | cut -f1))"
