import io

from weightpub import Progress
from weightpub.progress import TerminalBar


def test_the_terminal_bar_shows_share_bytes_chunks_and_ends_its_line_when_closed():
    out = io.StringIO()
    bar = TerminalBar(out, width=10)
    bar(Progress("org/m", 7, "p", 1 << 29, 0, 1 << 30, 3, 6, 1.0))
    bar(Progress("org/m", 7, "p", 1 << 30, 1 << 30, 1 << 30, 6, 6, 2.0))
    bar.close()
    lines = out.getvalue().split("\r")
    assert "org/m step 7 [#####.....]  50% 0.50 / 1.00 GiB  chunks 3/6" in lines[1]
    assert "[##########] 100% 1.00 / 1.00 GiB  chunks 6/6  537 MB/s" in lines[2]
    assert out.getvalue().endswith("\n")
