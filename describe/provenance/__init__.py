"""Where an image came from: embedded metadata (XMP, PNG text chunks, EXIF), the
generators that wrote it and their prompts, and the check of a prompt against what is
seen in the picture."""
