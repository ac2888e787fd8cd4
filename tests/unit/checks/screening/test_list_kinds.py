"""Which screened lists hold sanctions and which PEP entries (issue #13 item 7): the facts
``sanctions_pep`` needs to say what was and was not consulted."""

from __future__ import annotations

from checks.screening import ScreeningIndex, load_list


def test_lists_of_kind_names_lists_as_screened_lists_does(fixtures_dir, ofac_list, un_list):
    pep = load_list(fixtures_dir / "opensanctions_sample.jsonl", kind="pep",
                    list_name="TR PEP")
    index = ScreeningIndex.from_lists(ofac_list, un_list, pep)
    sanctions = index.lists_of_kind("sanctions")
    assert sanctions == tuple(sorted(f"{lst.list_name}@{lst.version}"
                                     for lst in (ofac_list, un_list)))
    assert index.lists_of_kind("pep") == (f"TR PEP@{pep.version}",)


def test_an_index_of_sanctions_lists_only_has_no_pep_list(ofac_list, un_list):
    index = ScreeningIndex.from_lists(ofac_list, un_list)
    assert index.lists_of_kind("pep") == ()
    assert len(index.lists_of_kind("sanctions")) == 2
