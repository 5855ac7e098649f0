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
# candidates the graph walk keeps at query time; a query asks for up to 4 × 20 hits
# (search/service.py MIN_CANDIDATES = 100), so below 100 this would not matter
HNSW_EF = 128
# int8 values clip to this quantile of each view's values: the outliers a 384-d
# sentence embedding has would otherwise stretch the 256 steps
QUANTILE = 0.99
# candidates the int8 walk returns per hit asked for, rescored on the float vectors
OVERSAMPLING = 2.0
# below this many KB of vectors a segment is scanned without its graph, and optimize()
# leaves it as it is (Qdrant's defaults: about 6,500 points of 384-d floats)
FULL_SCAN_THRESHOLD_KB = 10_000
INDEXING_THRESHOLD_KB = 10_000
