"""`decide serve --workers N`: N uvicorn workers, each accepting on a listening socket of its own.

uvicorn's own supervisor gives its workers one shared socket, and whichever worker wakes first
accepts every connection pending: eight keep-alive connections opened at once all landed on one
worker in 11 of 15 tries (docs/performance.md, P6), leaving the other idle for as long as they
live. With SO_REUSEPORT each worker listens on a socket of its own on the same port and the
kernel spreads new connections over them by a hash of their addresses.

The supervisor keeps every socket open, so a worker that dies is replaced on its socket and
the connections queued there wait for the replacement instead of being reset. The rest is
uvicorn's: its `Process` (spawned worker, health check over a pipe, terminate, kill).
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
import threading
from types import FrameType

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Process

logger = logging.getLogger("uvicorn.error")


def balances_connections() -> bool:
    """Only Linux spreads connections over a port's SO_REUSEPORT sockets (elsewhere the last
    bound socket takes them all), so uvicorn's shared socket is the better choice there."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def listening_sockets(host: str, port: int, count: int, backlog: int) -> list[socket.socket]:
    """`count` sockets listening on one port. Refuses a port already in use: SO_REUSEPORT would
    otherwise join another server of the same user on it and silently share its traffic."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if port != 0:
        with socket.socket(family, socket.SOCK_STREAM) as probe:  # no SO_REUSEPORT: exclusive
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    dualstack = host == "::" and socket.has_dualstack_ipv6()  # as uvicorn binds "::"

    def listening(port: int) -> socket.socket:
        return socket.create_server(
            (host, port), family=family, backlog=backlog, reuse_port=True,
            dualstack_ipv6=dualstack,
        )  # fmt: skip

    sockets = [listening(port)]
    port = sockets[0].getsockname()[1]  # port 0: the one the kernel chose, for every worker
    sockets += [listening(port) for _ in range(count - 1)]
    return sockets


class Supervisor:
    """One worker per socket: started together, replaced when one dies or stops answering
    its health check, replaced one by one on SIGHUP, stopped on SIGINT or SIGTERM."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        self.config = config
        self.sockets = sockets
        self.workers = [Process(config, [sock]) for sock in sockets]
        self.should_exit = threading.Event()
        self.signals: list[int] = []

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._queue_signal)
        logger.info(f"Started parent process [{os.getpid()}], {len(self.workers)} workers")
        for worker in self.workers:
            worker.start()
        status = 0
        while not self.should_exit.wait(0.5):
            self._handle_signals()
            status = self._keep_alive()
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.join()
        for sock in self.sockets:
            sock.close()
        logger.info(f"Stopping parent process [{os.getpid()}]")
        return status

    def _queue_signal(self, sig: int, frame: FrameType | None) -> None:
        self.signals.append(sig)  # handled in the loop: a handler must not block or fork

    def _handle_signals(self) -> None:
        while self.signals:
            sig = self.signals.pop(0)
            if sig == signal.SIGHUP:
                self._restart_each()
            else:
                logger.info(f"Received {signal.Signals(sig).name}, exiting.")
                self.should_exit.set()

    def _keep_alive(self) -> int:
        for slot, worker in enumerate(self.workers):
            if self.should_exit.is_set():
                return 0
            if worker.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            worker.kill()  # dead or hung
            worker.join()
            if worker.exitcode == STARTUP_FAILURE:  # the app or its settings: would fail again
                logger.error(f"Worker [{worker.pid}] failed to start, stopping.")
                self.should_exit.set()
                return STARTUP_FAILURE
            logger.info(f"Worker [{worker.pid}] died, starting another on its socket")
            self.workers[slot] = Process(self.config, [self.sockets[slot]])
            self.workers[slot].start()
        return 0

    def _restart_each(self) -> None:
        """A new worker on each socket before the old one leaves: the socket never stops
        accepting, and a replacement that fails to start leaves the old worker serving."""
        for slot, old in enumerate(self.workers):
            new = Process(self.config, [self.sockets[slot]])
            new.start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                logger.error(f"Worker [{new.pid}] was not ready in time; keeping [{old.pid}]")
                return
            old.terminate()
            old.join()
            self.workers[slot] = new


def serve(config: Config) -> int:
    """Run `config.workers` workers on `config.host`:`config.port`, each on its own socket."""
    try:
        sockets = listening_sockets(config.host, config.port, config.workers, config.backlog)
    except OSError as error:
        reason = "already in use" if error.errno == errno.EADDRINUSE else error.strerror
        print(f"decide: cannot listen on {config.host}:{config.port}: {reason}", file=sys.stderr)
        return STARTUP_FAILURE
    host = f"[{config.host}]" if ":" in config.host else config.host
    logger.info(
        f"decide running on http://{host}:{sockets[0].getsockname()[1]} (Press CTRL+C to quit)"
    )
    return Supervisor(config, sockets).run()
