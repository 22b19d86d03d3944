"""Source code and config files: one Document per file, tagged with its language."""

from __future__ import annotations

import pathlib

from langchain_core.documents import Document
from langchain_text_splitters import Language

from ingest.loaders.base import make_doc
from ingest.loaders.sniff import read_text

# Extension -> the LangChain language whose separators the splitter can use.
LANGUAGES: dict[str, Language | None] = {
    ".py": Language.PYTHON, ".pyi": Language.PYTHON, ".pyw": Language.PYTHON,
    ".js": Language.JS, ".mjs": Language.JS, ".cjs": Language.JS, ".jsx": Language.JS,
    ".ts": Language.TS, ".tsx": Language.TS, ".mts": Language.TS, ".cts": Language.TS,
    ".java": Language.JAVA, ".kt": Language.KOTLIN, ".kts": Language.KOTLIN,
    ".scala": Language.SCALA, ".go": Language.GO, ".rs": Language.RUST,
    ".c": Language.C, ".h": Language.C,
    ".cpp": Language.CPP, ".cc": Language.CPP, ".cxx": Language.CPP,
    ".hpp": Language.CPP, ".hh": Language.CPP, ".hxx": Language.CPP,
    ".cs": Language.CSHARP, ".rb": Language.RUBY, ".php": Language.PHP,
    ".swift": Language.SWIFT, ".lua": Language.LUA, ".pl": Language.PERL, ".pm": Language.PERL,
    ".hs": Language.HASKELL, ".ex": Language.ELIXIR, ".exs": Language.ELIXIR,
    ".ps1": Language.POWERSHELL, ".proto": Language.PROTO, ".sol": Language.SOL,
    ".r": Language.R, ".tex": Language.LATEX, ".cob": Language.COBOL, ".cbl": Language.COBOL,
    ".vb": Language.VISUALBASIC6, ".bas": Language.VISUALBASIC6,
    # Code that LangChain has no separators for: split as plain text.
    ".sh": None, ".bash": None, ".zsh": None, ".fish": None, ".sql": None, ".m": None,
    ".el": None, ".clj": None, ".dart": None, ".jl": None, ".vue": None, ".svelte": None,
    ".css": None, ".scss": None, ".bat": None, ".cmake": None, ".gradle": None,
}  # fmt: skip
# Data and config formats: the registry loads these as plain text (kind "text").
CONFIG_EXTENSIONS = frozenset(
    {
        ".toml",
        ".yaml",
        ".yml",
        ".ini",
        ".cfg",
        ".conf",
        ".properties",
        ".env",
        ".xml",
        ".log",
    }
)


def load_code(path: pathlib.Path) -> list[Document]:
    text = read_text(path)
    if not text.strip():
        return []
    language = LANGUAGES.get(path.suffix.lower())
    return [make_doc(text, path, "code", language=language.value if language else None)]
