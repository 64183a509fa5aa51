"""Clinic insight: dose intensity, holds, reductions, CBC and REMS adherence, VTE risk, by indication and period."""

import datetime as dt

import streamlit as st

from lenadash import access
from lenadash.dashboard import insight, ui
from lenadash.vocab.course import INDICATION_NAMES

access.page("read", name="clinic")  # clinic mode: stops unless the role allows it

ui.sample_banner()
clinic = ui.clinic()
st.title("Clinic insight")
st.caption(
    f"Assessed as of {clinic.as_of:%A %d %B %Y}. Every figure is defined in docs/insight.md; each chart has its table."
)
if clinic.empty:
    st.info("No patients yet. Upload your lab exports and a patients file, or explore the sample clinic.")
    st.stop()

f1, f2 = st.columns([3, 2])
whole = clinic.whole()  # every course and draw: the insight figures need the whole clinic
present = sorted({p["indication"] for p in whole["patients"] if p.get("indication")})
chosen = f1.multiselect(
    "Indication", present, format_func=lambda k: INDICATION_NAMES.get(k, k), key="clinic_indication"
)
default_from = clinic.as_of - dt.timedelta(days=182)
picked = f2.date_input("Period", value=(default_from, clinic.as_of), max_value=clinic.as_of, key="clinic_period")
start, end = (picked[0], picked[1]) if isinstance(picked, tuple) and len(picked) == 2 else (default_from, clinic.as_of)
period = insight.Period(start, end)

rows = insight.clinic_rows(whole, indications=chosen or None, period=period)
summary = insight.summary(rows)

m = st.columns(6)
m[0].metric("Patients", summary["patients"])
m[1].metric("On hold", summary["by_status"]["held"])
m[2].metric("Median RDI", "-" if summary["median_rdi"] is None else f"{summary['median_rdi']:.2f}")
m[3].metric(
    "Reductions / 100 cycles",
    "-" if summary["reductions_per_100_cycles"] is None else summary["reductions_per_100_cycles"],
)
m[4].metric("CBCs on time", "-" if summary["cbc_on_time_pct"] is None else f"{summary['cbc_on_time_pct']:g}%")
m[5].metric("REMS tests on time", "-" if summary["rems_on_time_pct"] is None else f"{summary['rems_on_time_pct']:g}%")

st.dataframe(insight.summary_table(summary), hide_index=True, width="stretch")

c1, c2 = st.columns(2)
dist = insight.rdi_distribution(rows)
c1.plotly_chart(insight.rdi_figure(dist), key="clinic_rdi", theme=None, config={"displaylogo": False})
c1.dataframe(dist, hide_index=True, width="stretch")
by_month = insight.on_time_table(insight.on_time_by_month(rows))
c2.plotly_chart(insight.on_time_figure(by_month), key="clinic_on_time", theme=None, config={"displaylogo": False})
c2.dataframe(by_month, hide_index=True, width="stretch")

c3, c4 = st.columns(2)
causes = insight.holds_by_cause_table(summary)
c3.plotly_chart(insight.holds_by_cause_figure(causes), key="clinic_holds", theme=None, config={"displaylogo": False})
c3.dataframe(causes, hide_index=True, width="stretch")
c4.subheader("VTE risk (myeloma)")
c4.dataframe(insight.vte_table(summary), hide_index=True, width="stretch")

st.subheader("By patient")
st.dataframe(insight.clinic_table(rows), hide_index=True, width="stretch")
st.download_button(
    "Download the clinic table (CSV)",
    insight.clinic_csv(rows),
    file_name=f"clinic-insight-{clinic.as_of}.csv",
    mime="text/csv",
    key="clinic_download",
)
