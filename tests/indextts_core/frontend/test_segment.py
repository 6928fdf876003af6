"""Sentences for notes and for the engine: ended where people end them."""

import pytest

from indextts_core.frontend.segment import split_sentences


@pytest.mark.parametrize("text,sentences", [
    ("Dr. Smith arrived at 5 p.m. and left.", ["Dr. Smith arrived at 5 p.m. and left."]),
    ("We met at 5 p.m. Then we ate.", ["We met at 5 p.m.", "Then we ate."]),
    ("We need fruit, e.g. apples. Then go.", ["We need fruit, e.g. apples.", "Then go."]),
    ("The U.S. is big. Mr. Li agrees.", ["The U.S. is big.", "Mr. Li agrees."]),
    ("See No. 5 on page 3.5 now.", ["See No. 5 on page 3.5 now."]),
    ("I said no. Then I left.", ["I said no.", "Then I left."]),
    ("Apples, pears, etc. and more.", ["Apples, pears, etc. and more."]),
    ("Apples, pears, etc. Then bananas.", ["Apples, pears, etc.", "Then bananas."]),
    ("It costs $3.50. Really!", ["It costs $3.50.", "Really!"]),
    ("他说：好。然后走了。", ["他说：好。", "然后走了。"]),
])
def test_sentences_end_where_people_end_them_not_at_every_dot(text, sentences):
    assert split_sentences(text) == sentences
