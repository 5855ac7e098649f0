"""Visible text with RapidOCR 3.10: PP-OCRv4's detector and PP-OCRv6 small's recogniser.

PP-OCRv6 small (in the rapidocr wheel) reads better than PP-OCRv4, but its detector
takes ~190 ms on a 640 px copy against PP-OCRv4's ~70 ms. PP-OCRv4's detector with
PP-OCRv6's recogniser reads as well as PP-OCRv6 alone on the two dev sets and halves the
text stage (median 231 -> 96 ms on photos without text, 331 -> 171 ms with; side by side
in docs/EVALUATION.md). PP-OCRv4's models come from the rapidocr-onnxruntime 1.4.4 wheel,
downloaded by `make install` and never installed (describe/model_wheels.py). Both
detectors and both recognisers stay selectable: the options ``detector`` and
``recogniser`` ("PP-OCRv4" or "PP-OCRv6").

We drive RapidOCR's detector and recogniser ourselves rather than calling the
whole pipeline, for three reasons:

* the detector runs on a copy downsized to ``det_side`` (text boxes survive
  that well; it roughly halves the cost on a 1024 px photo) while the
  recogniser reads crops from the full-resolution image;
* a photo without text stops after the detector, and most never reach it: two cheap
  looks decide first whether there may be text (describe/analyzers/text_gate.py);
* we decode the CTC output ourselves and insert a space wherever the space
  character's probability passes ``SPACE_PROB`` in the gap between two
  characters. PP-OCRv4's recogniser, trained mostly on Chinese, rarely *chose*
  the space between English words (250 of 285 gaps) but still gave it a clear
  probability there. PP-OCRv6's chooses it itself: on 116 renders of 29
  English phrases in nine fonts, 18–80 px, it put the space in all 244 word
  gaps, whose space probability was 0.94 or more; the 1,188 gaps inside words
  never exceeded 0.0001. The threshold stays as the safety net for text less
  clean than a render, anywhere in that wide margin.
"""

from __future__ import annotations

import logging
import unicodedata
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np
from rapidocr.utils.process_img import apply_vertical_padding, get_rotate_crop_image

from describe import model_wheels
from describe.analyzers import text_gate, text_reread
from describe.analyzers.base import AnalyzerOptions, BaseAnalyzer
from describe.errors import ModelError
from describe.facts import Facts, TextFacts, TextLine
from describe.intake import PreparedImage
from describe.memory import release_freed_memory
from describe.onnx_session import session_options
from describe.registry import register

SPACE_PROB = 0.01
# Reads of textures on 84 text-free photos of both dev sets, each also flipped, cropped
# and rotated by 90 and 180 degrees, scored up to 0.857 when longer than one character
# and not one character repeated (a stove's row of knobs read "000 0100"; then "Ma" on
# an upside-down truck 0.77, fur 0.73). Words on the dev sets' signs, labels and banners
# read at 0.93-1.0; below 0.86 fall only the Japanese on a festival drum (0.81, one
# character wrong), a chart's axis fragment ("C 1 8", 0.80) and a few of the numbers on
# a multimeter's dial (0.64-0.85). PP-OCRv4
# scored textures lower (up to 0.67 on the 18 of the project set; 0.7 was the minimum).
DEFAULT_MIN_SCORE = 0.86
# Single characters and repeats ("O", "米米") are what textures read as; keep them only when
# sure. On the same photos they reach 0.95 ("三" on cutlery, "鑫" on a church, "8" on a
# cup) and once 0.995 (a cropped, rotated camel); real ones on the dev sets (a chart's "0"
# and "5", the "A" on a multimeter) score 0.99-1.0. 0.9 kept three of those textures as
# the text of dev-set photos.
SURE_SCORE = 0.99
# Rechecked with PP-OCRv6: at the library default (0.5) the Route 66 shield loses its
# "66", a multimeter a "20" and eight grey, unevenly lit pages a line fragment; 0.3
# finds 60 % more boxes on those text-free photos (77, against 48 at 0.4), each a
# recogniser run and a chance of a false read.
DET_BOX_THRESH = 0.4


