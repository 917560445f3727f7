"""Offline rendering: a plan turned into captured statements for one dialect, through Alembic.

``render`` runs the steps in Alembic's offline mode into ``capture``; ``diagnose`` says why a
revision cannot render; ``produce`` is the one way SQL is made (render, format, annotate);
``two_cores`` splits a long plan; ``reversibility`` finds where a downgrade must stop;
``single_script`` is the guarded script ``distill sql`` prints.
"""
