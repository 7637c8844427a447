"""The parsed-catalogue cache (planner/cache.py): the same catalogue and regimes as reading the
files, kept while the files and the code are unchanged, never in the way (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import planner.catalogue.parts as parts_module
import planner.rules.regimes as regimes_module
from planner.cache import cache_dir
from planner.catalogue.parts import Catalogue
from planner.errors import InputError, InputWarning
from planner.paths import shipped_dir
from planner.rules import RegimeLibrary

PLANNER = Path(sys.executable).with_name("planner")
H20 = shipped_dir("hardware_profiles") / "nvidia" / "h20.yaml"
COMMANDS = (
    ("hardware", "list", "--format", "json"),
    ("export", "classify", "h20", "--buyer", "CN", "--format", "json"),
    ("export", "regimes", "--format", "json"),
    ("hardware", "show", "h20", "--format", "json"),
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test only, and no user overlays."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("PLANNER_CACHE", str(folder))
    monkeypatch.delenv("PLANNER_PROFILES", raising=False)
    return folder


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Every part and regime file read from disk (not served from the cache)."""
    seen: list[Path] = []
    load_part, parse = parts_module.load_part, regimes_module._parse

    def counting_load_part(path: Path) -> parts_module.Part:
        seen.append(path)
        return load_part(path)

    def counting_parse(path: Path) -> regimes_module.RegimeFile:
        seen.append(path)
        return parse(path)

    monkeypatch.setattr(parts_module, "load_part", counting_load_part)
    monkeypatch.setattr(regimes_module, "_parse", counting_parse)
    yield seen


def overlay_with_h20(root: Path, tdp: str = "400 W") -> Path:
    """An overlay replacing the shipped H20 with a copy of another TDP; its file's path."""
    path = root / "hardware_profiles" / "nvidia" / "h20.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = H20.read_text(encoding="utf-8")
    assert "value: 400 W" in text  # the shipped TDP this copy rewrites
    path.write_text(text.replace("value: 400 W", f"value: {tdp}", 1), encoding="utf-8")
    return path


def assert_same_catalogue(a: Catalogue, b: Catalogue) -> None:
    """Equal parts, and equal provenance (which `Part.__eq__` leaves out) and paths."""
    assert a == b
    assert list(a.parts) == list(b.parts)
    for part in a:
        other = b[part.id]
        assert dict(part.provenance) == dict(other.provenance), part.id
        assert part.path == other.path
        assert dict(part.peak_dense_ops_per_s) == dict(other.peak_dense_ops_per_s)


