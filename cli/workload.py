"""`planner workload list|show`: workload cards (model architectures) with every figure's source."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from cli.completion import complete_workload
from cli.options import FormatOpt, ProfilesOpt
from cli.render import OutputFormat, emit
from planner.serving.workloads import Workload, WorkloadLibrary

app = typer.Typer(
    help="Workload cards: model architectures, parameter counts and KV-cache sizes.",
    no_args_is_help=True,
)


def _billions(value: float | None) -> float | None:
    return None if value is None else value / 1e9


def workload_row(w: Workload) -> dict[str, Any]:
    """Headline figures of one workload, units in the key names."""
    return {
        "id": w.id,
        "kind": w.kind,
        "total_params_billion": _billions(w.total_params),
        "active_params_billion": _billions(w.active_params),
        "layers": w.layers,
        "attention": w.attention,
        "experts": w.experts,
        "experts_per_token": w.experts_per_token,
        "weight_precision": w.weight_precision,
        "kv_precision": w.kv_precision,
        "kv_bytes_per_token": w.kv_bytes_per_token_default,
        "max_context_tokens": w.max_context_tokens,
        "flops_per_video_s": w.flops_per_video_s,
    }


# Figures the loader computes from the architecture: (name, unit, getter; None = not shown).
_COMPUTED: list[tuple[str, str, Callable[[Workload], Any]]] = [
    ("total_params", "parameters", lambda w: w.total_params),
    ("active_params", "parameters", lambda w: w.active_params),
    ("dense_params", "parameters", lambda w: w.dense_params),
    ("routed_expert_params", "parameters", lambda w: w.routed_expert_params or None),
    (
        "kv_bytes_per_token_default",
        "B/token",
        lambda w: w.kv_bytes_per_token_default if w.attention != "none" else None,
    ),
    ("video.clip_s", "s", lambda w: w.video.clip_s if w.video else None),
    ("video.latent_tokens", "tokens", lambda w: w.video.latent_tokens if w.video else None),
    ("flops_per_video_s", "FLOP per s of video", lambda w: w.flops_per_video_s),
]
_COMPUTED_SOURCE = "computed from the architecture (docs/workloads.md)"


def _figure_value(w: Workload, name: str) -> Any:
    section, _, key = name.partition(".")
    if section == "video" and w.video is not None:
        return getattr(w.video, key)
    if section == "published":
        return getattr(w, f"published_{key.removesuffix('_billion')}", None)
    if section == "architecture":
        return getattr(w, key) if hasattr(w, key) else getattr(w.shape, key, None)
    return getattr(w, name, None)


def figure_rows(w: Workload) -> list[dict[str, Any]]:
    """Every figure of a workload with its confidence, source and note; computed ones after."""
    rows: list[dict[str, Any]] = []
    for name, prov in w.provenance.items():
        value = _figure_value(w, name)
        if name.startswith("published."):
            value = None if value is None else value / 1e9
        rows.append(
            {
                "field": name,
                "value": value,
                "unit": "billion parameters" if name.startswith("published.") else "",
                "confidence": prov.confidence,
                "source": prov.cite(),
                "note": prov.note,
            }
        )
    for name, unit, getter in _COMPUTED:
        value = getter(w)
        if value is None:
            continue
        rows.append(
            {
                "field": name,
                "value": value,
                "unit": unit,
                "confidence": "estimate",
                "source": _COMPUTED_SOURCE,
                "note": f"at {w.kv_precision}" if name.startswith("kv_") else None,
            }
        )
    return rows


@app.command("list")
def list_workloads(
    kind: Annotated[str | None, typer.Option(help="Only this kind: llm or video.")] = None,
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """List the workloads with parameters, attention, experts and KV bytes per token."""
    library = WorkloadLibrary.load(profiles or ())
    rows = [workload_row(w) for w in library if kind is None or w.kind == kind.lower()]
    emit(rows, fmt, title=f"{len(rows)} workloads")


@app.command("show")
def show(
    workload: Annotated[
        str,
        typer.Argument(help="Workload id, e.g. llama-3.1-70b.", autocompletion=complete_workload),
    ],
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """Every figure of one workload with its source, confidence and note."""
    w = WorkloadLibrary.load(profiles or ())[workload]
    if fmt is OutputFormat.json:
        emit(
            {
                **workload_row(w),
                "name": w.name,
                "hf_repo": w.hf_repo,
                "dense_params_billion": _billions(w.dense_params),
                "routed_expert_params_billion": _billions(w.routed_expert_params),
                "published_total_params_billion": _billions(w.published_total_params),
                "published_active_params_billion": _billions(w.published_active_params),
                "figures": figure_rows(w),
            },
            fmt,
        )
        return
    emit(figure_rows(w), fmt, title=f"{w.name} ({w.id})")
