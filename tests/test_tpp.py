"""TPP and performance density of every shipped NVIDIA and AMD part against the public record.

3A090 (Oct-2023 rule, technical notes): TPP = 2 x MacTOPS x bit length, at the precision that
gives the largest value, dense; datasheet dense TOPS/TFLOPS already equal 2 x MacTOPS, so
TPP = dense TOPS x bit length. PD = TPP / applicable die area, where the applicable die area
"is measured in millimeters squared and includes all die area of logic dies manufactured with a
process node that uses a non-planar transistor architecture" (FR Doc 2023-23055).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from planner.catalogue.parts import Catalogue
from planner.catalogue.tpp import total_processing_performance

# Part id -> (TPP, the arithmetic behind it, where the figure is published or derived).
PUBLIC_TPP: dict[str, tuple[float, str]] = {
    # Published TPP figures (BIS/press analyses of the Oct-2022 and Oct-2023 rules):
    "a100-sxm": (4992, "624 INT8 TOPS x 8 = 312 BF16 TFLOPS x 16 = 4,992"),
    "h100-sxm": (15832, "1,979 FP8 TFLOPS x 8 = 15,832"),
    "h20": (2368, "296 FP8 TFLOPS x 8 = 148 BF16 TFLOPS x 16 = 2,368"),
    "l20": (1912, "239 FP8 TFLOPS x 8 = 1,912"),
    "l40s": (5864, "733 FP8 TFLOPS x 8 = 5,864"),
    "mi300x": (20919.2, "2,614.9 FP8 TFLOPS x 8 = 20,919"),
    # Same arithmetic on the vendors' dense datasheet figures:
    "a800": (4992, "as A100: 624 x 8"),
    "h100-pcie": (12104, "1,513 FP8 TFLOPS x 8 = 12,104"),
    "h800": (15832, "as H100 SXM: 1,979 x 8"),
    "h200": (15832, "as H100 SXM: 1,979 x 8 (< 21,000, the Jan-2026 case-by-case test)"),
    "b200": (36000, "9,000 FP4 TFLOPS x 4 = 4,500 FP8 x 8 = 36,000"),
    "gb200": (40000, "10,000 FP4 TFLOPS x 4 = 40,000"),
    "b300": (52500, "13,125 FP4 TFLOPS x 4 = 52,500"),
    "mi325x": (20919.2, "as MI300X: 2,614.9 x 8 (< 21,000, named in Jan-2026)"),
    "mi355x": (60300, "10,050 FP6 TFLOPS (FP6 at the FP4 rate, 20.1 PF sparse / 2) x 6 = 60,300"),
    # Estimate-grade parts added for issue 13 (their profiles say how each rate was derived):
    "mi308x": (4272, "267 BF16 TFLOPS (a measured lower bound) x 16 = 534 FP8 x 8 = 4,272"),
    "rtx-pro-6000-server": (8000, "2,000 FP4 TFLOPS (4,000 sparse AI TOPS / 2) x 4 = 8,000"),
    "b30a": (26248, "half a B300: 6,562 FP4 TFLOPS x 4 = 26,248"),
}

# Part id -> PD, for parts whose applicable die area is a datasheet or press figure.
PUBLIC_PD: dict[str, tuple[float, str]] = {
    "a100-sxm": (6.04, "4,992 / 826 mm^2 (GA100)"),
    "a800": (6.04, "4,992 / 826 mm^2 (GA100)"),
    "h100-sxm": (19.45, "15,832 / 814 mm^2 (GH100)"),
    "h100-pcie": (14.87, "12,104 / 814 mm^2"),
    "h800": (19.45, "15,832 / 814 mm^2"),
    "h200": (19.45, "15,832 / 814 mm^2"),
    "h20": (2.91, "2,368 / 814 mm^2: below 3.2, so outside 3A090.b as well"),
    "l20": (3.14, "1,912 / 609 mm^2 (AD102): below 3.2"),
    "l40s": (9.63, "5,864 / 609 mm^2 (AD102)"),
    "rtx-pro-6000-server": (10.67, "8,000 (estimate) / 750 mm^2 (GB202)"),
}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def test_every_nvidia_and_amd_part_has_a_public_tpp(catalogue: Catalogue) -> None:
    shipped = {p.id for p in catalogue if p.vendor in {"nvidia", "amd"} and p.kind != "cpu"}
    assert shipped == set(PUBLIC_TPP)


@pytest.mark.parametrize("part_id", sorted(PUBLIC_TPP))
def test_tpp_matches_public_record(catalogue: Catalogue, part_id: str) -> None:
    expected, arithmetic = PUBLIC_TPP[part_id]
    result = total_processing_performance(catalogue[part_id])
    assert result.tpp == pytest.approx(expected, abs=0.05), arithmetic


def test_pd_is_tested_wherever_the_die_area_is_published(catalogue: Catalogue) -> None:
    published = {
        p.id
        for p in catalogue
        if p.vendor in {"nvidia", "amd"}
        and p.die_area_mm2 is not None
        and p.provenance["die_area_mm2"].confidence in {"datasheet", "press"}
    }
    assert published == set(PUBLIC_PD)


@pytest.mark.parametrize("part_id", sorted(PUBLIC_PD))
def test_performance_density_matches_public_record(catalogue: Catalogue, part_id: str) -> None:
    expected, arithmetic = PUBLIC_PD[part_id]
    result = total_processing_performance(catalogue[part_id])
    assert result.performance_density == pytest.approx(expected, abs=0.005), arithmetic


@pytest.mark.parametrize("part_id", ["b200", "gb200", "b300"])
def test_blackwell_pd_rests_on_an_estimated_area(catalogue: Catalogue, part_id: str) -> None:
    part = catalogue[part_id]
    assert part.provenance["die_area_mm2"].confidence == "estimate"
    assert "reticle" in (part.provenance["die_area_mm2"].note or "")


@pytest.mark.parametrize("part_id", ["mi300x", "mi325x", "mi355x"])
def test_amd_die_area_is_unknown_because_iods_count(catalogue: Catalogue, part_id: str) -> None:
    """N6 I/O dies are FinFET logic dies, so they count; their area is unpublished."""
    part = catalogue[part_id]
    assert part.die_area_mm2 is None
    assert "IOD" in (part.provenance["die_area_mm2"].note or "")
    assert total_processing_performance(part).performance_density is None


def test_tpp_takes_the_best_precision(catalogue: Catalogue) -> None:
    b200 = total_processing_performance(catalogue["b200"])
    assert b200.precision in {"fp4", "fp8", "int8"}  # 9,000 x 4 = 4,500 x 8 = 36,000
    l20 = total_processing_performance(catalogue["l20"])
    assert l20.precision in {"fp8", "int8", "tf32"}  # 239 x 8 = 59.75 x 32 = 1,912
    assert "1,912" in l20.arithmetic


def test_h20_and_l20_sit_below_3a090(catalogue: Catalogue) -> None:
    """Oct-2023 3A090.a: TPP >= 4,800, or TPP >= 1,600 with PD >= 5.92; .b adds PD >= 3.2."""
    for part_id in ("h20", "l20"):
        result = total_processing_performance(catalogue[part_id])
        assert result.tpp is not None and result.performance_density is not None
        assert result.tpp < 4800
        assert result.performance_density < 3.2


def test_sparse_figures_are_never_counted(catalogue: Catalogue) -> None:
    """Doubling (a 2:4 sparse figure) would double TPP: the shipped H100 is the dense one."""
    h100 = catalogue["h100-sxm"]
    assert h100.peak("fp8") == 1979e12
    doubled = dataclasses.replace(
        h100,
        peak_dense_ops_per_s=MappingProxyType({"fp8": 3958e12}),
    )
    assert total_processing_performance(doubled).tpp == pytest.approx(2 * 15832)


def test_no_throughput_means_unknown_tpp(catalogue: Catalogue) -> None:
    cpu = total_processing_performance(catalogue["yitian-710"])
    assert cpu.tpp is None and cpu.performance_density is None
    assert "TPP unknown" in cpu.arithmetic


def test_estimated_throughput_without_die_area_gives_tpp_but_no_density(
    catalogue: Catalogue,
) -> None:
    """Zhenwu PPU: BF16 estimated at 119 TFLOPS (deployment total / cards), die area unknown."""
    zhenwu = total_processing_performance(catalogue["zhenwu-ppu"])
    assert zhenwu.tpp == pytest.approx(119 * 16)
    assert zhenwu.performance_density is None
