"""The shipped hardware catalogue: every part loads, every figure is sourced, bad input is named.

Bad profiles are written into `tmp_path` overlays (laid out like the repo) and loaded through
the same `Catalogue.load` the CLI uses, so each error path is the one a user would meet.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.errors import InputError, Problem, UnknownName
from planner.paths import shipped_dir

SHIPPED_IDS: dict[str, tuple[str, ...]] = {
    "nvidia": (
        "a100-sxm",
        "a800",
        "h100-sxm",
        "h100-pcie",
        "h800",
        "h200",
        "h20",
        "l20",
        "l40s",
        "b200",
        "gb200",
        "b300",
        "rtx-pro-6000-server",  # issue 13: parts a 2026 plan would consider
        "b30a",
        "grace",  # issue 15: host CPUs of the shipped servers
    ),
    "amd": ("mi300x", "mi308x", "mi325x", "mi355x", "epyc-9654", "epyc-9575f"),
    "alibaba": ("zhenwu-ppu", "hanguang-800", "yitian-710"),
    "huawei": ("ascend-910b", "ascend-910c", "ascend-950pr", "ascend-950dt", "kunpeng-920"),
    "cambricon": ("mlu370-x8",),
    "intel": ("xeon-8480c", "xeon-8570"),
}
CPU_IDS = {
    "yitian-710",
    "kunpeng-920",
    "xeon-8480c",
    "xeon-8570",
    "epyc-9654",
    "epyc-9575f",
    "grace",
}
ALL_IDS = sorted(i for ids in SHIPPED_IDS.values() for i in ids)
SOFTWARE_STACKS = {"cuda", "rocm", "cann", "neuware", "t-head", "cpu"}
TEMPLATE = shipped_dir("hardware_profiles") / "nvidia" / "h100-sxm.yaml"

# Part attribute -> provenance key, for every SI figure the loader fills from a FigureIn.
FIGURE_FIELDS = {
    "launch_date": "launch_date",
    "process_node": "process_node",
    "die_area_mm2": "die_area_mm2",
    "memory_bytes": "memory_bytes",
    "memory_bandwidth_bytes_per_s": "memory_bandwidth_bytes_per_s",
    "scale_up_bandwidth_bytes_per_s": "scale_up_bandwidth_bytes_per_s",
    "scale_up_domain_parts": "scale_up_domain",
    "io_bandwidth_bytes_per_s": "io_bandwidth_bytes_per_s",
    "tdp_w": "tdp_w",
    "idle_w": "idle_w",
    "server_overhead_w": "server_overhead_w",
    "unit_price": "unit_price",
}


@pytest.fixture(autouse=True)
def _no_user_overlays(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own PLANNER_PROFILES must not leak into these tests."""
    monkeypatch.delenv("PLANNER_PROFILES", raising=False)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def template() -> dict[str, Any]:
    """The shipped H100 SXM profile as a mapping, to mutate into good or bad variants."""
    return yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))


def write_part(root: Path, data: dict[str, Any] | str, name: str, vendor: str = "test") -> Path:
    """Write a profile into an overlay root laid out like the repo; return its path."""
    path = root / "hardware_profiles" / vendor / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def load_problems(root: Path) -> list[Problem]:
    with pytest.raises(InputError) as info:
        Catalogue.load([root])
    return info.value.problems


def only_problem(problems: list[Problem], path: Path) -> Problem:
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.file == str(path)
    assert problem.fix, "every problem carries a fix"
    return problem


# --- the shipped catalogue ------------------------------------------------------------------


def test_all_shipped_ids_load(catalogue: Catalogue) -> None:
    assert sorted(catalogue.parts) == ALL_IDS
    # 21 + mi308x, ascend-950pr/dt, rtx-pro-6000-server, b30a; issue 15: six host CPUs
    assert len(catalogue) == 32


@pytest.mark.parametrize("part_id", ALL_IDS)
def test_file_sits_in_its_vendor_folder(catalogue: Catalogue, part_id: str) -> None:
    part = catalogue[part_id]
    assert part.path.stem == part.id
    assert part.path.parent.name == part.vendor
    assert part.id in SHIPPED_IDS[part.vendor]


