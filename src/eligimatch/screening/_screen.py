"""Screening: one patient against many trials (:func:`screen`), many patients in a stream (:func:`screen_many`).

``screen(patient, trials)`` matches the patient against every trial, indexing
the patient's records once, and ranks the answers: the trials the patient
matches, then the unknowns (fewest missing facts first), then the no-matches
with the criteria that decided them.  It also lists the *next questions*: the
missing facts, ordered by how many UNKNOWN verdicts wait on each.

``screen_many(patients, trials)`` streams one record per patient, in input
order, from an iterable of any length (a generator of a million): it reads the
input only a bounded distance ahead of what has been consumed, runs the matching
on every core with :class:`concurrent.futures.ProcessPoolExecutor` (each worker
receives the compiled trials once, through the pool's initializer, and
recompiles them from their text), and turns a patient that fails validation into
a :class:`ScreenError` record that names the field paths instead of stopping the
batch.

What they give back (:class:`ScreenResult`, :class:`ScreenError`, :class:`Question`) is in
:mod:`eligimatch.screening._results`.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Mapping, Sequence, overload

from eligimatch.errors import EligimatchError, PatientDataError
from eligimatch.engine._evaluate import Policy
from eligimatch.engine._evaluation import EVIDENCE_MODES, EvidenceMode, deciding_ids
from eligimatch.sources._patient import Patient, load_patient
from eligimatch.engine._result import MatchResult, Verdict
from eligimatch.screening._gc import batch_gc, between_chunks, may_freeze, tune_worker
from eligimatch.screening._progress import ProgressFn, Reporter
from eligimatch.screening._results import FieldProblem, ScreenError, ScreenResult
from eligimatch.screening._plain import block_size, evaluate_block, screen_plain, trial_label
from eligimatch.screening._wire import Decoder, Screened, encode, to_record
from eligimatch.engine._trial import CompiledTrial

__all__ = ["screen", "screen_many", "match_each", "trial_label", "default_workers", "workers_for", "SMALL_BATCH_PAIRS"]


# ---- one patient -------------------------------------------------------------------------------

def _as_trials(trials: Iterable[CompiledTrial] | CompiledTrial) -> tuple[CompiledTrial, ...]:
    if isinstance(trials, CompiledTrial):
        trials = (trials,)
    out = tuple(trials)
    for t in out:
        if not isinstance(t, CompiledTrial):
            raise TypeError(f"trials must be compiled trials (eligimatch.load_trial / compile_trial), "
                            f"not {type(t).__name__}")
    return out


def _as_date(d: _dt.date | str | None) -> _dt.date:
    if d is None:
        return _dt.date.today()
    if isinstance(d, _dt.datetime):
        return d.date()
    if isinstance(d, _dt.date):
        return d
    if isinstance(d, str):
        return _dt.date.fromisoformat(d)
    raise TypeError(f"as_of must be a date, not {type(d).__name__}")


def _as_patient(item: Any) -> Patient:
    if isinstance(item, Patient):
        return item
    if isinstance(item, PatientDataError):  # the reader already knows why (e.g. a line over the size limit)
        raise item
    if isinstance(item, (dict, str, bytes)):
        return load_patient(item)
    if isinstance(item, bytearray):
        return load_patient(bytes(item))
    if isinstance(item, os.PathLike):
        from eligimatch.sources._inputs import load_patient_file

        return load_patient_file(item)
    raise PatientDataError(f"expected a patient document (a Patient, a dict, JSON text or a path), "
                           f"not {type(item).__name__}")


def match_each(patient: Patient, trials: Iterable[CompiledTrial] | CompiledTrial, *, as_of: _dt.date | None = None,
               anchors: Mapping[str, _dt.date] | None = None,
               policy: Policy | None = None,
               evidence: EvidenceMode = "all") -> tuple[tuple[MatchResult, ...], tuple[str, ...]]:
    """``match`` for each trial, in the trials' order, indexing the patient's records once per catalog bundle.

    Returns the results and the warnings about the patient's records (each once).
    A trial that declares no id gets its file name as ``trial_id``.  ``evidence``: as for
    :func:`~eligimatch.match`.
    """
    [(evaluations, warnings, _)] = evaluate_block([patient], _as_trials(trials), _as_date(as_of), anchors, policy,
                                                  evidence=_check_evidence(evidence))
    return tuple(e.result() for e in evaluations), warnings


def _screen_one(patient: Patient, trials: tuple[CompiledTrial, ...], as_of: _dt.date,
                anchors: Mapping[str, _dt.date] | None, policy: Policy | None, *, index: int = 0,
                source: str | None = None, with_criteria: bool | str = True, decisions: Any = None,
                max_questions: int | None = None, evidence: EvidenceMode = "all") -> ScreenResult:
    [screened] = screen_plain([(index, source, patient)], trials, as_of, anchors, policy,
                              with_criteria=with_criteria, decisions=decisions, max_questions=max_questions,
                              evidence=evidence, results=True)
    return to_record(screened)


def _deciding_only(r: MatchResult) -> MatchResult:
    """``r`` with only the criteria that decided its verdict: for a NO_MATCH or an UNKNOWN the criteria in
    ``deciding`` (and, where a cohort is named there, the cohort's own deciding criteria); a MATCH keeps
    every criterion, since each is part of the reason."""
    if r.verdict == Verdict.MATCH:
        return r
    keep = deciding_ids(r.deciding, r.cohorts)
    return r.model_copy(update={"criteria": tuple(c for c in r.criteria if c.id in keep)})


def screen(patient: Patient | dict | str | bytes, trials: Iterable[CompiledTrial] | CompiledTrial, *,
           as_of: _dt.date | None = None, anchors: Mapping[str, _dt.date] | None = None,
           policy: Policy | None = None, decisions: Any = None, questions: int | None = None,
           evidence: EvidenceMode = "all") -> ScreenResult:
    """Match one patient against many compiled trials and rank the answers.

    ``patient`` is a :class:`~eligimatch.sources._patient.Patient` or a document for
    :func:`~eligimatch.load_patient` (a dict or JSON text; raises
    :class:`~eligimatch.errors.PatientDataError` if it does not validate).
    ``as_of``, ``anchors``, ``policy`` and ``decisions`` (a screening record) mean what they mean
    for :func:`~eligimatch.match`, and apply to every trial.  ``questions``: how many questions the
    plan keeps (default 10).  Each result gets a tier and a score (``ranking``).  ``evidence``: which
    criteria of each result carry their evidence, as for :func:`~eligimatch.match` (``"all"``, ``"deciding"``,
    ``"none"``); the verdicts, rankings and questions are the same in each.

        >>> import datetime, eligimatch
        >>> trials = [eligimatch.load_trial(f"examples/trials/{t}.elig") for t in ("NCT05621486", "NCT03754764")]
        >>> found = screen(open("examples/patients/nct03754764-unknown.json").read(), trials,
        ...                as_of=datetime.date(2026, 3, 1))
        >>> [(r.trial_id, r.verdict.value) for r in found.results]   # ranked: the closest first
        [('NCT03754764', 'unknown'), ('NCT05621486', 'no_match')]
    """
    p = _as_patient(patient)
    return _screen_one(p, _as_trials(trials), _as_date(as_of), anchors, policy, decisions=decisions,
                       max_questions=questions, evidence=_check_evidence(evidence))


def _check_evidence(evidence: Any) -> EvidenceMode:
    if evidence not in EVIDENCE_MODES:
        raise ValueError(f"evidence must be one of {', '.join(map(repr, EVIDENCE_MODES))}, not {evidence!r}")
    return evidence


# ---- many patients -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Job:
    """What every worker needs, sent once per worker (trials recompile from their text on unpickling)."""

    trials: tuple[CompiledTrial, ...]
    as_of: _dt.date
    anchors: tuple[tuple[str, _dt.date], ...]
    policy: Policy | None
    with_criteria: bool | str = True
    as_json: bool = False
    evidence: EvidenceMode = "all"


def _guess_id(item: Any) -> str | None:
    doc = item
    if isinstance(item, os.PathLike):
        try:
            if os.path.getsize(item) >= 1_000_000:
                return None
            doc = item = Path(item).read_bytes()
        except OSError:
            return None
    if isinstance(item, (str, bytes, bytearray)) and len(item) < 1_000_000:
        try:
            doc = json.loads(item)
        except (ValueError, RecursionError):
            return None
    if isinstance(doc, dict) and isinstance(doc.get("id"), str):
        return doc["id"]
    return None


def _error(index: int, source: str | None, item: Any, exc: Exception) -> ScreenError:
    if isinstance(exc, OSError):
        where = source or (str(exc.filename) if exc.filename else None)
        message = f"{where}: cannot read the patient file: {exc.strerror or exc}"
        return ScreenError(index=index, source=where, message=message)
    problems = tuple(FieldProblem(path=".".join(str(p) for p in e.get("loc", ())) or "(document)",
                                  message=str(e.get("msg", "")))
                     for e in getattr(exc, "errors", None) or ())
    message = str(exc)
    if source and not message.startswith(source):
        message = f"{source}: {message}"
    return ScreenError(index=index, source=source, patient_id=_guess_id(item), message=message, errors=problems)


_Ready = tuple[int, int, str | None, Patient, Any]  # (position in the chunk, index, source, patient, item)


def _screen_items(job: _Job, chunk: Sequence[tuple[int, Any]], results: bool = True) -> list[Screened | ScreenError]:
    """Screen items of the batch (each with its index): for each, its plain screening (:func:`to_record` makes
    the record) or its error, in order.  ``results``: as for
    :func:`~eligimatch.screening._plain.screen_plain` (False in a worker that sends plain tuples back).

    The patients that validate are screened :func:`~eligimatch.screening._plain.block_size` at a time,
    trial by trial.  Should a block raise (an error of the data, for one of its patients), each of its
    patients is screened again alone, so that the error is that patient's record and not its neighbours'."""
    out: list[Screened | ScreenError | None] = [None] * len(chunk)
    ready: list[_Ready] = []
    for at, (index, item) in enumerate(chunk):
        source = None
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            source, item = item
        elif isinstance(item, os.PathLike):
            source = os.fspath(item)
        try:
            ready.append((at, index, source, _as_patient(item), item))
        except (EligimatchError, OSError) as exc:
            out[at] = _error(index, source, item, exc)
    size = block_size(len(job.trials))
    for start in range(0, len(ready), size):
        block = ready[start:start + size]
        for (at, *_), one in zip(block, _screen_block(job, block, results)):
            out[at] = one
    return out  # type: ignore[return-value]  # every position is filled


def _screen_block(job: _Job, block: list[_Ready], results: bool) -> list[Screened | ScreenError]:
    """Screen validated patients together; should that raise, each alone (already validated: not read again)."""
    try:
        return list(screen_plain([(index, source, patient) for _, index, source, patient, _ in block], job.trials,
                                 job.as_of, dict(job.anchors), job.policy, with_criteria=job.with_criteria,
                                 evidence=job.evidence, results=results))
    except (EligimatchError, OSError) as exc:
        if len(block) == 1:
            _, index, source, _, item = block[0]
            return [_error(index, source, item, exc)]
        return [one for b in block for one in _screen_block(job, [b], results)]


_WORKER_JOB: _Job | None = None  # set in worker processes only, by the pool's initializer


def _init_worker(job: _Job) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job
    tune_worker()  # the trials are compiled (on unpickling): freeze them, turn the collector off


def _work(chunk: list[tuple[int, Any]]) -> list[Any]:
    """Screen a chunk in a worker: what goes back to the caller (the pool pickles it).

    Each patient goes back as :func:`~eligimatch.screening._wire.encode`'s plain tuples (a
    :class:`ScreenError` as itself); with ``as_json``, as the record's own JSON text.  The worker
    evaluates with plain evidence records and makes no result object; the caller makes the records
    (:func:`_records`) as it yields them, with the code that makes them in one process.
    """
    job = _WORKER_JOB
    assert job is not None, "the pool initializer did not run"
    between_chunks()
    if job.as_json:
        return [(s if isinstance(s, ScreenError) else to_record(s)).model_dump_json()
                for s in _screen_items(job, chunk)]
    return [s if isinstance(s, ScreenError) else encode(s) for s in _screen_items(job, chunk, results=False)]


def _records(job: _Job, decode: Decoder, data: list[Any], freeze: bool | None = None) -> Iterator[Any]:
    """The records of a chunk a worker screened (:func:`_work`), made a block at a time
    (:func:`~eligimatch.screening._plain.block_size`: one patient, with few trials) as they are yielded."""
    if job.as_json:
        yield from data
        return
    size = block_size(len(job.trials))
    for start in range(0, len(data), size):
        block = data[start:start + size]
        with batch_gc(freeze):
            made = iter(decode.records([w for w in block if not isinstance(w, ScreenError)]))
            records = [w if isinstance(w, ScreenError) else next(made) for w in block]
        yield from records


def _here(job: _Job, chunk: Sequence[tuple[int, Any]], freeze: bool | None = None) -> list[Any]:
    """Screen items in this process: their records (their JSON text with ``as_json``); ``freeze``: as for
    :func:`batch_gc`, asked once per batch."""
    with batch_gc(freeze):
        records = [s if isinstance(s, ScreenError) else to_record(s) for s in _screen_items(job, chunk)]
        return [r.model_dump_json() for r in records] if job.as_json else records


#: Below this many patient-trial evaluations, ``screen_many`` (and ``eligimatch screen``) use one worker by
#: default: starting worker processes costs about a second, more than a small batch takes in this process
#: (docs/performance.md, "Workers by default").
SMALL_BATCH_PAIRS = 10_000


def workers_for(n_patients: int | None, n_trials: int) -> int:
    """The default number of workers for a batch: one below :data:`SMALL_BATCH_PAIRS` patient-trial
    evaluations, else :func:`default_workers` (an input of unknown length counts as large).

        >>> workers_for(22, 5)
        1
    """
    if n_patients is not None and n_patients * max(n_trials, 1) < SMALL_BATCH_PAIRS:
        return 1
    return default_workers()


def default_workers() -> int:
    """The number of CPUs this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(os.cpu_count() or 1, 1)


