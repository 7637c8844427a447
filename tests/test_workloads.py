"""Workload cards: shipped profiles load, parameter counts match the publishers, KV sizes by hand,
the video FLOPs estimate by hand, and bad files name the file, the field and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from planner.errors import InputError, UnknownName
from planner.paths import shipped_dir
from planner.serving.dit import dit_flops_per_clip
from planner.serving.workloads import (
    Workload,
    WorkloadLibrary,
    load_workload,
    published_tolerance_fraction,
)

SHIPPED_IDS = {
    "llama-2-70b",
    "llama-3.1-8b",
    "llama-3.1-70b",
    "llama-3.1-405b",
    "mixtral-8x7b",
    "deepseek-v3",
    "deepseek-r1",
    "qwen2.5-72b",
    "qwen3-8b",
    "qwen3-32b",
    "qwen3-30b-a3b",
    "qwen3-235b-a22b",
    "wan2.1-t2v-14b",
}


@pytest.fixture(scope="module")
def library() -> WorkloadLibrary:
    return WorkloadLibrary.load()


def _shipped(workload_id: str) -> dict[str, Any]:
    path = shipped_dir("workload_profiles") / f"{workload_id}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _overlay(tmp_path: Path, workload_id: str, data: dict[str, Any]) -> Path:
    """Write `data` as DIR/workload_profiles/<id>.yaml and return DIR."""
    folder = tmp_path / "workload_profiles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{workload_id}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return tmp_path


# --- Shipped profiles -------------------------------------------------------------------------


def test_every_shipped_id_loads(library: WorkloadLibrary) -> None:
    assert {w.id for w in library} == SHIPPED_IDS
    for w in library:
        assert isinstance(w, Workload)
        assert w.path.stem == w.id
        assert w.total_params >= w.active_params > 0
        assert w.dense_params + w.routed_expert_params == pytest.approx(w.total_params)


@pytest.mark.parametrize("workload_id", sorted(SHIPPED_IDS))
def test_computed_params_match_published_totals(library: WorkloadLibrary, workload_id: str) -> None:
    w = library[workload_id]
    assert w.published_total_params is not None
    # LLMs within 2 %; Wan's nominal "14B" is checked to its own rounding (0.5 / 14).
    if w.kind == "llm":
        tolerance = 0.02
    else:
        tolerance = published_tolerance_fraction(w.published_total_params / 1e9)
        assert tolerance == pytest.approx(0.5 / 14)
    assert w.total_params == pytest.approx(w.published_total_params, rel=tolerance)
    if w.published_active_params is not None:
        assert w.active_params == pytest.approx(w.published_active_params, rel=0.02)


@pytest.mark.parametrize(
    ("workload_id", "total_b", "active_b"),
    [
        ("deepseek-v3", 671, 37),
        ("qwen3-235b-a22b", 235, 22),
        ("qwen3-30b-a3b", 30.5, 3.3),
        ("mixtral-8x7b", 46.7, 12.9),
    ],
)
def test_moe_totals_against_the_publishers(
    library: WorkloadLibrary, workload_id: str, total_b: float, active_b: float
) -> None:
    w = library[workload_id]
    assert w.total_params / 1e9 == pytest.approx(total_b, rel=0.02)
    assert w.active_params / 1e9 == pytest.approx(active_b, rel=0.02)


def test_llama_3_1_70b_parameter_count_by_hand(library: WorkloadLibrary) -> None:
    d, ff, vocab, layers = 8192, 28672, 128256, 80
    attention = d * d + 2 * d * 1024 + d * d  # q, k and v (8 heads x 128), o
    per_layer = attention + 3 * d * ff + 2 * d  # + SwiGLU + two RMSNorms
    expected = layers * per_layer + d + 2 * vocab * d  # + final norm, embeddings and head
    assert expected == 70_553_706_496
    assert library["llama-3.1-70b"].total_params == expected


def test_deepseek_v3_split_by_hand(library: WorkloadLibrary) -> None:
    d, layers, dense_layers, moe_layers = 7168, 61, 3, 58
    mla = (
        d * 1536
        + 1536
        + 1536 * 128 * 192  # query down, norm, up to 128 heads x (128 + 64)
        + d * (512 + 64)
        + 512
        + 512 * 128 * (128 + 128)  # latent KV + RoPE key, norm, up
        + 128 * 128 * d  # output
    )
    expert = 3 * d * 2048
    dense = (
        2 * 129280 * d
        + layers * (mla + 2 * d)
        + d
        + dense_layers * 3 * d * 18432
        + moe_layers * (d * 256 + expert)  # router + one shared expert
    )
    w = library["deepseek-v3"]
    assert w.dense_params == dense
    assert w.routed_expert_params == moe_layers * 256 * expert
    assert w.active_params == dense + moe_layers * 8 * expert
    assert (w.experts, w.experts_per_token, w.moe_layers) == (256, 8, 58)
    assert (w.kv_lora_rank, w.qk_rope_head_dim) == (512, 64)
    assert w.weight_precision == "fp8"


def test_kv_bytes_per_token_gqa_by_hand(library: WorkloadLibrary) -> None:
    w = library["llama-3.1-70b"]
    assert w.attention == "gqa"
    assert w.kv_bytes_per_token(2) == 2 * 80 * 8 * 128 * 2 == 327_680
    assert w.kv_bytes_per_token_default == 327_680  # bf16
    assert w.kv_bytes_per_token(1) == 163_840  # fp8 cache halves it


def test_kv_bytes_per_token_mla_by_hand(library: WorkloadLibrary) -> None:
    w = library["deepseek-v3"]
    assert w.attention == "mla"
    assert w.kv_bytes_per_token(2) == 61 * (512 + 64) * 2 == 70_272
    assert w.kv_bytes_per_token(1) == 35_136
    assert w.kv_precision == "bf16"
    assert w.kv_bytes_per_token_default == 70_272


def test_attention_flops_per_token_by_hand(library: WorkloadLibrary) -> None:
    gqa = library["llama-3.1-70b"]
    assert gqa.attention_flops_per_token(1000) == 4 * 80 * 64 * 128 * 1000
    mla = library["deepseek-v3"]
    assert mla.attention_flops_per_token(1000) == 2 * 61 * 128 * (2 * 512 + 64) * 1000


def test_video_flops_per_second_by_hand(library: WorkloadLibrary) -> None:
    w = library["wan2.1-t2v-14b"]
    assert w.kind == "video" and w.attention == "none"
    assert w.kv_bytes_per_token(2) == 0
    assert w.video is not None
    # 81 frames -> 1 + 80/4 = 21 latent frames of 720/8/2 x 1280/8/2 = 45 x 80 patches.
    tokens = 21 * 45 * 80
    assert w.video.latent_tokens == tokens == 75_600
    d, ff, layers, text = 5120, 13824, 40, 512
    per_pass = (
        2 * tokens * layers * (6 * d * d + 2 * d * ff)  # q,k,v,o self + q,o cross + MLP
        + 2 * text * layers * 2 * d * d  # cross-attention keys and values of the text
        + 4 * tokens * tokens * d * layers  # self-attention scores and mixing
        + 4 * tokens * text * d * layers  # cross-attention scores and mixing
    )
    per_clip = per_pass * 50 * 2  # 50 steps, conditional + unconditional pass
    assert w.shape is not None
    assert dit_flops_per_clip(w.shape, w.video) == pytest.approx(per_clip, rel=1e-12)
    assert w.flops_per_video_s == pytest.approx(per_clip / (81 / 16), rel=1e-12)
    assert 1.2e17 < w.flops_per_video_s < 1.4e17


# --- Bad input --------------------------------------------------------------------------------


def test_unknown_field_names_file_field_and_fix(tmp_path: Path) -> None:
    data = _shipped("llama-3.1-8b")
    data["architecture"]["num_layers"] = {
        "value": 32,
        "source": "config",
        "confidence": "datasheet",
    }
    root = _overlay(tmp_path, "llama-3.1-8b", data)
    with pytest.raises(InputError) as err:
        WorkloadLibrary.load([root])
    text = str(err.value)
    assert "llama-3.1-8b.yaml: architecture.num_layers" in text
    assert "Fix: remove it, or check its spelling" in text


def test_missing_field_names_file_field_and_fix(tmp_path: Path) -> None:
    data = _shipped("qwen3-8b")
    del data["architecture"]["hidden_size"]
    del data["published"]
    root = _overlay(tmp_path, "qwen3-8b", data)
    with pytest.raises(InputError) as err:
        WorkloadLibrary.load([root])
    fields = {p.field for p in err.value.problems}
    assert fields == {"architecture.hidden_size", "published"}
    assert all(p.fix == "add this field." for p in err.value.problems)
    assert all(p.file.endswith("workload_profiles/qwen3-8b.yaml") for p in err.value.problems)


def test_mla_without_latent_rank_is_refused(tmp_path: Path) -> None:
    data = _shipped("deepseek-v3")
    del data["architecture"]["kv_lora_rank"]
    path = _overlay(tmp_path, "deepseek-v3", data) / "workload_profiles" / "deepseek-v3.yaml"
    with pytest.raises(InputError) as err:
        load_workload(path)
    (problem,) = err.value.problems
    assert problem.field == "architecture.kv_lora_rank"
    assert "config.json" in problem.fix


def test_architecture_that_misses_the_published_total_is_refused(tmp_path: Path) -> None:
    data = _shipped("mixtral-8x7b")
    data["architecture"]["experts"]["value"] = 16
    path = _overlay(tmp_path, "mixtral-8x7b", data) / "workload_profiles" / "mixtral-8x7b.yaml"
    with pytest.raises(InputError) as err:
        load_workload(path)
    assert {p.field for p in err.value.problems} == {
        "published.total_params_billion.value",
    }
    extra_b = 32 * 8 * (3 * 4096 * 14336 + 4096) / 1e9  # 8 more experts and router rows
    assert f"the architecture gives {46.703 + extra_b:.2f} B, not 46.7 B" in str(err.value)


def test_bad_precision_id_mismatch_and_uneven_heads_reported_together(tmp_path: Path) -> None:
    data = _shipped("llama-3.1-8b")
    data["weight_precision"]["value"] = "bfloat16"
    data["architecture"]["kv_heads"]["value"] = 5
    path = _overlay(tmp_path, "renamed", data) / "workload_profiles" / "renamed.yaml"
    with pytest.raises(InputError) as err:
        load_workload(path)
    fields = {p.field for p in err.value.problems}
    assert fields == {"id", "architecture.kv_heads", "weight_precision.value"}
    text = str(err.value)
    assert "5 does not divide attention_heads 32" in text
    assert "'bfloat16' is not a precision. Fix: use one of: fp64" in text
    assert "rename the file to 'llama-3.1-8b.yaml'" in text


def test_video_card_with_zero_steps_and_llm_attention_is_refused(tmp_path: Path) -> None:
    data = _shipped("wan2.1-t2v-14b")
    data["video"]["denoising_steps"]["value"] = 0
    data["attention"] = "gqa"
    path = _overlay(tmp_path, "wan2.1-t2v-14b", data) / "workload_profiles" / "wan2.1-t2v-14b.yaml"
    with pytest.raises(InputError) as err:
        load_workload(path)
    problems = {p.field: p for p in err.value.problems}
    assert set(problems) == {"attention", "video.denoising_steps.value"}
    assert problems["attention"].fix == "use 'none' for video."
    assert problems["video.denoising_steps.value"].fix.startswith("write a value from 1 to ")


def test_unknown_id_suggests_the_nearest(library: WorkloadLibrary) -> None:
    with pytest.raises(UnknownName, match=r"did you mean 'llama-3\.1-70b'"):
        library["llama-3.1-70"]


def test_overlay_replaces_a_shipped_workload_whole(tmp_path: Path) -> None:
    data = _shipped("qwen3-8b")
    data["name"] = "Qwen3 8B (site copy)"
    root = _overlay(tmp_path, "qwen3-8b", data)
    library = WorkloadLibrary.load([root])
    assert library["qwen3-8b"].name == "Qwen3 8B (site copy)"
    assert len(library) == len(SHIPPED_IDS)


# --- CLI --------------------------------------------------------------------------------------


def test_cli_list_json() -> None:
    result = CliRunner().invoke(app, ["workload", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert set(rows) == SHIPPED_IDS
    assert rows["llama-3.1-70b"]["kv_bytes_per_token"] == 327_680
    assert rows["deepseek-v3"]["attention"] == "mla"
    assert rows["deepseek-v3"]["experts"] == 256
    assert rows["mixtral-8x7b"]["active_params_billion"] == pytest.approx(12.88, abs=0.01)
    assert rows["wan2.1-t2v-14b"]["flops_per_video_s"] > 1e17


def test_cli_show_json_cites_every_figure() -> None:
    result = CliRunner().invoke(app, ["workload", "show", "deepseek-v3", "-f", "json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    assert card["published_total_params_billion"] == 671
    figures = {f["field"]: f for f in card["figures"]}
    config_url = "https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json"
    assert config_url in figures["architecture.kv_lora_rank"]["source"]
    assert figures["architecture.kv_lora_rank"]["value"] == 512
    assert figures["architecture.max_context_tokens"]["value"] == 163840
    assert figures["weight_precision"]["value"] == "fp8"
    assert figures["kv_bytes_per_token_default"]["value"] == 70_272
    assert all(f["source"] for f in card["figures"])


def test_cli_unknown_id_exits_2_with_suggestion() -> None:
    result = CliRunner().invoke(app, ["workload", "show", "deepseek-v2"])
    assert result.exit_code == 2
    assert "unknown workload 'deepseek-v2'; did you mean 'deepseek-v3'?" in result.output
    assert "Traceback" not in result.output


def test_cli_bad_overlay_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    data = _shipped("qwen3-8b")
    data["kind"] = "audio"
    root = _overlay(tmp_path, "qwen3-8b", data)
    result = CliRunner().invoke(app, ["workload", "list", "--profiles", str(root)])
    assert result.exit_code == 2
    assert "qwen3-8b.yaml: kind:" in result.output
    assert "Fix: use one of: 'llm' or 'video'." in result.output
