"""Start ``python -m crm_core serve`` as a child process and wait until it answers over HTTPS.

Used by the API's tests and benchmark, and handy for scripts that need a throwaway server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from crm_core.errors import UserFacingError


@dataclass
class ServerProcess:
    """A running API server: its base URL, the CA that signs its certificate, and the process."""

    base_url: str
    ca: Path
    process: subprocess.Popen
    log: Path

    def session(self) -> requests.Session:
        """A requests session that verifies the server against its CA.

        ``trust_env`` is off because requests lets ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``
        override a session's ``verify`` (requests issue 3829).
        """
        session = requests.Session()
        session.verify = str(self.ca)
        session.trust_env = False
        return session

    def stop(self) -> None:
        """Terminate the server (kill it if it does not stop within 10 s)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server_process(
    org_url: str,
    app_url: str,
    folder: Path,
    *,
    extra_args: tuple[str, ...] = (),
    ca: Path | None = None,
    timeout: float = 60.0,
) -> ServerProcess:
    """Serve `org_url` on a free port of 127.0.0.1, TLS files and log in `folder`; wait until it answers.

    `ca` is the CA to verify the server with when `extra_args` bring a certificate of their own
    (``--cert``/``--key``); by default the server generates one in ``folder/tls``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / "server.log"
    command = [sys.executable, "-m", "crm_core", "serve", "--port", str(port), "--org-db", org_url]
    command += ["--app-db", app_url, "--tls-dir", str(folder / "tls"), *extra_args]
    with log.open("w") as handle:
        process = subprocess.Popen(
            command,
            cwd=Path(__file__).resolve().parents[2],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = ServerProcess(f"https://127.0.0.1:{port}", ca or folder / "tls" / "ca.pem", process, log)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise UserFacingError(f"the API server exited: {log.read_text()}")
        if server.ca.exists():
            try:
                if server.session().get(f"{server.base_url}/services/data/", timeout=2).status_code == 200:
                    return server
            except requests.RequestException:
                pass
        if time.monotonic() > deadline:
            server.stop()
            raise UserFacingError(f"the API server did not answer within {timeout:.0f} s: {log.read_text()}")
        time.sleep(0.2)
