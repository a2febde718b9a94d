"""The engine side of a weightpub worker: subscribe to a model, receive versions, acknowledge them.

    client = EngineClient("/run/weightpub/worker-0.sock", "my-model", engine="vllm-rank0")
    # in the engine's own loop, between two forward passes:
    client.poll(lambda version: apply_to_module(model, torch_tensors(version)))
"""

import collections
import os
import socket
import time

from .protocol import Connection, EngineProtocolError
from .version import Version


class LeaseRevoked(EngineProtocolError):
    """The worker took back the lease on a version while it was being applied: the copy may be torn."""


class EngineClient:
    """One engine's subscription to one model on one worker.

    ``mode`` "copy": the engine copies each version into its own parameters and acknowledges; the
    slot is free again from then on. "zero-copy": the engine computes on the mapped memory; the slot
    stays leased until the engine has applied a newer version (or the lease times out after the
    newer one was offered)."""

    def __init__(self, socket_path, model, engine=None, mode="copy", connect_timeout=30.0):
        if mode not in ("copy", "zero-copy"):
            raise ValueError("mode is copy or zero-copy, not %r" % mode)
        self.model = model
        self.engine = engine or "%s-%d" % (socket.gethostname(), os.getpid())
        self.mode = mode
        self.errors = []
        self._pending = collections.deque()
        self._offered = {}
        self._conn = self._connect(socket_path, connect_timeout)
        self._conn.send({"type": "subscribe", "model": model, "engine": self.engine, "mode": mode})
        reply = self._conn.recv(timeout=connect_timeout)
        if reply is None or reply.get("type") != "subscribed":
            raise EngineProtocolError("worker at %s did not accept the subscription to %s: %r"
                                      % (socket_path, model, reply))
        self.worker = reply.get("worker")
        self.lease_timeout_ms = reply.get("leaseTimeoutMs")

    @staticmethod
    def _connect(path, timeout):
        # The worker may still be starting: its socket appears when its store is up.
        deadline = time.monotonic() + timeout
        while True:
            try:
                return Connection(path)
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def next_version(self, timeout=None):
        """The next offered version, or None when none came within ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            message = self._conn.recv(timeout=left)
            if message is None:
                return None
            self._handle(message)
        return self._pending.popleft()

    def latest_version(self, timeout=0.0):
        """Like next_version, but skips to the newest offered one; older offers are released."""
        first = self.next_version(timeout)
        if first is None:
            return None
        self._drain()
        newest = first
        while self._pending:
            self.release(newest)
            newest = self._pending.popleft()
        return newest

    def _drain(self):
        while True:
            message = self._conn.recv(timeout=0)
            if message is None:
                return
            self._handle(message)

    def _handle(self, message):
        kind = message["type"]
        if kind == "version":
            version = Version(message)
            self._offered[version.version] = version
            self._pending.append(version)
        elif kind == "revoked":
            version = self._offered.get(message.get("version"))
            if version is not None:
                version.revoked = message.get("reason", "revoked")
        elif kind == "error":
            self.errors.append(message.get("message", ""))
        # "subscribed" (another model on this connection) and unknown kinds need nothing.

    def check_lease(self, version):
        """Raises LeaseRevoked when the worker has taken back ``version``'s lease (reads pending messages)."""
        self._drain()
        if version.revoked:
            raise LeaseRevoked(version.revoked)

    def applied(self, version, ms):
        self._conn.send({"type": "applied", "model": self.model, "version": version.version, "ms": ms})
        self._forget_older(version.version if self.mode == "zero-copy" else version.version + 1)

    def failed(self, version, ms, message):
        self._conn.send({"type": "failed", "model": self.model, "version": version.version, "ms": ms,
                         "message": str(message)[:2000]})
        self._forget(version.version)

    def release(self, version):
        self._conn.send({"type": "release", "model": self.model, "version": version.version})
        self._forget(version.version)

    def _forget(self, number):
        version = self._offered.pop(number, None)
        if version is not None:
            version.close()

    def _forget_older(self, below):
        for number in [n for n in self._offered if n < below]:
            self._forget(number)

    def apply(self, version, apply_fn, verify=True):
        """Maps ``version``, checks its digests (``verify``), calls ``apply_fn(version)`` and
        acknowledges: applied with the time taken, or failed with the error (then re-raised)."""
        start = time.perf_counter()
        try:
            version.map()
            if verify:
                version.verify()
            apply_fn(version)
            if self.mode == "copy":
                self.check_lease(version)
        except BaseException as e:
            self.failed(version, (time.perf_counter() - start) * 1000.0, "%s: %s" % (type(e).__name__, e))
            raise
        self.applied(version, (time.perf_counter() - start) * 1000.0)
        return version

    def poll(self, apply_fn, timeout=0.0, verify=True):
        """For an engine's own update hook: applies the newest offered version, if any; returns it or None."""
        version = self.latest_version(timeout)
        return None if version is None else self.apply(version, apply_fn, verify)

    def close(self):
        for number in list(self._offered):
            self._forget(number)
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
