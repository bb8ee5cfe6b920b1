"""Hypothesis settings profiles for the whole suite.

* ``ci`` (the default): derandomized (a fixed sequence of examples, the same on
  every run and machine), no example database, no deadline (a loaded CI box
  must not fail on timing), a bounded number of examples.  The property tests
  ask for fewer examples than this default where one example is expensive
  (see ``fuzzing.examples``), so the suite stays within a few minutes on 2 cores.
* ``long``: a manual or nightly run, ``HYPOTHESIS_PROFILE=long pytest
  tests/test_properties.py --hypothesis-show-statistics``.  Randomized, and
  ``HYPOTHESIS_LONG_EXAMPLES`` examples per property (default 100,000).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    derandomize=False,
    database=None,
    deadline=None,
    max_examples=int(os.environ.get("HYPOTHESIS_LONG_EXAMPLES", "100000")),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
