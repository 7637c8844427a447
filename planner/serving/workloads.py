"""Workload cards: what one model needs per token (LLMs) or per generated second (video).

One YAML file per model in `workload_profiles/<id>.yaml`; its architecture figures come from the
model's Hugging Face `config.json`, each with provenance. Parameter counts are *computed* from that
architecture (formulas in docs/workloads.md) and checked against the publisher's totals, which the
file records separately. A user overlay (`--profiles DIR`, `DIR/workload_profiles/*.yaml`) adds
workloads or replaces a shipped one with the same id, whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import field_validator

from planner.catalogue.parts import BIT_LENGTH, PRECISIONS, SLUG, Precision, is_precision
from planner.errors import InputError, Problem, UnknownName
from planner.paths import search_dirs
from planner.provenance import FigureIn, FigureReader, Provenance, SourceIn
from planner.schema import Bounds, StrictModel
from planner.serving.architecture import DecoderShape, Ffn, ParamCounts, decoder_params
from planner.serving.dit import VideoClip, dit_flops_per_video_s, dit_params
from planner.serving.formats import SERVING_PRECISIONS
from planner.yamlio import by_id, load_layers, read_yaml, reading_past, validate_collecting

Kind = Literal["llm", "video"]
Attention = Literal["mha", "gqa", "mla", "none"]
# Published totals may differ from the count computed from config.json by rounding only.
PUBLISHED_TOLERANCE_FRACTION = 0.02


def _count(what: str, typical: tuple[float, float], high: float = 1e7) -> Bounds:
    """The range of a count of the architecture: at least 1, at most `high`."""
    return Bounds("", hard=(1, high), typical=typical, what=what)


# Ranges of the architecture (planner.schema.Bounds): each count is at least 1 (a zero layer,
# head or width computes nothing); typical ends span the shipped cards (Llama 3.1 8B to
# DeepSeek-R1 and Wan2.1) with a wide margin, quoted beside each.
class ArchitectureIn(StrictModel):
    """Architecture figures from the model's config.json (config key names in docs/workloads.md)."""

    layers: Annotated[FigureIn, _count("a number of layers", (1, 512), 100_000)]  # 32 to 126
    hidden_size: Annotated[
        FigureIn, _count("the width of each token's hidden vector", (256, 65_536))
    ]  # shipped 2,048 to 16,384
    attention_heads: Annotated[FigureIn, _count("a number of attention heads", (1, 1_024))]
    kv_heads: Annotated[FigureIn, _count("a number of key-value heads", (1, 1_024))]
    head_dim: Annotated[FigureIn, _count("a head dimension", (16, 1_024))]  # 128 to 192
    vocab_size: Annotated[FigureIn | None, _count("a vocabulary size", (1_000, 1_000_000), 1e9)] = (
        None  # shipped 32,000 to 152,064
    )
    max_context_tokens: Annotated[
        FigureIn | None, _count("a context length in tokens", (512, 100_000_000), 1e10)
    ] = None  # shipped 4,096 to 163,840
    dense_ffn_size: Annotated[FigureIn | None, _count("an FFN width", (256, 524_288))] = None
    tied_embeddings: bool = False
    qkv_bias: bool = False
    qk_norm: bool = False
    ffn: Ffn = "swiglu"
    # Multi-head latent attention (DeepSeek-V2/V3).
    q_lora_rank: Annotated[FigureIn | None, _count("a rank", (16, 65_536))] = None
    kv_lora_rank: Annotated[FigureIn | None, _count("a rank", (16, 65_536))] = None
    qk_nope_head_dim: Annotated[FigureIn | None, _count("a head dimension", (16, 1_024))] = None
    qk_rope_head_dim: Annotated[FigureIn | None, _count("a head dimension", (16, 1_024))] = None
    v_head_dim: Annotated[FigureIn | None, _count("a head dimension", (16, 1_024))] = None
    # Mixture of experts.
    experts: Annotated[FigureIn | None, _count("a number of experts", (2, 4_096))] = None
    experts_per_token: Annotated[FigureIn | None, _count("experts per token", (1, 64))] = None
    shared_experts: Annotated[
        FigureIn | None,
        Bounds("", hard=(0, 10_000), typical=(0, 16), what="a number of shared experts"),
    ] = None
    expert_ffn_size: Annotated[FigureIn | None, _count("an expert FFN width", (64, 65_536))] = None
    moe_layers: Annotated[FigureIn | None, _count("a number of MoE layers", (1, 512))] = None


