"""A stand-in audit writer for the benchmark's cost breakdown: it speaks the writer's protocol
(``app.audit.writer``) and acknowledges every event at once **without storing it**.

Serving ``/verify`` against it measures what the round trip to a writer process costs the
workers (framing, the socket, the wake-ups) apart from the database work. Never a deployment:
its acknowledgements are lies. Usage: ``python bench/echo_writer.py SOCKET``.
"""

from __future__ import annotations

import selectors
import signal
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.audit.writer import bind_socket, decode_frames, encode_frame  # noqa: E402


def main(path: str) -> None:
    server = bind_socket(path)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, None)
    buffers: dict[socket.socket, bytearray] = {}
    running = True

    def stop(*_: object) -> None:
        nonlocal running
        running = False
    signal.signal(signal.SIGTERM, stop)
    seq = 0
    while running:
        for key, _ in selector.select(0.5):
            if key.data is None:
                conn, _ = server.accept()
                selector.register(conn, selectors.EVENT_READ, "peer")
                buffers[conn] = bytearray()
                continue
            conn = key.fileobj
            data = conn.recv(1 << 20)
            if not data:
                selector.unregister(conn)
                buffers.pop(conn).clear()
                conn.close()
                continue
            buffers[conn] += data
            acks = []
            for message in decode_frames(buffers[conn]):
                seq += 1
                acks.append([message["n"], f"evt_echo{seq}", seq, "0" * 64, None])
            if acks:
                conn.sendall(encode_frame({"ok": acks}))
    Path(path).unlink(missing_ok=True)


if __name__ == "__main__":
    main(sys.argv[1])
