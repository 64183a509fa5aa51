"""Widgets that change only their own part of the patient page (issue 14 item 2): the time window and the
cycle overlay's count live in st.fragment, so changing one reruns that part and never the page's data read
(ui.clinic: the data version, the kept clinic, the patient's assessment).

AppTest reruns the whole script on every interaction, so the browser's fragment rerun is made here as the
browser makes it: the rerun request names the fragment (RerunData.fragment_id_queue) that holds the widget."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.scriptrunner_utils import script_requests
from streamlit.testing.v1 import AppTest, local_script_runner

from lenadash import imports, samples, store
from lenadash.dashboard import ui

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def clinic_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    engine = store.make_engine(url)
    with store.open_session(engine) as s:
        imports.import_paths(session=s, paths=imports.sample_files())
    engine.dispose()
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LENADASH_DATABASE_URL", url)


class _Runs:
    """Records the fragment of every element each run sends, and makes the next run a fragment rerun."""

    def __init__(self, monkeypatch):
        self.fragment: str | None = None
        self.by_key: dict[str, str] = {}
        self.clinic_reads = 0
        real_run, real_clinic = local_script_runner.LocalScriptRunner.run, ui.clinic
        runs = self

        def run(runner, *args, **kwargs):
            tree = real_run(runner, *args, **kwargs)
            for msg in runner.forward_msgs():
                element = msg.delta.new_element if msg.HasField("delta") else None
                if element is not None and msg.delta.fragment_id:
                    kind = element.WhichOneof("type")
                    ident = getattr(getattr(element, kind, None), "id", "") if kind else ""
                    for key in ("window", "overlay_analyte"):
                        if ident.endswith(f"-{key}") or f"-{key}-" in ident or ident == key:
                            runs.by_key[key] = msg.delta.fragment_id
            return tree

        def rerun_data(*args, **kwargs):
            if runs.fragment:
                kwargs["fragment_id_queue"] = [runs.fragment]
            return script_requests.RerunData(*args, **kwargs)

        def clinic():
            runs.clinic_reads += 1
            return real_clinic()

        monkeypatch.setattr(local_script_runner.LocalScriptRunner, "run", run)
        monkeypatch.setattr(local_script_runner, "RerunData", rerun_data)
        monkeypatch.setattr(ui, "clinic", clinic)


@pytest.mark.parametrize(("key", "value"), [("window", "All"), ("overlay_analyte", "plt")])
def test_changing_the_window_or_the_overlay_count_reruns_only_its_fragment(clinic_env, monkeypatch, key, value):
    runs = _Runs(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lenadash_as_of"] = samples.TODAY
    at.session_state["patient_mrn"] = "LD0016"
    at.switch_page("app_pages/patient.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert runs.clinic_reads >= 1 and key in runs.by_key, f"{key} is not inside a fragment: {runs.by_key}"

    reads = runs.clinic_reads
    runs.fragment = runs.by_key[key]
    widget = at.segmented_control(key=key) if key == "window" else at.radio(key=key)
    widget.set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]
    assert runs.clinic_reads == reads, "the fragment rerun read the clinic again"
    assert at.session_state[key] == value

    runs.fragment = None  # a full rerun (another widget, a new data version) does read it
    at.run()
    assert runs.clinic_reads == reads + 1
