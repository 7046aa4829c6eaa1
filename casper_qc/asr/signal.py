"""Samples as recognizers want them: mono ``float32`` at 16 kHz, or 16-bit PCM bytes.

Contracts: input is a 1-D array, or a 2-D ``(frames, 1)`` array, of ``float32``/``float64`` in
[-1, 1] or ``int16`` (full scale 32768); anything else raises ``ValueError`` (a caller's bug,
not user input). Resampling is polyphase (``scipy.signal.resample_poly``), exact for integer
rate ratios such as 44.1 kHz -> 16 kHz (160/441).
"""

from __future__ import annotations

from math import gcd
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["TARGET_RATE", "mono_float32", "resample", "to_pcm16"]

#: The sample rate both engines work at (Hz).
TARGET_RATE = 16000


def mono_float32(samples: "np.ndarray") -> "np.ndarray":
    """``samples`` as a 1-D ``float32`` array in [-1, 1]."""
    import numpy as np

    array = np.asarray(samples)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"recognizers take mono samples, not an array of shape {array.shape}")
    if array.dtype == np.int16:
        return array.astype(np.float32) / np.float32(32768.0)
    if array.dtype.kind != "f":
        raise ValueError(f"samples must be float or int16, not {array.dtype}")
    return array.astype(np.float32, copy=False)


def resample(samples: "np.ndarray", rate: int, target: int = TARGET_RATE) -> "np.ndarray":
    """Mono ``float32`` samples at ``rate`` Hz resampled to ``target`` Hz."""
    mono = mono_float32(samples)
    if rate == target or len(mono) == 0:
        return mono
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, not {rate}")
    from scipy.signal import resample_poly

    common = gcd(int(rate), int(target))
    return resample_poly(mono, target // common, int(rate) // common).astype("float32")


def to_pcm16(samples: "np.ndarray") -> bytes:
    """Mono ``float32`` samples as little-endian 16-bit PCM bytes (clipped to full scale)."""
    import numpy as np

    scaled = np.clip(np.round(mono_float32(samples) * 32768.0), -32768, 32767)
    return scaled.astype("<i2").tobytes()
