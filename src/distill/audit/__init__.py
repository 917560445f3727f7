"""Audit: is a bundle untampered and still what the sources produce (``verify``), what changed
between two bundles (``bundle_diff`` and its ``diff_report``), and what a range holds that a
release manager must know before building (``check``)."""