class Model(NamedTuple):
    """A model file: inside the installed rapidocr 3.10 package (wheel None), or a member
    of a wheel that `make install` downloads and never installs (describe/model_wheels.py)."""

    file: str
    wheel: str | None = None


# rapidocr-onnxruntime requires opencv-python, a second OpenCV beside our headless one, so
# its wheel is only downloaded (requirements/models.txt; tests/test_install.py checks the pin).
OLD_PACKAGE = "rapidocr-onnxruntime"
OLD_VERSION = "1.4.4"
OLD_WHEEL = f"rapidocr_onnxruntime-{OLD_VERSION}-py3-none-any.whl"
# The models packaged in the two wheels (the others rapidocr's config names are downloads).
DETECTORS = {
    "PP-OCRv4": Model("rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx", OLD_WHEEL),
    "PP-OCRv6": Model("PP-OCRv6_det_small.onnx"),
}
RECOGNISERS = {
    # its CTC alphabet is in the model's metadata, as PP-OCRv6's is: no dictionary file
    "PP-OCRv4": Model("rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx", OLD_WHEEL),
    "PP-OCRv6": Model("PP-OCRv6_rec_small.onnx"),
}
CLS_MODEL = Model("ch_ppocr_mobile_v2.0_cls_mobile.onnx")
DEFAULT_DETECTOR = "PP-OCRv4"
DEFAULT_RECOGNISER = "PP-OCRv6"
# (min score, sure score) per recogniser: each scores textures differently (above). With
# PP-OCRv4's boxes the PP-OCRv6 thresholds still give no text-free dev photo any text;
# on the 455 flipped, rotated and cropped views of them three short reads pass ("ol" 0.945,
# "0100" on the stove 0.941, "in" 0.891), but real words score from 0.898 (Japanese on the
# festival drum) and 0.929 ("UP TO.60% OFF") up, so no threshold separates them: kept.
THRESHOLDS = {"PP-OCRv4": (0.7, 0.9), "PP-OCRv6": (DEFAULT_MIN_SCORE, SURE_SCORE)}
# A multiple of 32, the detector's stride. Its activations are the largest buffers any
# model here allocates (+87 MB at 736 px, +141 MB the first time a size is seen) and set
# the indexer's peak memory; at 640 px they are a quarter smaller (peak of `imgdesc index`
# on the bench samples 723-756 -> 678-694 MB). On the two dev sets' 21 images with text,
# 15 read the same, 6 differently, as often better as worse ("CROSSING" found on a
# railroad sign; "Happy l Hour" on a bar sign). Scored side by side that costs one
# reference group on the shared dev set (tag R +text 0.548 -> 0.544, MRR 0.698 -> 0.697)
# and nothing on the project's; 736 px puts the indexer's peak back over 700 MB. (All
# measured with PP-OCRv4; PP-OCRv6 at 640 px reads both of those signs right.)
DEFAULT_DET_SIDE = 640
REC_BATCH = 8
# Boxes on one row further apart than this many line heights are separate lines (columns).
COLUMN_GAP = 2.5

Word = tuple[str, float, tuple[float, float, float, float]]  # text, score, pixel box


