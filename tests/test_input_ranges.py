"""Issue 16, "silent acceptance": every numeric schema field declares its hard and typical range
once, next to the field (planner.schema.Bounds); a value outside the hard range exits 2 naming
file, field, value and range; one outside the typical range loads with a warning naming the
same; NaN and infinity are refused in YAML, strings with units and CSVs; two files with one id
are refused naming both.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import pytest
import yaml
from typer.testing import CliRunner

import planner.catalogue.parts
import planner.catalogue.servers
import planner.demand.schema
import planner.demand.shapes
import planner.plan.resolve_flex
import planner.plan.scenario
import planner.rules.schema
import planner.serving.efficiency
import planner.serving.fitted
import planner.serving.power_cap
import planner.serving.served
import planner.serving.workloads
import planner.sites.schema  # noqa: F401 - every schema module, for StrictModel's subclasses
from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.catalogue.servers import ServerLibrary
from planner.demand.shapes import read_shape_yaml, shipped_shapes
from planner.errors import InputWarning
from planner.plan.resolve_flex import RegionalLoadFile
from planner.plan.scenario import load_scenario
from planner.provenance import FigureIn
from planner.rules.regimes import RegimeLibrary
from planner.schema import Bounds, StrictModel, _bounded_fields
from planner.serving.efficiency import load_stacks
from planner.serving.power_cap import load_power_caps
from planner.serving.workloads import WorkloadLibrary
from planner.sites.site import load_site
from planner.yamlio import read_yaml, validate

REPO = Path(__file__).resolve().parents[1]
H100 = REPO / "hardware_profiles/nvidia/h100-sxm.yaml"
SITE = REPO / "scenarios/sites/guangdong_zhongshan.yaml"
TINY = REPO / "scenarios/tiny/one_site_two_parts.yaml"

# Fields that hold figures but no quantity: text, dates, periods and table keys, each read and
# checked by its own loader (a date parser, a precision list, a period of the horizon).
NOT_QUANTITIES = {
    "PartFile.launch_date",  # a date
    "PartFile.process_node",  # text ('4N')
    "PartFile.scale_up_topology",  # text: mesh or switch
    "PriceIn.value",  # the figure itself; ranged where PartFile uses it (unit_price)
    "FigureIn.value",  # the figure itself; ranged where each schema uses it
    "ListFigureIn.value",  # likewise
    "HorizonIn.start",  # a period label (2026 or '2026Q1')
    "HorizonIn.end",
    "LogisticIn.midpoint",  # a period label or a fractional year, checked against the horizon
    "ServedIn.weights",  # a list of precision names
    "ServedIn.kv",
    "WorkloadFile.weight_precision",  # a precision name
    "WorkloadFile.kv_precision",
    "WorkloadFile.serving_precisions",
    "WorkloadFile.attention_precision",  # precision names keyed by precision names
    "TouIn.months",  # month numbers as keys, checked 1..12 by the tariff reader
    "ServerFile.nics",  # text ("8 x ConnectX-7 400 Gb/s")
    "GridOptionIn.available_from",  # a period label
}


def _schemas() -> list[type[StrictModel]]:
    out: list[type[StrictModel]] = []
    stack = list(StrictModel.__subclasses__())
    while stack:
        cls = stack.pop()
        out.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted(set(out), key=lambda c: (c.__module__, c.__name__))


def _numeric(annotation: Any) -> bool:
    """Whether a field's type can hold a number: int, float or a figure (not bool)."""
    if annotation is bool:
        return False
    if annotation in (int, float):
        return True
    if isinstance(annotation, type) and issubclass(annotation, FigureIn):
        return True
    origin = get_origin(annotation)
    if origin is Literal:
        return False
    if origin is Annotated:
        return _numeric(get_args(annotation)[0])
    return any(_numeric(arg) for arg in get_args(annotation))


def test_every_numeric_field_of_every_input_schema_declares_its_range() -> None:
    schemas = _schemas()
    assert len(schemas) > 40  # parts, workloads, sites, scenarios, demand, rules, shapes, serving
    missing = [
        f"{cls.__module__}.{cls.__name__}.{name}"
        for cls in schemas
        for name, info in cls.model_fields.items()
        if name not in _bounded_fields(cls)
        and _numeric(info.annotation)
        and f"{cls.__name__}.{name}" not in NOT_QUANTITIES
    ]
    assert missing == []


def test_every_input_schema_is_strict_and_frozen() -> None:
    for cls in _schemas():
        config = cls.model_config
        assert config.get("extra") == "forbid", cls
        assert config.get("frozen") is True, cls
        assert config.get("allow_inf_nan") is False, cls


def test_a_typical_range_outside_its_hard_range_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="typical range"):
        Bounds("W", hard=(0, 10), typical=(5, 20))
    with pytest.raises(ValueError, match="unknown display unit"):
        Bounds("furlongs", hard=(0, 10))


