"""QC settings: how figures are computed and the thresholds that flag a task for review.

Thresholds (:class:`Thresholds`) are read, in this order, each overriding the one before:

1. the defaults below;
2. a JSON file (``--thresholds FILE`` on the command line, ``CASPER_QC_THRESHOLDS`` for the
   service): an object ``{"min_unitizing_alpha": 0.7, "max_reference_wer": null, ...}``;
3. single values (``--threshold NAME=VALUE``, repeatable).

A threshold set to ``null`` (``NAME=none``) is off. Unknown names and values that are not
numbers (or, for ``min_annotators``, not a positive integer) are an
:class:`~casper_qc.errors.ConfigError` naming the source.

=======================  =======  ==================================================================
name                     default  a task is flagged for review when ...
=======================  =======  ==================================================================
``min_annotators``       2        it has fewer (non-cancelled, readable) annotations, unless its
                                  only annotation is marked ground truth
``min_unitizing_alpha``  0.667    Krippendorff's unitizing alpha of its annotators is lower
                                  (Krippendorff's lowest acceptable value for tentative conclusions)
``min_frame_kappa``      0.6      Cohen's kappa of who-speaks per 10 ms frame, pooled over its
                                  pairs of annotators, is lower
``min_boundary_f1``      0.7      turn-boundary F1 between its annotators (within the collar) is lower
``max_pairwise_wer``     0.15     the WER between its annotators (symmetric) is higher
``max_reference_wer``    0.15     an annotator's WER against the reference is higher
``min_disfluency_kappa`` 0.5      agreement on per-word disfluency tags is lower
``min_choice_alpha``     0.5      Krippendorff's alpha on a per-region choice is lower
=======================  =======  ==================================================================

A figure that is undefined (no pair of annotators, no reference words, a single category) never
raises a flag; the report says why it is undefined.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import ConfigError

__all__ = ["Thresholds", "QCOptions", "load_thresholds", "thresholds_from"]


@dataclass(frozen=True)
class Thresholds:
    """Review thresholds (see the module docstring); ``None`` turns one off."""

    min_annotators: int | None = 2
    min_unitizing_alpha: float | None = 0.667
    min_frame_kappa: float | None = 0.6
    min_boundary_f1: float | None = 0.7
    max_pairwise_wer: float | None = 0.15
    max_reference_wer: float | None = 0.15
    min_disfluency_kappa: float | None = 0.5
    min_choice_alpha: float | None = 0.5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, values: Mapping[str, Any], *, source: str) -> "Thresholds":
        """A copy with ``values`` applied (checked; errors name ``source``)."""
        known = {f.name for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                raise ConfigError(f"unknown threshold {name!r}; known: {', '.join(sorted(known))}",
                                  where=source)
            changes[name] = _value(name, value, source)
        return replace(self, **changes)


def _value(name: str, value: Any, source: str) -> float | int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", "off", "")):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"threshold {name} must be a number or none, not {value!r}", where=source) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"threshold {name} must be a number or none, not {value!r}", where=source)
    if name == "min_annotators":
        if value != int(value) or value < 1:
            raise ConfigError(f"threshold min_annotators must be a positive integer, not {value!r}", where=source)
        return int(value)
    return float(value)


def load_thresholds(path: str | os.PathLike[str], base: Thresholds | None = None) -> Thresholds:
    """Thresholds from a JSON object file, over ``base`` (default: the defaults).

    Raises:
        ConfigError: the file cannot be read, is not a JSON object, or holds a bad value.
    """
    source = os.fspath(path)
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError("thresholds file not found", where=source) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the thresholds file: {err}", where=source) from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"is not valid JSON: {err.msg} (line {err.lineno})", where=source) from None
    if not isinstance(payload, dict):
        raise ConfigError("a thresholds file holds one JSON object of name: value", where=source)
    return (base or Thresholds()).updated(payload, source=source)


def thresholds_from(path: str | None = None, overrides: Iterable[str] = ()) -> Thresholds:
    """Defaults, then the JSON file at ``path`` (if any), then ``NAME=VALUE`` overrides.

    Raises:
        ConfigError: as :func:`load_thresholds`, or an override without ``=``.
    """
    thresholds = load_thresholds(path) if path else Thresholds()
    values: dict[str, str] = {}
    for item in overrides:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise ConfigError(f"a threshold is given as NAME=VALUE, not {item!r}", where="--threshold")
        values[name.strip()] = value.strip()
    return thresholds.updated(values, source="--threshold") if values else thresholds


@dataclass(frozen=True)
class QCOptions:
    """How figures are computed.

    ``normalizer`` names the WER normalizer (:mod:`casper_qc.metrics.normalize`); ``collar`` is
    the boundary tolerance in seconds; ``frame_step`` the frame of frame kappa in seconds;
    ``min_iou`` how much two regions must overlap to be the same region (choices, pre-label
    edits).
    """

    thresholds: Thresholds = Thresholds()
    normalizer: str = "normalized-v1"
    collar: float = 0.25
    frame_step: float = 0.01
    min_iou: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        return {"normalizer": self.normalizer, "collar": self.collar, "frame_step": self.frame_step,
                "min_iou": self.min_iou, "thresholds": self.thresholds.to_dict()}
