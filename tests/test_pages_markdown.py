"""Text from the data is shown as text on every page: a name, an MRN, an event detail or a file name
written as Markdown or HTML (a link, an image beacon, bold, a tag) shows its characters literally."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TIMEOUT = 120

NAME = "[x](https://example.invalid/a.png) **bold** <img src=x>"
MRN = "[m](https://example.invalid/m)"
FILE_NAME = "![f](https://example.invalid/f.png) <img src=x> **f**.csv"
# What must never reach a Markdown-rendering element unescaped: a URL GFM would link (inside a
# Markdown link or image, or bare), emphasis, a tag.
# (In st.html bodies the tag is &lt;img; in Markdown it is \\<img.)
RAW = re.compile(r"https://example\.invalid|\*\*bold\*\*|\*\*f\*\*|(?<!\\)<img")


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    """A clinic of one patient whose name and MRN are Markdown and HTML, with a draw and an event."""
    from lenadash import imports, store

    folder = tmp_path_factory.mktemp("hostile")
    m = _csv_field(MRN)
    (folder / "patients.csv").write_text(
        "mrn,name,sex,birth_date,weight_kg,indication,start_date,starting_dose_mg\n"
        f"{m},{_csv_field(NAME)},F,1958-04-17,70,MM,2026-10-01,25\n"
    )
    (folder / "labs.csv").write_text(
        "MRN,Collection Date/Time,Component,Result,Units\n"
        f"{m},11/10/2026 09:00,WBC,5.2,K/uL\n{m},11/10/2026 09:00,NEUTROPHILS ABSOLUTE,0.8,K/uL\n"
        f"{m},11/10/2026 09:00,PLATELETS,150,K/uL\n"
    )
    (folder / "events.csv").write_text(f"mrn,date,event,value,detail\n{m},2026-11-12,fever,38.6,{_csv_field(NAME)}\n")
    engine = store.make_engine(f"sqlite:///{folder / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        imports.import_paths(session=s, paths=[folder / n for n in ("patients.csv", "labs.csv", "events.csv")])
        assert list(store.load_patients(session=s)["mrn"]) == [MRN]
    engine.dispose()
    return folder


@pytest.fixture
def hostile_env(hostile_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LENADASH_DATABASE_URL", f"sqlite:///{hostile_dir / 'lenadash.sqlite'}")
    monkeypatch.setenv("LENADASH_DEMO_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite'}")
    return hostile_dir


def _markdown_sources(at: AppTest) -> list[str]:
    """The source text of every element Streamlit renders as Markdown (or, for st.html, as HTML)."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error"):
        parts += [str(el.value) for el in getattr(at, kind)]
    parts += [str(el.label) for el in at.metric]
    parts += [str(el.label) for el in at.expander]
    parts += [el.proto.body for el in at.get("html")]
    for kind in ("selectbox", "multiselect", "button", "text_input", "radio", "checkbox", "date_input"):
        parts += [str(el.label) for el in getattr(at, kind)]
    return parts


def _assert_literal(at: AppTest, *shown: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    sources = _markdown_sources(at)
    leaks = [s for s in sources if RAW.search(s)]
    assert leaks == []
    joined = "\n".join(sources)
    for text in shown:  # and the text is there, escaped, not dropped
        assert text in joined, text


def _escaped(text: str) -> str:
    from lenadash.dashboard import ui

    return ui.plain(text)


@pytest.mark.parametrize(
    "page, shown",
    [
        ("app_pages/overview.py", [NAME]),
        ("app_pages/patient.py", [NAME, MRN]),
        ("app_pages/setup.py", [MRN]),
        ("app_pages/visit.py", []),
    ],
)
def test_every_page_shows_a_markdown_name_and_mrn_literally(hostile_env, page, shown):
    import datetime as dt

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lenadash_as_of"] = dt.date(2026, 11, 20)
    at.session_state["patient_mrn"] = MRN
    at.switch_page(page).run()
    _assert_literal(at, *[_escaped(s) for s in shown])


def test_setup_flash_names_the_mrn_literally(hostile_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["setup_flash"] = f"Recorded fever for {MRN} on 2026-11-20."
    at.session_state["patient_mrn"] = MRN
    at.switch_page("app_pages/setup.py").run()
    _assert_literal(at, _escaped(MRN))


def test_upload_shows_file_names_and_mrns_literally(hostile_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/upload.py").run()
    other = "[n](https://example.invalid/n)"
    labs = (
        "MRN,Collection Date/Time,Component,Result,Units\n"
        f"{_csv_field(other)},11/10/2026 09:00,WBC,5.2,K/uL\n{_csv_field(other)},11/10/2026 09:00,PLATELETS,99,K/uL\n"
    ).encode()
    files = [
        (FILE_NAME, labs),
        ("**bold** header only <img src=x>.csv", b"MRN,Collection Date/Time,Component,Result,Units\n"),
        ("[u](https://example.invalid/u).csv", b"**bold**,<img src=x>,[y](https://example.invalid/y)\n1,2,3\n"),
    ]
    at.file_uploader[0].set_value([(n, d, "text/csv") for n, d in files]).run()
    _assert_literal(at, _escaped(FILE_NAME), _escaped(other))
    at.button(key="commit").click().run()
    _assert_literal(at, _escaped(FILE_NAME))
