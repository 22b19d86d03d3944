"""RapidOCR behind one small class: an image in, the page's text and mean confidence out.

The engine is loaded on first use (about 1 s, ~200 MB), so a run with no scans never pays for it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
from dataclasses import dataclass
from typing import Any

from localgpt.errors import LoaderError

# The model input: RapidOCR shrinks larger images to this long side before detection, so a
# page is never rendered larger (memory stays bounded whatever the page size says).
MAX_SIDE = 2000
# Recognised lines scoring below this are dropped as noise (RapidOCR's own default).
MIN_LINE_SCORE = 0.5
# Two boxes are on one line when their vertical overlap is at least this share of the lower one.
SAME_LINE_OVERLAP = 0.5
# A vertical gap larger than this many line heights starts a new paragraph.
PARAGRAPH_GAP = 1.2


@dataclass(frozen=True)
class PageText:
    text: str
    confidence: float  # mean recognition score of the kept lines, 0 when there are none
    lines: int


# Our own steps around the engine (`_run`): raise it when they change what a page reads as, so
# cached pages are read again. 2: a line the angle classifier turned is also read unturned.
PIPELINE = 2


def engine_version() -> str:
    """Part of the cache key: a new engine (new models) or pipeline must not reuse old results."""
    try:
        return f"rapidocr-onnxruntime-{importlib.metadata.version('rapidocr-onnxruntime')}+p{PIPELINE}"
    except importlib.metadata.PackageNotFoundError:
        return "rapidocr-onnxruntime-missing"


class OcrEngine:
    def __init__(self) -> None:
        self._ocr: Any = None
        self.calls = 0  # pages recognised by this process (the cache makes re-runs zero)

    def _load(self) -> Any:
        if self._ocr is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                raise LoaderError(
                    f"OCR engine unavailable ({exc.name or exc}); "
                    'reinstall localgpt, or set [ingest] ocr = "off"'
                ) from exc
            logging.getLogger("RapidOCR").setLevel(logging.ERROR)
            self._ocr = RapidOCR(print_verbose=False, max_side_len=MAX_SIDE, text_score=MIN_LINE_SCORE)
        return self._ocr

    def recognize(self, image: Any) -> PageText:
        """`image`: a 2-D uint8 numpy array (grey)."""
        ocr = self._load()
        self.calls += 1
        boxes = _run(ocr, image)
        if not boxes:
            return PageText("", 0.0, 0)
        text = layout(boxes)
        confidence = sum(score for _, _, score in boxes) / len(boxes)
        return PageText(text, round(confidence, 4), len(boxes))


def _run(ocr: Any, grey: Any) -> list[tuple[Any, str, float]]:
    """RapidOCR's own pipeline (detect, crop, orient, recognise), step by step, so that the
    recogniser's character positions are kept: they put back the spaces it drops (below)."""
    import cv2
    import numpy as np

    image = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    raw_h, raw_w = image.shape[:2]
    image, ratio_h, ratio_w = ocr.preprocess(image)
    image, record = ocr.maybe_add_letterbox(image, {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}})
    boxes, _ = ocr.auto_text_det(image)
    if boxes is None:
        return []
    crops = ocr.get_crop_img_list(image, boxes)
    oriented, turns, _ = ocr.text_cls(crops)
    recognised = list(ocr.text_rec(oriented, True)[0])
    # The angle classifier turns some long, slightly skewed upright lines upside down (2 of 44
    # on one Chinese scan: such a line then reads as nothing). Where it turned one, the crop as
    # cut is read too, and the better-scored reading kept: an upside-down page still reads right.
    turned = {i for i, (label, _) in enumerate(turns) if "180" in str(label)}
    if turned:
        order = sorted(turned)
        again, _ = ocr.text_rec([crops[i] for i in order], True)
        for i, reading in zip(order, again, strict=True):
            if float(reading[1]) > float(recognised[i][1]):
                recognised[i] = reading
                turned.discard(i)  # upright after all
    points = np.asarray(ocr._get_origin_points(boxes, record, raw_h, raw_w), dtype=float)
    kept = [i for i, (text, score, _) in enumerate(recognised) if float(score) >= MIN_LINE_SCORE]
    if kept and 2 * len(turned.intersection(kept)) > len(kept):
        # Most lines read upside down: the page is, so its reading order runs from the far corner.
        points = np.stack([raw_w - points[..., 0], raw_h - points[..., 1]], axis=-1)
    out = []
    for i in kept:
        text, score, info = recognised[i]
        text = _respace(info) or str(text)
        if text.strip():
            out.append((points[i].tolist(), text, float(score)))
    return out


