"""distill check: every revision of a range rendered on its own, for every dialect, up and down;
all problems reported at once (not only the first), for a release manager's CI."""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any

from .. import dialects, workers
from ..errors import OfflineRenderError
from ..history.plan import make_plan, single_steps
from ..history.scripts import History
from ..offline import reproducible, reversibility
from ..offline.causes import on_every_dialect
from ..offline.produce import produce
from ..offline.render import Rendering
from ..offline.reproducible import Job, Probe, StepTexts, step_texts
from ..offline.shadow_plans import applied_set
from ..shadow import ShadowSpec
from ..statements.findings import NOT_REPRODUCIBLE, findings_of
from ..statements.row_changes import NOT_RESTORED, PROBABLE_RENAMES, changes, step_verdicts
from .check_report import CheckReport
from .check_shadow import MovingShadow
from .check_steps_cached import cached_steps, keep_logs, keep_reproducible

if TYPE_CHECKING:
    from ..cache import RenderCache

__all__ = ["CheckReport", "check", "replay"]


def check(history: History, from_spec: str, to_spec: str, dialect_names: tuple[str, ...],
          *, style: str = "none", standalone: bool = False, shadow: ShadowSpec | None = None,
          reproducibility_check: bool = True, cache: RenderCache | None = None) -> CheckReport:
    """Every revision of the range rendered on its own, per dialect, up and down; and rendered again in
    another process (another hash seed, the clock moved forward) to find the revisions whose SQL is not
    the same twice. With ``shadow``, rendered against it (no second rendering: it would not see the same
    shadow); what is reported then fails even there. The work runs as jobs of one dialect and half the
    revisions each, on both cores; each job logs what it finds per revision, and the logs are replayed
    in revision and dialect order, so the report is the same as one pass over the revisions would make.
    Statements are not formatted: findings read them normalised, and formatting keeps every token.
    ``cache``: what it holds is neither rendered nor probed; what renders reproducibly is kept."""
    plan = make_plan(history, from_spec, to_spec)
    report = _empty_report(history, plan, dialect_names, shadow, reproducibility_check)
    if cache is not None:  # never with a shadow (api); kept only where the probe runs
        cache.write = cache.write and report.reproducibility["checked"]
    options: dict[str, Any] = {"style": style, "standalone": standalone, "cache": cache,
                               "shadow": dataclasses.replace(shadow, at=plan.start) if shadow else None}
    pairs = single_steps(history, plan)
    one_way = _one_way(history, pairs)
    hits = cached_steps(cache, pairs, dialect_names, standalone, one_way)
    probe = _probe(history, plan, pairs, dialect_names, standalone, hits) \
        if report.reproducibility["checked"] else None
    to_render = len(dialect_names) * (2 * len(pairs) - len(one_way)) - len(hits)
    dialect_logs = _run_jobs(history, pairs, dialect_names, options, shadow, to_render)
    texts, pending = {}, {}  # (dialect, direction, revision) -> its text / (cache key, temporary entry)
    replay([{index: events for part in parts_found for index, events in part.items()}
            for parts_found in dialect_logs], len(pairs), report, texts, pending)
    report.unrenderable = on_every_dialect(report.unrenderable, report.dialects)
    reference = StepTexts({key: text for key, text in texts.items() if key not in hits})
    del texts  # what is compared: a digest per step, the texts compressed
    differences = probe.differences([reference]) if probe is not None else []
    for item in differences:
        report.findings.setdefault((item.revision, item.direction, NOT_REPRODUCIBLE, item.message),
                                   []).append(item.dialect)
    if probe is not None:
        report.reproducibility["notes"] = list(reproducible.NOTES)
    if cache is not None:
        keep_logs(cache, pairs, dialect_names, standalone, dialect_logs,
                  hits | keep_reproducible(cache, pending, differences, hits), one_way)
    return report


# fewer renderings to make (the rest cached): one worker runs the jobs; two took 0.10 s, not 0.05 s,
# after one revision of 1,000 was edited, on the core the second rendering needs meanwhile
_FEW_RENDERINGS = 12


