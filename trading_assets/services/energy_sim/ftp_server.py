"""The energy simulator's FTP server: a drop directory served read-only over FTP or FTPS (pyftpdlib)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Self


class FtpDropServer:
    """A read-only FTP (or explicit FTPS) server of a drop directory on ``host``, in a background thread.

    ``port=0`` picks a free port (see :attr:`port` once started). With ``certfile`` and ``keyfile`` the
    server requires TLS on control and data connections (AUTH TLS, PROT P).
    """

    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str = "energy",
        password: str = "energy",
        certfile: Path | None = None,
        keyfile: Path | None = None,
    ) -> None:
        self.root = root
        self.host = host
        self.user = user
        self.password = password
        self._requested_port = port
        self._certfile = certfile
        self._keyfile = keyfile
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def port(self) -> int:
        """The port it listens on."""
        if self._server is None:
            raise RuntimeError("FtpDropServer is not started")
        return int(self._server.address[1])

    @property
    def tls(self) -> bool:
        """Whether it requires TLS."""
        return self._certfile is not None

    def start(self) -> Self:
        """Listen and serve in a background thread."""
        # pyftpdlib is a server-side dependency (extra "servers"); imported only when serving.
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
        from pyftpdlib.servers import ThreadedFTPServer

        self.root.mkdir(parents=True, exist_ok=True)
        authorizer = DummyAuthorizer()
        authorizer.add_user(self.user, self.password, str(self.root), perm="elr")
        handler: Any
        if self._certfile is not None:
            handler = type("DropTlsHandler", (TLS_FTPHandler,), {})
            handler.certfile = str(self._certfile)
            handler.keyfile = str(self._keyfile or self._certfile)
            handler.tls_control_required = True
            handler.tls_data_required = True
        else:
            handler = type("DropHandler", (FTPHandler,), {})
        handler.authorizer = authorizer
        handler.banner = "tradegraph energy simulator FTP drop"
        self._server = ThreadedFTPServer((self.host, self._requested_port), handler)
        self._thread = threading.Thread(target=self._serve, name="ftp-drop-server", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        self._server.close_all()

    def stop(self) -> None:
        """Stop serving and close every connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
