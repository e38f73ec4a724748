"""The on-disk cache: right answers after a changed rule file, another package version, a
truncated or forged entry, and two processes writing at once; off when asked or unsafe."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import costgraph
import costgraph as cg
import costgraph.model as model_module
from costgraph import diskcache

from toymodel import PRESETS, RULES


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache folder of this test's own."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(diskcache.ENV_DIR, str(folder))
    monkeypatch.delenv(diskcache.ENV_OFF, raising=False)
    return folder


@pytest.fixture
def builds(monkeypatch):
    """How many times the rules were read and checked from their files."""
    calls = []
    real = model_module.load_ruleset

    def counting(root):
        calls.append(root)
        return real(root)

    monkeypatch.setattr(model_module, "load_ruleset", counting)
    return calls


def _fresh_load(path):
    """Load as a new process would: nothing kept in memory, only what is on disk."""
    model_module._CACHE.clear()
    return cg.load(path)


def _cost(model) -> float:
    return float(model.solve(find="cost_per_mtok").steps["cost_per_mtok"].value.magnitude)


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("rules-*.pickle"))


def test_unchanged_rules_load_from_disk_and_answer_the_same(cache, builds, make_rules):
    root = make_rules(core=RULES, presets={"toy": PRESETS})
    first = _cost(_fresh_load(root))
    assert len(builds) == 1 and len(_entries(cache)) == 1
    again = _cost(_fresh_load(root))
    assert len(builds) == 1  # read from disk, not from the files
    assert again == first


def test_a_changed_rule_file_is_read_again_even_with_the_same_size_and_time(cache, builds,
                                                                             make_rules):
    root = make_rules(core=RULES, presets={"toy": PRESETS})
    before = _cost(_fresh_load(root))
    presets = root / "presets" / "toy.yaml"
    stat = presets.stat()
    changed = presets.read_text().replace("price_per_hour: {value: 2 USD/h",
                                          "price_per_hour: {value: 4 USD/h")
    assert len(changed) == stat.st_size
    presets.write_text(changed)
    os.utime(presets, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # only the bytes differ
    after = _cost(_fresh_load(root))
    assert len(builds) == 2
    assert after != before and after == _cost(cg.load(root, cache=False))


def test_another_package_version_reads_the_rules_again(cache, builds, make_rules, monkeypatch):
    root = make_rules(core=RULES, presets={"toy": PRESETS})
    first = _cost(_fresh_load(root))
    monkeypatch.setattr(costgraph.version, "__version__", "0.0.0-other")
    assert _cost(_fresh_load(root)) == first
    assert len(builds) == 2 and len(_entries(cache)) == 2  # one entry per version


def test_a_truncated_entry_is_ignored_and_rewritten_whole(cache, builds, make_rules):
    root = make_rules(core=RULES, presets={"toy": PRESETS})
    first = _cost(_fresh_load(root))
    (entry,) = _entries(cache)
    whole = entry.read_bytes()
    entry.write_bytes(whole[: len(whole) // 2])
    assert _cost(_fresh_load(root)) == first
    assert len(builds) == 2
    assert entry.read_bytes() != whole[: len(whole) // 2]
    assert diskcache.load_object(entry.name) is not None  # whole and verified again


def test_a_corrupt_entry_is_ignored(cache, builds, make_rules):
    root = make_rules(core=RULES, presets={"toy": PRESETS})
    first = _cost(_fresh_load(root))
    (entry,) = _entries(cache)
    data = bytearray(entry.read_bytes())
    data[-10] ^= 0xFF
    entry.write_bytes(bytes(data))
    assert _cost(_fresh_load(root)) == first
    assert len(builds) == 2


class _Marker:
    """Unpickling this creates a file: proof that a pickle ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_an_entry_written_without_the_secret_is_never_unpickled(cache, tmp_path):
    marker = tmp_path / "ran"
    assert diskcache.write("probe.pickle", b"x")  # makes the folder and its secret
    payload = pickle.dumps(_Marker(str(marker)))
    forged = diskcache._MAGIC + b"\0" * 32 + payload  # right layout, a MAC it cannot make
    (cache / "probe.pickle").write_bytes(forged)
    assert diskcache.load_object("probe.pickle") is None
    assert not marker.exists()
    assert not (cache / "probe.pickle").exists()  # removed, to be rebuilt


def test_an_entry_renamed_from_another_name_fails_its_check(cache):
    assert diskcache.write("a.pickle", pickle.dumps(1))
    (cache / "a.pickle").rename(cache / "b.pickle")
    assert diskcache.load_object("b.pickle") is None


