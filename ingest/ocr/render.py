"""Pages and image files as the grey arrays the engine reads, never larger than it can use.

Memory bound: a page is rendered at `dpi` but its long side is capped at the engine's input size,
so a poster-sized or 2400-dpi page costs the same few MB as an A4 one; an image file above
MAX_IMAGE_PIXELS is refused before it is decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ingest.ocr.engine import MAX_SIDE
from localgpt.errors import LoaderError

MAX_IMAGE_PIXELS = 100_000_000
# Multi-page TIFFs: pages beyond this are not read (a fax archive is split into files first).
MAX_FRAMES = 500


def pdf_page_image(page: Any, dpi: int) -> Any:
    """A pypdfium2 page -> 2-D uint8 array."""
    import numpy as np

    width, height = page.get_size()  # in points, /Rotate already applied
    scale = min(dpi / 72.0, MAX_SIDE / max(width, height, 1.0))
    bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=True)
    try:
        array = np.array(bitmap.to_numpy(), copy=True)
    finally:
        bitmap.close()
    return array.reshape(array.shape[0], array.shape[1], -1)[:, :, 0]


def image_frames(path: Any) -> Iterator[Any]:
    """Each frame of an image file (one, or a TIFF's pages) as a 2-D uint8 array."""
    import numpy as np
    from PIL import Image, ImageSequence

    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise LoaderError(f"image too large ({width}x{height} pixels)")
            for index, frame in enumerate(ImageSequence.Iterator(img)):
                if index >= MAX_FRAMES:
                    break
                yield np.asarray(_grey(frame))
    except LoaderError:
        raise
    except Image.DecompressionBombError as exc:
        raise LoaderError("image too large (decompression bomb)") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # PIL reports a truncated or corrupt file as any of these.
        raise LoaderError(f"unreadable image: {_short(exc)}") from exc


def _grey(frame: Any) -> Any:
    from PIL import Image

    frame.draft("L", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale, cheaply
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(white, rgba)
    grey = frame.convert("L")
    if max(grey.size) > MAX_SIDE:
        grey.thumbnail((MAX_SIDE, MAX_SIDE))
    return grey


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line[:117] + "..." if len(line) > 120 else line
