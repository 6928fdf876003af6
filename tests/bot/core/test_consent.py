from bot.core.consent import check_recording, check_transcript, consent_sentence, new_code


def test_sentence_spells_the_code():
    assert consent_sentence("7429").endswith("Code: seven, four, two, nine.")
    codes = [new_code() for _ in range(500)]
    assert all(len(c) == 4 and c.isdigit() for c in codes)
    assert all(a != b for c in codes for a, b in zip(c, c[1:]))  # no "six six": ASR miscounts repeats
    assert len(set(codes)) > 400


def test_accepts_digits_or_words_and_rejects_wrong_code_or_other_speech():
    s = "I agree that my voice can be used by this bot to make a synthetic copy."
    assert check_transcript("7429", f"{s} Code 7429.").accepted
    assert check_transcript("7429", f"{s} Code seven, four, two, nine.").accepted
    assert check_transcript("0429", f"{s} Code oh four two nine.").accepted
    assert check_transcript("8302", f"{s} Code A302.").accepted  # Whisper tiny's spelling of "eight"
    assert check_transcript("6960", f"{s} Code 69600.").accepted  # a stutter: codes never repeat a digit
    assert check_transcript("1062", f"{s} Code 10062.").accepted
    assert not check_transcript("3148", f"{s} Code 348.").accepted  # a digit missing: could be another code
    assert not check_transcript("3148", f"{s} Code 31348.").accepted  # an extra digit that is no stutter
    assert not check_transcript("7429", f"{s} Code 7428.").accepted  # a different digit: never
    assert not check_transcript("7429", f"{s} Code 74.").accepted  # two digits missing
    assert not check_transcript("7429", f"{s} Code 9247.").accepted  # wrong order
    assert not check_transcript("7429", "The weather is nice today. Code 7429").accepted


S = "I agree that my voice can be used by this bot to make a synthetic copy."


def test_one_recording_of_many_digits_cannot_match_many_codes():
    codes = [new_code() for _ in range(200)]
    replays = [
        f"{S} Code zero one two three four five six seven eight nine.",
        f"{S} Code 0123456789 0123456789.",
        f"{S} Code 1234. Code 5678. Code 9012.",
        f"{S} Code 12345, and 67890.",
        f"{S} Code 1357 2468.",
    ]
    for replay in replays:
        accepted = sum(check_transcript(code, replay).accepted for code in codes)
        assert accepted == 0, replay


def test_extra_words_after_the_code_are_fine_but_not_more_digits():
    assert check_transcript("7429", f"{S} Code 7429. Thank you.").accepted
    assert not check_transcript("7429", f"{S} Code 7429. Thank you, 5.").accepted
    assert not check_transcript("7429", f"{S} Code 742913.").accepted  # two extra digits


Z = "我同意这个机器人用我的声音制作合成副本。"


def test_the_chinese_sentence_reads_the_code_in_chinese_digits():
    assert consent_sentence("7429", "zh") == Z + "验证码：七、四、二、九。"
    assert consent_sentence("0815", "zh").endswith("验证码：零、八、一、五。")


def test_chinese_accepts_digits_characters_numbers_and_sound_alikes():
    assert check_transcript("7429", f"{Z}验证码七四二九。", "zh").accepted
    assert check_transcript("7429", f"{Z}验证码7429。", "zh").accepted
    assert check_transcript("7429", f"{Z}验证码七千四百二十九。", "zh").accepted  # read as one number
    assert check_transcript("7049", f"{Z}验证码七千零四十九", "zh").accepted
    # what Whisper base wrote for Kokoro reading the sentence: the sounds are right, the characters not
    assert check_transcript("6851", "我同意,这个机器人用我的声音制作,合成赴版,严正马刘八无异。", "zh").accepted
    assert check_transcript("3731", "我同意,这个机器人用我的声音制作,合成副本,严重码,三七三亿。", "zh").accepted
    assert check_transcript("7429", "我同意這個機器人用我的聲音製作合成副本。驗證碼七四二九。", "zh").accepted  # traditional
    # a sound where a digit was said that is no digit: one may stand for any digit, in its place
    assert check_transcript("7862", f"{Z}严正码七八六啊。", "zh").accepted
    assert check_transcript("3521", f"{Z}验证码散入而已。", "zh").accepted  # 散 suan, 入 ru: one sound off
    assert check_transcript("7429", f"{Z}验证码七四二九，好。", "zh").accepted  # a word after the code
    assert check_transcript("0494", f"{Z}严正马临四九四", "zh").accepted  # 临 lin: near 零 ling and 六 liu
    assert check_transcript("4392", f"{Z}严正马439R。", "zh").accepted
    assert not check_transcript("7862", f"{Z}验证码七啊六啊。", "zh").accepted  # two unknown: too little heard
    assert not check_transcript("3148", f"{Z}验证码三四八。", "zh").accepted  # a digit missing


def test_chinese_refuses_wrong_codes_other_sentences_and_replays():
    assert not check_transcript("7429", f"{Z}验证码七四二八。", "zh").accepted
    assert not check_transcript("7429", f"{Z}验证码九二四七。", "zh").accepted
    assert not check_transcript("7429", "今天天气很好，我们去公园散步吧。验证码七四二九。", "zh").accepted
    assert not check_transcript("7429", f"{Z}验证码七四二九。验证码一二三四。", "zh").accepted
    codes = [new_code() for _ in range(200)]
    for replay in (f"{Z}验证码零一二三四五六七八九。", f"{Z}验证码一二三四，五六七八。"):
        assert sum(check_transcript(code, replay, "zh").accepted for code in codes) == 0


def test_an_english_reading_does_not_pass_for_the_chinese_sentence():
    assert not check_transcript("7429", f"{S} Code 7429.", "zh").accepted
    assert not check_transcript("7429", f"{Z}验证码七四二九。", "en").accepted


class Scripted:
    """Transcripts in order, one per call (the ASR is measured in bench/consent.py and in test_clone)."""

    def __init__(self, *texts):
        self.texts, self.calls = list(texts), []

    def transcribe(self, samples, rate, language="en", second_opinion=False):
        self.calls.append(second_opinion)
        return self.texts.pop(0)


def test_a_refused_clip_gets_one_second_listen_under_the_same_rules():
    good, bad = f"{S} Code: 7, 4, 2, 9.", f"{S} Code 429."
    asr = Scripted(bad, good)
    assert check_recording(asr, "7429", None, 16000, "en").accepted and asr.calls == [False, True]
    asr = Scripted(good)
    assert check_recording(asr, "7429", None, 16000, "en").accepted and asr.calls == [False]
    asr = Scripted(bad, f"{S} Code 7428.")
    refused = check_recording(asr, "7429", None, 16000, "en")
    assert not refused.accepted and refused.transcript == bad and asr.calls == [False, True]
