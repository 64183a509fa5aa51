"""Data tables: canonical analytes, LOINC codes, name synonyms, unit factors and plausibility limits."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from lenadash.config import RULES_DIR

PI = "DOMAIN.md §6"  # lab-export facts gathered from the PI, LOINC and the peer-tool review


@dataclass(frozen=True)
class Analyte:
    key: str
    name: str
    unit: str  # canonical unit every value is converted to
    loinc: str  # primary LOINC code
    panel: str  # "cbc" or "cmp"
    source: str
    label: str  # short display label on screens, charts and reasons ("ANC", "Platelets")


ANALYTES: tuple[Analyte, ...] = (
    Analyte("wbc", "White blood cells", "10^9/L", "6690-2", "cbc", PI, "WBC"),
    Analyte("anc", "Neutrophils, absolute", "10^9/L", "751-8", "cbc", PI, "ANC"),
    Analyte("alc", "Lymphocytes, absolute", "10^9/L", "731-0", "cbc", PI, "Lymphocytes"),
    Analyte("hgb", "Hemoglobin", "g/dL", "718-7", "cbc", PI, "Hemoglobin"),
    Analyte("plt", "Platelets", "10^9/L", "777-3", "cbc", PI, "Platelets"),
    Analyte("sodium", "Sodium", "mmol/L", "2951-2", "cmp", PI, "Sodium"),
    Analyte("potassium", "Potassium", "mmol/L", "2823-3", "cmp", PI, "Potassium"),
    Analyte("chloride", "Chloride", "mmol/L", "2075-0", "cmp", PI, "Chloride"),
    Analyte("co2", "CO2 (bicarbonate)", "mmol/L", "2028-9", "cmp", PI, "CO2"),
    Analyte("bun", "Urea nitrogen (BUN)", "mg/dL", "3094-0", "cmp", PI, "BUN"),
    Analyte("glucose", "Glucose", "mg/dL", "2345-7", "cmp", PI, "Glucose"),
    Analyte("creatinine", "Creatinine", "mg/dL", "2160-0", "cmp", PI, "Creatinine"),
    Analyte("calcium", "Calcium", "mg/dL", "17861-6", "cmp", PI, "Calcium"),
    Analyte("albumin", "Albumin", "g/dL", "1751-7", "cmp", PI, "Albumin"),
    Analyte("total_protein", "Total protein", "g/dL", "2885-2", "cmp", PI, "Total protein"),
    Analyte("alp", "Alkaline phosphatase", "U/L", "6768-6", "cmp", PI, "ALP"),
    Analyte("ast", "AST", "U/L", "1920-8", "cmp", PI, "AST"),
    Analyte("alt", "ALT", "U/L", "1742-6", "cmp", PI, "ALT"),
    Analyte("bilirubin", "Bilirubin, total", "mg/dL", "1975-2", "cmp", PI, "Bilirubin"),
)
BY_KEY: dict[str, Analyte] = {a.key: a for a in ANALYTES}
CANONICAL_UNIT: dict[str, str] = {a.key: a.unit for a in ANALYTES}
LABEL: dict[str, str] = {a.key: a.label for a in ANALYTES}

# A "measure" is what a unit factor applies to: an analyte key, or "urea" (urea is reported in
# European exports instead of BUN and converts to BUN on its own scale).
MEASURE_ANALYTE: dict[str, str] = {**{a.key: a.key for a in ANALYTES}, "urea": "bun"}
COUNTS = ("wbc", "anc", "alc", "plt")


@dataclass(frozen=True)
class LoincCode:
    code: str
    measure: str
    unit: str | None  # the unit the code implies (e.g. 14682-9 is creatinine in umol/L), None if any
    source: str


LOINC_CODES: tuple[LoincCode, ...] = (
    *(LoincCode(a.loinc, a.key, None, PI) for a in ANALYTES),
    LoincCode("26515-7", "plt", None, PI),
    LoincCode("14682-9", "creatinine", "umol/L", PI),
    LoincCode("14631-6", "bilirubin", "umol/L", PI),
    LoincCode("26464-8", "wbc", None, "LOINC 26464-8 Leukocytes [#/volume] Blood"),
    LoincCode("26499-4", "anc", None, "LOINC 26499-4 Neutrophils [#/volume] Blood"),
    LoincCode("753-3", "anc", None, "LOINC 753-3 Neutrophils [#/volume] Blood by Manual count"),
    LoincCode("26474-7", "alc", None, "LOINC 26474-7 Lymphocytes [#/volume] Blood"),
    LoincCode("732-8", "alc", None, "LOINC 732-8 Lymphocytes [#/volume] Blood by Manual count"),
    LoincCode("2947-0", "sodium", None, "LOINC 2947-0 Sodium [Moles/volume] Blood"),
    LoincCode("6298-4", "potassium", None, "LOINC 6298-4 Potassium [Moles/volume] Blood"),
    LoincCode("1963-8", "co2", None, "LOINC 1963-8 Bicarbonate [Moles/volume] Serum"),
    LoincCode("6299-2", "bun", None, "LOINC 6299-2 Urea nitrogen [Mass/volume] Blood"),
    LoincCode("3091-6", "urea", None, "LOINC 3091-6 Urea [Mass/volume] Serum or Plasma"),
    LoincCode("22664-7", "urea", "mmol/L", "LOINC 22664-7 Urea [Moles/volume] Serum or Plasma"),
    LoincCode("14749-6", "glucose", "mmol/L", "LOINC 14749-6 Glucose [Moles/volume] Serum or Plasma"),
    LoincCode("2339-0", "glucose", None, "LOINC 2339-0 Glucose [Mass/volume] Blood"),
    LoincCode("2000-8", "calcium", "mmol/L", "LOINC 2000-8 Calcium [Moles/volume] Serum or Plasma"),
    LoincCode("61151-7", "albumin", None, "LOINC 61151-7 Albumin [Mass/volume] Serum or Plasma by BCG"),
    LoincCode("1920-8", "ast", None, PI),
    LoincCode("1742-6", "alt", None, PI),
    LoincCode("1743-4", "alt", None, "LOINC 1743-4 ALT [Enzymatic activity/volume] with P-5'-P"),
    LoincCode("30239-8", "ast", None, "LOINC 30239-8 AST [Enzymatic activity/volume] with P-5'-P"),
)
BY_LOINC: dict[str, LoincCode] = {row.code: row for row in LOINC_CODES}

# LOINC codes of tests that are NOT tracked but are common in CBC/CMP exports: named in the
# "unknown analyte" message so the clinician sees what the row was.
PERCENT_LOINC: dict[str, str] = {
    "770-8": "Neutrophils/100 leukocytes (%)",
    "736-9": "Lymphocytes/100 leukocytes (%)",
    "23761-0": "Neutrophils/100 leukocytes (%), manual",
}

SYNONYM_SOURCE = "lenadash synonym table: Epic/Cerner component names, HL7/FHIR display names, EU exports"

# Name synonyms (source: SYNONYM_SOURCE), folded by `units.name_key` on both sides before lookup.
# Deliberately absent: granulocytes (they include eosinophils and basophils, so they overstate the
# ANC), ionised calcium, pCO2, and urine/POC variants - those rows are reported as unknown analytes.
SYNONYMS: dict[str, str] = {
    # white cells
    "wbc": "wbc",
    "white blood cells": "wbc",
    "white blood cell count": "wbc",
    "white cell count": "wbc",
    "leukocytes": "wbc",
    "leucocytes": "wbc",
    "leukocyte count": "wbc",
    "wbc count": "wbc",
    "total wbc": "wbc",
    "leukozyten": "wbc",
    "leucocyten": "wbc",
    "leukocyten": "wbc",
    "globules blancs": "wbc",
    "wcc": "wbc",
    "leuko": "wbc",
    "leuk": "wbc",
    # neutrophils (absolute)
    "anc": "anc",
    "absolute neutrophil count": "anc",
    "neutrophils absolute": "anc",
    "neutrophils abs": "anc",
    "absolute neutrophils": "anc",
    "neut #": "anc",
    "neut#": "anc",
    "neutrophil #": "anc",
    "neutrophils #": "anc",
    "neutro #": "anc",
    "neutro abs": "anc",
    "segs abs": "anc",
    "segs absolute": "anc",
    "neutrophil count": "anc",
    "neutrophils count": "anc",
    "abs neutrophils": "anc",
    "neutrophils (absolute)": "anc",
    "neutrophils, absolute": "anc",
    "neutrophile abs": "anc",
    "neutrophile absolut": "anc",
    "neutrophile granulozyten absolut": "anc",
    "neutrophiles": "anc",
    "neutrophile": "anc",
    "polynucleaires neutrophiles": "anc",
    "neutrofielen abs": "anc",
    "neutrofielen": "anc",
    "neutrophils": "anc",
    "neut abs": "anc",
    "anc (absolute neutrophil count)": "anc",
    # lymphocytes (absolute)
    "alc": "alc",
    "absolute lymphocyte count": "alc",
    "lymphocytes absolute": "alc",
    "lymphocytes abs": "alc",
    "absolute lymphocytes": "alc",
    "lymph #": "alc",
    "lymph#": "alc",
    "lymphocyte #": "alc",
    "lymphocytes #": "alc",
    "lymph abs": "alc",
    "abs lymphocytes": "alc",
    "lymphocyte count": "alc",
    "lymphocytes count": "alc",
    "lymphozyten abs": "alc",
    "lymphozyten absolut": "alc",
    "lymphozyten": "alc",
    "lymphocytes": "alc",
    "lymfocyten": "alc",
    "lymfocyten abs": "alc",
    # haemoglobin
    "hgb": "hgb",
    "hb": "hgb",
    "hemoglobin": "hgb",
    "haemoglobin": "hgb",
    "hämoglobin": "hgb",
    "haemoglobine": "hgb",
    "hemoglobine": "hgb",
    "hémoglobine": "hgb",
    "hamoglobin": "hgb",
    "hemoglobin (hgb)": "hgb",
    "hgb (hemoglobin)": "hgb",
    # platelets
    "plt": "plt",
    "platelets": "plt",
    "platelet count": "plt",
    "platelet": "plt",
    "thrombocytes": "plt",
    "thrombozyten": "plt",
    "plaquettes": "plt",
    "trombocyten": "plt",
    "thrombocyten": "plt",
    "plt count": "plt",
    "thrombo": "plt",
    "plts": "plt",
    # CMP
    "sodium": "sodium",
    "na": "sodium",
    "na+": "sodium",
    "natrium": "sodium",
    "sodium serum": "sodium",
    "potassium": "potassium",
    "k": "potassium",
    "k+": "potassium",
    "kalium": "potassium",
    "chloride": "chloride",
    "cl": "chloride",
    "cl-": "chloride",
    "chlorid": "chloride",
    "chlorure": "chloride",
    "co2": "co2",
    "carbon dioxide": "co2",
    "bicarbonate": "co2",
    "hco3": "co2",
    "hco3-": "co2",
    "total co2": "co2",
    "co2 total": "co2",
    "bicarbonat": "co2",
    "tco2": "co2",
    "carbon dioxide total": "co2",
    "bun": "bun",
    "urea nitrogen": "bun",
    "blood urea nitrogen": "bun",
    "harnstoff-n": "bun",
    "harnstoff n": "bun",
    "harnstoffstickstoff": "bun",
    "urea": "urea",
    "harnstoff": "urea",
    "uree": "urea",
    "urée": "urea",
    "ureum": "urea",
    "serum urea": "urea",
    "glucose": "glucose",
    "glu": "glucose",
    "glucose serum": "glucose",
    "blood glucose": "glucose",
    "glukose": "glucose",
    "glucose random": "glucose",
    "glucose fasting": "glucose",
    "creatinine": "creatinine",
    "creat": "creatinine",
    "cr": "creatinine",
    "crea": "creatinine",
    "kreatinin": "creatinine",
    "créatinine": "creatinine",
    "creatinine serum": "creatinine",
    "kreatinin (enzym)": "creatinine",
    "creatinine (enzymatic)": "creatinine",
    "calcium": "calcium",
    "ca": "calcium",
    "kalzium": "calcium",
    "calcium total": "calcium",
    "total calcium": "calcium",
    "albumin": "albumin",
    "alb": "albumin",
    "albumine": "albumin",
    "albumin serum": "albumin",
    "total protein": "total_protein",
    "protein total": "total_protein",
    "tp": "total_protein",
    "gesamteiweiß": "total_protein",
    "gesamteiweiss": "total_protein",
    "gesamtprotein": "total_protein",
    "protéines totales": "total_protein",
    "proteines totales": "total_protein",
    "totaal eiwit": "total_protein",
    "total_protein": "total_protein",
    "alp": "alp",
    "alkaline phosphatase": "alp",
    "alk phos": "alp",
    "alkp": "alp",
    "ap": "alp",
    "alkalische phosphatase": "alp",
    "phosphatase alcaline": "alp",
    "phosphatases alcalines": "alp",
    "alkalische fosfatase": "alp",
    "ast": "ast",
    "sgot": "ast",
    "aspartate aminotransferase": "ast",
    "ast (sgot)": "ast",
    "got": "ast",
    "asat": "ast",
    "got (asat)": "ast",
    "aspartate transaminase": "ast",
    "alt": "alt",
    "sgpt": "alt",
    "alanine aminotransferase": "alt",
    "alt (sgpt)": "alt",
    "gpt": "alt",
    "alat": "alt",
    "gpt (alat)": "alt",
    "alanine transaminase": "alt",
    "bilirubin": "bilirubin",
    "total bilirubin": "bilirubin",
    "bilirubin total": "bilirubin",
    "tbili": "bilirubin",
    "t bili": "bilirubin",
    "bili": "bilirubin",
    "bili total": "bilirubin",
    "bilirubin gesamt": "bilirubin",
    "gesamtbilirubin": "bilirubin",
    "bilirubine totale": "bilirubin",
    "bilirubine": "bilirubin",
    "bilirubine totaal": "bilirubin",
}

# Names that are percentages of the differential (never absolute counts): checked before SYNONYMS.
PERCENT_NAME_WORDS = ("%", "percent", "pct", "prozent", "relative", "rel")


@dataclass(frozen=True)
class UnitFactor:
    measures: tuple[str, ...]
    unit: str  # as commonly written; matched after units.unit_key folding
    factor: float  # canonical value = raw value x factor
    source: str


_GL = "DOMAIN.md §6 (10^9/L = K/uL = 10^3/uL)"
UNIT_FACTORS: tuple[UnitFactor, ...] = (
    # counts: 10^9/L family (factor 1)
    *(
        UnitFactor(COUNTS, u, 1.0, _GL)
        for u in (
            "10^9/L",
            "x10^9/L",
            "10*9/L",
            "10E9/L",
            "x10E9/L",
            "10^3/uL",
            "x10^3/uL",
            "10E3/uL",
            "x10E3/uL",
            "10*3/uL",
            "K/uL",
            "K/mcL",
            "K/mm3",
            "10^3/mm3",
            "G/L",
            "Gpt/L",
            "/nL",
            "Thou/uL",
            "Thou/mcL",
            "Thou/mm3",
            "thousand/uL",
            "k/cumm",
            "10^3/cumm",
            "10^3/mcL",
            "10*3/mcL",
            "x1000/uL",
        )
    ),
    # German reports: Tsd/µl (Tausend), Mrd/l (Milliarden), Giga/l
    *(UnitFactor(COUNTS, u, 1.0, _GL) for u in ("Tsd/uL", "Mrd/L", "Giga/L")),
    # counts: per microlitre (factor 0.001)
    *(
        UnitFactor(COUNTS, u, 0.001, "DOMAIN.md §6 (30,000/mcL = 30 x10^9/L)")
        for u in (
            "/uL",
            "/mcL",
            "cells/uL",
            "cells/mcL",
            "/mm3",
            "cells/mm3",
            "/cumm",
            "10^6/L",
            "#/uL",
        )
    ),
    UnitFactor(("hgb",), "g/dL", 1.0, PI),
    UnitFactor(("hgb",), "gm/dL", 1.0, PI),
    UnitFactor(("hgb",), "g%", 1.0, "g% = g/dL (older exports)"),
    UnitFactor(("hgb",), "g/L", 0.1, "DOMAIN.md §6 (Hgb g/L = 10 x g/dL)"),
    UnitFactor(("hgb",), "mmol/L", 1.611, "Hgb (Fe) mmol/L x 1.611 = g/dL (Dutch exports)"),
    *(
        UnitFactor(
            ("sodium", "potassium", "chloride", "co2"), u, 1.0, "monovalent ions: mEq/L = mmol/L (mval/l in German)"
        )
        for u in ("mmol/L", "mEq/L", "meq/l", "mval/L")
    ),
    UnitFactor(("bun",), "mg/dL", 1.0, PI),
    UnitFactor(("bun",), "mmol/L", 2.8, "BUN mg/dL = urea mmol/L x 2.8"),
    UnitFactor(("urea",), "mmol/L", 2.8, "BUN mg/dL = urea mmol/L x 2.8"),
    UnitFactor(("urea",), "mg/dL", 0.4667, "BUN mg/dL = urea mg/dL x 28/60"),
    UnitFactor(("glucose",), "mg/dL", 1.0, PI),
    UnitFactor(("glucose",), "mmol/L", 18.0, "DOMAIN.md §6 (glucose mmol/L = mg/dL / 18.0)"),
    UnitFactor(("creatinine",), "mg/dL", 1.0, PI),
    UnitFactor(("creatinine",), "umol/L", 1 / 88.4, "DOMAIN.md §3/§6 (umol/L / 88.4 = mg/dL)"),
    UnitFactor(("bilirubin",), "mg/dL", 1.0, PI),
    UnitFactor(("bilirubin",), "umol/L", 1 / 17.1, "DOMAIN.md §6 (umol/L = 17.1 x mg/dL)"),
    UnitFactor(("calcium",), "mg/dL", 1.0, PI),
    UnitFactor(("calcium",), "mmol/L", 4.008, "DOMAIN.md §6 (calcium mmol/L = mg/dL / 4.008)"),
    UnitFactor(("calcium",), "mEq/L", 2.004, "calcium is divalent: 1 mEq/L = 0.5 mmol/L"),
    UnitFactor(("albumin", "total_protein"), "g/dL", 1.0, PI),
    UnitFactor(("albumin", "total_protein"), "g/L", 0.1, "DOMAIN.md §6 (albumin g/L = 10 x g/dL)"),
    *(
        UnitFactor(("alp", "ast", "alt"), u, 1.0, "enzyme activity: U/L = IU/L (IE/l German, UI/L French)")
        for u in ("U/L", "IU/L", "units/L", "IE/L", "UI/L")
    ),
    UnitFactor(("alp", "ast", "alt"), "ukat/L", 60.0, "1 ukat/L = 60 U/L (SI enzyme activity)"),
    UnitFactor(("alp", "ast", "alt"), "nkat/L", 0.06, "1 nkat/L = 0.06 U/L (SI enzyme activity)"),
)


@dataclass(frozen=True)
class Plausible:
    analyte: str
    low: float  # in the canonical unit, inclusive
    high: float
    source: str


_PLAUSIBLE = (
    "lenadash plausibility limit: outside any value reported in life; catches unit mix-ups, not a clinical range"
)
PLAUSIBILITY: tuple[Plausible, ...] = (
    Plausible("wbc", 0.0, 1000.0, _PLAUSIBLE),
    Plausible("anc", 0.0, 500.0, _PLAUSIBLE),
    Plausible("alc", 0.0, 1000.0, _PLAUSIBLE),
    Plausible("plt", 0.0, 5000.0, _PLAUSIBLE),
    Plausible("hgb", 1.0, 26.0, _PLAUSIBLE),
    Plausible("sodium", 80.0, 220.0, _PLAUSIBLE),
    Plausible("potassium", 0.5, 15.0, _PLAUSIBLE),
    Plausible("chloride", 40.0, 180.0, _PLAUSIBLE),
    Plausible("co2", 1.0, 70.0, _PLAUSIBLE),
    Plausible("bun", 0.5, 400.0, _PLAUSIBLE),
    Plausible("glucose", 5.0, 3000.0, _PLAUSIBLE),
    Plausible("creatinine", 0.05, 40.0, _PLAUSIBLE),
    Plausible("calcium", 1.0, 25.0, _PLAUSIBLE),
    Plausible("albumin", 0.3, 8.0, _PLAUSIBLE),
    Plausible("total_protein", 1.0, 20.0, _PLAUSIBLE),
    Plausible("alp", 0.0, 20000.0, _PLAUSIBLE),
    Plausible("ast", 0.0, 50000.0, _PLAUSIBLE),
    Plausible("alt", 0.0, 50000.0, _PLAUSIBLE),
    Plausible("bilirubin", 0.0, 100.0, _PLAUSIBLE),
)
PLAUSIBLE_RANGE: dict[str, tuple[float, float]] = {p.analyte: (p.low, p.high) for p in PLAUSIBILITY}


# The usual adult range per analyte (canonical unit), used only to recognise a reference range written
# on another scale than its result (a lab's own range is within a few-fold of these). Read from
# grading's default ranges, lenadash/rules/reference_ranges.csv (the rows for either sex), so the two
# never drift; a blank low (bilirubin) takes a nominal low of a tenth of the high.
_REFERENCE_RANGES = RULES_DIR / "reference_ranges.csv"
_USUAL = "lenadash/rules/reference_ranges.csv (conventional adult intervals; MSD Manual where stated there)"


def _usual_ranges(path: Path = _REFERENCE_RANGES) -> dict[str, tuple[float, float]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if not r["sex"]]
    return {r["analyte"]: (float(r["low"]) if r["low"] else float(r["high"]) / 10, float(r["high"])) for r in rows}


USUAL_RANGE: dict[str, tuple[float, float]] = _usual_ranges()
USUAL_RANGE_SOURCE = _USUAL
