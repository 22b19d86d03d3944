"""OCR for pages with no usable text layer, and for image files.

`engine` runs RapidOCR (PP-OCRv4, Chinese + English, on onnxruntime) and lays its boxes out as
text; `cache` keeps each page's result by file hash; `pages` ties both to the loaders; `quality`
decides when a text layer is garbage.
"""
