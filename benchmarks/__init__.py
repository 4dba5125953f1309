"""Benchmarks of coprod_nb: ``python -m benchmarks`` (``make bench``), or ``--quick``.

Each module measures one thing and a *floor*: the same work done the most direct way
(raw sqlite3, a pandas scan, an empty widget, a notebook that only imports libraries),
measured in the same run on the same machine, so the ratios travel between machines
better than the seconds do. No timing is asserted in the test suite (see STYLE.md).

Modules: ``bench_import`` (import time), ``bench_ingest`` (import_transcripts),
``bench_search`` (study-wide search), ``bench_compare`` (step-2 matrix and heatmap),
``bench_transcript_view`` (TranscriptView on a long transcript), ``bench_memory`` (peak
RSS, in a subprocess), ``bench_notebooks`` (executing the step notebooks).
"""
