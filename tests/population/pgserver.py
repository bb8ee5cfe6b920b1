"""A throw-away PostgreSQL server for the tests, from the Debian ``postgresql`` package.

    with PostgresServer.start() as server:        # initdb in a temporary folder, pg_ctl start
        conn = psycopg.connect(server.conninfo)   # unix socket in that folder, trust authentication
    # stopped (pg_ctl stop -m fast) and the folder removed

Where the binaries are: ``ELIGIMATCH_PG_BIN`` if set, else ``pg_config --bindir``, else the newest
``/usr/lib/postgresql/*/bin`` (Debian's layout).  ``initdb`` refuses to run as root, so as root the
cluster belongs to an unprivileged OS user (``ELIGIMATCH_PG_USER``, default ``postgres``, the user
the Debian package creates) and the binaries run through ``runuser``; as anyone else they run as that
user.  Nothing listens on TCP (``listen_addresses=''``): the socket is in the temporary folder, so
parallel runs and a system server on 5432 do not collide.

``ELIGIMATCH_TEST_POSTGRES`` (a libpq connection string) uses an existing server instead of starting
one: the tests then work in a schema of their own.

:func:`unavailable` says why a server cannot be started here (``None`` when it can); tests skip with
that reason, or fail when ``CI`` is set (.ci/run installs the package).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_TIMEOUT = 60.0


def _bindir() -> Path | None:
    env = os.environ.get("ELIGIMATCH_PG_BIN")
    if env:
        return Path(env)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidate = Path(out.stdout.strip())
            if (candidate / "initdb").exists():
                return candidate
        except (OSError, subprocess.SubprocessError):
            pass
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
                   if p.split("/")[4].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _run_as() -> str | None:
    """The OS user to run the server as when we are root (``None``: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    return os.environ.get("ELIGIMATCH_PG_USER", "postgres")


def unavailable() -> str | None:
    """Why a test server cannot be had here, or ``None``."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'eligimatch[postgres]')"
    if os.environ.get("ELIGIMATCH_TEST_POSTGRES"):
        return None
    bindir = _bindir()
    if bindir is None or not (bindir / "initdb").exists() or not (bindir / "pg_ctl").exists():
        return "PostgreSQL's server binaries are not installed (Debian: apt-get install postgresql)"
    user = _run_as()
    if user is not None:
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"running as root and there is no OS user {user!r} to own the test cluster (ELIGIMATCH_PG_USER)"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


@dataclass
class PostgresServer:
    conninfo: str
    _folder: Path | None = None
    _bindir: Path | None = None
    _user: str | None = None

    @classmethod
    @contextlib.contextmanager
    def start(cls) -> Iterator[PostgresServer]:
        external = os.environ.get("ELIGIMATCH_TEST_POSTGRES")
        if external:
            yield cls(conninfo=external)
            return
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        bindir = _bindir()
        assert bindir is not None
        user = _run_as()
        folder = Path(tempfile.mkdtemp(prefix="eligimatch-pg-"))
        data, sock = folder / "data", folder / "sock"
        sock.mkdir()
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (folder, sock):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(folder, 0o700)
        server = cls(conninfo=f"host={sock} port=5432 dbname=postgres user={user or pwd.getpwuid(os.geteuid()).pw_name}",
                     _folder=folder, _bindir=bindir, _user=user)
        try:
            server._cmd("initdb", "-D", str(data), "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
            opts = (f"-c listen_addresses='' -c unix_socket_directories='{sock}' -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB")
            server._cmd("pg_ctl", "-D", str(data), "-l", str(folder / "server.log"), "-o", opts, "-w",
                        "-t", str(int(_TIMEOUT)), "start")
            server._wait()
            yield server
        finally:
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.SubprocessError, OSError):
                    server._cmd("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
            shutil.rmtree(folder, ignore_errors=True)

    def _cmd(self, tool: str, *args: str) -> None:
        assert self._bindir is not None
        argv = [str(self._bindir / tool), *args]
        if self._user is not None:
            argv = ["runuser", "-u", self._user, "--", *argv]
        done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=_TIMEOUT + 30,
                              cwd="/")
        if done.returncode != 0:
            log = ""
            if self._folder is not None and (self._folder / "server.log").exists():
                log = (self._folder / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
                               f"{chr(10) + log if log else ''}")

    def _wait(self) -> None:
        import psycopg

        deadline = time.monotonic() + _TIMEOUT
        while True:
            try:
                with psycopg.connect(self.conninfo, connect_timeout=5):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
