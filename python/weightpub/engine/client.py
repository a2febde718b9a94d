"""The engine side of a weightpub worker: subscribe to a model, receive versions, acknowledge them.

    client = EngineClient("/run/weightpub/worker-0.sock", "my-model", engine="vllm-rank0")
    # in the engine's own loop, between two forward passes:
    client.poll(lambda version: apply_to_module(model, torch_tensors(version)))
"""

import collections
import os
import socket
import time

from . import memory
from .protocol import Connection, EngineProtocolError
from .version import Version


class LeaseRevoked(EngineProtocolError):
    """The worker took back the lease on a version while it was being applied: the copy may be torn."""


class EngineClient:
    """One engine's subscription to one model on one worker.

    ``mode`` "copy": the engine copies each version into its own parameters and acknowledges; the
    slot is free again from then on. "zero-copy": the engine computes on the mapped memory; the slot
    stays leased until the engine has applied a newer version (or the lease times out after the
    newer one was offered).

    With ``reconnect`` (the default), a worker that goes away (a TaskManager restart or failover)
    costs the engine nothing but its leases: the client connects again within ``connect_timeout``,
    subscribes again, and the worker offers its active version anew. The engine keeps serving the
    weights it has meanwhile."""

    def __init__(self, socket_path, model, engine=None, mode="copy", connect_timeout=30.0, reconnect=True):
        if mode not in ("copy", "zero-copy"):
            raise ValueError("mode is copy or zero-copy, not %r" % mode)
        self.model = model
        self.engine = engine or "%s-%d" % (socket.gethostname(), os.getpid())
        self.mode = mode
        self.errors = []
        self.reconnects = 0
        self._path = socket_path
        self._connect_timeout = connect_timeout
        self._reconnect = reconnect
        self._pending = collections.deque()
        self._offered = {}
        # Allocations this connection offered: their mappings stay open across versions until retired.
        self._allocations = set()
        self._conn = None
        self._subscribe()

    def _subscribe(self):
        self._conn = self._connect(self._path, self._connect_timeout)
        self._conn.send({"type": "subscribe", "model": self.model, "engine": self.engine, "mode": self.mode})
        reply = self._conn.recv(timeout=self._connect_timeout)
        if reply is None or reply.get("type") != "subscribed":
            raise EngineProtocolError("worker at %s did not accept the subscription to %s: %r"
                                      % (self._path, self.model, reply))
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
            message = self._recv(left)
            if message is None:
                return None
            self._handle(message)
        return self._pending.popleft()

    def _recv(self, timeout):
        while True:
            try:
                return self._conn.recv(timeout=timeout)
            except (EOFError, ConnectionError):
                if not self._reconnect:
                    raise
                self._lost("the worker at %s closed the connection" % self._path)
                self._subscribe()
                self.reconnects += 1

    def _lost(self, why):
        """The worker took every lease of this connection with it: versions still held are revoked."""
        self._conn.close()
        for version in self._offered.values():
            version.revoked = why
            version.stale = True
            version.close()
        self._offered.clear()
        self._pending.clear()
        memory.retire(self._allocations)
        self._allocations.clear()

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

    def newest_offered(self, timeout=0.0):
        """The number of the newest version offered and not yet taken, or None; takes nothing. For
        engines of several processes (tensor-parallel ranks) that must all apply the same version."""
        if not self._pending:
            first = self.next_version(timeout)
            if first is None:
                return None
            self._pending.appendleft(first)
        self._drain()
        return self._pending[-1].version

    def take(self, number, timeout=None):
        """Version ``number`` once it is offered (older offers are released), or None when it was not
        offered within ``timeout`` seconds or a newer one came instead."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while self._pending and self._pending[0].version < number:
                self.release(self._pending.popleft())
            if self._pending:
                return self._pending.popleft() if self._pending[0].version == number else None
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            version = self.next_version(left)
            if version is None:
                return None
            self._pending.appendleft(version)

    def _drain(self):
        while True:
            message = self._recv(0)
            if message is None:
                return
            self._handle(message)

    def _handle(self, message):
        kind = message["type"]
        if kind == "version":
            version = Version(message)
            self._offered[version.version] = version
            self._pending.append(version)
            if version.memory.get("allocation"):
                self._allocations.add(version.memory["allocation"])
        elif kind == "retired":
            self._allocations.discard(message.get("allocation"))
            memory.retire([message.get("allocation")])
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
        if version.stale:
            return  # its connection is gone, and with it the lease: nothing to acknowledge
        self._conn.send({"type": "applied", "model": self.model, "version": version.version, "ms": ms})
        self._forget_older(version.version if self.mode == "zero-copy" else version.version + 1)

    def failed(self, version, ms, message):
        if version.stale:
            return
        self._conn.send({"type": "failed", "model": self.model, "version": version.version, "ms": ms,
                         "message": str(message)[:2000]})
        self._forget(version.version)

    def release(self, version):
        if version.stale:
            return
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
        memory.retire(self._allocations)
        self._allocations.clear()
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