def test_every_shipped_file_loads_without_a_range_warning() -> None:
    """The typical ranges hold every shipped figure: a warning is news, never noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        assert len(Catalogue.load()) >= 26
        assert len(ServerLibrary.load().servers) >= 10
        assert len(WorkloadLibrary.load()) >= 13
        load_stacks()
        load_power_caps()
        RegimeLibrary.load()
        for path in shipped_shapes().values():
            read_shape_yaml(path)
        for path in sorted((REPO / "scenarios/sites").glob("*.yaml")):
            if "monthly_hourly_mw" in path.read_text(encoding="utf-8"):  # a regional load
                validate(RegionalLoadFile, read_yaml(path), path)
            else:
                load_site(path)
        for path in sorted(REPO.glob("scenarios/*.yaml")) + sorted(
            REPO.glob("scenarios/tiny/*.yaml")
        ):
            load_scenario(path)


# --------------------------------------------------------------------------- via the CLI


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def _overlay_part(tmp_path: Path, edit: dict[str, Any], source: Path = H100) -> Path:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    for key, value in edit.items():
        data[key]["value"] = value
    path = tmp_path / "overlay/hardware_profiles" / source.parent.name / source.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_700_kw_tdp_is_refused_naming_file_field_value_and_range(tmp_path: Path) -> None:
    path = _overlay_part(tmp_path, {"tdp": "700 kW"})
    code, output = _run("hardware", "show", "h100-sxm", "--profiles", str(tmp_path / "overlay"))
    assert code == 2
    assert (
        f"{path}: tdp.value: '700 kW' (700,000 W) is outside the possible range: a TDP must be "
        "above 0, up to 20,000 W. Fix: write a value above 0, up to 20,000 W; check the unit and "
        "the figure against its source." in " ".join(output.split())
    )
    assert "Traceback" not in output


def test_a_figure_outside_its_typical_range_loads_with_a_warning(tmp_path: Path) -> None:
    path = _overlay_part(tmp_path, {"tdp": "3.5 kW"})
    code, output = _run(
        "hardware", "show", "h100-sxm", "--profiles", str(tmp_path / "overlay"), "-f", "json"
    )
    assert code == 0
    assert (
        f"warning: {path}: tdp.value: '3.5 kW' (3500 W) is outside the typical range 10 to "
        "3000 W; it is used as written." in " ".join(output.split())
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (".nan", "nan is not a number a figure can hold"),
        (".inf", "inf is not a number a figure can hold"),
        ("nan W", "'nan W' is not a finite quantity"),
        ("1e999 W", "'1e999 W' is not a finite quantity"),
    ],
)
def test_a_non_finite_figure_is_refused(tmp_path: Path, value: str, words: str) -> None:
    path = _overlay_part(tmp_path, {"tdp": yaml.safe_load(value)})
    code, output = _run("hardware", "show", "h100-sxm", "--profiles", str(tmp_path / "overlay"))
    assert code == 2, output
    assert f"{path}: tdp.value: {words}" in output
    assert "Traceback" not in output


def _site(tmp_path: Path, edit: Any) -> Path:
    data = yaml.safe_load(SITE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / SITE.name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (
            lambda d: d["grid"]["import_cap"].update(value=float("inf")),
            "grid.import_cap.value",
            "inf is not a number a figure can hold",
        ),
        (
            lambda d: d["grid"]["import_cap"].update(value="inf MW"),
            "grid.import_cap.value",
            "'inf MW' is not a finite quantity",
        ),
        (
            lambda d: d["location"].update(latitude_deg=float("nan")),
            "location.latitude_deg",
            "Input should be a finite number",
        ),
        (
            lambda d: d["load"]["it_load"]["daily_profile_fraction"]["value"].__setitem__(
                3, float("nan")
            ),
            "load.it_load.daily_profile_fraction.value[3]",
            "Input should be a finite number",
        ),
    ],
)
def test_an_infinite_or_nan_site_figure_is_refused_and_nothing_solves(
    tmp_path: Path, edit: Any, field: str, words: str
) -> None:
    path, out = _site(tmp_path, edit), tmp_path / "run"
    code, output = _run("site", "size", str(path), "--out", str(out))
    assert code == 2, output
    assert f"{path}: {field}: {words}" in output
    assert not out.exists()


def test_a_nan_in_an_hourly_csv_is_refused_naming_the_row(tmp_path: Path) -> None:
    carolina = REPO / "scenarios/sites/north_carolina_greensboro.yaml"
    shutil.copy(carolina, tmp_path)
    lines = (carolina.parent / "north_carolina_it_load.csv").read_text().splitlines()
    header, first = lines[0], lines[1].split(",")
    column = header.split(",").index(
        yaml.safe_load(carolina.read_text())["load"]["it_load"]["csv"]["column"]
    )
    first[column] = "nan"
    lines[1] = ",".join(first)
    (tmp_path / "north_carolina_it_load.csv").write_text("\n".join(lines) + "\n")
    code, output = _run("site", "size", str(tmp_path / carolina.name), "--out", str(tmp_path / "r"))
    assert code == 2, output
    assert "load.it_load.csv.file" in output
    assert "not finite (nan, inf): first at data row 1" in " ".join(output.split())
    assert not (tmp_path / "r").exists()


def test_two_part_files_with_one_id_are_refused_naming_both(tmp_path: Path) -> None:
    first = _overlay_part(tmp_path, {})
    second = tmp_path / "overlay/hardware_profiles/acme" / H100.name
    second.parent.mkdir(parents=True)
    shutil.copy(first, second)
    code, output = _run("hardware", "list", "--profiles", str(tmp_path / "overlay"))
    assert code == 2
    text = " ".join(output.split())
    assert f"{first}: id: part id 'h100-sxm' is also the id of {second}." in text
    assert "Fix: give one of the two files another id" in text


def test_an_overlay_replacing_an_id_from_another_vendor_folder_says_so(tmp_path: Path) -> None:
    path = tmp_path / "overlay/hardware_profiles/acme" / H100.name
    path.parent.mkdir(parents=True)
    shutil.copy(H100, path)
    with pytest.warns(InputWarning, match=rf"{path}: id: replaces part 'h100-sxm' of {H100}"):
        catalogue = Catalogue.load([tmp_path / "overlay"])
    assert catalogue["h100-sxm"].path == path
    with warnings.catch_warnings():  # the documented replacement, at the same place: no warning
        warnings.simplefilter("error", InputWarning)
        _overlay_part(tmp_path / "same", {})
        assert Catalogue.load([tmp_path / "same/overlay"])["h100-sxm"].path != H100
