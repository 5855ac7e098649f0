"""Query text (+ tag filters) → hits, over the store the indexer fills."""
