"""The benchmark scripts' own arithmetic (bench/_common.py): no timing here, only what the figures rest on.

The benchmarks themselves are not run by the tests or CI (`./dev bench --quick` takes about a minute
and its figures are machine-dependent): bench/README.md.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from lenadash import samples

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def common():
    spec = importlib.util.spec_from_file_location("bench_common", BENCH / "_common.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lab_slices_cut_the_file_at_whole_patients_and_lose_no_line(common, tmp_path):
    """clinic_db imports a large lab file in slices: each slice is the header plus whole patients' rows."""
    per_patient = 30
    labs = samples.write_benchmark_clinic(tmp_path, 7, results_per_patient=per_patient)["labs"]
    text = labs.read_bytes()
    header = text.split(b"\n", 1)[0] + b"\n"
    slices = list(common._lab_slices(labs, 3 * per_patient))
    assert len(slices) == 3  # 3 + 3 + 1 patients
    assert all(s.startswith(header) for s in slices)
    assert header + b"".join(s[len(header) :] for s in slices) == text
    mrns = [{line.split(b",", 1)[0] for line in s.splitlines()[1:]} for s in slices]
    assert [len(m) for m in mrns] == [3, 3, 1] and not (mrns[0] & mrns[1]) and not (mrns[1] & mrns[2])


def test_fitted_exponent_is_the_power_of_the_growth(common):
    courses = [100, 1000, 5000]
    assert math.isclose(common.fit_exponent(courses, [0.004 * c for c in courses]), 1.0, abs_tol=1e-9)
    assert math.isclose(common.fit_exponent(courses, [1e-6 * c**2 for c in courses]), 2.0, abs_tol=1e-9)
    assert math.isclose(common.fit_exponent(courses, [3.0, 3.0, 3.0]), 0.0, abs_tol=1e-9)


def test_best_and_range_and_verdict(common):
    r = common.best_and_range([2.5, 1.25, 4.0])
    assert (r["best"], r["worst"], r["text"]) == (1.25, 4.0, "1.25 (1.25-4.00)")
    assert common.best_and_range([0.5])["text"] == "0.50"
    assert common.verdict(4.99, 5.0) == "met" and common.verdict(5.0, 5.0) == "MISSED"


def test_peak_rss_is_this_process_own(common):
    assert 10 < common.peak_rss_mb() < 100_000
