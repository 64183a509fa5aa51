"""Pure clinical interpreters (plain data in, plain data out): grading, renal, schedule, cycles, dosing, assess."""

from lenadash.clinical import assess, cycles, dosing, grading, renal, schedule

__all__ = ["assess", "cycles", "dosing", "grading", "renal", "schedule"]
