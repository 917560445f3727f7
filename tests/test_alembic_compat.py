"""The compatibility layer: what it assumes about Alembic still holds, and patching nests."""

from __future__ import annotations

import alembic
import pytest
from alembic.operations.batch import ApplyBatchImpl
from alembic.runtime.migration import HeadMaintainer, RevisionStep

from distill.alembic_compat import alembic_patched, fingerprints, patches


def test_every_original_a_patch_depends_on_is_the_one_that_was_read():
    known = fingerprints.FINGERPRINTS.get(alembic.__version__)
    if known is None:
        pytest.fail(f"Alembic {alembic.__version__} was never checked against distill's patches: "
                    f"read the originals in fingerprints.CHECKED and add their fingerprints")
    changed = {name: fingerprints.fingerprint(*where) for name, where in fingerprints.CHECKED.items()
               if fingerprints.fingerprint(*where) != known[name]}
    assert changed == {}, f"Alembic {alembic.__version__} changed what distill patches: {sorted(changed)}"


def test_every_patched_method_is_fingerprinted():
    names = {f"{owner.__name__}.{attribute}" for owner, attribute in patches.PATCHES}
    assert names <= set(fingerprints.CHECKED)


def test_a_fingerprint_changes_with_the_source(monkeypatch):
    before = fingerprints.fingerprint(HeadMaintainer, "_insert_version")

    def _insert_version(self, version):  # a different body under the same name
        return None

    monkeypatch.setattr(HeadMaintainer, "_insert_version", _insert_version)
    assert fingerprints.fingerprint(HeadMaintainer, "_insert_version") != before


def _originals():
    return {(owner, name): owner.__dict__[name] for owner, name in patches.PATCHES}


def test_patching_is_reentrant_and_restores_only_at_the_outermost_exit():
    originals = _originals()
    with alembic_patched():
        patched = _originals()
        assert all(patched[key] is not originals[key] for key in originals)
        with alembic_patched():
            pass
        assert _originals() == patched  # the nested exit left the patches in place
        assert RevisionStep.__dict__["_unmerge_to_revisions"] is patched[RevisionStep, "_unmerge_to_revisions"]
    assert _originals() == originals
    assert ApplyBatchImpl.__dict__["_grab_table_elements"] is originals[ApplyBatchImpl, "_grab_table_elements"]


def test_patches_are_restored_when_the_body_raises():
    originals = _originals()
    with pytest.raises(RuntimeError):
        with alembic_patched():
            raise RuntimeError("a revision failed")
    assert _originals() == originals
