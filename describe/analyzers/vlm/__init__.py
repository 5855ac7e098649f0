"""Vision-language captioners (Florence-2, SmolVLM, Qwen2.5-VL, BLIP) through transformers.

Each family is one small module behind the caption analyzer protocol; the
catalog says where each model's weights live and how big they are. Nothing
here imports torch or transformers at import time: the registry imports these
modules on every run, and a run that uses the classic captioner must stay fast.
"""
