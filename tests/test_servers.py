"""Server profiles (issue 15): the shipped bills, what follows from them, and the reader's errors
(file, field, fix; exit code 2 through the CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.catalogue.servers import ServerLibrary, servers_with_parts
from planner.errors import InputError
from planner.paths import shipped_dir

SHIPPED = {
    # id: (accelerator, per server, host CPU, per server)
    "hgx-h20": ("h20", 8, "xeon-8480c", 2),
    "hgx-h200": ("h200", 8, "xeon-8480c", 2),
    "hgx-b200": ("b200", 8, "xeon-8570", 2),
    "gb200-nvl72": ("gb200", 72, "grace", 36),
    "atlas-800t-a2": ("ascend-910b", 8, "kunpeng-920", 4),
    "atlas-800t-a3": ("ascend-910c", 8, "kunpeng-920", 4),
    "alibaba-ppu-server": ("zhenwu-ppu", 16, "yitian-710", 2),
    "mi300x-platform": ("mi300x", 8, "epyc-9654", 2),
    "mi355x-platform": ("mi355x", 8, "epyc-9575f", 2),
    "yitian-710-server": (None, 0, "yitian-710", 1),
}
SERVERS_DIR = shipped_dir("hardware_profiles") / "servers"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture(scope="module")
def library(catalogue: Catalogue) -> ServerLibrary:
    return servers_with_parts((), catalogue)


def test_every_shipped_server_loads_with_its_bill(library: ServerLibrary) -> None:
    assert set(library.servers) == set(SHIPPED)
    for server_id, (acc, n_acc, cpu, n_cpu) in SHIPPED.items():
        s = library[server_id]
        assert (s.accelerator, s.accelerators_per_server) == (acc, n_acc)
        assert (s.host_cpu, s.cpus_per_server) == (cpu, n_cpu)
        assert s.kind == ("cpu" if acc is None else "accelerated")
        assert s.platform_price and s.platform_price > 0 and s.price_currency == "USD"


@pytest.mark.parametrize("server_id", sorted(SHIPPED))
def test_every_figure_has_a_source_and_an_estimate_says_how(
    library: ServerLibrary, server_id: str
) -> None:
    server = library[server_id]
    for key in ("host_cpus", "memory_bytes", "nics", "overhead_w", "platform_price"):
        prov = server.provenance[key]
        if prov.source is None:
            assert prov.note, f"{server_id}: unknown {key} needs a note"
            continue
        assert prov.source.url and prov.source.title != prov.source.key, (server_id, key)
        if prov.confidence == "estimate":
            assert prov.note, f"{server_id}: estimated {key} must say how"


def test_host_watts_follow_from_the_bill(library: ServerLibrary, catalogue: Catalogue) -> None:
    """W_host = n_cpu x TDP_cpu + overhead; per accelerator it equals the part profile's
    server_overhead_power, which the bills split into host CPUs and the rest (hand-worked:
    DGX H200 (10,200 - 5,600) / 8 = 575 W, DGX B200 (14,300 - 8,000) / 8 = 787.5 W)."""
    h200 = library["hgx-h200"]
    assert h200.host_w(catalogue["xeon-8480c"]) == 2 * 350 + 3900 == 4600
    assert library["hgx-b200"].host_w(catalogue["xeon-8570"]) / 8 == 787.5
    for server in library.servers.values():
        if server.accelerator is None:
            continue
        per_part = server.host_w(catalogue[server.host_cpu]) / server.accelerators_per_server
        expected = catalogue[server.accelerator].server_overhead_w
        assert per_part == pytest.approx(expected, rel=1e-3), server.id


def test_a_cpu_server_has_cores_and_an_idle_draw(
    library: ServerLibrary, catalogue: Catalogue
) -> None:
    """Yitian server: 128 cores; idle 75 + 200 = 275 W; every core busy 250 + 200 = 450 W."""
    server, cpu = library["yitian-710-server"], catalogue["yitian-710"]
    assert server.cores(cpu) == 128
    assert server.idle_w(cpu) == 275
    assert server.host_w(cpu) == 450


# --- errors: file, field and fix -----------------------------------------------------------------


def shipped(server_id: str) -> dict[str, Any]:
    return yaml.safe_load((SERVERS_DIR / f"{server_id}.yaml").read_text())


def overlay(tmp_path: Path, data: dict[str, Any], name: str | None = None) -> Path:
    folder = tmp_path / "hardware_profiles" / "servers"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def problems_of(tmp_path: Path, catalogue: Catalogue) -> list[tuple[str, str, str]]:
    with pytest.raises(InputError) as err:
        servers_with_parts([tmp_path], catalogue)
    return [(Path(p.file).name, p.field, p.fix) for p in err.value.problems]


def test_an_unknown_part_names_file_field_and_the_closest(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    data = shipped("hgx-h20")
    data["accelerators"]["part"] = "h21"
    overlay(tmp_path, data)
    ((file, field, fix),) = problems_of(tmp_path, catalogue)
    assert (file, field) == ("hgx-h20.yaml", "accelerators.part")
    assert "did you mean 'h20'" in fix


def test_a_gpu_as_host_cpu_is_refused(tmp_path: Path, catalogue: Catalogue) -> None:
    data = shipped("hgx-h20")
    data["host_cpus"]["part"] = "h100-sxm"
    overlay(tmp_path, data)
    ((file, field, fix),) = problems_of(tmp_path, catalogue)
    assert (file, field) == ("hgx-h20.yaml", "host_cpus.part") and "CPU" in fix


def test_schema_problems_are_reported_together(tmp_path: Path) -> None:
    data = shipped("hgx-h200")
    data["accelerators"]["count"] = "eight"
    data["overhead_powr"] = data.pop("overhead_power")
    overlay(tmp_path, data)
    with pytest.raises(InputError) as err:
        ServerLibrary.load([tmp_path])
    fields = {p.field for p in err.value.problems}
    assert {"accelerators.count", "overhead_power", "overhead_powr"} <= fields, fields
    assert all(p.fix and p.file.endswith("hgx-h200.yaml") for p in err.value.problems)


def test_a_count_outside_its_range_is_refused_once_the_file_parses(tmp_path: Path) -> None:
    """Declared ranges (planner.schema.Bounds) are checked on a file that parses."""
    data = shipped("hgx-h200")
    data["host_cpus"]["count"] = 0
    overlay(tmp_path, data)
    with pytest.raises(InputError) as err:
        ServerLibrary.load([tmp_path])
    assert [p.field for p in err.value.problems] == ["host_cpus.count"]


def test_an_accelerated_server_must_list_its_accelerators(tmp_path: Path) -> None:
    data = shipped("hgx-h200")
    del data["accelerators"]
    overlay(tmp_path, data)
    with pytest.raises(InputError, match="lists its accelerators"):
        ServerLibrary.load([tmp_path])


def test_unit_currency_and_file_name_are_checked(tmp_path: Path) -> None:
    data = shipped("hgx-h200")
    data["overhead_power"]["value"] = "3900 kg"
    data["platform_price"].pop("currency")
    overlay(tmp_path, data, name="hgx-h2000")
    with pytest.raises(InputError) as err:
        ServerLibrary.load([tmp_path])
    fields = {p.field for p in err.value.problems}
    assert fields == {"overhead_power.value", "platform_price.currency", "id"}


def test_overlay_replaces_a_shipped_server(tmp_path: Path, catalogue: Catalogue) -> None:
    data = shipped("hgx-h20")
    data["overhead_power"]["value"] = "2000 W"
    overlay(tmp_path, data)
    assert servers_with_parts([tmp_path], catalogue)["hgx-h20"].overhead_w == 2000


def test_cli_lists_servers_and_a_bad_overlay_exits_2(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["hardware", "servers", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert rows["hgx-h200"]["host_w_per_accelerator"] == 575
    assert rows["yitian-710-server"]["cores_count"] == 128
    data = shipped("atlas-800t-a3")
    data["host_cpus"]["part"] = "kunpeng-902"
    overlay(tmp_path, data)
    result = runner.invoke(app, ["hardware", "servers", "--profiles", str(tmp_path)])
    assert result.exit_code == 2
    assert "atlas-800t-a3.yaml: host_cpus.part" in result.stderr
    assert "did you mean 'kunpeng-920'" in result.stderr and "Traceback" not in result.output
