from __future__ import annotations

import pytest

from voltfleet.domain.firmware import releases as fr


@pytest.mark.parametrize(
    ("a", "b"),
    [("9.02", "10.00"), ("8.12.E2", "8.12.E3"), ("8.12", "8.12.1"), ("1.2.9", "1.10.0")],
)
def test_version_order(a: str, b: str) -> None:
    assert fr.version_key(a) < fr.version_key(b)
    assert fr.is_downgrade(b, a) and not fr.is_downgrade(a, b)
    assert not fr.is_downgrade("", a)


def test_types_and_vendor_types_as_data() -> None:
    assert fr.device_kind_of("gateway") == "gateway"
    assert fr.device_kind_of("secondary_dsp") == "inverter"
    assert fr.device_kind_of("vendor_senergy_csb") == "inverter"
    assert fr.label("vendor_senergy_csb") == "Senergy Csb"
    with pytest.raises(fr.ReleaseError) as err:
        fr.device_kind_of("toaster")
    assert err.value.field == "firmware_type"


def test_new_marks_the_highest_version_per_model_and_type() -> None:
    refs = [
        fr.ReleaseRef("a", "CPS 4G Kit-CN", "gateway", "8.12.E3"),
        fr.ReleaseRef("b", "CPS 4G Kit-CN", "gateway", "10.00"),
        fr.ReleaseRef("c", "CPS WiFi Kit", "gateway", "10.00"),
        fr.ReleaseRef("d", "CPS WiFi Kit", "dsp", "2.1"),
    ]
    assert fr.newest(refs) == {"b", "c", "d"}


@pytest.mark.parametrize("bad", ["", " ", "1 2", "a/b", "x" * 41])
def test_bad_versions_are_refused(bad: str) -> None:
    with pytest.raises(fr.ReleaseError):
        fr.check_version(bad)