def _mp_context() -> Any:
    # forkserver: workers start from a clean process, not a fork of a caller that may run threads
    # (a progress bar, a web server); the default on Linux from Python 3.14.
    if "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context()


@overload
def screen_many(patients: Iterable[Any], trials: Iterable[CompiledTrial] | CompiledTrial, *,
                as_of: _dt.date | None = None, anchors: Mapping[str, _dt.date] | None = None,
                policy: Policy | None = None, workers: int | None = None, chunksize: int = 16,
                with_criteria: bool | Literal["deciding"] = True, as_json: Literal[False] = False,
                evidence: EvidenceMode = "all", progress: ProgressFn | bool | None = None,
                mp_context: Any = None) -> Iterator[ScreenResult | ScreenError]: ...


@overload
def screen_many(patients: Iterable[Any], trials: Iterable[CompiledTrial] | CompiledTrial, *,
                as_of: _dt.date | None = None, anchors: Mapping[str, _dt.date] | None = None,
                policy: Policy | None = None, workers: int | None = None, chunksize: int = 16,
                with_criteria: bool | Literal["deciding"] = True, as_json: Literal[True],
                evidence: EvidenceMode = "all", progress: ProgressFn | bool | None = None,
                mp_context: Any = None) -> Iterator[str]: ...


