"""Properties of the feed readers: any field text or JSON shape gives results or problems, never a crash,
and every OBX segment / Observation is accounted for."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lenadash.ingest.fhir import read_fhir
from lenadash.ingest.hl7v2 import read_hl7

MSH = "MSH|^~\\&|LAB|GH|LENADASH|CLINIC|202603031200||ORU^R01^ORU_R01|M1|P|2.5.1\r"
# field text without the segment and field separators (those make other segments and fields)
field_text = st.text(st.characters(exclude_characters="\r\n|", exclude_categories=("Cs",)), max_size=20)
KINDS = st.sampled_from(["NM", "SN", "ST", "TX", "CE", "", "XX"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(st.just("LD0501^^^GH^MR"), field_text),
    st.lists(st.tuples(KINDS, field_text, field_text, field_text, field_text, field_text, field_text), max_size=6),
)
def test_any_obx_fields_give_results_or_problems(pid3, obx):
    segments = [
        f"OBX|{n}|{kind}|{test}||{value}|{unit}|{ref}|{flag}|||{status}|||"
        for n, (kind, test, value, unit, ref, flag, status) in enumerate(obx, start=1)
    ]
    head = MSH + f"PID|1||{pid3}\r"
    read = read_hl7((head + "OBR|1||A|X|||202603031029\r" + "\r".join(segments)).encode())
    obx_lines = set(range(4, 4 + len(obx)))
    errors = set(read.problems.loc[read.problems["severity"] == "error", "line"])
    assert read.rows_read == len(obx)
    assert set(read.results["line"]) | (errors & obx_lines) == obx_lines  # each OBX: a result, or an error
    assert not (set(read.results["line"]) & errors) and errors <= obx_lines | {1}  # or its whole message (MSH)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 500) | st.floats(allow_nan=False, allow_infinity=False) | field_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(field_text, inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "status",
    "code",
    "subject",
    "effectiveDateTime",
    "effectivePeriod",
    "valueQuantity",
    "valueString",
    "valueCodeableConcept",
    "referenceRange",
    "interpretation",
    "hasMember",
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(FIELDS), json_value, max_size=6), max_size=5))
def test_any_observation_shape_gives_results_or_problems(bodies):
    resources = [{"resourceType": "Observation", "id": f"o{i}", **b} for i, b in enumerate(bodies)]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    read = read_fhir(json.dumps(bundle).encode())
    panels = {  # a non-empty list of member references, and no value of its own
        i + 1
        for i, r in enumerate(resources)
        if isinstance(r.get("hasMember"), list)
        and any(isinstance(m, dict) for m in r["hasMember"])
        and not any(k.startswith("value") for k in r)
    }
    expected = set(range(1, len(resources) + 1)) - panels  # a panel without a value of its own is no result
    errors = set(read.problems.loc[read.problems["severity"] == "error", "line"])
    assert set(read.results["line"]) | errors == expected and not (set(read.results["line"]) & errors)
