"""taskforge's tests, a regular package: verl's wheel installs a top-level ``tests`` package
into site-packages, which would otherwise shadow this folder in ``from tests...`` imports."""
