"""What the describer knows about the world, as data and small lookups: the label
taxonomy and hypernyms (what a "landmark" is), the vocabulary and its synonyms, English
word forms, detector/classifier cross-checks, the COCO label table and the text cues.
Imports nothing from analyzers/ or render/."""
