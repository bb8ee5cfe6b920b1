"""The catalogs the drafter reads names against: the bundled ones, or a site's (``--catalog``).

:func:`eligimatch.ctgov.draft_trial` and :func:`eligimatch.ctgov.extract` take
``catalogs=``; while they run, :func:`active_catalogs` gives them to every reader
(a :class:`contextvars.ContextVar`, so concurrent drafts in threads or tasks each
see their own).  The phrase indexes built from a catalog set are cached per set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from eligimatch.knowledge._catalogs import Catalogs

__all__ = ["active_catalogs", "per_catalogs", "using_catalogs"]

_ACTIVE: ContextVar[Catalogs | None] = ContextVar("eligimatch_ctgov_catalogs", default=None)
T = TypeVar("T")


def active_catalogs() -> Catalogs:
    """The catalogs of the draft or extraction running now (the bundled ones by default)."""
    return _ACTIVE.get() or Catalogs.default()


@contextmanager
def using_catalogs(catalogs: Catalogs | None) -> Iterator[None]:
    """Read names against ``catalogs`` (None: the bundled ones) inside the block."""
    token = _ACTIVE.set(catalogs)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def per_catalogs(build: Callable[[Catalogs], T]) -> Callable[[], T]:
    """``build(active_catalogs())``, cached per catalog set (the last 8 sets kept)."""
    cache: dict[int, tuple[Catalogs, T]] = {}

    def get() -> T:
        cats = active_catalogs()
        hit = cache.get(id(cats))
        if hit is not None and hit[0] is cats:
            return hit[1]
        value = build(cats)
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[id(cats)] = (cats, value)
        return value

    return get
