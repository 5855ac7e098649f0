"""The describe core: image → facts → rendered description.

Knows nothing of the web, the store or the indexer; those depend on it.
"""
