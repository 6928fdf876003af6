import pytest

from indextts_core.frontend import normalize


@pytest.mark.parametrize("text,expected", [
    ("I have 3 apples.", "I have three apples."),
    ("It costs $5.50 today", "It costs five dollars and fifty cents today"),
    ("£1", "one pound"),
    ("We met on 2024-03-15.", "We met on March fifteenth, twenty twenty-four."),
    ("Born 7/4/1999", "Born July fourth, nineteen ninety-nine"),
    ("at 3:30 pm", "at three thirty P M"),
    ("Growth was 12.5%", "Growth was twelve point five percent"),
    ("I ran 5 km in 30 min", "I ran five kilometers in thirty minutes"),
    ("It is -5 °C", "It is minus five degrees Celsius"),
    ("the 21st century", "the twenty-first century"),
    ("1,234,567 people", "one million two hundred thirty-four thousand five hundred sixty-seven people"),
    ("call 0123456789", "call zero one two three four five six seven eight nine"),
    ("Tom & Jerry", "Tom and Jerry"),
    ("A 1 GB file", "A one gigabyte file"),
])
def test_english(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("我有3个苹果", "我有三个苹果"),
    ("2024年3月15日", "二零二四年三月十五日"),
    ("花了¥25.5", "花了二十五点五元"),
    ("价格上涨了12.5%", "价格上涨了百分之十二点五"),
    ("他跑了5km，用了30min。", "他跑了五公里，用了三十分钟。"),
    ("温度是-5℃", "温度是负五摄氏度"),
    ("现在是下午3:30", "现在是下午三点三十分"),
    ("一共1205人", "一共一千二百零五人"),
    ("第10010号", "第一万零一十号"),
    ("我们2024-03-15见", "我们二零二四年三月十五日见"),
    ("全角１２３个", "全角一百二十三个"),
])
def test_chinese(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize("text,spoken", [
    ("Dr. Smith is here.", "Doctor Smith is here."),
    ("Mr. and Mrs. Li agree.", "Mister and Missus Li agree."),
    ("Fruit, e.g. apples, i.e. food.", "Fruit, for example apples, that is food."),
    ("See No. 5 now.", "See number five now."),
    ("I said no. Then I left.", "I said no. Then I left."),  # "no." without a number is the word
    ("Apples, pears, etc. Then bananas.", "Apples, pears, et cetera. Then bananas."),
    ("Bring snacks, etc.", "Bring snacks, et cetera."),
    ("The U.S. and the U.K. agree.", "The U S and the U K agree."),
    ("Cats vs. dogs", "Cats versus dogs"),
    ("page 3.5", "page three point five"),
])
def test_abbreviations_are_read_as_people_say_them(text, spoken):
    assert normalize(text) == spoken
