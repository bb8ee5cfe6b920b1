"""Run a what-if (:mod:`eligimatch.sql._whatif`) on a population: who moves between verdicts.

The edited trial is compiled and run like any trial, into its own temporary table; the database then
joins it with the original run on the patient and counts the moves (original verdict -> new
verdict), and returns the first patients (by id) of each move that matters.  The edited run is
dropped after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eligimatch.sql._whatif import WhatIf, edit_trial

__all__ = ["WhatIfResult", "what_if"]

_ORDER = ("match", "unknown", "no_match")


@dataclass(frozen=True)
class WhatIfResult:
    """How a change moves a population between verdicts.

    ``moves[(before, after)]``: patients whose verdict was ``before`` and becomes ``after`` (every
    pair, zeros included); ``examples[(before, after)]``: the first patient ids (sorted) of each move
    between different verdicts, at most ``examples`` of each.  Made by
    :meth:`eligimatch.sql.Population.what_if`.

        >>> import datetime, duckdb, eligimatch
        >>> from eligimatch import sql
        >>> con = duckdb.connect()
        >>> _ = sql.write_duckdb(con, [eligimatch.load_patient(p) for p in (
        ...     '{"id": "p1", "birth_date": "1970-05-02", "observations": '
        ...     '[{"analyte": "anc", "value": 1800, "unit": "/uL", "date": "2026-02-20"}]}',
        ...     '{"id": "p2", "birth_date": "1990-01-01"}')])
        >>> trial = eligimatch.compile_trial('trial "DEMO"\\ninclusion:\\n'
        ...                                  '  - I1: age >= 18 years\\n  - I2: anc >= 1.5 x10^9/L\\n')
        >>> pop = sql.screen_population(con, [trial], as_of=datetime.date(2026, 3, 1))
        >>> res = pop.what_if("DEMO", drop=["I2"])
        >>> res.before, res.after, res.newly_eligible, res.examples
        ({'match': 1, 'unknown': 1, 'no_match': 0}, {'match': 2, 'unknown': 0, 'no_match': 0}, 1, \
{('unknown', 'match'): ('p2',)})
    """

    trial: str
    change: str
    changes: tuple[str, ...]
    before: dict[str, int]
    after: dict[str, int]
    moves: dict[tuple[str, str], int]
    examples: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    @property
    def newly_eligible(self) -> int:
        """Patients who match with the change and did not without it."""
        return sum(n for (b, a), n in self.moves.items() if a == "match" and b != "match")

    @property
    def no_longer_eligible(self) -> int:
        return sum(n for (b, a), n in self.moves.items() if b == "match" and a != "match")

    def to_dict(self) -> dict[str, Any]:
        return {"trial": self.trial, "change": self.change, "changes": list(self.changes),
                "before": self.before, "after": self.after, "newly_eligible": self.newly_eligible,
                "no_longer_eligible": self.no_longer_eligible,
                "moves": [{"from": b, "to": a, "patients": n} for (b, a), n in self.moves.items() if n],
                "examples": [{"from": b, "to": a, "patients": list(ids)} for (b, a), ids in self.examples.items()]}

    def table(self) -> str:
        lines = [f"{self.trial}, what if: {'; '.join(self.changes) or self.change}"]
        lines.append(f"  {'verdict':<10} {'before':>10} {'after':>10} {'change':>10}")
        for v in _ORDER:
            nb, na = self.before.get(v, 0), self.after.get(v, 0)
            lines.append(f"  {v:<10} {nb:>10,} {na:>10,} {na - nb:>+10,}")
        lines.append(f"  newly eligible: {self.newly_eligible:,}; no longer eligible: {self.no_longer_eligible:,}")
        for (b, a), ids in self.examples.items():
            n = self.moves[(b, a)]
            more = f" (first {len(ids)} of {n:,})" if n > len(ids) else ""
            lines.append(f"  {b} -> {a}: {n:,}{more}: {', '.join(ids)}")
        return "\n".join(lines)

    def html(self) -> str:
        import html

        rows = "".join(f"<tr><td>{v}</td><td>{self.before.get(v, 0):,}</td><td>{self.after.get(v, 0):,}</td>"
                       f"<td>{self.after.get(v, 0) - self.before.get(v, 0):+,}</td></tr>" for v in _ORDER)
        ex = "".join(f"<li>{b} → {a}: {self.moves[(b, a)]:,} — {html.escape(', '.join(ids))}"
                     f"{' …' if self.moves[(b, a)] > len(ids) else ''}</li>" for (b, a), ids in self.examples.items())
        return (f"<section><h2>What if — {html.escape(self.trial)}</h2><p>{html.escape('; '.join(self.changes))}</p>"
                f"<table><thead><tr><th>verdict</th><th>before</th><th>after</th><th>change</th></tr></thead>"
                f"<tbody>{rows}</tbody></table><p>Newly eligible: {self.newly_eligible:,}; no longer eligible: "
                f"{self.no_longer_eligible:,}.</p><ul>{ex}</ul></section>")


def what_if(population: Any, run: Any, what: WhatIf, *, examples: int = 20) -> WhatIfResult:
    """Run ``run``'s trial changed by ``what`` on ``population`` and compare with ``run``."""
    from eligimatch.sql._population import add_run

    edited = edit_trial(run.trial, what)
    new = add_run(population, edited.trial, label=run.label)
    try:
        join = (f"FROM {run.table} b JOIN {new.table} n ON b.{run.patient} = n.{new.patient}")
        moves = {(b, a): 0 for b in _ORDER for a in _ORDER}
        for before_v, after_v, n in population.backend.rows(population.sql(
                f"SELECT b.verdict, n.verdict, COUNT(*) {join} GROUP BY 1, 2")):
            moves[(str(before_v), str(after_v))] = int(n)
        ex: dict[tuple[str, str], tuple[str, ...]] = {}
        if examples > 0:
            for (b, a), n in moves.items():
                if b == a or n == 0:
                    continue
                ids = population.backend.rows(population.sql(
                    f"SELECT b.{run.patient} {join} WHERE b.verdict = '{b}' "
                    f"AND n.verdict = '{a}' ORDER BY 1 LIMIT {int(examples)}"))
                ex[(b, a)] = tuple(str(i[0]) for i in ids)
    finally:
        population.backend.drop(new.table)
    before = {v: sum(n for (b, _), n in moves.items() if b == v) for v in _ORDER}
    after = {v: sum(n for (_, a), n in moves.items() if a == v) for v in _ORDER}
    return WhatIfResult(trial=run.label, change=what.describe(), changes=edited.changes, before=before,
                        after=after, moves=moves, examples=ex)

