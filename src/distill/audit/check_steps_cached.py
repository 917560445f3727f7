"""What ``check`` takes from the render cache and keeps there: the single steps it holds (and
what check found from them, ``cached_steps``), the steps rendered here that the second rendering
wrote the same (``keep_reproducible``), and what was found for each cached step (``keep_logs``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..offline import reproducible

if TYPE_CHECKING:
    from ..cache import RenderCache


def cached_steps(cache: RenderCache | None, pairs: list, dialect_names: tuple[str, ...],
                  standalone: bool, one_way: set[str]) -> set[tuple[str, str, str]]:
    """(dialect, direction, revision) of every single step the cache holds (``one_way``: the
    revisions whose downgrade is never rendered)."""
    if cache is None:
        return set()
    found = {(name, plan.direction, plan.steps[0].revision) for name in dialect_names for pair in pairs
             for plan in pair if cache.lookup(plan, name, standalone)}
    for name in dialect_names:  # what check found, where the renderings it read are cached
        for up, down in pairs:
            if _both(name, up.steps[0].revision, one_way) <= found:
                cache.lookup_log(up, down, name, standalone)
    return found


def _both(name: str, revision: str, one_way: set[str]) -> set[tuple[str, str, str]]:
    """The renderings what check finds for one step in one dialect is made of."""
    return {(name, "upgrade", revision)} | (set() if revision in one_way else {(name, "downgrade", revision)})


def keep_reproducible(cache: RenderCache, pending: dict[tuple[str, str, str], tuple[str, tuple]],
                       differences: list, hits: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Keep the steps rendered here that the second rendering wrote the same; drop the others
    (all of them when the clock could not be moved). The steps kept."""
    bad = {(item.dialect, item.direction, item.revision) for item in differences}
    trusted = not reproducible.NOTES
    for step, (key, _) in pending.items():
        if step in hits:  # found in the cache, yet rendered again (its entry had gone): not probed
            cache.forget(key)
    kept = {step for step in pending if trusted and step not in bad and step not in hits}
    cache.keep({key: entry for step, (key, entry) in pending.items() if step in kept},
               [entry[0] for step, (_, entry) in pending.items() if step not in kept])
    return kept


def keep_logs(cache: RenderCache, pairs: list, dialect_names: tuple[str, ...], standalone: bool,
               dialect_logs: list, cached: set[tuple[str, str, str]], one_way: set[str]) -> None:
    """Keep what was found for each step whose renderings (the upgrade alone where ``one_way``)
    are in the cache (and was not itself taken from there); and name the renderings the whole
    report is made of (``cache.result_keys``: it is kept if they all are)."""
    cache.result_keys = [cache.key(p, name, standalone) for name in dialect_names for up, down in pairs
                         for p in ((up,) if up.steps[0].revision in one_way else (up, down))]
    for name, parts_found in zip(dialect_names, dialect_logs, strict=True):
        found = {index: events for part in parts_found for index, events in part.items()}
        for index, (up, down) in enumerate(pairs):
            revision = up.steps[0].revision
            if (name, revision) in cache.logs or not _both(name, revision, one_way) <= cached:
                continue
            log = [list(item) for item in found.get(index, ()) if item[0] not in ("texts", "pending")]
            cache.keep_log(up, down, name, standalone, log)