# Published totals in billions (shipped 3.3 to 671; 0 means "not published"): a trillion-
# parameter model is 1,000.
PARAMS_BILLION = Bounds(
    "", hard=(0, 1_000_000), typical=(0.1, 20_000), what="parameters in billions"
)


class PublishedIn(StrictModel):
    """The publisher's own parameter totals, in billions, to check the computed counts against."""

    total_params_billion: Annotated[FigureIn, PARAMS_BILLION]
    active_params_billion: Annotated[FigureIn | None, PARAMS_BILLION] = None


class VideoIn(StrictModel):
    """A diffusion-transformer video generator: what one clip is and how it is denoised."""

    # Shipped (Wan2.1 14B): 1280 x 720 px, 81 frames at 16 fps, VAE 4 x 8 x 8, 16 channels,
    # patches 1 x 2 x 2, 50 steps, 2 guidance passes, 512 text tokens.
    width_px: Annotated[FigureIn, _count("a width in pixels", (64, 8_192), 1e6)]
    height_px: Annotated[FigureIn, _count("a height in pixels", (64, 8_192), 1e6)]
    frames_per_clip: Annotated[FigureIn, _count("frames per clip", (1, 10_000))]
    frame_rate_fps: Annotated[
        FigureIn,
        Bounds("", hard=(0, 1_000), typical=(1, 120), low_open=True, what="a frame rate"),
    ]
    vae_temporal_compression: Annotated[FigureIn, _count("a compression", (1, 64), 10_000)]
    vae_spatial_compression: Annotated[FigureIn, _count("a compression", (1, 64), 10_000)]
    latent_channels: Annotated[FigureIn, _count("latent channels", (1, 1_024))]
    patch_frames: Annotated[FigureIn, _count("a patch size", (1, 16), 10_000)]
    patch_height: Annotated[FigureIn, _count("a patch size", (1, 16), 10_000)]
    patch_width: Annotated[FigureIn, _count("a patch size", (1, 16), 10_000)]
    denoising_steps: Annotated[FigureIn, _count("denoising steps", (1, 1_000))]
    guidance_passes: Annotated[FigureIn, _count("guidance passes", (1, 4), 100)]
    text_tokens: Annotated[FigureIn, _count("text tokens", (1, 8_192))]
    text_embed_dim: Annotated[FigureIn, _count("an embedding width", (16, 65_536))]
    time_embed_dim: Annotated[FigureIn, _count("an embedding width", (16, 65_536))]


class WorkloadFile(StrictModel):
    """The schema of one workload profile (documented in docs/workloads.md)."""

    id: str
    name: str
    kind: Kind
    attention: Attention
    hf_repo: str | None = None
    architecture: ArchitectureIn
    published: PublishedIn
    weight_precision: FigureIn
    kv_precision: FigureIn | None = None
    # Precisions the model is published or publicly served in, each with its source
    # (docs/workloads.md); the serving model picks the best one a part allows.
    serving_precisions: list[FigureIn] = []
    # Where a published checkpoint keeps its attention projections at another precision than
    # its other weights: weights' precision -> the projections' (e.g. fp4: bf16), each sourced.
    attention_precision: dict[str, FigureIn] = {}
    video: VideoIn | None = None
    sources: dict[str, SourceIn] = {}

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"'{value}' is not a lowercase slug like 'llama-3.1-70b'")
        return value


