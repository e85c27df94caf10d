"""Certificates for the TLS tests, made by trustme: one CA the tests trust,
server certificates for 127.0.0.1 and localhost (good, expired, not yet
valid, for another host), and server SSLContexts built from them."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import trustme

HOSTS = ("127.0.0.1", "localhost")


class Certificates:
    """A trusted CA, an untrusted one, and files of both in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca = trustme.CA()
        self.other_ca = trustme.CA()
        self.ca_path = str(directory / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_path)
        client = self.ca.issue_cert("client@example.test")
        self.client_cert = str(directory / "client.pem")
        self.client_key = str(directory / "client.key")
        client.cert_chain_pems[0].write_to_path(self.client_cert)
        client.private_key_pem.write_to_path(self.client_key)

    def server_context(self, *, hosts: tuple[str, ...] = HOSTS, ca: trustme.CA | None = None,
                       valid: str = "now", client_cert: bool = False,
                       max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        """A server context whose certificate names `hosts`, issued by `ca`
        (the trusted one by default), valid now, "expired" or "future";
        `client_cert` requires a client certificate from the trusted CA."""
        now = datetime.datetime.now(datetime.timezone.utc)
        window = {"now": (None, None),
                  "expired": (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)),
                  "future": (now + datetime.timedelta(days=1), now + datetime.timedelta(days=30))}
        not_before, not_after = window[valid]
        leaf = (ca or self.ca).issue_cert(*hosts, not_before=not_before, not_after=not_after)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(context)
        if client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            self.ca.configure_trust(context)
        if max_version is not None:
            context.maximum_version = max_version
        return context