def test_the_cached_catalogue_and_regimes_equal_the_files(
    cache: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first_catalogue, first_regimes = Catalogue.load(), RegimeLibrary.load()
    assert reads and len(list(cache.glob("*.pickle"))) == 2
    reads.clear()
    cached_catalogue, cached_regimes = Catalogue.load(), RegimeLibrary.load()
    assert reads == []  # both served from the cache
    monkeypatch.setenv("PLANNER_CACHE", "off")
    fresh_catalogue, fresh_regimes = Catalogue.load(), RegimeLibrary.load()
    assert reads  # read from the files
    for catalogue in (first_catalogue, cached_catalogue):
        assert_same_catalogue(catalogue, fresh_catalogue)
    assert cached_regimes == fresh_regimes == first_regimes
    assert list(cached_regimes.regimes) == list(fresh_regimes.regimes)
    # Read-only mappings stay read-only
    with pytest.raises(TypeError):
        cached_catalogue.parts["x"] = cached_catalogue["h20"]  # type: ignore[index]
    with pytest.raises(TypeError):
        cached_catalogue["h20"].provenance["tdp_w"] = None  # type: ignore[index]


def test_a_changed_file_is_read_again(cache: Path, reads: list[Path], tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    path = overlay_with_h20(overlay, "400 W")
    assert Catalogue.load([overlay])["h20"].tdp_w == 400.0
    reads.clear()
    assert Catalogue.load([overlay])["h20"].tdp_w == 400.0
    assert reads == []
    path.write_text(path.read_text(encoding="utf-8").replace("400 W", "410 W", 1))
    assert Catalogue.load([overlay])["h20"].tdp_w == 410.0
    assert path in reads
    assert Catalogue.load()["h20"].tdp_w == 400.0  # the shipped catalogue, its own entry


def test_a_file_added_or_removed_is_seen(cache: Path, tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    (overlay / "hardware_profiles").mkdir(parents=True)
    shipped = len(Catalogue.load([overlay]))
    added = overlay_with_h20(overlay)
    moved = added.parent.parent / "other" / "h20-copy.yaml"
    moved.parent.mkdir()
    moved.write_text(added.read_text(encoding="utf-8").replace("id: h20", "id: h20-copy", 1))
    assert len(Catalogue.load([overlay])) == shipped + 1
    moved.unlink()
    assert len(Catalogue.load([overlay])) == shipped


def test_a_broken_file_is_refused_every_time(cache: Path, tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    path = overlay_with_h20(overlay)
    Catalogue.load([overlay])  # kept
    path.write_text(path.read_text(encoding="utf-8").replace("value: 400 W", "value: 400 X", 1))
    for _ in range(2):
        with pytest.raises(InputError) as caught:
            Catalogue.load([overlay])
        assert "tdp" in str(caught.value)


def test_a_load_that_warns_warns_every_time_and_is_not_kept(cache: Path, tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay_with_h20(overlay, "5000 W")  # inside the hard range, outside the typical one
    for _ in range(2):
        with pytest.warns(InputWarning, match="tdp"):
            assert Catalogue.load([overlay])["h20"].tdp_w == 5000.0
    assert Catalogue.load().parts  # the shipped catalogue is kept
    assert len(list(cache.glob("catalogue-*.pickle"))) == 1


def test_a_damaged_cache_is_read_past_and_rewritten(cache: Path, reads: list[Path]) -> None:
    expected = Catalogue.load()
    for damage in (b"", b"power-compute-planner cache", b"\x80\x05garbage"):
        for entry in cache.glob("*.pickle"):
            entry.write_bytes(entry.read_bytes()[:200] if damage == b"" else damage)
        reads.clear()
        assert_same_catalogue(Catalogue.load(), expected)
        assert reads  # read from the files, and kept again
        reads.clear()
        Catalogue.load()
        assert reads == []


def test_an_unusable_cache_folder_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PLANNER_CACHE", str(blocker / "cache"))
    assert Catalogue.load()["h20"].tdp_w == 400.0
    assert len(RegimeLibrary.load()) > 0


def test_planner_cache_off_reads_the_files_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[Path]
) -> None:
    monkeypatch.setenv("PLANNER_CACHE", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() is None
    Catalogue.load()
    reads.clear()
    Catalogue.load()
    assert reads
    assert not list(tmp_path.rglob("*.pickle"))


def test_the_default_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PLANNER_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "power-compute-planner"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "power-compute-planner"


def _planner(args: tuple[str, ...], cache: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLANNER_CACHE": cache}
    env.pop("PLANNER_PROFILES", None)
    return subprocess.run(
        [str(PLANNER), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: "-".join(a[:2]))
def test_the_commands_print_the_same_with_and_without_the_cache(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    without = _planner(args, "off", tmp_path)
    assert without.returncode == 0, without.stderr
    for _ in range(2):  # a miss that fills the cache, then a hit
        with_cache = _planner(args, str(tmp_path / "cache"), tmp_path)
        assert (with_cache.returncode, with_cache.stdout, with_cache.stderr) == (
            0,
            without.stdout,
            without.stderr,
        )
    assert len(list((tmp_path / "cache").glob("*.pickle"))) >= 1


def test_an_input_error_reads_the_same_with_and_without_the_cache(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    path = overlay_with_h20(overlay)
    args = ("hardware", "list", "--profiles", str(overlay), "--format", "json")
    assert _planner(args, str(tmp_path / "cache"), tmp_path).returncode == 0  # kept
    path.write_text(path.read_text(encoding="utf-8").replace("value: 400 W", "value: 400 X", 1))
    without = _planner(args, "off", tmp_path)
    assert without.returncode == 2 and "tdp" in without.stderr
    for _ in range(2):
        with_cache = _planner(args, str(tmp_path / "cache"), tmp_path)
        assert (with_cache.returncode, with_cache.stdout, with_cache.stderr) == (
            2,
            "",
            without.stderr,
        )


def test_a_cache_hit_loads_neither_pint_nor_numpy_nor_yaml(tmp_path: Path) -> None:
    """What makes the catalogue and rules commands start quickly (benches/test_cli_startup.py)."""
    code = (
        "import sys\n"
        "sys.argv = ['planner', *sys.argv[1:]]\n"
        "from cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('pint', 'numpy', 'pandas', 'yaml') if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    env = {**os.environ, "PLANNER_CACHE": str(tmp_path / "cache")}
    for args in COMMANDS[:2]:
        runs = [
            subprocess.run(
                [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True
            )
            for _ in range(2)
        ]
        assert "pint" in runs[0].stderr  # the miss parsed the files
        assert runs[1].stderr.strip().splitlines()[-1] == "[]", runs[1].stderr