@dataclass(frozen=True)
class Workload:
    """One model's serving-relevant architecture. Counts are parameters, not billions."""

    id: str
    name: str
    kind: Kind
    attention: Attention
    total_params: float
    active_params: float
    dense_params: float
    routed_expert_params: float
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    kv_lora_rank: int | None
    qk_rope_head_dim: int | None
    experts: int | None
    experts_per_token: int | None
    moe_layers: int | None
    vocab_size: int
    max_context_tokens: int
    weight_precision: Precision
    kv_precision: Precision
    flops_per_video_s: float | None
    path: Path
    provenance: Mapping[str, Provenance] = field(default_factory=dict, compare=False, repr=False)
    published_total_params: float | None = None
    published_active_params: float | None = None
    hf_repo: str | None = None
    shape: DecoderShape | None = field(default=None, compare=False, repr=False)
    video: VideoClip | None = None
    serving_precisions: tuple[str, ...] = ()  # () = the weight precision alone
    attention_params: float = 0.0  # the attention projections of every layer (within dense)
    head_params: float = 0.0  # the output head (within dense)
    input_embedding_params: float = 0.0  # an untied input table (within dense), looked up
    # (weights' precision, attention projections' precision) where a published checkpoint
    # keeps its projections apart, e.g. NVIDIA's NVFP4 DeepSeek-R1: (("fp4", "bf16"),)
    attention_precisions: tuple[tuple[str, str], ...] = ()

    def attention_precision_at(self, weights: str) -> str:
        """The precision the published checkpoint at `weights` keeps its attention projections
        in: its own entry, else the weights'."""
        return dict(self.attention_precisions).get(weights, weights)

    def kv_bytes_per_token(self, kv_bytes_per_element: float) -> float:
        """KV-cache bytes one token of context holds, over all layers.

        GQA/MHA: 2 (K and V) x layers x kv_heads x head_dim x bytes.
        MLA: layers x (kv_lora_rank + qk_rope_head_dim) x bytes (one latent plus the RoPE key).
        Video diffusion keeps no cache: 0.
        """
        match self.attention:
            case "mha" | "gqa":
                return 2.0 * self.layers * self.kv_heads * self.head_dim * kv_bytes_per_element
            case "mla":
                assert self.kv_lora_rank is not None and self.qk_rope_head_dim is not None
                latent = self.kv_lora_rank + self.qk_rope_head_dim
                return float(self.layers * latent) * kv_bytes_per_element
            case _:
                return 0.0

    @property
    def kv_bytes_per_element(self) -> float:
        """Bytes per cached element at the default KV precision."""
        return bytes_per_element(self.kv_precision)

    @property
    def weight_bytes_per_param(self) -> float:
        """Bytes per parameter at the default weight precision."""
        return bytes_per_element(self.weight_precision)

    @property
    def kv_bytes_per_token_default(self) -> float:
        """KV-cache bytes per token of context at the default KV precision."""
        return self.kv_bytes_per_token(self.kv_bytes_per_element)

    def attention_flops_per_token(self, context_tokens: float) -> float:
        """FLOPs one new token spends attending to `context_tokens` cached tokens (decode).

        GQA/MHA: 2 FLOPs per multiply-add, scores (q.k) and mixing (p.v), every query head:
        4 x layers x attention_heads x head_dim x context.
        MLA with absorbed projections: each head scores against the latent plus RoPE key
        (kv_lora_rank + qk_rope_head_dim) and mixes the latent (kv_lora_rank):
        2 x layers x attention_heads x (2 kv_lora_rank + qk_rope_head_dim) x context.
        """
        match self.attention:
            case "mha" | "gqa":
                return 4.0 * self.layers * self.attention_heads * self.head_dim * context_tokens
            case "mla":
                assert self.kv_lora_rank is not None and self.qk_rope_head_dim is not None
                width = 2 * self.kv_lora_rank + self.qk_rope_head_dim
                return 2.0 * self.layers * self.attention_heads * width * context_tokens
            case _:
                return 0.0


def bytes_per_element(precision: Precision) -> float:
    """Storage bytes of one element at a precision (bit length / 8)."""
    return BIT_LENGTH[precision] / 8


