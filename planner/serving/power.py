"""Power and cost per part (docs/serving.md, S6): what a busy part draws and what a token costs."""

from __future__ import annotations

from planner.catalogue.parts import Part
from planner.economics import capital_recovery_factor
from planner.errors import InputError
from planner.serving.request import Economics

HOURS_PER_YEAR = 8760.0


def require(part: Part, value: float | None, field_name: str, what: str) -> float:
    """A part figure the model needs, or an InputError naming the field to add."""
    if value is None or value <= 0:
        raise InputError.one(
            part.path,
            field_name,
            f"{part.id} has no known {what}, which the serving model needs.",
            f"add '{field_name}' with its source to the part profile.",
        )
    return value


def accelerator_power_w(part: Part, utilisation: float) -> float:
    """(S6) the accelerator alone, as its own power sensor reads it (nvidia-smi, Zeus): idle +
    (TDP - idle) x utilisation, W."""
    tdp = require(part, part.tdp_w, "tdp", "TDP")
    idle = part.idle_w if part.idle_w is not None else 0.0
    return idle + (tdp - idle) * utilisation


def power_w(part: Part, utilisation: float) -> float:
    """(S6) the server's draw per part: the accelerator (`accelerator_power_w`) plus the part's
    share of server overhead (host CPUs, memory, fans, NICs), W."""
    overhead = part.server_overhead_w if part.server_overhead_w is not None else 0.0
    return accelerator_power_w(part, utilisation) + overhead


def cost_per_million_output_tokens(
    part: Part, watts: float, output_tokens_per_s: float, economics: Economics
) -> float | None:
    """(S6) (capex x CRF / busy hours + energy at the wall x price) per million output tokens.

    None when the part has no price. Energy price is per MWh; watts x PUE at the wall.
    """
    if part.unit_price is None or output_tokens_per_s <= 0:
        return None
    busy_h = HOURS_PER_YEAR * economics.utilisation_fraction
    crf = capital_recovery_factor(economics.discount_rate_fraction, economics.lifetime_years)
    capex_per_h = part.unit_price * crf / busy_h
    energy_per_h = watts * economics.pue / 1e6 * economics.price_per_mwh
    tokens_per_h = output_tokens_per_s * 3600.0
    return (capex_per_h + energy_per_h) / tokens_per_h * 1e6
