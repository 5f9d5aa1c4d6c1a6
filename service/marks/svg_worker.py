"""The SVG renderer's child process (``service.marks.svg_render`` starts and talks to it).

Reads framed requests on stdin (header length, body length, JSON header with the target
width or height, the SVG text) and answers each with a status byte, a length and the PNG
or the error message. It limits its own address space first and asks the kernel to kill
it when its parent dies, and exits when stdin closes. It imports only the standard
library and the renderer, so it starts in a fraction of a second.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import struct
import sys

_PR_SET_PDEATHSIG = 1
_SIGKILL = 9


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, _SIGKILL)
    except (OSError, AttributeError):  # not Linux: stdin closing still ends the worker
        pass
    if os.getppid() == 1:  # the parent died before the prctl took effect
        os._exit(0)


def _limit_memory() -> None:
    megabytes = int(os.environ.get("TMSEARCH_SVG_MEMORY_MB", "1024"))
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _read_exact(stream, size: int) -> bytes | None:  # noqa: ANN001 - a binary stream
    out = bytearray()
    while len(out) < size:
        chunk = stream.read(size - len(out))
        if not chunk:
            return None
        out += chunk
    return bytes(out)


def main() -> None:
    _die_with_parent()
    import resvg_py  # before the limit: loading the library maps its code

    _limit_memory()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        sizes = _read_exact(stdin, 8)
        if sizes is None:
            return
        head_len, body_len = struct.unpack(">II", sizes)
        head, body = _read_exact(stdin, head_len), _read_exact(stdin, body_len)
        if head is None or body is None:
            return
        request = json.loads(head)
        try:
            size = {k: request[k] for k in ("width", "height") if request.get(k)}
            png = bytes(resvg_py.svg_to_bytes(svg_string=body.decode("utf-8"), **size))
            stdout.write(struct.pack(">cQ", b"K", len(png)) + png)
        except MemoryError:
            message = b"it needs more memory than the renderer may take"
            stdout.write(struct.pack(">cQ", b"E", len(message)) + message)
        except Exception as exc:  # noqa: BLE001 - the renderer's own errors, told back
            message = str(exc).encode("utf-8", "replace")[:500]
            stdout.write(struct.pack(">cQ", b"E", len(message)) + message)
        stdout.flush()


if __name__ == "__main__":
    main()
