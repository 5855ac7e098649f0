"""How both Qdrant adapters lay out the dense views and search them, so that a catalog
fits a small machine (issue 28): the float vectors stay on disk, an int8 copy of each
(a quarter of the size) stays in RAM for the HNSW walk, and the main view's best
candidates are rescored on the float vectors, which keeps the ranking the floats give.

What a catalog of N images takes (three 384-d views; `imgdesc bench --search` at 30k and
100k synthetic points, fitted linearly, so 1M is an extrapolation):
  disk      ≈ 60 MB + 7.0 KB × N  (floats 4.5 KB, int8 1.1 KB, graphs, payload, sparse, WAL);
            optimize() needs as much again for a while (it works on a copy)
  resident  ≈ 110 MB + 2.2 KB × N  after a few hundred searches, of which the heap is
            ≈ 1.4 KB × N (the int8 copies are 1.1 KB); the rest is mapped files (the WAL,
            ~63 MB once written; the graphs; the dense float pages rescoring read), which the
            kernel drops under memory pressure and reads again when needed
  at 100k: 749 MB disk, 324 MB resident (145 MB heap); at 1M about 6.8 GB and 2.2 GB (1.4 GB).
  Before focus and labels were left unrescored and the unused payload indexes dropped:
  783 MB, 586 MB (203 MB heap) at 100k.
"""

from __future__ import annotations

from catalog.store.base import DENSE, IMAGE

# HNSW graph: m links per node, ef_construct candidates when building; hnsw_ef candidates
# the walk keeps at query time (a query asks for 100 per view, search/service.py
# MIN_CANDIDATES). Measured at 100k synthetic 384-d points, the share of queries whose
# source point is in the dense top 20:
#   m 16: ef 128 84 %, ef 256 97 %, ef 384 99 %, ef 512 100 %
#   m 32: ef 64 92 %, ef 128 99 %, ef 256 100 %
# m 32 / ef 128 finds more than m 16 / ef 256 in about the same time (the app's four views
# with a tag filter, p50 / p95: 19 / 21 ms against 17 / 23 ms). The graph is no larger at
# m 32 (11 MB a view at 100k, links compressed); building it takes longer.
HNSW_M = 32
HNSW_EF_CONSTRUCT = 100
HNSW_EF = 128
# int8 values clip to this quantile of each view's values: the outliers a 384-d
# sentence embedding has would otherwise stretch the 256 steps
QUANTILE = 0.99
# the views whose candidates are rescored on the float vectors: the main description view
# and the image view. focus and labels are ranked on their int8 copies alone: measured at
# 100k, int8 returns the same top 100 as rescored search (top-100 overlap 1.000), and not
# rescoring them keeps their float pages out of memory (resident 589 -> 473 MB) and cuts
# the app's four-view query with a tag (p50 / p95 12.3 / 24.8 -> 9.6 / 12.7 ms, load ~2)
RESCORED_VIEWS = frozenset({DENSE, IMAGE})
# candidates the int8 walk returns per hit asked for, rescored on the float vectors. At
# 1 (no oversampling) recall is the same as at 2 (the graph walk, not int8, is what misses),
# and each rescored float is a page of the vector file read into memory
OVERSAMPLING = 1.0
# below this many KB of vectors a segment is scanned without its graph, and optimize()
# leaves it as it is (Qdrant's defaults: about 6,500 points of 384-d floats)
FULL_SCAN_THRESHOLD_KB = 10_000
INDEXING_THRESHOLD_KB = 10_000
# the payload fields that get an index: the ones a query filters or counts on (tags; the
# datetime ORDER_FIELD, which latest() orders by, is indexed as well). Every other index
# is dropped when a store opens: nothing asked for them, and each costs memory even in the
# empty appendable segment Qdrant keeps (its index pages are written out in full when it
# is loaded: 32 MB for each text index, 4 MB for each keyword one), and the optimised
# segment holds its text indexes on the heap: at 100k, resident 473 -> 323 MB, heap
# 202 -> 144 MB
INDEXED_KEYWORDS = ("tags",)
