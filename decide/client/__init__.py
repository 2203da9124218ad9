"""A small typed client for decide: decisions that never break a page, events counted once.

Request building, response parsing and the retry policy are plain functions (protocol.py);
`DecideClient` (sync.py) and `AsyncDecideClient` (aio.py) only do the I/O, so the two behave
alike. Install with `pip install 'decide[client]'`.
"""

from decide.client.aio import AsyncDecideClient
from decide.client.protocol import DecideError, FlushResult, RetryPolicy
from decide.client.sync import DecideClient

__all__ = ["AsyncDecideClient", "DecideClient", "DecideError", "FlushResult", "RetryPolicy"]