def screen_many(patients: Iterable[Any], trials: Iterable[CompiledTrial] | CompiledTrial, *,
                as_of: _dt.date | None = None, anchors: Mapping[str, _dt.date] | None = None,
                policy: Policy | None = None, workers: int | None = None, chunksize: int = 16,
                with_criteria: bool | Literal["deciding"] = True, as_json: bool = False,
                evidence: EvidenceMode = "all", progress: ProgressFn | bool | None = None,
                mp_context: Any = None) -> Iterator[ScreenResult | ScreenError] | Iterator[str]:
    """Screen a stream of patients against ``trials``: one record per patient, in input order.

    Each item of ``patients`` is a :class:`~eligimatch.sources._patient.Patient`, a dict
    or JSON text (validated here), a path to a patient file (read by the worker
    with :func:`eligimatch.sources._inputs.load_patient_file`), or a pair ``(source,
    item)`` where ``source`` names the item's origin (``"batch.jsonl:17"``) in
    its record.  A patient that does not validate yields a :class:`ScreenError`
    naming the field paths; the batch goes on.

    ``workers``: processes to use (default: one for a batch of fewer than
    :data:`SMALL_BATCH_PAIRS` patient-trial evaluations, where starting
    processes would cost more than it saves, else every CPU this process may
    use; an input without a length is read ahead that far to tell), this one
    included: ``workers=1`` runs in this process, without a pool; ``workers=N``
    starts ``N - 1`` worker processes, and this process is the N-th (it screens
    a chunk itself whenever the next record is not back yet, and makes the
    records of the workers' chunks), so that N processes share N cores.  The input is read at
    most ``2 * workers * chunksize`` patients ahead of what the caller has
    consumed, so memory stays flat for any length of input; a batch that
    fits in one chunk runs in this process.  ``as_of``
    defaults to today, fixed once for the whole batch.

    With many trials (16 or more), the patients of a chunk are screened four at
    a time, trial by trial: a site's full list of compiled trials does not fit in
    the CPU's cache, and each trial is then read once for four patients instead
    of once for each.  The records are the same; with ``workers=1`` the input is
    read at most four patients ahead.

    ``with_criteria=False`` leaves out each criterion's result (its evidence)
    and keeps the verdicts, deciding criteria, missing facts, cohorts and
    questions: a tenth of the data to send back from the workers, for batch
    runs that only need the verdicts.  ``with_criteria="deciding"`` keeps the
    results of the criteria that decided each verdict (for a NO_MATCH or an
    UNKNOWN, those named in ``deciding``; every criterion of a MATCH): the
    values, units, dates and thresholds behind each answer, at a fraction of
    the full size.  ``evidence`` (``"all"``, ``"deciding"``, ``"none"``, as for
    :func:`~eligimatch.match`) keeps every criterion's result but builds the
    evidence of only the criteria behind each verdict, or of none; the less the
    records keep, the less the workers build (``with_criteria=False`` builds no
    evidence at all).

    ``as_json=True`` yields each record as its JSON text (a ``str``, the same
    as ``record.model_dump_json()``), made in the workers: the way to write a
    batch out (JSON lines, a queue, a database) without building the result
    objects in this process at all, which for full results costs this process
    about a third of what screening costs a worker.  Each text is one line (no
    newline inside); a record's ``"kind"`` is ``"result"`` or ``"error"``.

    ``progress``: a callable ``f(done, total)`` (total is None when the input
    has no length), ``True`` for a progress bar on stderr when stderr is a
    terminal (nothing otherwise), or None.

    With a pool, this process does not sit idle: when the next record is not
    back from the workers yet, it screens the next chunk itself (its records are
    yielded in their turn); the pool is given at most two chunks per worker
    process, so that there is always room in the read-ahead for such a chunk.
    The workers make no result object: they send each patient's evaluations as
    plain tuples (:mod:`eligimatch.screening._wire`), and this process makes the
    records from them with the code that makes them when it screens a patient
    itself, so that the records are the same whichever process screened them.
    Workers freeze what they have loaded from the garbage collector's walks
    (:mod:`eligimatch.screening._gc`).

    Closing the iterator early (``break``, ``.close()``) stops the workers.
    Workers are started with ``forkserver`` where available (``spawn``
    elsewhere; ``mp_context`` overrides): as with any multiprocessing code, a
    script that calls this belongs under ``if __name__ == "__main__":``.

    >>> import datetime, eligimatch
    >>> from pathlib import Path
    >>> trials = [eligimatch.load_trial(f"examples/trials/{n}.elig") for n in ("NCT05621486", "NCT03754764")]
    >>> files = [Path("examples/patients/nct05621486-match-si.json"), Path("examples/patients/nct03754764-match.json")]
    >>> for screened in eligimatch.screen_many(files, trials, as_of=datetime.date(2026, 3, 1), workers=1):
    ...     print(screened.patient_id, *(f"{r.trial_id}={r.verdict.value}" for r in screened.results))
    NCT05621486-P01-SI NCT05621486=match NCT03754764=no_match
    NCT03754764-P01 NCT03754764=match NCT05621486=no_match
    """
    if with_criteria != "deciding" and not isinstance(with_criteria, bool):
        raise ValueError(f"with_criteria must be True, False or 'deciding', not {with_criteria!r}")
    job = _Job(_as_trials(trials), _as_date(as_of), tuple(dict(anchors or {}).items()), policy, with_criteria,
               bool(as_json), _check_evidence(evidence))
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be a whole number >= 1, not {workers!r}")
    if not isinstance(chunksize, int) or isinstance(chunksize, bool) or chunksize < 1:
        raise ValueError(f"chunksize must be a whole number >= 1, not {chunksize!r}")
    if isinstance(patients, (str, bytes, dict, Patient)):
        raise TypeError("screen_many() takes an iterable of patients; for one patient use screen()")
    total = None
    if hasattr(patients, "__len__"):
        try:
            total = len(patients)  # type: ignore[arg-type]
        except TypeError:
            total = None
    items: Iterator[Any] = iter(patients)
    if workers is None:
        n_trials = len(job.trials)
        if total is None:  # read ahead as far as the threshold: a short stream is a small batch
            limit = -(-SMALL_BATCH_PAIRS // max(n_trials, 1))
            head = list(itertools.islice(items, limit))
            items = itertools.chain(head, items) if len(head) == limit else iter(head)
            workers = workers_for(len(head) if len(head) < limit else None, n_trials)
        else:
            workers = workers_for(total, n_trials)
    return _stream(items, job, workers, chunksize, progress, total, mp_context)


def _stream(items: Iterator[Any], job: _Job, workers: int, chunksize: int, progress: Any, total: int | None,
            mp_context: Any) -> Iterator[Any]:
    reporter = Reporter(progress, total)
    freeze = may_freeze()  # once: it walks the caller's frozen objects, if any
    numbered: Iterator[tuple[int, Any]] = enumerate(items)
    try:
        here: Iterable[tuple[int, Any]] | None = numbered if workers == 1 else None
        if here is None:
            # a batch that fits in one chunk is not worth starting processes for
            first = list(islice(numbered, chunksize + 1))
            if len(first) <= chunksize:
                here = first
            numbered = chain(first, numbered)
        if here is not None:  # in this process, a block at a time (one patient, with few trials)
            here = iter(here)
            size = block_size(len(job.trials))
            while block := list(islice(here, size)):
                for (i, _), out in zip(block, _here(job, block, freeze)):
                    reporter(i + 1)
                    yield out
            return
        # this process is one of the `workers`: it screens whenever the next record is not back yet
        pool = ProcessPoolExecutor(max_workers=workers - 1, mp_context=mp_context or _mp_context(),
                                   initializer=_init_worker, initargs=(job,))
        decode = Decoder(job.trials)
        try:
            # chunks in input order, at most 2 x workers of them read ahead: a worker's (a Future of its
            # bytes, and its length) or one screened here (its records).  The pool gets at most two chunks per
            # worker process (one running, one waiting its turn), so that the window always has room for a
            # chunk this process screens rather than wait for the next one back
            slots: deque[tuple[Future, int] | list[Any]] = deque()
            limit = 2 * workers
            pooled = 2 * (workers - 1)
            exhausted = False
            futures = 0

            def take() -> list[tuple[int, Any]]:
                nonlocal exhausted
                chunk = list(islice(numbered, chunksize))
                exhausted = not chunk
                return chunk

            def feed() -> None:
                nonlocal futures
                while not exhausted and futures < pooled and len(slots) < limit:
                    chunk = take()
                    if chunk:
                        slots.append((pool.submit(_work, chunk), len(chunk)))
                        futures += 1

            feed()
            done = 0
            while slots:
                head = slots[0]
                if isinstance(head, tuple) and not head[0].done() and not exhausted and len(slots) < limit:
                    # rather than wait for the workers, screen the next chunk here (yielded in its turn):
                    # its records need no sending and no making from the wire
                    chunk = take()
                    if chunk:
                        slots.append(_here(job, chunk, freeze))
                    continue
                slots.popleft()
                if isinstance(head, list):
                    feed()
                    done += len(head)
                    reporter(done)
                    yield from head
                    continue
                futures -= 1
                # while this process waits, the pool's thread unpickles the chunk: at the batch's thresholds, not
                # the caller's (at the defaults, a 100-trial chunk set off full collections: docs/performance.md)
                with batch_gc(freeze):
                    data = head[0].result()
                feed()  # the worker's next chunk, before this process makes the records of this one
                done += head[1]
                reporter(done)
                yield from _records(job, decode, data, freeze)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        reporter.close()
