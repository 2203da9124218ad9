"""Tests for locale normalisation, fallback chains, locale picking and text direction."""

from __future__ import annotations

import pytest

from personalization.locales import is_rtl, locale_chain, normalize_locale, pick_locale


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("fa", "fa"),
        ("fa-IR", "fa-IR"),
        ("fa_IR", "fa-IR"),
        ("FA-ir", "fa-IR"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("ZH_HANT_TW", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("ckb", "ckb"),
        ("fa_IR.UTF-8", "fa-IR"),
        ("sr_RS@latin", "sr-RS"),
        (" he-IL ", "he-IL"),
        ("en-US-u-ca-gregory", "en-US-u-ca-gregory"),
    ],
)
def test_normalize_locale_canonical_case(tag: str, expected: str) -> None:
    assert normalize_locale(tag) == expected


@pytest.mark.parametrize(
    ("tag", "expected"), [("iw", "he"), ("iw_IL", "he-IL"), ("IW-il", "he-IL"), ("in-ID", "id-ID")]
)
def test_withdrawn_language_codes_that_devices_send_are_replaced(tag: str, expected: str) -> None:
    # Java (Android before API 33) reports Hebrew as "iw": it must get the Hebrew
    # translation, right to left, not the default.
    assert normalize_locale(tag) == expected


def test_hebrew_as_java_spells_it_gets_hebrew_right_to_left() -> None:
    assert locale_chain("iw-IL", "en") == ("he-IL", "he", "en")
    assert pick_locale(["en", "he"], "iw-IL", "en") == "he"
    assert is_rtl("iw")


@pytest.mark.parametrize("tag", ["", "e", "*", "en-", "en--US", "fa IR", "en-US,en;q=0.9", "فارسی"])
def test_normalize_locale_rejects_malformed(tag: str) -> None:
    assert normalize_locale(tag) is None


def test_chain_region_then_language_then_default() -> None:
    assert locale_chain("fa-IR", "en") == ("fa-IR", "fa", "en")


@pytest.mark.parametrize("requested", ["fa_IR", "FA-ir", "fa_ir", "FA_IR"])
def test_chain_accepts_underscore_and_any_case(requested: str) -> None:
    assert locale_chain(requested, "en") == ("fa-IR", "fa", "en")


def test_chain_with_script_subtag() -> None:
    assert locale_chain("zh-Hant-TW", "en") == ("zh-Hant-TW", "zh-Hant", "zh", "en")


def test_chain_has_no_duplicates() -> None:
    assert locale_chain("en-US", "en") == ("en-US", "en")
    assert locale_chain("en", "en") == ("en",)
    assert locale_chain("EN", "en") == ("en",)


def test_chain_expands_default_too() -> None:
    assert locale_chain("fa", "en-GB") == ("fa", "en-GB", "en")


@pytest.mark.parametrize("requested", [None, "", "*", "not a locale"])
def test_chain_ignores_missing_or_malformed_request(requested: str | None) -> None:
    assert locale_chain(requested, "en") == ("en",)


def test_chain_skips_dangling_singletons() -> None:
    chain = locale_chain("en-US-u-ca-gregory", "fa")
    assert "en-US-u" not in chain
    assert chain[-3:] == ("en-US", "en", "fa")


def test_chain_rejects_malformed_default() -> None:
    with pytest.raises(ValueError, match="default locale"):
        locale_chain("fa", "??")


def test_pick_most_specific_available() -> None:
    assert pick_locale({"fa", "fa-IR", "en"}, "fa-IR", "en") == "fa-IR"
    assert pick_locale({"fa", "en"}, "fa-IR", "en") == "fa"


def test_pick_is_case_insensitive_and_returns_available_spelling() -> None:
    assert pick_locale(["EN", "FA_ir"], "fa-IR", "en") == "FA_ir"
    assert pick_locale(["EN", "he"], "ru", "en") == "EN"


def test_pick_falls_back_to_default() -> None:
    assert pick_locale({"en", "fa"}, "ru-RU", "en") == "en"
    assert pick_locale({"en", "fa"}, None, "fa") == "fa"


def test_pick_falls_back_to_first_available_deterministically() -> None:
    assert pick_locale({"ru", "he", "fa"}, "de", "en") == "fa"
    assert pick_locale(["ru", "he", "fa"], None, "en") == "fa"


def test_pick_from_nothing_is_none() -> None:
    assert pick_locale(set(), "fa", "en") is None
    assert pick_locale([], None, "en") is None


@pytest.mark.parametrize(
    "locale",
    ["fa", "he", "ar", "ur", "ps", "yi", "dv", "ckb", "sd", "ug", "fa-IR", "he_IL", "AR-eg"],
)
def test_rtl_languages(locale: str) -> None:
    assert is_rtl(locale)


@pytest.mark.parametrize("locale", ["en", "ru", "ru-RU", "zh-Hant-TW", "tr", "", "garbage!"])
def test_ltr_languages(locale: str) -> None:
    assert not is_rtl(locale)


def test_explicit_script_decides_direction() -> None:
    assert is_rtl("az-Arab")
    assert not is_rtl("sd-Deva")
    assert not is_rtl("ug-Cyrl-CN")
