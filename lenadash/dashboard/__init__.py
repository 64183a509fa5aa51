"""What only the app needs: worklist and patient shaping, cards, setup form checks, charts, visit HTML, ui.

The only package that imports Plotly (`charts`) and Streamlit (`ui`); `ui` is not imported here so
that the pure parts load without Streamlit.
"""
