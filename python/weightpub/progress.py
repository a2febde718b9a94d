"""A tqdm-style progress bar for terminals."""

import time


class TerminalBar:
    """Draws ``[#####.....]  42% 1.2 GiB / 2.9 GiB  chunks n/N  MB/s`` on a stream, at most 5 times a second."""

    def __init__(self, stream, width=30, interval_s=0.2):
        self.stream = stream
        self.width = width
        self.interval_s = interval_s
        self._last = 0.0
        self._drawn = False

    def __call__(self, p):
        now = time.monotonic()
        if p.chunks_sent < p.chunk_total and now - self._last < self.interval_s:
            return
        self._last = now
        fraction = p.bytes_sent / p.total_bytes if p.total_bytes else 1.0
        filled = int(self.width * fraction)
        rate = p.bytes_sent / 1e6 / p.elapsed_s if p.elapsed_s > 0 else 0.0
        self.stream.write("\r%s step %d [%s%s] %3d%% %.2f / %.2f GiB  chunks %d/%d  %.0f MB/s"
                          % (p.model_id, p.step, "#" * filled, "." * (self.width - filled), fraction * 100,
                             p.bytes_sent / 2**30, p.total_bytes / 2**30, p.chunks_sent, p.chunk_total, rate))
        self.stream.flush()
        self._drawn = True

    def close(self):
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
