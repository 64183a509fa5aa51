"""Clinic insight (docs/insight.md): dose intensity, nadirs, monitoring adherence, VTE risk, the REMS tracker."""