# Put a space where the recogniser left a gap this much wider than the line's usual one. On
# English scans PP-OCRv4 (trained mostly on Chinese) drops about one space in ten; the gap
# between decoded positions is still there: 2-3 columns inside a word, 5 or more across a space.
SPACE_GAP_FACTOR = 1.6
SPACE_GAP_MIN = 5
_NO_SPACE_BEFORE = set(",.;:!?)]}%'\"")
_NO_SPACE_AFTER = set("([{/'\"")


def _respace(info: Any) -> str:
    try:
        _, words, columns, _, _ = info
        chars = [c for word in words for c in word]
        cols = [int(c) for word in columns for c in word]
    except (TypeError, ValueError):
        return ""
    if not chars or len(chars) != len(cols):
        return ""
    gaps = sorted(
        cols[i] - cols[i - 1]
        for i in range(1, len(chars))
        if not chars[i].isspace() and not chars[i - 1].isspace()
    )
    if not gaps:
        return "".join(chars)
    limit = max(SPACE_GAP_MIN, SPACE_GAP_FACTOR * gaps[len(gaps) // 2])
    out = [chars[0]]
    for i in range(1, len(chars)):
        a, b = chars[i - 1], chars[i]
        if (
            cols[i] - cols[i - 1] >= limit
            and not a.isspace()
            and not b.isspace()
            and not (_is_cjk(a) or _is_cjk(b))
            and not a.isupper()  # capitals are wide: "Reentrant", "API" are not two words
            and b not in _NO_SPACE_BEFORE
            and a not in _NO_SPACE_AFTER
        ):
            out.append(" ")
        out.append(b)
    return " ".join("".join(out).split())


def layout(boxes: list[tuple[Any, str, float]]) -> str:
    """Boxes (4 corner points, text, score) -> reading-order text: lines top to bottom, boxes
    on one line left to right, a blank line where the vertical gap says a paragraph ends."""
    items = []
    for box, text, _ in boxes:
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        items.append((min(ys), max(ys), min(xs), text))
    items.sort(key=lambda it: ((it[0] + it[1]) / 2, it[2]))
    lines: list[list[tuple[float, float, float, str]]] = []
    for item in items:
        if lines:
            top = min(it[0] for it in lines[-1])
            bottom = max(it[1] for it in lines[-1])
            overlap = min(bottom, item[1]) - max(top, item[0])
            if overlap >= SAME_LINE_OVERLAP * min(bottom - top, item[1] - item[0]):
                lines[-1].append(item)
                continue
        lines.append([item])
    out: list[str] = []
    previous: tuple[float, float] | None = None
    for line in lines:
        line.sort(key=lambda it: it[2])
        top, bottom = min(it[0] for it in line), max(it[1] for it in line)
        if previous and top - previous[1] > PARAGRAPH_GAP * (previous[1] - previous[0]):
            out.append("")
        out.append(_join(it[3] for it in line))
        previous = (top, bottom)
    return "\n".join(out)


_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_HAN_THEN_LATIN = re.compile(f"([{_HAN}])([A-Za-z0-9])")
_LATIN_THEN_HAN = re.compile(f"([A-Za-z0-9])([{_HAN}])")


def space_mixed(text: str) -> str:
    """A space between Chinese and Latin letters or digits ("使用 maintainer scripts 触发"), as
    typeset Chinese text has it: the recogniser runs them together, which glues words for the
    keyword index. Applied when a page is read (cached or not), so the cache keeps raw lines."""
    return _LATIN_THEN_HAN.sub(r"\1 \2", _HAN_THEN_LATIN.sub(r"\1 \2", text))


# PP-OCRv4 reads a list bullet as a middle dot: "·clean target: ...". At the start of a line a
# middle dot is a bullet (on both dev OCR sets: +0.6 points of Chinese character accuracy, no
# page worse).
_LEADING_MIDDLE_DOT = re.compile(r"(?m)^([ \t]*)[·・]\s*")


def tidy_page(text: str) -> str:
    """What a page's raw OCR lines become when the page is read: bullets back, and the spaces
    typeset text has between Chinese and Latin (space_mixed)."""
    return space_mixed(_LEADING_MIDDLE_DOT.sub(r"\1• ", text))


def _join(parts: Any) -> str:
    text = ""
    for part in parts:
        part = part.strip()
        if text and not (_is_cjk(text[-1]) and _is_cjk(part[0])):
            text += " "
        text += part
    return text


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x3000 <= code <= 0x303F
        or 0xFF00 <= code <= 0xFFEF
        or 0x20000 <= code <= 0x2FA1F
    )
