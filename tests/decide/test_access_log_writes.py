"""Access-log lines of one event-loop pass reach the stream in one write, none lost."""

from __future__ import annotations

import asyncio
import logging

from decide.request_log import JsonFormatter, PassBatchedHandler


class Stream:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass


def _logger(stream: Stream) -> logging.Logger:
    logger = logging.getLogger("decide.test-batched")
    handler = PassBatchedHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def test_lines_of_one_loop_pass_are_one_write() -> None:
    stream = Stream()
    logger = _logger(stream)

    async def scenario() -> int:
        for i in range(3):
            logger.info("line %d", i)
        before = len(stream.writes)
        await asyncio.sleep(0)  # the pass ends: the lines are written
        await asyncio.sleep(0)
        logger.info("line 3")
        await asyncio.sleep(0)
        return before

    assert asyncio.run(scenario()) == 0
    assert len(stream.writes) == 2
    assert [line.count("\n") for line in stream.writes] == [3, 1]
    assert '"message":"line 2"' in stream.writes[0]


def test_outside_a_loop_each_line_is_written_at_once() -> None:
    stream = Stream()
    logger = _logger(stream)
    logger.info("a")
    logger.info("b")
    assert len(stream.writes) == 2


def test_flush_writes_what_is_pending() -> None:
    stream = Stream()
    logger = _logger(stream)

    async def scenario() -> None:
        logger.info("pending")
        for handler in logger.handlers:
            handler.flush()  # what logging.shutdown does at exit
        assert len(stream.writes) == 1

    asyncio.run(scenario())
