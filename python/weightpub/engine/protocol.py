"""The engine protocol's framing (docs/engine-protocol.md): a 4-byte big-endian length, then UTF-8 JSON."""

import json
import select
import socket
import struct

from ..errors import WeightpubError

PROTOCOL = 1
# A version's tensor table is the largest message; a million tensors stay well below this.
MAX_FRAME = 512 << 20


class EngineProtocolError(WeightpubError):
    """The worker sent something that is not a protocol message, or answered a request with an error."""


class Connection:
    """One Unix-socket connection to a weightpub worker: whole JSON messages in and out."""

    def __init__(self, path, timeout=30.0):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(self.path)
        except OSError:
            self.sock.close()
            raise
        self.sock.settimeout(None)

    def send(self, message):
        body = json.dumps(message, separators=(",", ":")).encode("utf-8")
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def recv(self, timeout=None):
        """The next message; None when none arrived within ``timeout`` seconds (None: wait).

        Raises EOFError when the worker closed the connection."""
        if timeout is not None:
            readable, _, _ = select.select([self.sock], [], [], timeout)
            if not readable:
                return None
        header = self._exactly(4, allow_eof=True)
        (length,) = struct.unpack(">I", header)
        if length > MAX_FRAME:
            raise EngineProtocolError("frame of %d bytes from %s, more than %d" % (length, self.path, MAX_FRAME))
        message = json.loads(self._exactly(length).decode("utf-8"))
        if not isinstance(message, dict) or "type" not in message:
            raise EngineProtocolError("message from %s is not a JSON object with a type: %r" % (self.path, message))
        return message

    def _exactly(self, n, allow_eof=False):
        parts = []
        got = 0
        while got < n:
            part = self.sock.recv(min(n - got, 1 << 20))
            if not part:
                if allow_eof and got == 0:
                    raise EOFError("worker at %s closed the connection" % self.path)
                raise EngineProtocolError("connection to %s ended inside a frame" % self.path)
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def close(self):
        self.sock.close()