def _run_jobs(history: History, pairs: list, dialect_names: tuple[str, ...], options: dict,
              shadow: ShadowSpec | None, to_render: int) -> list[list[dict[int, _Log]]]:
    """Each dialect's logs, one per part of the range: offline, two parts on both cores (on one
    when ``to_render``, the renderings not cached, are few); against a shadow, one part per
    dialect, one at a time, those whose shadow needs no server first (servers still starting)."""
    cut = len(pairs) // 2 if shadow is None else len(pairs)
    parts = [(start, stop) for start, stop in ((0, cut), (cut, len(pairs))) if stop > start]
    order = sorted(dialect_names, key=lambda name: shadow is not None and dialects.get(name).shadow.on_server)
    jobs = [functools.partial(_check_part if shadow is None else _check_shadowed,
                              history, pairs, start, stop, name, options)
            for name in order for start, stop in parts]
    ran = workers.run_all(jobs, labels=[f"{name} {start + 1}-{stop}" for name in order
                                        for start, stop in parts],
                          totals=[(stop - start) * (1 if shadow is None else 2)
                                  for _ in order for start, stop in parts],
                          stages=("checking",), parallel=shadow is None,
                          workers=1 if to_render < _FEW_RENDERINGS else None)
    size = len(parts)
    return [ran[order.index(name) * size:(order.index(name) + 1) * size] for name in dialect_names]


def _one_way(history: History, pairs: list) -> set[str]:
    """The revisions whose script says they cannot be reverted: their downgrade never renders."""
    return {up.steps[0].revision for up, _ in pairs
            if not reversibility.verdict(history, up.steps[0].revision).reversible}


def _empty_report(history: History, plan: Any, dialect_names: tuple[str, ...], shadow: ShadowSpec | None,
                  reproducibility_check: bool) -> CheckReport:
    """The report of ``plan`` before anything is found, with the project's waivers (and those
    naming no revision of the history, reported as unused whatever the range)."""
    waivers = history.settings.waivers
    return CheckReport(len(plan.steps), dialect_names, shadow=shadow is not None,
                       reproducibility=_unchecked(shadow, reproducibility_check), waivers=waivers,
                       steps=tuple(step.revision for step in plan.steps),
                       strays=tuple(w for w in waivers if not _full_id(history, w.revision)))


def _full_id(history: History, revision: str) -> bool:
    """Whether ``revision`` is the full id of a revision of the history (not a prefix of one)."""
    return history.has(revision) and history.get(revision).revision == revision


def _probe(history: History, plan, pairs: list, dialect_names: tuple[str, ...], standalone: bool,
           hits: set[tuple[str, str, str]]) -> Probe | None:
    """The second rendering of every step not found in the cache (None: every step was)."""
    jobs = []
    for name in dialect_names:
        for direction in ("upgrade", "downgrade"):
            wanted = tuple(up.steps[0].revision for up, _ in pairs
                           if (name, direction, up.steps[0].revision) not in hits)
            if wanted:
                jobs.append(Job(name, direction, plan.start, plan.target, single=True,
                                only=None if len(wanted) == len(pairs) else wanted))
    return Probe(history.settings, jobs, standalone=standalone, generation=history.generation) \
        if jobs else None


def _unchecked(shadow: ShadowSpec | None, wanted: bool) -> dict[str, Any]:
    """What the report says of the reproducibility check before it runs."""
    if shadow is not None:
        why = "rendered against a shadow database, which a second rendering would not see the same"
    elif not wanted:
        why = "the check is turned off (--no-reproducibility-check, or reproducibility_check = false)"
    else:
        return {"checked": True, "notes": []}
    return {"checked": False, "notes": [why]}


_Log = list  # (report table or "texts", key, value) in the order found


