"""Dev tooling beside the product, never imported by the server or the CLI's other
commands: benchmarks (bench/), quality evaluation (evaluation/), and what both use, the
sample images (samples.py) and the percentile (stats.py). Needs the `dev` extras."""
