"""The status bar: model, GPU layers, collection and what it holds, and what the app is doing."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class StatusBar(Widget):
    model: reactive[str] = reactive("")  # empty until the model has loaded
    gpu_layers: reactive[int | None] = reactive(None)
    collection: reactive[str] = reactive("")
    files: reactive[int | None] = reactive(None)
    chunks: reactive[int | None] = reactive(None)
    state: reactive[str] = reactive("")  # what the app is doing: loading, answering…
    note: reactive[str] = reactive("")  # what to know about the index, shown when idle

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.model:
            text.append(f" {self.model.removesuffix('.gguf')}", style="bold")
            if self.gpu_layers is not None:
                text.append(f" · {self.gpu_layers} GPU layers")
            text.append(" ·")
        text.append(f" {self.collection}", style="bold")
        if self.files is not None and self.chunks is not None:
            text.append(f" · {self.files} files · {self.chunks} chunks")
        if self.state or self.note:
            text.append(f"  {self.state or self.note}", style="italic")
        return text
