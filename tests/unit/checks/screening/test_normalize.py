"""Name normalisation: Turkish letters, diacritics, scripts, punctuation, company words."""

from __future__ import annotations

import pytest

from checks.screening.normalize import fold, name_variants, normalize_name


@pytest.mark.parametrize("text", ["IŞIK", "Işık", "ISIK", "ışık", "İŞİK", "isik"])
def test_turkish_dotted_and_dotless_i_fold_to_the_same_text(text: str) -> None:
    assert fold(text) == "isik"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Müller", "muller"),
        ("François Čapek", "francois capek"),
        ("Владимир Путин", "vladimir putin"),
        ("Abd-al-'Aziz", "abd al aziz"),
        ("Mas’ud", "masud"),
        ("S.A. de C.V.", "sa de cv"),
        ("A.Ş.", "as"),
    ],
)
def test_fold_transliterates_and_strips_punctuation(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_arabic_script_is_transliterated_by_unidecode() -> None:
    assert fold("صدام حسين") == "sdm hsyn"


@pytest.mark.parametrize(
    "name",
    [
        "Işık Dış Ticaret Limited Şirketi",
        "ISIK DIS TICARET LTD. STI.",
        "Isik Ltd Sti",
        "IŞIK A.Ş.",
        "Isik Anonim Sirketi",
        "ISIK GMBH",
        "Isik LLC",
    ],
)
def test_legal_forms_and_generic_words_are_removed_from_company_names(name: str) -> None:
    assert normalize_name(name, person=False).key == "isik"


@pytest.mark.parametrize(
    "name",
    ["GLOBAL TRADING LTD", "International Holding Corp.", "Trading Company A.Ş.", "THE GROUP"],
)
def test_company_name_of_only_generic_words_is_not_distinctive(name: str) -> None:
    assert not normalize_name(name, person=False).is_distinctive


def test_token_order_does_not_change_the_key() -> None:
    assert (
        normalize_name("AL-MAJID, Ali Hassan", person=True).key
        == normalize_name("Ali Hassan al Majid", person=True).key
    )


def test_person_names_keep_words_that_are_company_words_for_organisations() -> None:
    assert normalize_name("Aung San", person=True).key == "aung san"


def test_person_name_of_only_common_particles_is_not_distinctive() -> None:
    assert not normalize_name("Abu Mohammed", person=True).is_distinctive


def test_bracketed_acronym_gives_a_variant_without_it() -> None:
    assert name_variants("JAMAAT-UL-AHRAR (JuA)") == ("JAMAAT-UL-AHRAR (JuA)", "JAMAAT-UL-AHRAR")
