"""Coverage-guided fuzzing (atheris) of the inputs strangers control.

Four targets, each a harness in :mod:`tests.fuzz.targets` that takes one input as bytes and lets out only what is a
crash: an exception other than the module's documented error types, or a 5xx other than a clear 503. Hangs are
caught by libFuzzer's per-input time limit. The seed corpus is under ``tests/fuzz/corpus/<target>/`` (made by
``python -m tests.fuzz.seeds``); ``python -m tests.fuzz TARGET --runs N`` or ``scripts/fuzz.py`` run a fuzzer, and
``tests/fuzz/test_fuzz.py`` gives each target a short run in ``make test``.
"""
