"""Serving number formats: which precisions the serving model knows and their storage bytes."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

SERVING_PRECISIONS: tuple[str, ...] = ("bf16", "fp16", "fp8", "int8", "fp4", "int4")
BYTES_PER_ELEMENT: Mapping[str, float] = MappingProxyType(
    {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5, "int4": 0.5}
)
SIXTEEN_BIT_TWIN: Mapping[str, str] = MappingProxyType({"bf16": "fp16", "fp16": "bf16"})
# "The best both allow": 8-bit first (fp8 where the part multiplies it, else int8), then 16-bit;
# 4-bit formats change a model's answers measurably and are served only when asked.
PREFERENCE: tuple[str, ...] = ("fp8", "int8", "bf16", "fp16")
