"""Facts → words: the paragraph (paragraph.py, from a profile's Jinja template), the
profiles themselves, the template context, the caption phrases and the scene and look
sentences, and the tags a profile lists. Reads knowledge/, never analyzers/."""