@pytest.mark.parametrize("part_id", ALL_IDS)
def test_every_loaded_figure_has_provenance(catalogue: Catalogue, part_id: str) -> None:
    """Known figures carry a resolved source and a confidence; unknown ones carry a note."""
    part = catalogue[part_id]
    keys = {f"peak_dense.{p}": v for p, v in part.peak_dense_ops_per_s.items()}
    keys.update({key: getattr(part, attr) for attr, key in FIGURE_FIELDS.items()})
    if part.cores is not None:
        keys["cores"] = part.cores
    for key, value in keys.items():
        prov = part.provenance.get(key)
        assert prov is not None, f"{part_id}: {key} has no provenance"
        if value is None:
            assert prov.note, f"{part_id}: unknown {key} needs a note"
            continue
        assert prov.confidence in {"datasheet", "press", "estimate", "measured"}
        assert prov.source is not None and prov.source.url, f"{part_id}: {key} needs a URL"
        assert prov.source.title != prov.source.key, f"{part_id}: {key} cites an unlisted key"
        if prov.confidence == "estimate":
            assert prov.note, f"{part_id}: estimated {key} must say how"


@pytest.mark.parametrize("part_id", ALL_IDS)
def test_unknown_figures_are_null_with_a_note_never_zero(
    catalogue: Catalogue, part_id: str
) -> None:
    part = catalogue[part_id]
    assert all(v > 0 for v in part.peak_dense_ops_per_s.values())
    for key, prov in part.provenance.items():
        if prov.source is None:
            assert prov.note, f"{part_id}: {key} is unknown without a note"
    for attr in ("memory_bytes", "tdp_w", "memory_bandwidth_bytes_per_s", "die_area_mm2"):
        value = getattr(part, attr)
        assert value is None or value > 0, f"{part_id}: {attr} is a silent zero"


@pytest.mark.parametrize("part_id", ALL_IDS)
def test_classification_fields(catalogue: Catalogue, part_id: str) -> None:
    part = catalogue[part_id]
    assert part.software_stack in SOFTWARE_STACKS
    assert part.datacenter is True
    assert part.designed_in == ("CN" if part.vendor in {"alibaba", "huawei", "cambricon"} else "US")
    assert part.fabricated_in in {"TW", "CN", None}
    if part.unit_price is not None:
        assert part.price_currency == "USD"
    if part.idle_w is not None and part.tdp_w is not None:
        assert 0 < part.idle_w < part.tdp_w


def test_units_are_parsed_to_si(catalogue: Catalogue) -> None:
    h100 = catalogue["h100-sxm"]
    assert h100.tdp_w == 700
    assert h100.memory_bytes == 80e9
    assert h100.memory_bandwidth_bytes_per_s == 3.35e12
    assert h100.peak("fp8") == 1979e12
    assert h100.scale_up_bandwidth_bytes_per_s == 900e9
    assert h100.die_area_mm2 == 814
    assert h100.peak("fp4") is None
    assert catalogue["hanguang-800"].memory_bytes == 192e6


def test_cpu_has_cores_and_no_tensor_figures(catalogue: Catalogue) -> None:
    cpus = catalogue.select(kind="cpu")
    assert {c.id for c in cpus} == CPU_IDS
    assert catalogue["yitian-710"].cores == 128
    assert catalogue["kunpeng-920"].cores == 64
    for cpu in cpus:
        assert cpu.cores and cpu.cores > 0, cpu.id
        assert cpu.peak_dense_ops_per_s == {}
        assert cpu.software_stack == "cpu"
        assert cpu.tdp_w is not None and 0 < (cpu.idle_w or 0) < cpu.tdp_w, cpu.id


@pytest.mark.parametrize(
    ("part_id", "controlled"),
    [("a100-sxm", True), ("h100-sxm", True), ("a800", False), ("h800", False)],
)
def test_oct_2022_interconnect_test(catalogue: Catalogue, part_id: str, controlled: bool) -> None:
    """Oct-2022 rule: aggregate bidirectional I/O excluding memory >= 600 GB/s (A100: 600 + 64;
    A800: 400 + 64; H800: 400 + 128). The A800/H800 were cut to pass it."""
    part = catalogue[part_id]
    io_gb_per_s = (part.scale_up_bandwidth_bytes_per_s + part.io_bandwidth_bytes_per_s) / 1e9
    assert (io_gb_per_s >= 600) is controlled


@pytest.mark.parametrize("part_id", ["l20", "l40s", "hanguang-800"])
def test_pcie_only_parts_have_an_explicit_zero_scale_up(catalogue: Catalogue, part_id: str) -> None:
    """No NVLink: scale-up is a known zero (not unknown) and the PCIe link is counted once."""
    part = catalogue[part_id]
    assert part.scale_up_bandwidth_bytes_per_s == 0
    assert "explicitly zero" in (part.provenance["scale_up_bandwidth_bytes_per_s"].note or "")
    assert part.io_bandwidth_bytes_per_s == 64e9


def test_scale_up_domains(catalogue: Catalogue) -> None:
    assert catalogue["gb200"].scale_up_domain_parts == 72
    assert catalogue["ascend-910c"].scale_up_domain_parts == 384
    assert catalogue["h100-sxm"].scale_up_domain_parts == 8
    assert catalogue["mlu370-x8"].scale_up_domain_parts == 4