def replay(by_dialect: list[dict[int, _Log]], steps: int, report: CheckReport,
           texts: dict[tuple[str, str, str], str], pending: dict | None = None) -> None:
    """Enter what each dialect's jobs found (``by_dialect[d][revision index]``) into ``report``
    and ``texts`` revision by revision, dialect by dialect: the order one pass over the
    revisions finds them in, which orders the report."""
    for index in range(steps):
        for log in by_dialect:
            for table, key, value in log.get(index, ()):
                if table == "texts":
                    texts[key] = value
                elif table == "pending":  # a temporary cache entry: (plan key, (path, deps))
                    if pending is not None:
                        pending[key] = value
                else:
                    getattr(report, table).setdefault(key, []).append(value)


def _check_part(history: History, pairs: list, start: int, stop: int, name: str, options: dict,
                tick: Any) -> dict[int, _Log]:
    """One dialect's checks of the revisions ``pairs[start:stop]`` (in a worker): per revision,
    what it found."""
    dialect = dialects.get(name)
    found: dict[int, _Log] = {}
    cache = options.get("cache")
    for index in range(start, stop):
        up_plan, down_plan = pairs[index]
        step, log = up_plan.steps[0], found.setdefault(index, [])
        if cache is not None and (name, step.revision) in cache.logs:  # found before, from the same SQL
            log += cache.logs[name, step.revision]
            tick()
            continue
        verdict = reversibility.verdict(history, step.revision)
        up = _rendered(log, step, "upgrade", name, history, up_plan, options)
        if not verdict.reversible:
            log.append(("irreversible", (step.revision, step.message, verdict.reason), name))
        else:
            down = _rendered(log, step, "downgrade", name, history, down_plan, options)
            if not isinstance(up, OfflineRenderError) and not isinstance(down, OfflineRenderError):
                _compared(log, step, up, down, dialect, name)
        tick()
    return found


def _compared(log: _Log, step, up: Rendering, down: Rendering, dialect, name: str) -> None:
    for item in reversibility.by_rendering(down, up):
        log.append(("irreversible", (step.revision, step.message,
                                     item.reason.replace(dialect.title, "this dialect")), name))
    _compare_directions(log, step.revision, up, down, dialect, name)


def _check_shadowed(history: History, pairs: list, start: int, stop: int, name: str, options: dict,
                    tick: Any) -> dict[int, _Log]:
    """``_check_part`` against one shadow moved along the range (check_shadow.py)."""
    with MovingShadow(history, dialects.get(name), options["shadow"], options["standalone"]) as shadow:
        part = _ShadowedPart(history, pairs, name, options, tick, shadow)
        part.run(start, stop)
    return part.found


