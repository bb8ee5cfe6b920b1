"""``python -m eligimatch``: the command line (see :mod:`eligimatch.cli`)."""

from __future__ import annotations

from eligimatch.cli._main import main

if __name__ == "__main__":  # also guards worker processes, which import this module as __mp_main__
    raise SystemExit(main())
