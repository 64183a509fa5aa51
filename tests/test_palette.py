"""Grades readable by everyone (issue 9 item 4): the grade colours stay apart under deuteranopia and
protanopia, text on every grade fill and every marker on white has at least 3:1 contrast, and grade is
never colour alone (a marker shape and a text tag per grade).

Colour-vision deficiency is simulated with the matrices of Machado, Oliveira & Fernandes (2009), "A
physiologically-based model for simulation of color vision deficiency", IEEE TVCG 15(6):1291-1298, at
severity 1.0 (dichromacy), applied to linear sRGB. Colour distance is CIEDE2000 (Sharma, Wu & Dalal
2005, "The CIEDE2000 color-difference formula: implementation notes"), checked here against two of that
paper's test pairs. Contrast is WCAG 2.x: (L1 + 0.05) / (L2 + 0.05) of the relative luminances.
"""

from __future__ import annotations

import itertools
import math

import pytest

from lenadash.dashboard import present

MACHADO_2009 = {
    "normal": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
}
GRADES = (0, 1, 2, 3, 4)
# CIEDE2000 of 2.3 is about one just-noticeable difference; 10 is told apart at a glance on a chart.
MIN_MARKER_DE = 10.0
MIN_FILL_DE = 10.0


def _linear(colour: str) -> tuple[float, float, float]:
    h = colour.lstrip("#")
    srgb = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb)
    return r, g, b


def _simulate(rgb: tuple[float, float, float], vision: str) -> tuple[float, float, float]:
    m = MACHADO_2009[vision]
    out = [sum(m[i][j] * rgb[j] for j in range(3)) for i in range(3)]
    r, g, b = (min(max(v, 0.0), 1.0) for v in out)
    return r, g, b


def _lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """Linear sRGB (D65) -> CIELAB."""
    r, g, b = rgb
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def ciede2000(lab1, lab2) -> float:
    """CIEDE2000 colour difference (kL = kC = kH = 1), after Sharma, Wu & Dalal (2005)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar**7 / (c_bar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dlp, dcp = l2 - l1, c2p - c1p
    dh = (
        0.0
        if c1p * c2p == 0
        else (h2p - h1p if abs(h2p - h1p) <= 180 else h2p - h1p - 360 * math.copysign(1, h2p - h1p))
    )
    dhp = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    lbp, cbp = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hbp = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbp = (h1p + h2p) / 2
    else:
        hbp = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(hbp - 30))
        + 0.24 * math.cos(math.radians(2 * hbp))
        + 0.32 * math.cos(math.radians(3 * hbp + 6))
        - 0.20 * math.cos(math.radians(4 * hbp - 63))
    )
    sl = 1 + 0.015 * (lbp - 50) ** 2 / math.sqrt(20 + (lbp - 50) ** 2)
    sc, sh = 1 + 0.045 * cbp, 1 + 0.015 * cbp * t
    rt = -2 * math.sqrt(cbp**7 / (cbp**7 + 25**7)) * math.sin(math.radians(60 * math.exp(-(((hbp - 275) / 25) ** 2))))
    return math.sqrt((dlp / sl) ** 2 + (dcp / sc) ** 2 + (dhp / sh) ** 2 + rt * (dcp / sc) * (dhp / sh))


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),  # Sharma et al. 2005, table 1, pair 1
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),  # pair 19
    ],
)
def test_ciede2000_against_sharma_2005(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def luminance(colour: str) -> float:
    """WCAG 2.x relative luminance."""
    r, g, b = _linear(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fore: str, back: str) -> float:
    hi, lo = sorted((luminance(fore), luminance(back)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_against_wcag():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the WCAG reference grey


def _min_distance(colours: dict, vision: str) -> tuple[float, tuple]:
    labs = {g: _lab(_simulate(_linear(colours[g]), vision)) for g in GRADES}
    return min((ciede2000(labs[a], labs[b]), (a, b)) for a, b in itertools.combinations(GRADES, 2))


@pytest.mark.parametrize("vision", list(MACHADO_2009))
def test_grade_marker_colours_stay_apart(vision):
    distance, pair = _min_distance(present.GRADE_COLOURS, vision)
    assert distance >= MIN_MARKER_DE, f"{vision}: grades {pair} markers only {distance:.1f} apart"


@pytest.mark.parametrize("vision", list(MACHADO_2009))
def test_grade_cell_fills_stay_apart(vision):
    """Under deuteranopia the old grade-0 green and grade-3 red fills were the same colour."""
    distance, pair = _min_distance(present.GRADE_FILLS, vision)
    assert distance >= MIN_FILL_DE, f"{vision}: grades {pair} fills only {distance:.1f} apart"


@pytest.mark.parametrize("grade", GRADES)
def test_markers_have_3_to_1_contrast_on_white(grade):
    """WCAG 1.4.11 (non-text contrast): the old grade-1 yellow #c9a227 had 2.4:1 on the white chart."""
    assert contrast(present.GRADE_COLOURS[grade], "#ffffff") >= 3.0


@pytest.mark.parametrize("grade", [*GRADES, None])
def test_text_on_each_fill_has_3_to_1_contrast(grade):
    """The flowsheet's text colour on its grade fill (and the legend chips, which use the same pair)."""
    assert contrast(present.GRADE_TEXT[grade], present.GRADE_FILLS[grade]) >= 3.0


def test_each_grade_has_its_own_marker_shape_and_text():
    shapes = [present.grade_symbol(g) for g in GRADES]
    assert len(set(shapes)) == len(GRADES) and present.grade_symbol(None) not in shapes
    assert [present.grade_text(g) for g in GRADES] == ["G0", "G1", "G2", "G3", "G4"]
    assert present.grade_text(None) == "" and present.grade_text(float("nan")) == ""


def test_docs_list_the_palette_as_it_is():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "dashboard.md").read_text(encoding="utf-8")
    for grade in GRADES:
        row = next(line for line in doc.splitlines() if line.startswith(f"| {grade} | `"))
        assert present.GRADE_COLOURS[grade] in row and present.GRADE_FILLS[grade] in row, row
        assert present.grade_symbol(grade).split("-")[0] in row, row
