"""Malformed exports, 1,000 per format, through the readers and the normaliser: each is either
read (a mutation can leave a valid file) or refused with one line and a TNMInputError — never
another exception.  Mutations that break a file for sure (a wrong unit, no heating scan, a
single scan, mixed decimal marks, binary bytes, an empty file) must be refused, and through
the command line they exit 2 with one line and write nothing."""
import re

import numpy as np
import pytest

from tnmlib.pipeline.exports.write import all_formats, synthetic_run
from tnmlib.cli import main
from tnmlib.errors import TNMInputError
from tnmlib.pipeline.read import read_run

CASES_PER_FORMAT = 1000
NAMES = ("trios.txt", "trios.csv", "trios.json", "netzsch.txt", "mettler.txt")
_NUMBER = re.compile(rb"(?<![\w.])-?\d+\.\d+(?:e[-+]?\d+)?")
_UNITS = {"trios.txt": (b"W/g", b"furlong"), "trios.csv": (b"mW", b"mV"), "trios.json": (b'"W/g"', b'"kg"'),
          "netzsch.txt": (b"(mW/mg)", b"(uV)"), "mettler.txt": (b"[mW]", b"[mA]")}


@pytest.fixture(scope="module")
def sources():
    """Per format: a small valid run, one without heating scans and one with a single usable scan."""
    full = synthetic_run(rates_K_per_min=(10.0, 40.0, 2.0), heating_step_K=2.0)
    cooling_only = [s for s in full if s.T_C[-1] < s.T_C[0]]
    single = synthetic_run(rates_K_per_min=(10.0,), heating_step_K=2.0)
    return {"valid": all_formats(full), "no heating": all_formats(cooling_only), "single": all_formats(single)}


def _mutate(data: bytes, name: str, rng: np.random.Generator, sources) -> tuple[bytes, bool, str]:
    """(mutated bytes, must it be refused, what was done)."""
    kind = int(rng.integers(12))
    lines = data.split(b"\n")
    if kind == 0:
        cut = int(rng.integers(0, len(data)))
        return data[:cut], cut < len(data) // 20, f"truncated at byte {cut}"
    if kind == 1:
        a = int(rng.integers(len(lines)))
        b = min(len(lines), a + int(rng.integers(1, 40)))
        return b"\n".join(lines[:a] + lines[b:]), False, f"lines {a}-{b} deleted"
    if kind == 2:
        matches = list(_NUMBER.finditer(data))
        m = matches[int(rng.integers(len(matches)))]
        junk = [b"abc", b"1.2.3", b"nan", b"inf", b"--", b"1e999", b"0x1F"][int(rng.integers(7))]
        return data[:m.start()] + junk + data[m.end():], False, f"a number replaced by {junk!r}"
    if kind == 3:
        old, new = _UNITS[name]
        return data.replace(old, new), old in data, "heat-flow unit changed"
    if kind == 4:
        return sources["no heating"][name], True, "no heating scan"
    if kind == 5:
        return sources["single"][name], True, "a single heating scan"
    if kind == 6:
        if name == "trios.json":
            return data.replace(b'"Results"', b'"Resultz"'), True, "no Results"
        matches = list(_NUMBER.finditer(data))
        chosen = rng.choice(len(matches), size=max(1, len(matches) // 3), replace=False)
        out, last = [], 0
        for i in sorted(chosen):
            m = matches[i]
            out += [data[last:m.start()], m.group().replace(b".", b",")]
            last = m.end()
        out.append(data[last:])
        return b"".join(out), True, "mixed decimal marks"
    if kind == 7:
        encoding = ["latin-1", "utf-16"][int(rng.integers(2))]
        try:
            return data.decode("utf-8").encode(encoding), False, f"re-encoded {encoding}"
        except UnicodeDecodeError:
            return data.decode("latin-1").encode(encoding), False, f"re-encoded {encoding}"
    if kind == 8:
        at = int(rng.integers(len(data)))
        junk = bytearray(rng.integers(0, 256, 64, dtype=np.uint8))
        junk[int(rng.integers(64))] = 0  # binary: at least one NUL byte
        return data[:at] + bytes(junk) + data[at:], True, "64 random bytes with a NUL"
    if kind == 9:
        return [b"", b"\n\n", b"   "][int(rng.integers(3))], True, "empty"
    if kind == 10:
        a = int(rng.integers(len(lines)))
        b = int(rng.integers(len(lines)))
        lines[a], lines[b] = lines[b], lines[a]
        return b"\n".join(lines), False, f"lines {a} and {b} swapped"
    block = lines[int(rng.integers(len(lines) // 2)):]
    return b"\n".join(lines + block), False, "a tail repeated"


def _outcome(path) -> str | None:
    """None if the file reads into two or more scans to fit, else the one-line reason."""
    try:
        run = read_run(path)
    except TNMInputError as exc:
        message = str(exc)
        assert message and "\n" not in message, f"not one line: {message!r}"
        return message
    if run.curves is None:
        return f"{len(run.chosen)} heating scans to fit"
    return None


@pytest.mark.parametrize("name", NAMES)
def test_malformed_exports_are_read_or_refused_in_one_line(name, sources, tmp_path):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    path = tmp_path / f"export{name[name.index('.'):]}"
    refused = 0
    for case in range(CASES_PER_FORMAT):
        data, must_refuse, what = _mutate(sources["valid"][name], name, rng, sources)
        path.write_bytes(data)
        reason = _outcome(path)  # any exception but TNMInputError fails the test here
        if must_refuse:
            assert reason is not None, f"case {case} ({what}) of {name} was accepted"
        refused += reason is not None
    assert refused >= CASES_PER_FORMAT // 4


@pytest.mark.parametrize("name", NAMES)
def test_refused_exports_exit_2_with_one_line_and_write_nothing(name, sources, tmp_path, capsys):
    rng = np.random.default_rng(7)
    path, out, program = tmp_path / "bad.txt", tmp_path / "fit.json", tmp_path / "program.yaml"
    checked = 0
    while checked < 25:
        data, must_refuse, what = _mutate(sources["valid"][name], name, rng, sources)
        if not must_refuse or what == "a single heating scan":
            continue
        path.write_bytes(data)
        assert main(["fit", str(path), "--out", str(out)]) == 2, what
        err = capsys.readouterr().err.strip()
        assert err.startswith("tnm fit: error:") and "\n" not in err and "Traceback" not in err
        assert not out.exists()
        checked += 1
    single = tmp_path / "single.txt"
    single.write_bytes(sources["single"][name])
    assert main(["fit", str(single), "--out", str(out)]) == 2 and not out.exists()
    assert "need 2" in capsys.readouterr().err
    assert main(["read", str(path), "--program-out", str(program)]) == 2 and not program.exists()
