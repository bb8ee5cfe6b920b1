"""Reading and writing files without surprises: bounded reads, strict JSON, atomic outputs.

Every JSON document eligimatch reads from users (patient documents, JSON Lines
of patients) goes through :func:`loads_strict`, and every file it reads through
:func:`read_bounded`; every output file it writes through :func:`atomic_output`.

* :func:`read_bounded` refuses what is not a regular file (a named pipe would
  block forever, ``/dev/zero`` never ends) and stops after ``limit`` bytes
  *read*, whatever size the file claims (``/dev/zero`` and ``/proc`` files
  claim 0).
* :func:`loads_strict` drops a UTF-8 byte-order mark, refuses ``NaN`` and
  ``Infinity`` (not JSON) unless asked to let them through, refuses an object that repeats a key (which value
  was meant? ``{"ecog": 1, "ecog": 4}`` silently kept the last one) naming the
  key's path, and reports excessive nesting instead of crashing.
* :func:`atomic_output` writes to a temporary file beside the target and
  renames it over the target only when the writing finished: an error or
  Ctrl-C leaves no partial output, and the previous file (if any) intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from eligimatch.errors import InputError  # defined in errors.py; importable from here as before

__all__ = ["InputError", "read_bounded", "loads_strict", "atomic_output", "same_file", "BOM"]

BOM = b"\xef\xbb\xbf"


def read_bounded(path: str | os.PathLike[str], limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises :class:`InputError` when ``path`` is not a regular file (a folder, a
    named pipe, a device) or holds more than ``limit`` bytes, counted as they
    are read; ``OSError`` when it cannot be opened.
    """
    p = Path(path)
    st = p.stat()
    if not stat.S_ISREG(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a named pipe" if stat.S_ISFIFO(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise InputError(f"{p}: {kind}, not a regular file; give a {what} saved on disk")
    if st.st_size > limit:  # the size a regular file claims is a quick first check, not the bound
        raise InputError(f"{p}: too large: {st.st_size} bytes, more than the limit of {limit} bytes")
    # O_NONBLOCK: if the file was swapped for a pipe since the check, opening does not wait for a writer
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise InputError(f"{p}: not a regular file; give a {what} saved on disk")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{p}: too large: more than the limit of {limit} bytes")
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class _DuplicateKeys:
    """An ``object_pairs_hook`` that builds dicts and remembers those in which a key was repeated."""

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: list[tuple[dict, str]] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict:
        d = dict(pairs)
        if len(d) != len(pairs):
            seen: set[str] = set()
            for k, _ in pairs:
                if k in seen:
                    self.found.append((d, k))
                    break
                seen.add(k)
        return d


def _path_of(root: Any, target: dict) -> str | None:
    """The dotted path of the object ``target`` inside ``root`` (list items by index), found breadth-first."""
    stack: list[tuple[Any, tuple]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if node is target:
            return ".".join(str(p) for p in path)
        if isinstance(node, dict):
            stack.extend((v, path + (k,)) for k, v in node.items() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, path + (i,)) for i, v in enumerate(node) if isinstance(v, (dict, list)))
    return None


def loads_strict(data: str | bytes | bytearray, what: str = "document", *, constants: bool = False) -> Any:
    """Parse JSON text strictly (see the module's description); :class:`InputError` says why not.

    ``constants``: let ``NaN``, ``Infinity`` and ``-Infinity`` through as floats, for a caller that
    refuses them itself with the field's path (the patient model does)."""
    if isinstance(data, (bytes, bytearray)):
        if data.startswith(BOM):
            data = data[3:]
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            why = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
            raise InputError(f"{what}: {why}", reason=why) from None
    else:
        text = data[1:] if data.startswith("\ufeff") else data
    if not text.strip():
        raise InputError(f"{what}: empty; expected a JSON object", reason="empty; expected a JSON object")
    hook = _DuplicateKeys()
    try:
        doc = json.loads(text, object_pairs_hook=hook, parse_constant=None if constants else _reject_constant)
    except json.JSONDecodeError as exc:
        why = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InputError(f"{what}: {why}", reason=why) from None
    except RecursionError:
        why = "not valid JSON here: nested too deeply"
        raise InputError(f"{what}: {why}", reason=why) from None
    except ValueError as exc:
        raise InputError(f"{what}: not valid JSON: {exc}", reason=f"not valid JSON: {exc}") from None
    if hook.found:
        obj, key = hook.found[0]
        where = _path_of(doc, obj)
        path = f"{where}.{key}" if where else key
        why = f"the key {key!r} appears more than once in the same object; which value is meant cannot be told"
        raise InputError(f"{what}: {path}: {why}", path, why)
    return doc


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` name the same existing file (hard links and symbolic links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text file to write ``path`` through: a temporary file in the same folder, renamed over
    ``path`` when the ``with`` block ends normally, removed when it ends by an exception
    (``KeyboardInterrupt`` included).  The previous content of ``path``, if any, is kept until then."""
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=str(target.parent or "."))
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
