"""casper-qc: annotation and quality control for two-party spontaneous-speech corpora.

The flat public API: the core model, its labels and errors are imported here; readers, writers
and metrics load on first use, so ``import casper_qc`` stays cheap (no Label Studio client, no
pandas, no audio stack at import time).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import AudioError, CasperError, ConfigError, FormatError, InputError, ModelError
from .labels import DisfluencyType, EventType, Role, WordKind
from .model import (
    Annotation,
    Conversation,
    Disfluency,
    Segment,
    Speaker,
    Task,
    Turn,
    Word,
    WordRange,
)
from .validate import Problem, check_annotation, check_task, check_turns

__version__ = "0.1.0"

# name -> module that defines it; imported on first attribute access.
_LAZY = {
    "tokenize": "casper_qc.conventions",
    "parse_swbd": "casper_qc.conventions",
    "parse_chat": "casper_qc.conventions",
    "read_labelstudio": "casper_qc.formats.labelstudio",
    "to_prediction": "casper_qc.formats.labelstudio",
    "LabelConfig": "casper_qc.formats.labelconfig",
    "write_textgrid": "casper_qc.formats.textgrid",
    "read_textgrid": "casper_qc.formats.textgrid",
    "write_supervisions": "casper_qc.formats.jsonl",
    "read_supervisions": "casper_qc.formats.jsonl",
}

__all__ = [
    "__version__",
    "CasperError", "InputError", "ModelError", "FormatError", "ConfigError", "AudioError",
    "DisfluencyType", "EventType", "Role", "WordKind",
    "Annotation", "Conversation", "Disfluency", "Segment", "Speaker", "Task", "Turn", "Word",
    "WordRange", "Problem", "check_annotation", "check_task", "check_turns",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'casper_qc' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
