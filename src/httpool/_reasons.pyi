import enum

# (C value, name, description), one row per value; checked against the .pxd at import.
CLOSE_ROWS: tuple[tuple[int, str, str], ...]
COUNTER_ROWS: tuple[tuple[int, str, str], ...]
CLOSE_REASONS: tuple[str, ...]
COUNTERS: tuple[str, ...]

# Built from CLOSE_ROWS; tests/test_reasons.py checks these members against it.
class CloseReason(enum.IntEnum):
    """Why a connection was closed: one member per row of CLOSE_ROWS."""

    IDLE_TIMEOUT = 1
    KEEP_ALIVE_TIMEOUT = 2
    MAX_LIFETIME = 3
    STALE = 4
    SERVER_CLOSE = 5
    CLIENT_CLOSE = 6
    DRAIN_LIMIT = 7
    TIMEOUT = 8
    ERROR = 9
    POOL_FULL = 10
    POOL_CLOSE = 11
    ABANDONED = 12
    EARLY_RESPONSE = 13
    DRAIN_TIME = 14
    UNSAFE_FRAMING = 15
    CLOSED_ON_REUSE = 16
