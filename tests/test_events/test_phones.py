import pytest

from events.phones import normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "+86 138 0013 8000",
        "13800138000",
        "+8613800138000",
        "0086 138 0013 8000",
        "138-0013-8000",
        "(+86) 13800138000",
    ],
)
def test_mobile_forms_normalise_to_e164(raw):
    assert normalize_phone(raw) == "+8613800138000"


@pytest.mark.parametrize("raw", ["021-60000000", "+862160000000", "+86 21 6000 0000", "0086-21-60000000"])
def test_landline_forms_normalise_to_e164(raw):
    assert normalize_phone(raw) == "+862160000000"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("95588", "95588"),
        ("+86 95588", "95588"),
        ("1069 0000 8888", "106900008888"),
        ("+8610665056071", "10665056071"),
        ("10665056071", "10665056071"),
    ],
)
def test_service_numbers_are_kept_as_digits(raw, expected):
    assert normalize_phone(raw) == expected


def test_region_applies_to_national_forms():
    assert normalize_phone("(415) 555-2671", "US") == "+14155552671"


def test_no_digits_is_an_error():
    with pytest.raises(ValueError, match="no digits"):
        normalize_phone("unknown")


def test_the_fast_path_agrees_with_libphonenumber():
    import random

    from events.phones import _fast_e164, _normalize

    rng, checked = random.Random(7), 0
    for _ in range(5000):
        raw = rng.choice(
            [
                f"+861{rng.randrange(10**10):010d}",
                f"1{rng.randrange(10**10):010d}",
                f"021{rng.randrange(10**8):08d}",
                f"0{rng.randrange(10**9, 10**11)}",
            ]
        )
        fast = _fast_e164(raw, "CN")
        if fast is not None:
            checked += 1
            assert fast == _normalize(raw, "CN"), raw
    assert checked > 1000
