"""Bundles: every file of a release (SQL per dialect and step, manifest, runbook, checksums),
written reproducibly, published atomically and archived byte for byte the same every time; and
``verify``: is a bundle untampered and still what the sources produce."""