def published_tolerance_fraction(value_billion: float) -> float:
    """How far a computed count may sit from a published total: 2 %, or the published figure's
    own rounding (half its last written digit) where that is wider, e.g. '14' B -> 0.5 / 14."""
    text = repr(float(value_billion)).rstrip("0")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return max(PUBLISHED_TOLERANCE_FRACTION, 0.5 * 10.0**-decimals / value_billion)


# --- Loading ---------------------------------------------------------------------------------


class _WorkloadLoader(FigureReader):
    """Turns one validated `WorkloadFile` into a `Workload`, collecting every problem."""

    raw: WorkloadFile

    def count(self, field: str, figure: FigureIn | None, *, required: bool = False) -> int | None:
        value = self.number(field, figure, integer=True)
        if value is None and required:
            why = "is unknown" if figure is not None else "is missing"
            self.problems.append(
                Problem(
                    str(self.path),
                    field,
                    f"{why}; this workload kind needs it.",
                    "add it from the model's config.json.",
                )
            )
        return None if value is None else int(value)

    def precision(self, field: str, figure: FigureIn | None, default: Precision) -> Precision:
        """A precision name (e.g. fp8); `default` when absent, null or not a precision (then
        with a problem)."""
        if figure is None:
            return default
        value = self.text(field, figure)
        if value is None:
            return default
        if not is_precision(value):
            self.problems.append(
                Problem(
                    str(self.path),
                    f"{field}.value",
                    f"'{value}' is not a precision.",
                    f"use one of: {', '.join(PRECISIONS)}.",
                )
            )
            return default
        return value

    def precisions(
        self,
    ) -> tuple[Precision, Precision, tuple[str, ...], tuple[tuple[str, str], ...]]:
        """Weights', KV cache's, the published serving precisions (the weights' alone when none
        is listed) and the (weights, attention projections) pairs."""
        r = self.raw
        weights = self.precision("weight_precision", r.weight_precision, "bf16")
        kv = self.precision("kv_precision", r.kv_precision, weights)
        served = tuple(
            self.precision(f"serving_precisions[{i}]", f, weights)
            for i, f in enumerate(r.serving_precisions)
        )
        return weights, kv, served or (weights,), self.attention_precisions(weights)

    def attention_precisions(self, default: Precision) -> tuple[tuple[str, str], ...]:
        """The `attention_precision` entries as (weights, projections) pairs, each a precision."""
        pairs = []
        for weights, figure in self.raw.attention_precision.items():
            field = f"attention_precision.{weights}"
            if weights not in SERVING_PRECISIONS or not is_precision(weights):
                self.problems.append(
                    Problem(
                        str(self.path),
                        field,
                        f"'{weights}' is not a precision.",
                        "key each entry by the weights' precision, one of: "
                        f"{', '.join(SERVING_PRECISIONS)}.",
                    )
                )
                continue
            kept = self.precision(field, figure, weights)  # null: as the weights
            if kept not in SERVING_PRECISIONS:
                self.problems.append(
                    Problem(
                        str(self.path),
                        f"{field}.value",
                        f"'{kept}' is not a serving precision.",
                        f"use one of: {', '.join(SERVING_PRECISIONS)}.",
                    )
                )
                continue
            pairs.append((weights, kept))
        return tuple(pairs)

    def shape(self) -> DecoderShape:
        a, llm = self.raw.architecture, self.raw.kind == "llm"
        mla = self.raw.attention == "mla"
        moe = a.experts is not None

        def c(name: str, *, required: bool = False) -> int | None:
            return self.count(f"architecture.{name}", getattr(a, name), required=required)

        return DecoderShape(
            layers=c("layers", required=True) or 0,
            hidden_size=c("hidden_size", required=True) or 0,
            attention_heads=c("attention_heads", required=True) or 0,
            kv_heads=c("kv_heads", required=True) or 0,
            head_dim=c("head_dim", required=True) or 0,
            vocab_size=c("vocab_size", required=llm) or 0,
            dense_ffn_size=c("dense_ffn_size", required=not moe),
            tied_embeddings=a.tied_embeddings,
            qkv_bias=a.qkv_bias,
            qk_norm=a.qk_norm,
            q_lora_rank=c("q_lora_rank"),
            kv_lora_rank=c("kv_lora_rank", required=mla),
            qk_nope_head_dim=c("qk_nope_head_dim", required=mla),
            qk_rope_head_dim=c("qk_rope_head_dim", required=mla),
            v_head_dim=c("v_head_dim", required=mla),
            experts=c("experts"),
            experts_per_token=c("experts_per_token", required=moe),
            shared_experts=c("shared_experts") or 0,
            expert_ffn_size=c("expert_ffn_size", required=moe),
            moe_layers=c("moe_layers", required=moe) or 0,
        )

    def clip(self) -> VideoClip | None:
        v = self.raw.video
        if v is None:
            if self.raw.kind == "video":
                self.problems.append(
                    Problem(
                        str(self.path),
                        "video",
                        "a video workload needs its clip and denoising figures.",
                        "add a 'video:' block (see docs/workloads.md).",
                    )
                )
            return None
        values: dict[str, float] = {}
        for name in VideoIn.model_fields:
            field, figure = f"video.{name}", getattr(v, name)
            if name == "frame_rate_fps":
                value = self.number(field, figure)
            else:
                value = self.count(field, figure, required=True)
            values[name] = value or 1  # > 0 by the schema's ranges; 1 where it failed to load
        return VideoClip(**values)  # type: ignore[arg-type]  # VideoIn's fields by name

    def check_kind(self) -> None:
        r = self.raw
        rules = [
            (r.kind == "video" and r.attention != "none", "attention", "use 'none' for video."),
            (r.kind == "llm" and r.attention == "none", "attention", "use mha, gqa or mla."),
            (r.kind == "llm" and r.video is not None, "video", "remove it, or set kind: video."),
        ]
        for broken, where, fix in rules:
            if broken:
                self.problems.append(
                    Problem(str(self.path), where, f"does not fit kind '{r.kind}'.", fix)
                )

    def check_shape(self, s: DecoderShape) -> None:
        """Cross-field rules: heads group evenly, k <= E experts, MoE layers <= layers."""
        rules = [
            (
                s.kv_heads == 0 or s.attention_heads % s.kv_heads != 0,
                "architecture.kv_heads",
                f"{s.kv_heads} does not divide attention_heads {s.attention_heads}.",
            ),
            (
                (s.experts_per_token or 0) > (s.experts or 0),
                "architecture.experts_per_token",
                f"{s.experts_per_token} exceeds experts {s.experts}.",
            ),
            (
                s.moe_layers > s.layers,
                "architecture.moe_layers",
                f"{s.moe_layers} exceeds layers {s.layers}.",
            ),
        ]
        for broken, where, problem in rules:
            if broken:
                self.problems.append(
                    Problem(str(self.path), where, problem, "check it against config.json.")
                )

    def check_published(self, counts: ParamCounts, published: Mapping[str, float | None]) -> None:
        computed = {"total_params_billion": counts.total, "active_params_billion": counts.active}
        for name, value in published.items():
            if value is None or value == 0:
                continue
            mine = computed[name] / 1e9
            tolerance = published_tolerance_fraction(value)
            if abs(mine - value) > tolerance * value:
                self.problems.append(
                    Problem(
                        str(self.path),
                        f"published.{name}.value",
                        f"the architecture gives {mine:.2f} B, not {value:g} B "
                        f"(beyond {tolerance:.1%}).",
                        "check the architecture figures against config.json.",
                    )
                )

    def published_totals(self) -> dict[str, float | None]:
        """The publisher's totals in billions, as read (None where not given)."""
        p = self.raw.published
        return {
            "total_params_billion": self.number(
                "published.total_params_billion", p.total_params_billion
            ),
            "active_params_billion": self.number(
                "published.active_params_billion", p.active_params_billion
            ),
        }

    def workload(self) -> Workload:
        r = self.raw
        self.check_kind()
        known = len(self.problems)
        s = self.shape()
        shape_complete = len(self.problems) == known
        clip = self.clip()
        max_context = self.count(
            "architecture.max_context_tokens",
            r.architecture.max_context_tokens,
            required=r.kind == "llm",
        )
        published = self.published_totals()
        if shape_complete:
            self.check_shape(s)
        weight_precision, kv_precision, served, kept = self.precisions()
        if self.problems:
            raise InputError(self.problems)
        counts = decoder_params(s) if clip is None else dit_params(s, clip)
        self.check_published(counts, published)
        total_b, active_b = published["total_params_billion"], published["active_params_billion"]
        return Workload(
            id=r.id,
            name=r.name,
            kind=r.kind,
            attention=r.attention,
            total_params=counts.total,
            active_params=counts.active,
            dense_params=counts.dense,
            routed_expert_params=counts.routed_experts,
            layers=s.layers,
            hidden_size=s.hidden_size,
            attention_heads=s.attention_heads,
            kv_heads=s.kv_heads,
            head_dim=s.head_dim,
            kv_lora_rank=s.kv_lora_rank,
            qk_rope_head_dim=s.qk_rope_head_dim,
            experts=s.experts,
            experts_per_token=s.experts_per_token,
            moe_layers=s.moe_layers or None,
            vocab_size=s.vocab_size,
            max_context_tokens=(max_context or 0) if clip is None else clip.latent_tokens,
            weight_precision=weight_precision,
            kv_precision=kv_precision,
            flops_per_video_s=None if clip is None else dit_flops_per_video_s(s, clip),
            path=self.path,
            provenance=MappingProxyType(self.provenance),
            published_total_params=None if total_b is None else total_b * 1e9,
            published_active_params=None if active_b is None else active_b * 1e9,
            hf_repo=r.hf_repo,
            shape=s,
            video=clip,
            serving_precisions=served,
            attention_params=counts.attention,
            head_params=counts.head,
            input_embedding_params=counts.input_embedding,
            attention_precisions=kept,
        )


