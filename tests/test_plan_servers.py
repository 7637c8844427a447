"""Plans that buy servers (issue 15): the bill sets parts per server, host watts and prices, host
CPUs appear in the JSON, the fleet table and the site load; CPU work buys CPU servers; every bad
entry exits 2 naming the file, the field and the fix.

The scenario is scenarios/tiny/cn_two_parts.yaml (a batch agent workload on H20 or Zhenwu PPU,
one Guangdong site, 2026-2027) with the parts in their server profiles, no H20 on offer (so the
PPU server is bought), 10 CPU core-seconds per request and Yitian 710 CPU servers.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from models.capacity_check import check_solution
from planner.errors import InputError
from planner.plan.scenario import parse_scenario
from planner.plan.solve import PlanResult, resolve, solve_plan, summary
from planner.results.plan_run import dispatch_table, fleet_table

ROOT = Path(__file__).resolve().parent.parent
CN = ROOT / "scenarios" / "tiny" / "cn_two_parts.yaml"
TEST = {"source": "test", "confidence": "estimate", "note": "test value."}


def with_servers() -> dict[str, Any]:
    """The tiny CN scenario buying servers, with CPU work and Yitian CPU servers."""
    data = yaml.safe_load(CN.read_text(encoding="utf-8"))
    h20, ppu = data["parts"]
    h20["server"], ppu["server"] = "hgx-h20", "alibaba-ppu-server"
    h20["supply_cap_parts"] = {2026: {"value": 0, **TEST}, 2027: {"value": 0, **TEST}}
    data["serving"][0]["cpu_core_s_per_request"] = {"value": 10, **TEST}
    data["cpu_servers"] = [{"server": "yitian-710-server", "lifetime_years": {"value": 5, **TEST}}]
    return data


def resolved(data: dict[str, Any], relax: bool = True) -> Any:
    return resolve(parse_scenario(data, CN), relax=relax)


@pytest.fixture(scope="module")
def result() -> PlanResult:
    res = solve_plan(resolved(with_servers(), relax=False), mip_gap=1e-4)
    assert check_solution(res.resolved.inputs, res.solution) == []
    return res


def test_the_bill_sets_parts_per_server_host_watts_and_price() -> None:
    """PPU server: 16 parts; host (2 x 250 W Yitian + 4,620 W) / 16 = 320 W per part; price per
    part = 11,000 + 32,010 / 16 = 13,000.625 USD (no decline). kappa = 10 core-s / (500 output +
    1,500 input tokens) = 0.005 core-s per token. Yitian server: 128 cores, 275 W idle, 450 W
    busy, 10,424 USD."""
    res = resolved(with_servers())
    x = res.inputs
    assert x.parts_per_server.tolist() == [8, 16]
    assert x.server_overhead_w.tolist() == [320.0, 320.0]
    assert x.price_per_part[1].tolist() == pytest.approx([13_000.625, 13_000.625])
    assert x.price_per_part[0].tolist() == pytest.approx([11_000 + 32_010 / 8] * 2)
    assert x.cpu is not None
    assert x.cpu.core_s_per_token.tolist() == pytest.approx([0.005])
    assert x.cpu.cores_per_server.tolist() == [128.0]
    assert (x.cpu.idle_w.tolist(), x.cpu.active_w.tolist()) == ([275.0], [450.0])
    assert x.cpu.price_per_server[0].tolist() == pytest.approx([10_424.0, 10_424.0])
    assert res.servers.part_servers == ("hgx-h20", "alibaba-ppu-server")
    assert res.servers.cpu_parts == ("xeon-8480c", "yitian-710")


def test_a_part_without_a_server_keeps_its_overhead_with_a_note() -> None:
    data = with_servers()
    del data["parts"][0]["server"]
    res = resolved(data)
    assert res.inputs.server_overhead_w[0] == 320.0  # the H20 profile's 0.8 x TDP
    assert res.inputs.parts_per_server[0] == 8
    assert any("h20: no server profile" in n and "server: hgx-h20" in n for n in res.notes)


def test_json_lists_host_cpus_and_cpu_servers_as_parts_of_kind_cpu(result: PlanResult) -> None:
    s = summary(result)
    ppu = [r for r in s["parts"] if r["part"] == "zhenwu-ppu"]
    assert ppu and all(r["kind"] == "gpu" and r["server"] == "alibaba-ppu-server" for r in ppu)
    hosts = {(r["site"], r["year"]): r["count"] for r in s["parts"]
             if r["kind"] == "cpu" and r["server"] == "alibaba-ppu-server"}  # fmt: skip
    for row in ppu:  # two Yitian hosts per 16 PPUs
        assert hosts[(row["site"], row["year"])] == pytest.approx(row["count"] / 8)
    cpu_servers = [r for r in s["parts"] if r["server"] == "yitian-710-server"]
    assert cpu_servers and all(r["part"] == "yitian-710" for r in cpu_servers)
    servers = {r["server"] for r in s["servers"]}
    assert servers == {"alibaba-ppu-server", "yitian-710-server"}
    assert all(site["cpu_peak_mw"] > 0 for site in s["sites"])
    assert s["costs"]["cpu_servers_capex"] > 0


def test_cpu_servers_cover_the_cpu_work(result: PlanResult) -> None:
    """Busy cores at every step >= kappa x tokens served there (eq. 22), and the CPU servers'
    power is in the IT power (the checker recomputes both)."""
    x, sol = result.resolved.inputs, result.solution
    served = np.einsum("wp,wpsyt->wsyt", x.tokens_per_s_per_part, sol.parts_busy)
    need = np.einsum("w,wsyt->syt", x.cpu.core_s_per_token, served)
    cores = np.einsum("c,csyt->syt", x.cpu.cores_per_server, sol.cpu_servers_busy)
    assert need.max() > 0
    assert np.all(cores >= need - 1e-6 * need.max())
    assert np.all(sol.it_power_mw >= sol.cpu_power_mw - 1e-9)


def test_fleet_and_dispatch_tables_carry_the_cpus(result: PlanResult) -> None:
    fleet = fleet_table(result)
    cpus = fleet[fleet["kind"] == "cpu"]
    assert set(cpus["part"]) == {"yitian-710"}
    assert (cpus["it_power_mw"] > 0).all()
    dispatch = dispatch_table(result)
    assert (dispatch["cpu_power_mw"] > 0).all()
    assert (dispatch["cpu_power_mw"] <= dispatch["it_power_mw"] + 1e-9).all()


def test_backends_agree_on_a_plan_with_servers_and_cpu_work() -> None:
    x = resolved(with_servers())
    a = solve_plan(x, backend="cvxpy", duals=False).solution
    b = solve_plan(x, backend="pyomo", duals=False).solution
    assert check_solution(x.inputs, b) == []
    assert a.objective == pytest.approx(b.objective, rel=1e-6)
    assert b.cpu_servers_bought.sum() > 0


# --- errors: file, field, fix; exit code 2 ------------------------------------------------------


def problems(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(InputError) as err:
        resolved(data)
    return [(p.field, p.problem, p.fix) for p in err.value.problems]


def test_an_unknown_server_offers_the_closest() -> None:
    data = with_servers()
    data["parts"][1]["server"] = "alibaba-ppu-sever"
    ((field, _problem, fix),) = problems(data)
    assert field == "parts[1].server" and "did you mean 'alibaba-ppu-server'" in fix


def test_a_server_of_another_part_names_the_right_one() -> None:
    data = with_servers()
    data["parts"][1]["server"] = "hgx-h20"
    ((field, problem, fix),) = problems(data)
    assert field == "parts[1].server" and "carries h20, not zhenwu-ppu" in problem
    assert "alibaba-ppu-server" in fix


def test_parts_per_server_must_match_the_server() -> None:
    data = with_servers()
    data["parts"][1]["parts_per_server"] = 8
    ((field, problem, _fix),) = problems(data)
    assert field == "parts[1].parts_per_server" and "16" in problem


def test_cpu_work_needs_cpu_servers() -> None:
    data = with_servers()
    del data["cpu_servers"]
    ((field, _problem, fix),) = problems(data)
    assert field == "cpu_servers" and "yitian-710-server" in fix


def test_an_accelerator_server_is_no_cpu_server() -> None:
    data = with_servers()
    data["cpu_servers"][0]["server"] = "hgx-h20"
    ((field, problem, _fix),) = problems(data)
    assert field == "cpu_servers[0].server" and "not a CPU server" in problem


def test_the_cli_exits_2_on_a_bad_server_entry(tmp_path: Path) -> None:
    data = copy.deepcopy(with_servers())
    data["parts"][0]["server"] = "hgx-h2"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(app, ["plan", str(path), "--relax", "--format", "json"])
    assert result.exit_code == 2
    assert "bad.yaml: parts[0].server" in result.stderr and "Fix:" in result.stderr
    assert "Traceback" not in result.output


def test_cli_json_has_kind_cpu_rows(tmp_path: Path) -> None:
    path = tmp_path / "servers.yaml"
    path.write_text(yaml.safe_dump(with_servers(), sort_keys=False))
    result = CliRunner().invoke(
        app, ["plan", str(path), "--relax", "--format", "json", "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    kinds = {(r["part"], r["kind"]) for r in data["parts"]}
    assert ("yitian-710", "cpu") in kinds and ("zhenwu-ppu", "gpu") in kinds
