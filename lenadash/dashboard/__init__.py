"""What only the app needs: worklist, patient results and timeline, cards, setup form, charts, visit HTML, ui.

Modules by noun (docs/dashboard.md "Code"): `worklist`, `results`, `timeline`, `cards`, `setup_form`,
`present`, `assessed`, `charts` (the only Plotly importer), `visit`, `ui` (the only Streamlit importer),
and `views`, 0.1's name for the shaping functions. Nothing is imported here, so the pure parts load
without Streamlit or Plotly.
"""
