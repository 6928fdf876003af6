from bot.core.consent import check_transcript, consent_sentence, new_code


def test_sentence_spells_the_code():
    assert consent_sentence("7429").endswith("Code seven four two nine.")
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
    assert check_transcript("6960", f"{s} Code 69600.").accepted  # an extra digit heard
    assert check_transcript("1062", f"{s} Code 10062.").accepted  # a digit inserted
    assert check_transcript("3148", f"{s} Code 348.").accepted  # one digit swallowed
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
