"""What a bundle is and what its manifest.json says (schemas/manifest-1.json).

The manifest is the one description of a bundle that verify, diff and rehearse read back: the
range, the options that rebuild it, every step with its script's SHA-256, every file with its
own, and the versions of what generated it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..history.plan import Plan
from ..history.scripts import History
from ..offline import reversibility
from ..shadow import ShadowSpec
from ..statements.timeouts import Timeouts
from . import schema
from .sources import source_path
from .spec import BundleSpec

MANIFEST_FORMAT = "distill-bundle"
MANIFEST_VERSION = 1


def spec_from_manifest(manifest: dict[str, Any]) -> BundleSpec:
    """The BundleSpec that rebuilds a shipped bundle from the current sources."""
    rng, options = manifest.get("range", {}), manifest.get("options", {})
    return BundleSpec(
        release=manifest.get("release", "?"),
        from_spec=",".join(rng.get("from", [])) or "base",
        to_spec=",".join(rng.get("to", [])) or "base",
        dialects=tuple(options.get("dialects", manifest.get("dialects", {}).keys())),
        style=options.get("format", "sqlparse"),
        standalone=options.get("mode") == "standalone",
        asked=(str(rng.get("from_spec", "")), str(rng.get("to_spec", ""))) if "from_spec" in rng else None,
        # a rebuild renders against a throwaway shadow: a --shadow-url database is not at hand
        shadow=ShadowSpec() if any("shadow" in entry for entry in manifest.get("dialects", {}).values())
        else None,
        timeouts=Timeouts(options.get("lock_timeout_ms"), options.get("statement_timeout_ms")),
        record_table=options.get("record_table"),
        reproducibility_check=options.get("reproducibility_check", True) is not False,
    )


def _step(history: History, number: int, step) -> dict[str, Any]:
    verdict = reversibility.verdict(history, step.revision)
    return {
        "number": number,
        "revision": step.revision,
        "parents": list(step.down_revisions),
        "depends_on": list(step.dependencies),
        "message": step.message,
        "script": step.script_path,
        "script_sha256": history.script_sha256(step.revision),
        "source": source_path(history, step.revision),
        "branch_labels": list(step.branch_labels),
        "merge_point": step.is_merge,
        "branch_point": step.is_branch_point,
        "reversible": verdict.reversible,
        "irreversible_reason": verdict.reason or None,
    }


def manifest_core(history: History, spec: BundleSpec, up: Plan) -> dict[str, Any]:
    """What the bundle is, known before anything is rendered: everything in the manifest but the
    dialects' files and the generator's versions."""
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "project": history.settings.project,
        "release": spec.release,
        "range": {
            "from": list(up.start),
            "to": list(up.target),
            "from_spec": spec.asked[0] if spec.asked else spec.from_spec,
            "to_spec": spec.asked[1] if spec.asked else spec.to_spec,
        },
        "options": {
            "format": spec.style,
            "mode": "standalone" if spec.standalone else "project",
            "dialects": list(spec.dialects),
            **({"lock_timeout_ms": spec.timeouts.lock_ms} if spec.timeouts.lock_ms else {}),
            **({"statement_timeout_ms": spec.timeouts.statement_ms} if spec.timeouts.statement_ms else {}),
            **({"record_table": spec.record_table} if spec.record_table else {}),
            **({} if spec.reproducibility_check else {"reproducibility_check": False}),
            **_server_versions(history, spec.dialects),
        },
        "steps": [_step(history, number, step) for number, step in enumerate(up.steps, 1)],
    }


def _server_versions(history: History, names: tuple[str, ...]) -> dict[str, Any]:
    """{"server_version": {dialect: version}} for the bundle's dialects the project names a
    version of (nothing when it names none: the findings say which version they assume)."""
    chosen = {name: version for name, version in history.settings.server_versions if name in names}
    return {"server_version": chosen} if chosen else {}


_CORE_KEYS = ("format", "format_version", "project", "release", "range", "options", "steps")


def bundle_identity(manifest: dict[str, Any]) -> str:
    """The bundle's identity, as the record of applied files names it: the SHA-256 of the canonical
    JSON of its manifest's core (``manifest_core``). Not the manifest's own SHA-256: the manifest
    lists every file's digest, so no file can hold the manifest's."""
    core = {key: manifest.get(key) for key in _CORE_KEYS}
    text = json.dumps(core, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def manifest(core: dict[str, Any], dialect_entries: dict[str, Any],
             versions: dict[str, str]) -> dict[str, Any]:
    """The manifest: its ``core`` (``manifest_core``), each dialect's files and the versions."""
    return {**core, "dialects": dialect_entries, "generator": versions}


def file_entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every file entry (``file``, ``sha256``, ``statements``) of a manifest's dialects."""
    entries = []
    for entry in manifest.get("dialects", {}).values():
        entries += [entry[d] for d in ("upgrade", "downgrade") if d in entry]
        for step in entry.get("steps", []):
            entries += [step[d] for d in ("up", "down") if d in step]
    return entries


def manifest_problems(manifest: Any) -> list[str]:
    """What keeps ``manifest`` from matching its JSON Schema (schemas/manifest-1.json), so a
    crafted one is reported instead of failing later; empty when it matches."""
    return schema.problems(manifest, "manifest-1")


# A manifest is ~7 KB per revision for six dialects (releases/1.0: 41 KB for 6): 128 MiB is twice
# a 10,000-revision six-dialect bundle's. Its schema nests 7 levels; a crafted one nested deeper
# is refused before anything recurses into it.
MAX_MANIFEST_BYTES = 128 << 20
MAX_MANIFEST_DEPTH = 32


class UnreadableManifest(ValueError):
    """A manifest.json too large, too deeply nested, or not JSON: the message says which."""


def parse_manifest(raw: bytes) -> Any:
    """The JSON of a manifest.json, refused (UnreadableManifest) beyond the limits above."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise UnreadableManifest(f"is larger than the {MAX_MANIFEST_BYTES >> 20} MiB distill reads (far "
                                 "beyond any bundle's)")
    try:
        document = json.loads(raw)
    except RecursionError:
        raise UnreadableManifest(f"is nested deeper than {MAX_MANIFEST_DEPTH} levels") from None
    except ValueError as exc:
        raise UnreadableManifest(f"is not valid JSON: {exc}") from None
    pending = [(document, 1)]
    while pending:  # iterative: a crafted depth cannot exhaust the stack
        node, depth = pending.pop()
        if depth > MAX_MANIFEST_DEPTH:
            raise UnreadableManifest(f"is nested deeper than {MAX_MANIFEST_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        pending += [(child, depth + 1) for child in children if isinstance(child, (dict, list))]
    return document