def _session(model: Model, threads: int) -> Any:
    """An ONNX Runtime session for one of the models above.

    Built here and handed to RapidOCR (its ONNX Runtime engine takes a ready session in
    the config's ``session`` key) for two reasons. The library's sessions use the
    runtime's default, worker threads that spin while they wait for work; next to the
    indexer's reading thread (decoding and thumbnails ahead of inference) they take CPU
    from it on two cores: indexing ran at 0.79-0.89x of describe-only with spinning, and
    describe-only itself did not get slower without it. RapidOCR 3.x has no option for
    spinning. And with a session given, the engine never reaches its download code: the
    model is read from a wheel or loading fails, nothing is fetched."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    return ort.InferenceSession(
        _model_source(model), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )


def _model_source(model: Model) -> str | bytes:
    """The installed file's path, or the member's bytes read from the downloaded wheel.
    Bytes rather than a copy in the model cache: ONNX Runtime copies the graph into its
    own buffers, so the 5-11 MB are held only while the session is built, and there is
    no second copy on disk to keep in step with the wheel (reading costs 50-120 ms, once
    per load)."""
    if model.wheel is None:
        import rapidocr

        path = Path(rapidocr.__file__).parent / "models" / model.file
        if not path.is_file():  # never fall back to the library's download
            raise FileNotFoundError(f"{path}: not in the installed rapidocr wheel")
        return str(path)
    wheel = model_wheels.find_wheel(
        model.wheel,
        "the PP-OCRv4 text models are read from it (or set the text analyzer's detector and "
        f"recogniser to PP-OCRv6); {model_wheels.how_to_get(OLD_PACKAGE, OLD_VERSION)}",
    )
    return model_wheels.read_member(wheel, model.file)


def _choose(kind: str, table: dict[str, Model], name: str) -> Model:
    if name not in table:
        raise ModelError(f"the text analyzer's {kind} must be one of {', '.join(table)}, not {name!r}")
    return table[name]


def _section(section: Any, **values: Any) -> Any:
    """A copy of one section of RapidOCR's default config with our values set. Objects
    (the session) are allowed in it; the library's own loader accepts only primitives."""
    from omegaconf import DictConfig, OmegaConf

    config = DictConfig(OmegaConf.to_container(section), flags={"allow_objects": True})
    for key, value in values.items():
        config[key] = value
    return config


class TextOptions(AnalyzerOptions):
    trim_memory: bool = True  # the describer's setting (passed because of `trims_memory`)
    detector: str = DEFAULT_DETECTOR
    recogniser: str = DEFAULT_RECOGNISER
    min_score: float | None = None  # None: the recogniser's own (THRESHOLDS)
    det_side: int = DEFAULT_DET_SIDE
    use_cls: bool = False  # 180°-rotated text is rare; the classifier costs a pass
    # Two cheap looks before the full detector (describe/analyzers/text_gate.py); off: every
    # image gets the full look, as before.
    gate: bool = True
    gate_min_chains: int = text_gate.DEFAULT_MIN_CHAINS
    # Display type (describe/analyzers/text_reread.py): a letter-spaced line's spaces from
    # its gaps, and display-size boxes on one row read as one; off: read as before
    letter_spacing: bool = True
    merge_rows: bool = True


