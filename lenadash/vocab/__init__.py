"""What the clinic's words mean: analytes (LOINC, synonyms, unit factors, plausibility, labels), units, course vocabulary."""

from lenadash.vocab import analytes, course, frames, units

__all__ = ["analytes", "course", "frames", "units"]
