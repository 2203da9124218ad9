"""`decide serve` as a real process, as a user starts it: for CLI, browser and chaos tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """`python -m decide serve` on a free port, its output captured; `stop()` returns it."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        environment |= {"DECIDE_DATA_DIR": str(data_dir), **(env or {})}
        # A file, not a pipe: nobody reads a pipe while the server runs, and one access-log
        # line per request fills its 64 KiB after a few hundred requests and stalls the server.
        self.output = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "decide", "serve", "--port", str(self.port), *args],
            env=environment,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"decide serve exited:\n{self.read_output()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("decide serve did not become ready")

    def read_output(self) -> str:
        self.output.seek(0)
        return self.output.read()

    def stop(self) -> str:
        """Stop it as Ctrl-C would; everything it printed."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        output = self.read_output()
        self.output.close()
        return output


@contextlib.contextmanager
def serving(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`decide serve` ready until the block ends; its output is printed if the block fails."""
    served = Served(data_dir, *args, env=env)
    try:
        served.wait_ready()
        yield served
    except BaseException:
        print(served.stop()[-4000:])
        raise
    served.stop()


def workers(parent: int) -> list[int]:
    """The workers of `decide serve --workers N`: the supervisor's children that run
    multiprocessing.spawn (not its resource tracker)."""
    found = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                found.append(int(child))
    return sorted(found)


def clients_of(pid: int, port: int) -> int:
    """How many established TCP connections on `port` the process holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:
            count += 1
    return count
