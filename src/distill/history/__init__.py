"""History: the project's revision scripts, loaded once, and the plans walked through them.

``scripts`` loads them (``parallel_compile`` compiles half of them on the second core), ``specs``
resolves what a user names, ``ordering`` and ``plan`` give Alembic's own order of steps, and
``releases`` maps release versions to ranges.
"""
