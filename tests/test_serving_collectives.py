"""Collectives timed alone against the model's (docs/serving.md, "Collectives", K1-K3), and the
full-mesh scale-up fabric."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest
from replicas import bare_replica
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.errors import InputError
from planner.serving.collectives import (
    CollectiveMeasurement,
    collectives_summary,
    load_collective_measurements,
    modelled_s,
    shipped_collective_measurements,
    validate_collectives,
)
from planner.serving.efficiency import efficiency_for, load_stacks
from planner.serving.step import all_reduce_s, all_to_all_s, group_link_bytes_per_s


def _timing(part: str, kind: str, devices: int, size: float) -> CollectiveMeasurement:
    return CollectiveMeasurement("t", part, kind, "", "unknown", "", "", devices, size, 1.0)  # type: ignore[arg-type]


def test_a_mesh_gives_a_group_only_its_peers_links():
    """Switched: the whole link at any group. A mesh of 8 (7 peers): a group of 2 reaches 1/7
    of it, 4 reach 3/7, 8 all of it."""
    assert group_link_bytes_per_s(700e9, 2, 0) == 700e9
    assert group_link_bytes_per_s(700e9, 2, 7) == pytest.approx(100e9)
    assert group_link_bytes_per_s(700e9, 4, 7) == pytest.approx(300e9)
    assert group_link_bytes_per_s(700e9, 8, 7) == pytest.approx(700e9)


def test_an_mi300x_all_reduce_over_two_gpus_uses_one_xgmi_link():
    """Hand-worked at alpha 6 us, delta 1 us, e_ic 0.7: the MI300X's 896 GB/s over 7 peer links
    is 64 GB/s a link a direction, 44.8 GB/s at e_ic. 8 MiB over 2 GPUs: one-shot 7 us +
    8,388,608 B / 44.8 GB/s = 194.25 us; two-shot 14 us + 2 x 1/2 x the same = 201.25 us: 194.25.
    Over 8 GPUs all 7 links: two-shot 2 x 13 us + 1.75 x 8,388,608 / 313.6 GB/s = 72.81 us."""
    part = Catalogue.load()["mi300x"]
    assert part.scale_up_mesh
    eff = replace(
        efficiency_for(part, load_stacks()),
        collective_latency_s=6e-6,
        collective_peer_latency_s=1e-6,
        interconnect_fraction=0.7,
    )
    size = 8 * 2**20
    two = modelled_s(_timing("mi300x", "all_reduce", 2, size), part, eff)
    assert two == pytest.approx(7e-6 + size / 44.8e9)
    eight = modelled_s(_timing("mi300x", "all_reduce", 8, size), part, eff)
    assert eight == pytest.approx(26e-6 + 1.75 * size / 313.6e9)
    h100 = Catalogue.load()["h100-sxm"]
    assert not h100.scale_up_mesh  # NVSwitch: the whole link for a pair too
    pair = modelled_s(_timing("h100-sxm", "all_reduce", 2, size), h100, eff)
    assert pair == pytest.approx(7e-6 + size / 315e9)  # two GPUs: one-shot moves no more


def test_a_replica_on_a_mesh_splits_its_link_by_group():
    """The step's all-reduce and all-to-all see the same mesh share: TP2 on a mesh of 8 at 1/7
    of the link, an EP4 all-to-all at 3/7 of it."""
    replica = bare_replica(parts=2, tensor_parallel=2, link_bytes_per_s=700e9, mesh_peers=7)
    tokens = 2**20 / 2  # a 1 MiB message
    assert all_reduce_s(replica, tokens) == pytest.approx(2**20 / 100e9)
    assert all_reduce_s(replica, tokens, group=8) == pytest.approx(1.75 * 2**20 / 700e9)

    class Moe:
        experts_per_token, hidden_size = 8, 1024

    ep4 = replace(replica, parts=4, parallel="ep", tensor_parallel=1)
    sent = 100 * 8 * 1024 * (1.0 + 2.0)  # dispatch in 1 byte, combine in 2
    assert all_to_all_s(Moe(), ep4, 100) == pytest.approx(sent * 3 / 4 / 300e9)  # type: ignore[arg-type]


def test_the_shipped_timings_cite_their_sources():
    rows = load_collective_measurements(shipped_collective_measurements())
    assert len(rows) >= 50
    assert {r.part for r in rows} >= {"mi300x", "h100-sxm", "ascend-910c"}
    assert all(r.source_url.startswith("https://github.com/") for r in rows)
    assert len({r.id for r in rows}) == len(rows)


def test_a_bad_timing_names_its_file_line_and_field(tmp_path: Path):
    source = shipped_collective_measurements().read_text().splitlines()
    header = next(i for i, line in enumerate(source) if line.startswith("id,"))
    fields = source[header].split(",")
    row = next(csv.reader([source[header + 1]]))
    row[fields.index("collective")] = "broadcast"
    row[fields.index("devices")] = "1"
    row[fields.index("graphs")] = "maybe"
    bad = tmp_path / "c.csv"
    with bad.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(fields)
        writer.writerow(row)
    with pytest.raises(InputError) as info:
        load_collective_measurements(bad)
    text = str(info.value)
    assert f"{bad}: line 2, collective: 'broadcast' is not a collective" in text
    assert f"{bad}: line 2, devices: '1' is not a whole number of devices >= 2" in text
    assert f"{bad}: line 2, graphs: 'maybe' does not say whether graphs hid the launch" in text


def test_validate_collectives_cli_prints_rows_and_the_summary():
    result = CliRunner().invoke(app, ["serving", "validate", "--collectives", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    shipped = load_collective_measurements(shipped_collective_measurements())
    assert len(out["rows"]) == len(shipped)
    for row in out["rows"]:
        assert row["error_pct"] == pytest.approx(100 * (row["model_us"] / row["measured_us"] - 1))
    assert {s["stack"] for s in out["summary"]} == {"cann", "cuda", "rocm"}


def test_a_bad_timings_file_exits_2_naming_it(tmp_path: Path):
    bad = tmp_path / "c.csv"
    bad.write_text(
        "id,part,collective,devices,message_bytes,measured_us\nx,h100-sxm,gather,8,1,1\n"
    )
    result = CliRunner().invoke(app, ["serving", "validate", "--collectives", str(bad)])
    assert result.exit_code == 2
    assert "gather" in result.output and "c.csv" in result.output


def test_the_summary_groups_by_stack_and_collective():
    rows = validate_collectives(
        load_collective_measurements(shipped_collective_measurements()),
        Catalogue.load(),
        load_stacks(),
    )
    summary = collectives_summary(rows)
    by = {(s["stack"], s["collective"]): s for s in summary}
    priced = [r for r in rows if r.error is not None]
    assert sum(int(s["rows"]) for s in summary) == len(priced)  # type: ignore[call-overload]
    assert ("cann", "dispatch") in by and ("rocm", "all_reduce") in by


def test_energy_and_collectives_together_exit_2():
    result = CliRunner().invoke(app, ["serving", "validate", "--energy", "--collectives"])
    assert result.exit_code == 2
    assert "--collectives" in result.output
