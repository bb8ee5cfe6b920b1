"""The matching service: ``eligimatch serve`` (FastAPI + uvicorn, the optional extra ``[serve]``).

See :mod:`.app` for the routes, :mod:`.ctms` for the mCODE matching-service contract, and docs/screening.md.
"""

from __future__ import annotations

from eligimatch.service.app import DEFAULT_MAX_BODY, create_app

__all__ = ["create_app", "DEFAULT_MAX_BODY"]