def test_full_mesh_fabrics(catalogue: Catalogue) -> None:
    """xGMI and MLU-Link wire each part to each peer; NVSwitch and UB switch; the 910B's HCCS
    mesh is taken as switched until a timing decides (its profile's note)."""
    meshes = {p.id for p in catalogue.parts.values() if p.scale_up_mesh}
    assert meshes == {"mi300x", "mi325x", "mi355x", "mlu370-x8"}


def test_an_unknown_topology_names_the_field(tmp_path: Path) -> None:
    data = template()
    data["scale_up_topology"] = {
        "value": "ring",
        "source": "nvidia-h100-datasheet",
        "confidence": "datasheet",
    }
    path = write_part(tmp_path, data, "h100-sxm")
    problem = only_problem(load_problems(tmp_path), path)
    assert problem.field == "scale_up_topology.value"
    assert "'ring' is not a scale-up topology" in problem.problem
    assert "mesh" in problem.fix


def test_select_filters_vendor_and_kind(catalogue: Catalogue) -> None:
    assert {p.id for p in catalogue.select(vendor="AMD")} == set(SHIPPED_IDS["amd"])
    assert {p.id for p in catalogue.select(kind="npu")} == {
        "hanguang-800",
        "ascend-910b",
        "ascend-910c",
        "ascend-950pr",
        "ascend-950dt",
        "mlu370-x8",
    }


def test_unknown_part_suggests_the_closest(catalogue: Catalogue) -> None:
    with pytest.raises(UnknownName, match="did you mean 'h20'"):
        catalogue["h21"]


# --- error paths: each names file, field and fix ---------------------------------------------


def test_value_with_wrong_dimension(tmp_path: Path) -> None:
    data = template()
    data["tdp"]["value"] = "70 GB"
    path = write_part(tmp_path, data, "h100-sxm")
    problem = only_problem(load_problems(tmp_path), path)
    assert problem.field == "tdp.value"
    assert "'70 GB' is not a power" in problem.problem
    assert "700 W" in problem.fix


def test_bare_number_needs_a_unit(tmp_path: Path) -> None:
    data = template()
    data["memory_bandwidth"]["value"] = 3.35
    path = write_part(tmp_path, data, "h100-sxm")
    problem = only_problem(load_problems(tmp_path), path)
    assert problem.field == "memory_bandwidth.value"
    assert "has no unit" in problem.problem
    assert "TB/s" in problem.fix


def test_null_without_a_note(tmp_path: Path) -> None:
    data = template()
    data["die_area"] = {"value": None}
    path = write_part(tmp_path, data, "h100-sxm")
    problem = only_problem(load_problems(tmp_path), path)
    assert problem.field == "die_area"
    assert "needs a note" in problem.problem


def test_estimate_without_a_note(tmp_path: Path) -> None:
    data = template()
    del data["idle_power"]["note"]
    path = write_part(tmp_path, data, "h100-sxm")
    problem = only_problem(load_problems(tmp_path), path)
    assert problem.field == "idle_power"
    assert "estimate needs a note" in problem.problem


def test_unknown_source_key(tmp_path: Path) -> None:
    data = template()
    data["peak_dense"]["fp8"]["source"] = "nvidia-h100-datashet"
    path = write_part(tmp_path, data, "h100-sxm")
    problem = only_problem(load_problems(tmp_path), path)
    assert problem.field == "peak_dense.fp8.source"
    assert "'nvidia-h100-datashet'" in problem.problem
    assert "sources:" in problem.fix


def test_file_name_differs_from_id(tmp_path: Path) -> None:
    path = write_part(tmp_path, template(), "h100")
    problem = only_problem(load_problems(tmp_path), path)
    assert problem.field == "id"
    assert "rename the file to 'h100-sxm.yaml'" in problem.fix


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    text = TEMPLATE.read_text(encoding="utf-8").replace(
        "kind: gpu", "kind: [gpu", 1
    )  # an unclosed flow sequence
    path = write_part(tmp_path, text, "h100-sxm")
    problem = only_problem(load_problems(tmp_path), path)
    assert problem.field.startswith("line ")
    assert "malformed YAML" in problem.problem
    assert "YAML syntax" in problem.fix


def test_misspelt_field_and_bad_precision(tmp_path: Path) -> None:
    data = template()
    data["tdp_w"] = data.pop("tdp")
    data["peak_dense"]["fp12"] = data["peak_dense"]["fp8"]
    path = write_part(tmp_path, data, "h100-sxm")
    problems = load_problems(tmp_path)
    fields = {p.field for p in problems}
    assert {"tdp", "tdp_w"} <= fields
    assert any(f.startswith("peak_dense.fp12") for f in fields)
    assert all(p.file == str(path) and p.fix for p in problems)


