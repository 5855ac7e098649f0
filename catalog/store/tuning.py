"""How both Qdrant adapters lay out the dense views and search them, so that a catalog
fits a small machine (issue 28): the float vectors stay on disk, an int8 copy of each
(a quarter of the size) stays in RAM for the HNSW walk, and the best candidates are
rescored on the float vectors, which keeps the ranking the floats give.

Per image (three 384-d views): 3 × 1.5 KB of floats on disk, 3 × 384 B of int8 in RAM.
"""

from __future__ import annotations

# HNSW graph: m links per node (Qdrant's default), ef_construct candidates when building.
HNSW_M = 16
HNSW_EF_CONSTRUCT = 100
# candidates the graph walk keeps at query time (a query asks for 100 per view,
# search/service.py MIN_CANDIDATES). Measured at 100k synthetic points (m = 16): the
# query's source point is in the top 20 for 84 % of queries at 128, 97 % at 256, 99 % at
# 384, 100 % at 512 (the walk grows with it).
HNSW_EF = 256
# int8 values clip to this quantile of each view's values: the outliers a 384-d
# sentence embedding has would otherwise stretch the 256 steps
QUANTILE = 0.99
# candidates the int8 walk returns per hit asked for, rescored on the float vectors. At
# 1 (no oversampling) recall is the same as at 2 (the graph walk, not int8, is what misses),
# and each rescored float is a page of the vector file read into memory
OVERSAMPLING = 1.0
# below this many KB of vectors a segment is scanned without its graph, and optimize()
# leaves it as it is (Qdrant's defaults: about 6,500 points of 384-d floats)
FULL_SCAN_THRESHOLD_KB = 10_000
INDEXING_THRESHOLD_KB = 10_000
