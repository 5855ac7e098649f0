"""Benchmarks (`imgdesc bench`, `imgdesc models bench`): dev tooling beside the
product, never imported by the server or the CLI's other commands. Needs the
`dev` extras (matplotlib, scikit-image, scikit-learn).

describe.py: describe latency and memory; system.py: start-up, indexing, search end
to end; search.py: store latency against collection size; intake.py: decoding peak
memory; vlm.py and florence.py: captioner architecture cost; report.py: Markdown,
JSON and plots; samples.py: the sample images; vlm_configs.py: published captioner
shapes; measure.py: memory, percentiles and fresh processes.
"""
