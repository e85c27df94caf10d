from typing_extensions import disjoint_base

_Buffer = bytes | bytearray | memoryview

@disjoint_base
class ResponseParser:
    """Parser for one HTTP/1.1 response at a time on one connection."""

    def __new__(
        cls,
        *,
        max_header_bytes: int = 65536,
        max_headers: int = 100,
        max_body_size: int | None = None,
        max_interim: int = 5,
    ) -> ResponseParser:
        """Limits; a response over one is refused with a RemoteProtocolError that
        names it ("... larger than max_header_bytes=65536").

        max_header_bytes: raw bytes of the status line and header block, and of
            each chunk-size line (with its extensions) and of the trailer section
            (64 to 2**31 - 1).
        max_headers: header lines, trailer lines included (1 to 65536).
        max_body_size: body bytes, checked against Content-Length before any
            body byte and against the bytes as they arrive (None: no limit).
        max_interim: interim 1xx responses before the final one (0 or more).
        """
    def start(self, head: bool = False, discard_body: bool = False) -> None: ...
    def feed(self, data: _Buffer) -> None: ...
    def feed_eof(self) -> None: ...
    def take_body(self) -> bytes: ...
    def read_body(self, max_bytes: int) -> bytes: ...
    @property
    def status_code(self) -> int: ...
    @property
    def reason(self) -> bytes: ...
    @property
    def http_version(self) -> str: ...
    @property
    def headers(self) -> list[tuple[bytes, bytes]]: ...
    @property
    def trailers(self) -> list[tuple[bytes, bytes]]: ...
    @property
    def headers_complete(self) -> bool: ...
    @property
    def message_complete(self) -> bool: ...
    @property
    def keep_alive(self) -> bool: ...
    @property
    def unsafe_framing(self) -> bool:
        """Transfer-Encoding in an HTTP/1.0 response, chunked applied twice, or an
        obs-fold in Connection: the response is read, the connection never reused."""
    @property
    def content_encoded(self) -> bool:
        """The head has a Content-Encoding field (the body may need decoding)."""
    @property
    def sets_cookie(self) -> bool:
        """The head has a Set-Cookie field."""
    @property
    def keep_alive_timeout(self) -> float | None: ...
    @property
    def keep_alive_max(self) -> int | None: ...
    @property
    def content_length(self) -> int | None: ...
    @property
    def chunked(self) -> bool: ...
    @property
    def needs_eof(self) -> bool: ...
    @property
    def body_received(self) -> int: ...
    @property
    def mid_chunk(self) -> bool:
        """A chunk's size line was read, and not yet all of its data."""
    @property
    def buffered_body(self) -> int: ...
    @property
    def tail(self) -> bytes: ...
