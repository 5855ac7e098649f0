"""Quality evaluation (`imgdesc eval`): describe a folder with one or more captioners
and profiles, score the output against optional references, search a real index built
for the run, and write Markdown, HTML and JSON reports with plots.

metrics.py holds the pure scoring functions; dataset.py the reference format; run.py
does the work; baseline.py the naive reference scored beside it; signals.py the
label-free measures; report.py and plots.py the output.
"""