def test_a_folder_others_may_write_turns_the_cache_off(cache):
    assert diskcache.write("a.pickle", b"1")
    os.chmod(cache, 0o777)
    try:
        assert diskcache.read("a.pickle") is None
        assert not diskcache.write("b.pickle", b"2")
    finally:
        os.chmod(cache, 0o700)
    assert diskcache.read("a.pickle") == b"1"


def test_a_secret_others_may_read_turns_the_cache_off(cache):
    assert diskcache.write("a.pickle", b"1")
    os.chmod(cache / "secret", 0o644)
    assert diskcache.read("a.pickle") is None


def test_no_cache_environment_variable_writes_nothing(cache, monkeypatch, make_rules):
    monkeypatch.setenv(diskcache.ENV_OFF, "1")
    root = make_rules(core=RULES, presets={"toy": PRESETS})
    _cost(_fresh_load(root))
    assert not cache.exists() or not _entries(cache)


def test_load_without_cache_reads_the_files(cache, builds, make_rules):
    root = make_rules(core=RULES, presets={"toy": PRESETS})
    _cost(_fresh_load(root))
    cg.load(root, cache=False)
    assert len(builds) == 2


_WORKER = textwrap.dedent("""
    import sys
    import costgraph as cg
    model = cg.load(sys.argv[1])
    print(repr(float(model.solve(find="cost_per_mtok").steps["cost_per_mtok"].value.magnitude)))
""")


def test_processes_loading_at_once_all_answer_right_and_leave_a_good_entry(cache, make_rules):
    root = make_rules(core=RULES, presets={"toy": PRESETS})
    expected = _cost(cg.load(root, cache=False))
    env = {**os.environ, diskcache.ENV_DIR: str(cache)}
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(root)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    results = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0] * 4, [err for _, err in results]
    assert [float(out) for out, _ in results] == [expected] * 4
    (entry,) = _entries(cache)
    assert diskcache.load_object(entry.name) is not None
    assert not list(cache.glob(".tmp-*"))  # no temporary file left behind


_WRITER = textwrap.dedent("""
    import sys
    from costgraph import diskcache
    payload = bytes([int(sys.argv[1])]) * 2_000_000
    for _ in range(30):
        assert diskcache.write("race.pickle", payload)
        got = diskcache.read("race.pickle")
        assert got is None or got in (bytes([1]) * 2_000_000, bytes([2]) * 2_000_000), len(got)
""")


def test_two_processes_writing_one_entry_at_once_never_leave_half_of_it(cache):
    env = {**os.environ, diskcache.ENV_DIR: str(cache)}
    assert diskcache.write("warm.pickle", b"")  # the secret exists before the race
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(n)], env=env,
                                stderr=subprocess.PIPE, text=True) for n in (1, 2)]
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    assert diskcache.read("race.pickle") in (bytes([1]) * 2_000_000, bytes([2]) * 2_000_000)


def test_pints_cached_definitions_are_verified_entries(cache):
    with diskcache.pint_folder() as folder:
        import pint

        pint.UnitRegistry(cache_folder=folder)
    prefix = diskcache.pint_entry_prefix()
    listing = diskcache.read(f"{prefix}.list")
    assert listing  # pint's files were stored back, each as a checked entry
    names = listing.decode().split()
    victim = cache / f"{prefix}-{names[0]}"
    victim.write_bytes(b"not pint's")
    with diskcache.pint_folder() as folder:
        assert names[0] not in os.listdir(folder)  # a file that fails its check is not given


