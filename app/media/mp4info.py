"""What FFmpeg does not say about an MP4/MOV file: whether its tracks are encrypted (CENC).

FFmpeg opens a Common Encryption (CENC, ``encv``/``enca`` sample entries, ``pssh`` boxes) file
without its key and decodes the ciphertext into green garbage without complaint; Obscura refuses
it instead. Only the index (the ``moov`` box) is read: its top-level neighbours are skipped by size.
"""

from __future__ import annotations

import os
import struct

from app.errors import UnsupportedMedia

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex", b"udta"}
_ENCRYPTED = {b"encv": "video", b"enca": "audio", b"enct": "text", b"encs": "system"}
_MP4_TOP = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"styp", b"sidx", b"moof", b"pnot"}
MAX_MOOV = 64 << 20  # an index larger than this is not read (the demuxer decides about it)


def refuse_encrypted(path: str) -> None:
    """Raise UnsupportedMedia naming the encryption when ``path`` is an MP4/MOV with encrypted
    tracks; nothing for any other file (or one that cannot be read: the demuxer says why)."""
    what = encryption(path)
    if what:
        raise UnsupportedMedia(f"{path} is encrypted ({what}): Obscura cannot decode protected media; "
                               "give it the decrypted file")


def encryption(path: str) -> str | None:
    """"CENC-encrypted video track" (or similar) for an encrypted MP4/MOV, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8 or head[4:8] not in _MP4_TOP:
                return None
            size = os.fstat(f.fileno()).st_size
            pos = 0
            while pos + 8 <= size:
                f.seek(pos)
                hdr = f.read(16)
                if len(hdr) < 8:
                    return None
                box_size, kind = struct.unpack(">I4s", hdr[:8])
                header = 8
                if box_size == 1 and len(hdr) >= 16:
                    box_size, header = struct.unpack(">Q", hdr[8:16])[0], 16
                elif box_size == 0:
                    box_size = size - pos
                if box_size < header:
                    return None
                if kind == b"moov":
                    if box_size > MAX_MOOV:
                        return None
                    f.seek(pos + header)
                    return _scan(f.read(box_size - header))
                pos += box_size
    except OSError:
        return None
    return None


def _scan(data: bytes) -> str | None:
    """Walk the boxes in ``data`` (a container's payload) for encrypted sample entries or ``pssh``."""
    pos = 0
    while pos + 8 <= len(data):
        box_size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if box_size == 1 and pos + 16 <= len(data):
            box_size, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif box_size == 0:
            box_size = len(data) - pos
        if box_size < header or pos + box_size > len(data):
            return None
        body = data[pos + header:pos + box_size]
        if kind == b"pssh":
            return "a DRM protection header (pssh)"
        if kind in _CONTAINERS:
            found = _scan(body)
            if found:
                return found
        elif kind == b"stsd" and len(body) >= 8:
            found = _sample_entries(body[8:])
            if found:
                return found
        pos += box_size
    return None


def _sample_entries(data: bytes) -> str | None:
    pos = 0
    while pos + 8 <= len(data):
        box_size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind in _ENCRYPTED:
            return f"a CENC-encrypted {_ENCRYPTED[kind]} track"
        if box_size < 8:
            return None
        pos += box_size
    return None