def test_every_problem_in_every_file_is_reported_at_once(tmp_path: Path) -> None:
    """Two bad files, two bad fields in the first: three problems in one error."""
    first = template()
    first["tdp"]["value"] = "700 GB"
    first["memory_capacity"]["value"] = "80 W"
    second = template()
    second["id"] = "h100-other"
    second["io_bandwidth"]["value"] = 128
    path_a = write_part(tmp_path, first, "h100-sxm")
    path_b = write_part(tmp_path, second, "h100-other", vendor="other")
    problems = load_problems(tmp_path)
    found = {(p.file, p.field) for p in problems}
    assert found == {
        (str(path_a), "tdp.value"),
        (str(path_a), "memory_capacity.value"),
        (str(path_b), "io_bandwidth.value"),
    }


# --- overlays ----------------------------------------------------------------------------------


def test_overlay_replaces_a_shipped_part_and_adds_a_new_one(tmp_path: Path) -> None:
    replaced = template()
    replaced["tdp"]["value"] = "650 W"
    added = template()
    added["id"] = "h100-lab"
    added["name"] = "H100 SXM in our lab at 500 W"
    added["tdp"] = {
        "value": "500 W",
        "source": "http://lab.example/power-cap",
        "confidence": "measured",
    }
    write_part(tmp_path, replaced, "h100-sxm", vendor="nvidia")
    write_part(tmp_path, added, "h100-lab", vendor="nvidia")
    catalogue = Catalogue.load([tmp_path])
    assert len(catalogue) == len(ALL_IDS) + 1  # the shipped parts and the one added
    assert catalogue["h100-sxm"].tdp_w == 650
    assert catalogue["h100-sxm"].path.is_relative_to(tmp_path)
    assert catalogue["h100-lab"].tdp_w == 500
    assert catalogue["h100-lab"].provenance["tdp_w"].confidence == "measured"
    assert catalogue["h20"].path.is_relative_to(shipped_dir("hardware_profiles"))


def test_planner_profiles_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for root, tdp in ((first, "600 W"), (second, "550 W")):
        data = template()
        data["tdp"]["value"] = tdp
        write_part(root, data, "h100-sxm", vendor="nvidia")
    monkeypatch.setenv("PLANNER_PROFILES", os.pathsep.join([str(first), str(second)]))
    assert Catalogue.load()["h100-sxm"].tdp_w == 550  # later folders win


# --- the CLI -----------------------------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_cli_show_unknown_part_exits_2_with_suggestion() -> None:
    result = run("hardware", "show", "h21")
    assert result.exit_code == 2
    assert "did you mean 'h20'" in result.output
    assert "Traceback" not in result.output


def test_cli_list_json_lists_every_shipped_id() -> None:
    result = run("hardware", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert sorted(row["id"] for row in rows) == ALL_IDS


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--vendor", "amd", set(SHIPPED_IDS["amd"])),
        ("--vendor", "huawei", set(SHIPPED_IDS["huawei"])),
        ("--kind", "cpu", CPU_IDS),
    ],
)
def test_cli_list_filters(option: str, value: str, expected: set[str]) -> None:
    result = run("hardware", "list", option, value, "--format", "json")
    assert result.exit_code == 0, result.output
    assert {row["id"] for row in json.loads(result.stdout)} == expected


def test_cli_show_json_carries_sources() -> None:
    result = run("hardware", "show", "h20", "--format", "json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["tpp"] == pytest.approx(2368)
    figures = {row["field"]: row for row in shown["figures"]}
    assert figures["peak_dense.fp8"]["confidence"] == "press"
    assert "tomshardware.com" in figures["peak_dense.fp8"]["source"]


def test_cli_bad_overlay_exits_2_naming_file_field_fix(tmp_path: Path) -> None:
    data = template()
    data["tdp"]["value"] = "70 GB"
    path = write_part(tmp_path, data, "h100-sxm", vendor="nvidia")
    result = run("hardware", "list", "--profiles", str(tmp_path))
    assert result.exit_code == 2
    assert f"{path}: tdp.value: '70 GB' is not a power. Fix: write e.g. '700 W'." in result.output
    assert "Traceback" not in result.output


def test_cli_overlay_adds_a_part(tmp_path: Path) -> None:
    data = template()
    data["id"] = "h100-lab"
    write_part(tmp_path, data, "h100-lab", vendor="nvidia")
    result = run("hardware", "list", "--profiles", str(tmp_path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert "h100-lab" in {row["id"] for row in json.loads(result.stdout)}