class _ShadowedPart:
    """The upgrades of the steps up to the next irreversible one, in order; then their downgrades
    in reverse order (the shadow is back where they start); then that step's upgrade (the shadow
    catches up past them on the way), and on. Each step renders on exactly what the bundle has
    applied when it comes to it: the range's start and the steps before it, other branches'
    included (``applied``). A step that cannot render leaves the steps only it leads to
    unrendered, with its cause (a catch-up through it fails the same way)."""

    def __init__(self, history: History, pairs: list, name: str, options: dict, tick: Any,
                 shadow: MovingShadow) -> None:
        self.history, self.pairs, self.name, self.options, self.tick = history, pairs, name, options, tick
        self.shadow = shadow
        self.found: dict[int, _Log] = {}
        self.ups: dict[int, Rendering | None] = {}
        self.failed: OfflineRenderError | None = None  # the first upgrade that did not render
        self.verdicts = {i: reversibility.verdict(history, pairs[i][0].steps[0].revision)
                         for i in range(len(pairs))}
        # applied[i]: what the bundle has applied before step i (applied[i + 1]: after it)
        self.applied = [applied_set(history, options["shadow"].at or ())]
        for up, _ in pairs:
            self.applied.append(self.applied[-1] | applied_set(history, (up.steps[0].revision,)))

    def run(self, start: int, stop: int) -> None:
        index = start
        while index < stop:
            end = next((i for i in range(index, stop) if not self.verdicts[i].reversible), stop)
            for i in range(index, end):
                self.up(i)
            for i in reversed(range(index, end)):
                self.down(i)
            if end < stop:
                self.up(end)
                self.tick()  # its downgrade: not rendered
            index = end + 1

    def up(self, index: int) -> None:
        up_plan, step = self.pairs[index][0], self.pairs[index][0].steps[0]
        log, self.ups[index] = self.found.setdefault(index, []), None
        if self.failed is not None:
            _unrenderable(log, step, "upgrade", self.name, self.failed)
        elif isinstance(up := _rendered_on(self.shadow, self.applied[index], log, step, "upgrade", self.name,
                                           self.history, up_plan, self.options), OfflineRenderError):
            self.failed = up
        else:
            self.ups[index] = up
        if not (verdict := self.verdicts[index]).reversible:
            log.append(("irreversible", (step.revision, step.message, verdict.reason), self.name))
        self.tick()

    def down(self, index: int) -> None:
        down_plan, step, up = self.pairs[index][1], self.pairs[index][0].steps[0], self.ups[index]
        if self.failed is not None and up is None:
            _unrenderable(self.found[index], step, "downgrade", self.name, self.failed)
        else:
            down = _rendered_on(self.shadow, self.applied[index + 1], self.found[index], step, "downgrade",
                                self.name, self.history, down_plan, self.options)
            if up is not None and not isinstance(down, OfflineRenderError):
                _compared(self.found[index], step, up, down, dialects.get(self.name), self.name)
        self.tick()


def _rendered_on(shadow: MovingShadow, applied: int, log: _Log, step, direction: str, name: str,
                 history: History, plan, options: dict) -> Rendering | OfflineRenderError:
    """``_rendered`` against ``shadow`` brought to ``applied`` first; the error when it cannot
    render (the shadow is then lost)."""
    try:
        database = shadow.ready_for(applied)
    except OfflineRenderError as exc:
        shadow.lost()
        _unrenderable(log, step, direction, name, exc)
        return exc
    rendering = _rendered(log, step, direction, name, history, plan, {**options, "shadow": database})
    if isinstance(rendering, OfflineRenderError):
        shadow.lost()
    return rendering


def _unrenderable(log: _Log, step, direction: str, name: str, exc: OfflineRenderError) -> None:
    key = (step.revision, step.message, direction, exc.location or "?", exc.cause or exc.message, exc.fix)
    log.append(("unrenderable", key, name))


def _rendered(log: _Log, step, direction: str, name: str, history: History, plan,
              options: dict) -> Rendering | OfflineRenderError:
    """One step rendered alone in one direction, its findings logged; the error if it cannot render."""
    def keep_text(raw: Rendering) -> None:
        log.append(("texts", (name, direction, step.revision), step_texts(raw)[step.revision]))

    try:
        rendering, _ = produce(history, plan, dialects.get(name), on_rendered=keep_text, **options)
    except OfflineRenderError as exc:
        _unrenderable(log, step, direction, name, exc)
        return exc
    finally:
        for key, entry in options["cache"].take_pending().items() if options.get("cache") else ():
            log.append(("pending", (name, direction, step.revision), (key, entry)))
    for kind, messages in findings_of(rendering.step_statements(0)).items():
        log += [("findings", (step.revision, direction, kind, message), name) for message in messages]
    return rendering


def _compare_directions(log: _Log, revision: str, up: Rendering, down: Rendering, dialect,
                        name: str) -> None:
    """What the step's downgrade does not restore, and drop + add pairs that look like a rename."""
    verdicts = step_verdicts(*(changes(r.step_statements(0), dialect, r.version_table.name)
                               for r in (up, down)))
    for kind, messages in ((NOT_RESTORED, verdicts.not_restored),
                           (PROBABLE_RENAMES, verdicts.probable_renames)):
        log += [("findings", (revision, "upgrade", kind, message), name) for message in messages]
