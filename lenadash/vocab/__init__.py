"""What the clinic's words mean: analytes (LOINC, synonyms, units, plausibility, labels), course, frame columns."""

from lenadash.vocab import analytes, course, frames, units

__all__ = ["analytes", "course", "frames", "units"]
