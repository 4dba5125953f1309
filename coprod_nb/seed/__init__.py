"""Where studies come from besides an import: manifests, the fictional demo, synthetic studies.

- :mod:`coprod_nb.seed.manifest` reads (and writes) a study described in one TOML file;
- :mod:`coprod_nb.seed.demo` builds the fictional demo study from ``seed/data/demo``;
- :mod:`coprod_nb.seed.demo_cache` keeps built demos so notebooks and tests copy them;
- :mod:`coprod_nb.seed.synth` generates large synthetic studies for benchmarks.
- :mod:`coprod_nb.seed.notebooks` finds the notebooks shipped with the package and copies
  them for a user (``coprod-nb notebooks DIR``).
"""
