"""Zero-shot tagging with an image-text model (SigLIP 2): the image scored against an
editable tag vocabulary, and its embedding kept for image-vector search."""
