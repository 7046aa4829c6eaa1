"""QC metrics as pure functions returning additive counts; rates are derived from the counts.

Adding the counts of two tasks gives the counts of both (``sum(per_task)`` works), so a corpus
figure is exact - total errors over total reference words - never a mean of per-task rates.
Every rate is None when its denominator is 0 (undefined), never 0 or infinity.

=============================  ====================================================
module                         what
=============================  ====================================================
``normalize``                  named, versioned text normalizers (``verbatim-v1``,
                               ``normalized-v1``)
``wer``                        WER / CER counts
``alignment``                  alignments and aligned word pairs
``editops``                    the edit-distance engine (rapidfuzz, partial words)
``alpha``                      Krippendorff's alpha (nominal, ordinal, interval, ratio)
``kappa``                      Cohen's and Fleiss' kappa
``matrix``                     reliability matrices from CSV
``unitizing``                  Krippendorff's unitizing alpha on the millisecond grid
``boundaries``                 turn-boundary precision / recall / F1 within a collar
``frames``                     frame-level kappa, per speaker and across speakers
``pairwise``                   WER between annotators
``streams``                    per-speaker word streams with per-word disfluency tags
``disfluency_agreement``       per-word tag kappa / alpha and span F1
``choices``                    agreement on per-region choices
``matching``                   one-to-one turn matching by overlap
``prelabel_edits``             what annotators kept, moved, deleted, added
``prepared``                   an annotation prepared once for several metrics
=============================  ====================================================

Names are imported from their modules on first use: ``import casper_qc.metrics`` loads nothing.
Two functions share their module's name and are imported from the module, so that
``casper_qc.metrics.disfluency_agreement`` is always the module:
``from casper_qc.metrics.disfluency_agreement import disfluency_agreement`` and
``from casper_qc.metrics.prelabel_edits import prelabel_edits``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "Normalizer": "normalize", "get_normalizer": "normalize", "VERBATIM": "normalize",
    "NORMALIZED": "normalize",
    "WerCounts": "wer", "CerCounts": "wer", "wer_counts": "wer", "cer_counts": "wer",
    "Alignment": "alignment", "AlignedPair": "alignment", "align": "alignment",
    "align_words": "alignment", "word_pairs": "alignment",
    "AlphaCounts": "alpha", "krippendorff_alpha": "alpha", "alpha_from_value_counts": "alpha",
    "KappaCounts": "kappa", "FleissCounts": "kappa", "cohen_kappa": "kappa",
    "fleiss_kappa": "kappa", "fleiss_kappa_from_table": "kappa",
    "ReliabilityMatrix": "matrix", "read_reliability_csv": "matrix",
    "UnitizingCounts": "unitizing", "unitizing_counts": "unitizing",
    "unitizing_alpha": "unitizing",
    "BoundaryCounts": "boundaries", "boundary_counts": "boundaries",
    "frame_kappa": "frames", "frame_kappa_by_speaker": "frames",
    "PairWer": "pairwise", "pairwise_wer": "pairwise",
    "DisfluencyAgreement": "disfluency_agreement", "SpanCounts": "disfluency_agreement",
    "word_tags": "disfluency_agreement",
    "ChoiceCounts": "choices", "choice_agreement": "choices",
    "match_turns": "matching",
    "EditCounts": "prelabel_edits",
    "Prepared": "prepared",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'casper_qc.metrics' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