def test_a_removed_environments_pint_cache_does_not_break_the_start(cache, tmp_path):
    # pint's cached files name the definition files they came from by absolute path: an
    # environment that wrote them and was then removed must not leave the next start broken
    import shutil

    import pint

    elsewhere = tmp_path / "other-env"
    shutil.copytree(Path(pint.__file__).parent, elsewhere / "pint")
    env = {**os.environ, diskcache.ENV_DIR: str(cache),
           "PYTHONPATH": os.pathsep.join([str(elsewhere), os.environ.get("PYTHONPATH", "")])}
    build = "import costgraph.units as u, pint; print(pint.__file__, u.ureg('1 Mtok').to('token'))"
    first = subprocess.run([sys.executable, "-c", build], env=env, capture_output=True,
                           text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(str(elsewhere))  # the copy wrote its entries
    shutil.rmtree(elsewhere)
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    again = subprocess.run([sys.executable, "-c", build], env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split(" ", 1)[1].strip() == "1000000.0 token"


def test_an_error_inside_pints_folder_reaches_the_caller(cache):
    # it was swallowed, leaving the caller's registry unbound (an UnboundLocalError at start)
    with pytest.raises(OSError, match="pint failed"):
        with diskcache.pint_folder() as folder:
            raise OSError("pint failed")
    assert not Path(folder).exists()


def test_pints_folder_deleted_while_in_use_is_no_error(cache):
    import shutil

    with diskcache.pint_folder() as folder:
        shutil.rmtree(folder)  # the cache folder deleted by hand meanwhile
    assert not Path(folder).exists()


def test_the_registry_is_built_uncached_when_the_cache_folder_fails(cache, monkeypatch):
    from costgraph import units

    folders = []

    def failing(cache_folder):
        folders.append(cache_folder)
        if cache_folder is not None:
            raise FileNotFoundError(cache_folder)  # as when the folder vanishes under pint
        return real(cache_folder)

    real = units._registry
    monkeypatch.setattr(units, "_registry", failing)
    registry = units._build_registry()
    assert folders[-1] is None and len(folders) == 2
    assert str(registry.Quantity(3, "USD/Mtok").units) == "USD/Mtok"  # its own definitions


def _age(folder: Path, name: str, when: float) -> None:
    os.utime(folder / name, (when, when))


def test_the_folder_stays_under_its_bound_removing_what_was_used_longest_ago(cache, monkeypatch):
    monkeypatch.setenv(diskcache.ENV_MAX, "0.002")  # 2,000 bytes: five 440-byte entries pass it
    payload = b"x" * (440 - len(diskcache._MAGIC) - 32)  # magic and HMAC make each 440 bytes
    for i, name in enumerate("abcde"):
        assert diskcache.write(name, payload)
        assert (cache / name).stat().st_size == 440
        if name != "e":
            _age(cache, name, 1000.0 + i)  # written in this order, long ago
    # e took the folder to 2,200 bytes: the oldest go until it is under 1,500
    assert sorted(p.name for p in cache.iterdir() if p.name != "secret") == ["c", "d", "e"]
    assert (cache / "secret").exists()
    for i, name in enumerate("cde"):
        _age(cache, name, 2000.0 + i)
    assert diskcache.read("c") == payload  # c is used now: the newest
    assert diskcache.write("f", payload)  # 1,760 bytes: under the bound, nothing removed
    assert diskcache.write("g", payload)  # 2,200 again: d and e, used longest ago, go
    assert sorted(p.name for p in cache.iterdir() if p.name != "secret") == ["c", "f", "g"]


def test_a_bound_that_is_not_a_positive_number_is_named_and_the_default_kept(monkeypatch, capsys):
    for raw in ("lots", "-5", "0"):
        monkeypatch.setenv(diskcache.ENV_MAX, raw)
        assert diskcache.max_bytes() == diskcache.DEFAULT_MAX_MB * 1_000_000
        err = capsys.readouterr().err
        assert f"COSTGRAPH_CACHE_MAX_MB={raw!r} is not a positive number of megabytes" in err
    monkeypatch.setenv(diskcache.ENV_MAX, "64")
    assert diskcache.max_bytes() == 64_000_000


def test_a_pint_file_the_bound_removed_is_stored_again(cache):
    with diskcache.pint_folder() as work:
        Path(work, "defs.pickle").write_bytes(b"parsed")
    entry = cache / f"{diskcache.pint_entry_prefix()}-defs.pickle"
    assert entry.exists()
    entry.unlink()  # as the bound removes an entry used long ago; the listing still names it
    with diskcache.pint_folder() as work:
        assert not Path(work, "defs.pickle").exists()
        Path(work, "defs.pickle").write_bytes(b"parsed")  # pint parses it again
    assert entry.exists()
    with diskcache.pint_folder() as work:
        assert Path(work, "defs.pickle").read_bytes() == b"parsed"


def test_a_bad_bound_is_named_when_the_cache_is_only_read(cache, monkeypatch, capsys):
    assert diskcache.write("kept", b"data")
    capsys.readouterr()
    monkeypatch.setenv(diskcache.ENV_MAX, "plenty")
    assert diskcache.read("kept") == b"data"  # nothing written: the bound is still read
    assert "COSTGRAPH_CACHE_MAX_MB='plenty' is not a positive number" in capsys.readouterr().err
