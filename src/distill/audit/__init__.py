"""Audit: what changed between two bundles (``bundle_diff`` and its ``diff_report``), what a range
holds that a release manager must know before building (``check``, ``check_policy``), and whether a
database drifted from its bundle (``status``). Whether a bundle is untampered and still what the
sources produce is ``bundle.verify`` (rehearse uses it too)."""
