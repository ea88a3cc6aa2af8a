"""SMS encoding and segments (docs/messaging.md §2.5, spec §5.1)."""

import pytest

from messaging.encoding import (
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENDED,
    UCS2,
    analyze,
    decode,
    encode,
    encode_gsm7,
    split,
)

EXTENSION_CHARS = "€^{}[]~|\\\x0c"


@pytest.mark.parametrize(("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3),
                                                  (460, 4)])
def test_gsm7_is_160_in_one_sms_and_153_per_part(length, segments):
    info = analyze("a" * length)
    assert info.encoding == GSM7
    assert info.characters == length
    assert info.segments == segments
    assert info.limit == (160 if segments == 1 else 153)


def test_every_extension_character_counts_two():
    assert set(EXTENSION_CHARS) == set(GSM7_EXTENDED)
    for ch in EXTENSION_CHARS:
        info = analyze(ch)
        assert (info.encoding, info.characters, info.segments) == (GSM7, 2, 1), repr(ch)


def test_eighty_euro_signs_fill_one_sms_and_eighty_one_take_two():
    assert (analyze("€" * 80).characters, analyze("€" * 80).segments) == (160, 1)
    assert (analyze("€" * 81).characters, analyze("€" * 81).segments) == (162, 2)
    assert analyze("a" * 159 + "€").segments == 2  # 161 septets


def test_the_whole_basic_alphabet_stays_gsm7():
    text = GSM7_BASIC.replace("\x1b", "")
    info = analyze(text)
    assert info.encoding == GSM7
    assert info.characters == 127


@pytest.mark.parametrize("odd", ["ж", "ç", "Ğ", "你", "`", "’", "😀"])
def test_any_non_gsm_character_makes_the_message_ucs2(odd):
    info = analyze("Hello " + odd)
    assert info.encoding == UCS2
    assert info.limit == 70


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_is_70_in_one_sms_and_67_per_part(length, segments):
    info = analyze("ж" * length)
    assert (info.encoding, info.characters, info.segments) == (UCS2, length, segments)
    assert info.limit == (70 if segments == 1 else 67)


def test_one_non_gsm_character_turns_a_long_gsm_text_into_ucs2_parts():
    # 100 characters fit one GSM-7 SMS; with a single Cyrillic letter they need two UCS-2 parts
    assert analyze("a" * 100).segments == 1
    info = analyze("a" * 99 + "ж")
    assert (info.encoding, info.characters, info.segments) == (UCS2, 100, 2)


def test_an_emoji_counts_two_utf16_units():
    assert analyze("😀").characters == 2
    assert analyze("😀" * 35).segments == 1     # 70 units
    assert analyze("😀" * 36).segments == 2     # 72 units
    assert analyze("a" * 69 + "😀").segments == 2  # 71 units


def test_the_counter_label_the_ui_shows():
    text = "a" * 101 + "€"  # 103 septets
    assert analyze(text).label == "7-bit extended (160) 103 characters / 1 SMS"
    assert analyze("ж" * 71).label == "UCS-2 (70) 71 characters / 2 SMS"
    assert analyze(text).as_dict() == {"encoding": "gsm7", "characters": 103, "segments": 1, "limit": 160,
                                       "label": "7-bit extended (160) 103 characters / 1 SMS"}


def test_an_empty_text_is_zero_sms():
    info = analyze("")
    assert (info.characters, info.segments) == (0, 0)


def test_a_short_text_is_one_part():
    assert split("Hello") == ["Hello"]
    assert split("a" * 160) == ["a" * 160]


def test_split_gives_parts_within_153_septets_and_never_cuts_an_escape_sequence():
    text = "a" * 152 + "€" + "b" * 151 + "{}" + "c" * 10
    parts = split(text)
    assert "".join(parts) == text
    assert len(parts) == analyze(text).segments == 3
    for part in parts:
        octets = encode_gsm7(part)
        assert len(octets) <= 153
        assert not octets.endswith(b"\x1b")  # an escape never ends a part: its character is whole
    assert parts[0] == "a" * 152           # the euro sign did not fit (152 + 2 > 153) and moved on
    assert parts[1].startswith("€")


def test_split_of_ucs2_never_cuts_a_surrogate_pair():
    text = "ж" * 66 + "😀" + "ж" * 70
    parts = split(text)
    assert "".join(parts) == text
    assert len(parts) == analyze(text).segments == 3
    for part in parts:
        data = encode(part, UCS2)
        assert len(data) <= 67 * 2
        assert data.decode("utf-16-be") == part  # strict decode: no half surrogate pair
    assert parts[0] == "ж" * 66
    assert parts[1].startswith("😀")


def test_split_parts_are_each_counted_with_the_whole_messages_encoding():
    # a GSM-7 part of a UCS-2 message must still be sent as UCS-2: the caller passes it
    text = "a" * 100 + "ж"
    parts = split(text)
    assert [len(p) for p in parts] == [67, 34]


def test_gsm7_encode_decode_round_trip():
    text = GSM7_BASIC.replace("\x1b", "") + EXTENSION_CHARS
    data = encode(text, GSM7)
    assert len(data) == 127 + 2 * len(EXTENSION_CHARS)
    assert decode(data, 0) == text


def test_ucs2_encode_decode_round_trip_with_emoji():
    text = "Привет 😀 你好"
    data = encode(text, UCS2)
    assert decode(data, 8) == text


def test_latin1_data_coding_is_decoded():
    assert decode("Olé".encode("latin-1"), 3) == "Olé"