@register("text", "ocr")
class TextReader(BaseAnalyzer):
    name = "text"
    produces = "text"
    Options = TextOptions
    opts: TextOptions
    trims_memory = True  # before the detector: the describer passes its `trim_memory`

    def _load(self) -> None:
        from rapidocr.ch_ppocr_cls import TextClassifier
        from rapidocr.ch_ppocr_det import TextDetector
        from rapidocr.ch_ppocr_rec import TextRecognizer
        from rapidocr.main import DEFAULT_CFG_PATH
        from rapidocr.utils.log import logger
        from rapidocr.utils.parse_parameters import ParseParams

        logger.setLevel(logging.WARNING)  # it logs every engine it builds at INFO
        threads = self.opts.threads
        self.trim_memory = self.opts.trim_memory
        detector = _choose("detector", DETECTORS, self.opts.detector)
        recogniser = self.opts.recogniser
        rec_model = _choose("recogniser", RECOGNISERS, recogniser)
        self._min_score, self._sure_score = THRESHOLDS[recogniser]
        config = ParseParams.load(DEFAULT_CFG_PATH)
        self._det = TextDetector(
            _section(
                config.Det,
                session=_session(detector, threads),
                # "max" never upscales; the default "min" blows a 1024×200 banner up to 3800×736.
                limit_type="max",
                box_thresh=DET_BOX_THRESH,
            )
        )
        self._rec = TextRecognizer(_section(config.Rec, session=_session(rec_model, threads)))
        # loaded only when asked for: an unused session still holds ~2 MB in every process
        self._cls = (
            TextClassifier(_section(config.Cls, session=_session(CLS_MODEL, threads)))
            if self.opts.use_cls
            else None
        )
        # RapidOCR pads images flatter than this (or lower than min_height) for the detector
        self._letterbox = (float(config.Global.width_height_ratio), float(config.Global.min_height))
        chars = self._rec.postprocess_op.character
        self._chars: list[str] = list(chars)
        self._space = len(chars) - 1  # RapidOCR appends " " last; index 0 is the CTC blank

    def _analyze(self, image: PreparedImage, facts: Facts) -> TextFacts:
        bgr = image.bgr
        if self.opts.gate and not text_gate.maybe_text(self._det, bgr, self.opts.gate_min_chains):
            return TextFacts()
        # The full look's activations are the largest transient buffers of a describe and
        # set the indexer's peak; what the analyzers and the gate before it freed goes back
        # to the OS first rather than under them (`imgdesc index` of the bench samples:
        # 689-716 MB in 4 runs -> 686-704 MB in 3; ~4 ms, spent only when the full look
        # runs). The describer trims again after the image.
        if self.trim_memory:
            release_freed_memory()
        # display type the detector cut into pieces on one row is read as one line
        quads = self._detect(bgr)
        if self.opts.merge_rows:
            quads = text_reread.merge_rows(quads)
        if not quads:
            return TextFacts()
        crops = [get_rotate_crop_image(bgr, quad) for quad in quads]
        if self._cls is not None:  # use_cls: 180°-rotated text is rare; the classifier costs a pass
            crops = self._cls(crops).img_list or crops
        min_score = self._min_score if self.opts.min_score is None else self.opts.min_score
        words: list[Word] = []
        for quad, (text, score) in zip(quads, self._recognise(crops), strict=True):
            if score >= min_score and _plausible(text, score, self._sure_score):
                xs, ys = quad[:, 0], quad[:, 1]
                words.append(
                    (text, score, (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())))
                )
        w, h = image.width, image.height
        lines = [
            TextLine(text, round(score, 4), _normalise(box, w, h)) for text, score, box in group_lines(words)
        ]
        return TextFacts(
            lines=tuple(lines),
            text="\n".join(line.text for line in lines),
            coverage=_coverage([box for _, _, box in words], w, h),
        )

    def _detect(self, bgr: np.ndarray) -> list[np.ndarray]:
        """Text quads (4×2 float32, clockwise from top-left) in full-image pixels."""
        side = self.opts.det_side
        h, w = bgr.shape[:2]
        scale = min(1.0, side / max(h, w))
        small = (
            bgr
            if scale == 1.0
            else cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        )
        # RapidOCR pads very flat images (w/h > 8) so the detector sees text at a normal scale.
        padded, record = apply_vertical_padding(small, {}, *self._letterbox)
        boxes = self._det(padded).boxes
        if boxes is None or len(boxes) == 0:
            return []
        top = record["padding_1"]["top"]
        quads = np.asarray(boxes, dtype=np.float32)
        quads[:, :, 1] -= top
        quads /= scale
        quads[:, :, 0] = quads[:, :, 0].clip(0, w - 1)
        quads[:, :, 1] = quads[:, :, 1].clip(0, h - 1)
        return list(quads)

    def _recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        rec = self._rec
        ratios = [c.shape[1] / max(c.shape[0], 1) for c in crops]
        order = np.argsort(ratios)  # similar widths per batch: less padding to compute
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        base_ratio = rec.rec_image_shape[2] / rec.rec_image_shape[1]
        for start in range(0, len(crops), REC_BATCH):
            idx = order[start : start + REC_BATCH]
            max_ratio = max(base_ratio, *(ratios[i] for i in idx))
            batch = np.stack([rec.resize_norm_img(crops[i], max_ratio) for i in idx]).astype(np.float32)
            probs = rec.session(batch)
            for i, p in zip(idx, probs, strict=True):
                out[i] = self._decode(p)
        return out

    def _decode(self, probs: np.ndarray) -> tuple[str, float]:
        """Greedy CTC decoding, with a space wherever the model half-suggests one."""
        best = probs.argmax(axis=1)
        keep = (best != 0) & (best != self._space)
        keep[1:] &= best[1:] != best[:-1]
        frames = np.flatnonzero(keep)
        if frames.size == 0:
            return "", 0.0
        # the space's best probability in each gap between two characters; letter-spaced
        # display type gets its spaces from the gaps' widths as well (text_reread.py)
        gap_space = np.array([probs[a + 1 : b, self._space].max(initial=0.0) for a, b in pairwise(frames)])
        spaced = (
            text_reread.spaces(frames, gap_space, SPACE_PROB)
            if self.opts.letter_spacing
            else gap_space >= SPACE_PROB
        )
        out: list[str] = []
        for k, f in enumerate(frames):
            if k and spaced[k - 1]:
                out.append(" ")
            out.append(self._chars[best[f]])
        # NFKC: the recogniser's alphabet is Chinese-first, so it reads full-width forms
        # ("（", "：", "Ａ") that render as missing glyphs in many fonts; fold them to ASCII.
        return unicodedata.normalize("NFKC", "".join(out)), float(probs[frames, best[frames]].mean())