def load_workload(path: Path) -> Workload:
    """Load and check one workload file; every problem in it is reported at once."""
    raw, refused = validate_collecting(WorkloadFile, read_yaml(path), path)
    loader = _WorkloadLoader(raw, path)
    loader.problems.extend(refused)  # counts outside their ranges: nothing is computed from them
    if path.stem != raw.id:
        loader.problems.append(
            Problem(
                str(path),
                "id",
                f"id '{raw.id}' differs from the file name '{path.stem}'.",
                f"rename the file to '{raw.id}.yaml' or change the id.",
            )
        )
    with reading_past(refused):
        workload = loader.workload()
    if loader.problems:
        raise InputError(loader.problems)
    return workload


@dataclass(frozen=True)
class WorkloadLibrary:
    """All workloads by id, shipped ones overridden by the user's overlays."""

    workloads: Mapping[str, Workload]

    @classmethod
    def load(cls, overlays: Sequence[Path] = ()) -> WorkloadLibrary:
        """Every workload profile under workload_profiles/, later overlays replacing an id whole."""
        folders = search_dirs("workload_profiles", overlays)
        files = [sorted(f.glob("*.yaml")) if f.is_dir() else [] for f in folders]
        # Later overlays replace an id whole; two files of one folder with one id are refused.
        workloads = by_id(load_layers(folders, files, load_workload), "workload")
        return cls(MappingProxyType(dict(sorted(workloads.items()))))

    def __getitem__(self, workload_id: str) -> Workload:
        try:
            return self.workloads[workload_id]
        except KeyError:
            raise UnknownName("workload", workload_id, list(self.workloads)) from None

    def __iter__(self) -> Iterator[Workload]:
        return iter(self.workloads.values())

    def __len__(self) -> int:
        return len(self.workloads)
