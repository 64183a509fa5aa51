"""lenadash: a local lab-results dashboard for patients on lenalidomide."""

__version__ = "0.1.0"