def _plausible(text: str, score: float, sure: float) -> bool:
    alnum = [c for c in text if c.isalnum()]
    if not alnum:
        return False
    return score >= sure or (len(alnum) >= 2 and len(set(alnum)) > 1)


def group_lines(words: list[Word]) -> list[Word]:
    """Merge word boxes into lines in reading order: top to bottom, then left to right."""
    rows: list[list[Word]] = []
    for word in sorted(words, key=lambda wd: (wd[2][1] + wd[2][3]) / 2):
        _, _, (_, y0, _, y1) = word
        if rows:
            ry0 = min(b[1] for _, _, b in rows[-1])
            ry1 = max(b[3] for _, _, b in rows[-1])
            # same row when the vertical overlap is at least half the shorter height
            if min(y1, ry1) - max(y0, ry0) >= 0.5 * min(y1 - y0, ry1 - ry0):
                rows[-1].append(word)
                continue
        rows.append([word])
    lines: list[Word] = []
    for row in rows:
        row.sort(key=lambda wd: wd[2][0])
        height = float(np.median([b[3] - b[1] for _, _, b in row]))
        segment = [row[0]]
        for word in row[1:]:
            if word[2][0] - segment[-1][2][2] > COLUMN_GAP * height:
                lines.append(_join(segment))
                segment = []
            segment.append(word)
        lines.append(_join(segment))
    return lines  # rows were built top to bottom, segments left to right


def _join(words: list[Word]) -> Word:
    text = " ".join(t for t, _, _ in words)
    chars = sum(len(t) for t, _, _ in words)
    score = sum(s * len(t) for t, s, _ in words) / max(chars, 1)
    box = (
        min(b[0] for _, _, b in words),
        min(b[1] for _, _, b in words),
        max(b[2] for _, _, b in words),
        max(b[3] for _, _, b in words),
    )
    return text, score, box


def _normalise(box: tuple[float, float, float, float], w: int, h: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return (round(x0 / w, 4), round(y0 / h, 4), round(min(x1 + 1, w) / w, 4), round(min(y1 + 1, h) / h, 4))


def _coverage(boxes: list[tuple[float, float, float, float]], w: int, h: int) -> float:
    """Union area of the boxes over the image area, on a 4× coarser grid (overlaps counted once)."""
    if not boxes:
        return 0.0
    mask = np.zeros(((h + 3) // 4, (w + 3) // 4), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        mask[int(y0) // 4 : int(np.ceil((y1 + 1) / 4)), int(x0) // 4 : int(np.ceil((x1 + 1) / 4))] = True
    return round(float(mask.mean()), 4)
