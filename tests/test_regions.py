import json

import pytest

from edge.plates import UnknownRegion, region_table


def test_there_are_138_unique_current_region_names():
    table = region_table()
    names = table.names()
    assert len(names) == 138
    assert len(set(names)) == 138


def test_every_region_has_reading_romaji_and_prefecture():
    for region in region_table().regions:
        assert region.reading and all("\u3041" <= c <= "\u309f" for c in region.reading), region
        assert region.romaji and region.romaji_ascii.isascii(), region
        assert region.prefectures and all(p[-1] in "都道府県" for p in region.prefectures), region
        assert region.kind in ("base", "gotochi")
        assert 1 <= len(region.name) <= 4


def test_counts_by_kind_and_name_length():
    regions = region_table().regions
    assert sum(r.kind == "base" for r in regions) == 87
    assert sum(r.kind == "gotochi" for r in regions) == 51
    lengths = {len(r.name) for r in regions}
    assert lengths == {1, 2, 3, 4}
    assert {"柏", "堺"} <= {r.name for r in regions if len(r.name) == 1}
    assert {"尾張小牧", "伊勢志摩"} <= {r.name for r in regions if len(r.name) == 4}


def test_2025_round_is_present_and_withdrawn_names_are_not():
    table = region_table()
    for name in ("十勝", "日光", "江戸川", "安曇野", "南信州"):
        assert table.get(name).introduced == "2025-05-07"
    for name in ("彦根", "東美濃"):
        with pytest.raises(UnknownRegion, match="not a region name on any plate"):
            table.lookup(name)


def test_fujisan_spans_two_prefectures():
    assert set(region_table().get("富士山").prefectures) == {"山梨県", "静岡県"}


@pytest.mark.parametrize("written", ["袖ヶ浦", "袖ケ浦", "そでがうら", "Sodegaura", "sodegaura"])
def test_sodegaura_in_both_spellings_is_one_region(written):
    match = region_table().lookup(written)
    assert match.region.name == "袖ヶ浦"
    assert not match.historical


@pytest.mark.parametrize("written,name", [
    ("しながわ", "品川"), ("Shinagawa", "品川"), ("SHINAGAWA", "品川"),
    ("Kōriyama", "郡山"), ("koriyama", "郡山"), ("Owari Komaki", "尾張小牧"),
    ("いわき", "いわき"), ("なにわ", "なにわ"),
])
def test_lookup_by_reading_and_romaji(written, name):
    assert region_table().lookup(written).region.name == name


@pytest.mark.parametrize("label,modern", [("品", "品川"), ("群", "群馬"), ("足", "足立"), ("三", "三重"),
                                          ("嶋", "島根"), ("沖繩", "沖縄"), ("埼玉", "大宮")])
def test_historical_labels_are_recognised_and_flagged(label, modern):
    match = region_table().lookup(label)
    assert match.historical
    assert match.region.name == modern
    assert match.written == label


def test_voiced_reading_is_not_folded_onto_another_region():
    # さがい is nobody's reading; folding its dakuten away would wrongly give 堺 (さかい).
    with pytest.raises(UnknownRegion):
        region_table().lookup("さがい")


@pytest.mark.parametrize("written", ["", "  ", "Tokyo", "品がわ", "東京", "X" * 10])
def test_unknown_regions_are_rejected(written):
    with pytest.raises(UnknownRegion):
        region_table().lookup(written)


def test_unknown_romaji_gets_suggestions():
    with pytest.raises(UnknownRegion) as info:
        region_table().lookup("Shinagwa")
    assert "品川" in info.value.suggestions


def test_data_file_matches_the_shared_reference(shared_dir):
    facts = json.loads((shared_dir / "reference" / "jp_plate_facts.json").read_text(encoding="utf-8"))
    table = region_table()
    assert [r["kanji"] for r in facts["regions"]] == list(table.names())
    for ref, region in zip(facts["regions"], table.regions):
        assert ref["reading_hiragana"] == region.reading
        assert ref["romaji_hepburn"] == region.romaji
        prefectures = ref["prefecture"] if isinstance(ref["prefecture"], list) else [ref["prefecture"]]
        assert tuple(prefectures) == region.prefectures
        assert tuple(ref["kanji_variants_seen"]) == region.variants
