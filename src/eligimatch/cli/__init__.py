"""The ``eligimatch`` command line: ``main(argv)`` returns the exit status."""

from eligimatch.cli._main import main

__all__ = ["main"]
