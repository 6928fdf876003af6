"""Every server policy setting declared once: its name, its values, what it does, how it is set.

``/policy set NAME VALUE`` on the text chats, ``/voiceadmin set`` on Discord (its choice list),
the usage line, ``/help`` and the "unknown setting" answer all come from :data:`SETTINGS`, so a
new setting is one entry here (and its column in the policy table).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional

from ..storage import Policy
from .command_spec import Pair
from .errors import BadRequest
from .invocation import Invocation

Apply = Callable[[Policy, str, Invocation], Policy]


@dataclass(frozen=True)
class PolicySetting:
    """One setting: ``/policy set <name> <values>``."""

    name: str
    values: Pair  # the values as the usage line writes them, (English, Chinese)
    meaning: Pair  # what it decides, for /help
    apply: Apply  # the policy with this setting changed; raises BadRequest on a bad value
    voice: bool = False  # a voice-channel setting: only where the platform has voice channels

    def usage(self, zh: bool) -> str:
        return f"{self.name} {self.values[zh]}"


def _on(value: str) -> bool:
    v = value.strip().lower()
    if v in ("on", "yes", "true", "1", "开"):
        return True
    if v in ("off", "no", "false", "0", "关"):
        return False
    raise BadRequest(f"Use on or off (got {value!r}).", f"请使用 on 或 off（收到 {value!r}）。")


def _role_id(value: str, inv: Invocation) -> str:
    """A role given by id or by name (case-insensitive, an optional leading @) → its id."""
    if not inv.role_names:
        raise BadRequest("This platform has no roles: use /trust @member instead, and '/policy set say role' lets trusted "
                         "members speak.", "这个平台没有角色：请改用 /trust @成员，'/policy set say role' 会让受信任成员可以说话。")
    value = value.strip()
    if value in inv.role_names:
        return value
    wanted = value.lstrip("@").casefold()
    for role_id, name in inv.role_names.items():
        if name.casefold() == wanted:
            return role_id
    raise BadRequest(f"There is no role named {value!r} here.", f"这里没有名为 {value!r} 的角色。")


def _whole(key: str, value: str, lo: int, hi: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"{key} needs a whole number.", f"{key} 需要一个整数。") from None
    if not lo <= n <= hi:
        raise BadRequest(f"{key} must be between {lo} and {hi}.", f"{key} 必须在 {lo} 到 {hi} 之间。")
    return n


def _quota(key: str, value: str) -> Optional[int]:
    v = value.strip().lower()
    if v in ("off", "关", "none"):
        return None
    if not v.isdigit() or not 1 <= int(v) <= 1_000_000:
        raise BadRequest(f"{key} needs seconds of speech a day (1 to 1000000), or 'off'.",
                         f"{key} 需要每天的语音秒数（1 到 1000000），或 off。")
    return int(v)


def _is_default(value: str) -> bool:
    return value.strip().lower() in ("default", "默认")


def _say_mode(policy: Policy, value: str, inv: Invocation) -> Policy:
    if value not in ("everyone", "role", "admins"):
        raise BadRequest("say must be everyone, role or admins.", "say 必须是 everyone、role 或 admins。")
    return replace(policy, say_mode=value)


def _voice_idle(policy: Policy, value: str, inv: Invocation) -> Policy:
    if _is_default(value):
        return replace(policy, voice_idle_s=None)
    if not value.strip().isdigit() or not 0 <= int(value) <= 86_400:
        raise BadRequest("voice_idle needs seconds from 0 (stay) to 86400, or 'default'.",
                         "voice_idle 需要 0（一直留着）到 86400 之间的秒数，或 default。")
    return replace(policy, voice_idle_s=int(value))


def _read_aloud(policy: Policy, value: str, inv: Invocation) -> Policy:
    v = value.strip().lower()
    if v in ("off", "关"):
        return replace(policy, read_aloud_channel=None)
    channel = inv.place.channel_id if v == "here" else value.strip().lstrip("<#").rstrip(">")
    if not channel.isdigit():
        raise BadRequest("read_aloud needs a text channel, 'here' or 'off'.", "read_aloud 需要一个文字频道、here 或 off。")
    return replace(policy, read_aloud_channel=channel)


SETTINGS: tuple[PolicySetting, ...] = (
    PolicySetting("clone", ("on|off", "on|off"),
                  ("members may clone from here and speak here in cloned voices (off: default voice only)",
                   "成员能否在这里克隆、能否在这里用克隆的声音说话（off：只用默认声音）"),
                  lambda p, v, inv: replace(p, clone_allowed=_on(v))),
    PolicySetting("say", ("everyone|role|admins", "everyone|role|admins"),
                  ("who may make the bot speak", "谁可以让机器人说话"), _say_mode),
    PolicySetting("role", ("NAME", "角色名"), ("the role for 'say role'", "say role 所用的角色"),
                  lambda p, v, inv: replace(p, say_role=_role_id(v, inv))),
    PolicySetting("cooldown", ("N", "N"), ("seconds between one member's requests", "同一成员两次请求间隔秒数"),
                  lambda p, v, inv: replace(p, cooldown_s=_whole("cooldown", v, 0, 3600))),
    PolicySetting("max_chars", ("N", "N"), ("the longest text one request may speak", "一次请求最多朗读的字符数"),
                  lambda p, v, inv: replace(p, max_chars=_whole("max_chars", v, 10, 2000))),
    PolicySetting("shared", ("on|off", "on|off"), ("/say as @member", "/say as @成员"),
                  lambda p, v, inv: replace(p, shared_voices_allowed=_on(v))),
    PolicySetting("quota", ("SECONDS|off", "秒数|off"),
                  ("seconds of speech a day for the whole server", "全服务器每天可生成的语音秒数"),
                  lambda p, v, inv: replace(p, quota_server_s=_quota("quota", v))),
    PolicySetting("member_quota", ("SECONDS|off", "秒数|off"),
                  ("seconds of speech a day for each member", "每位成员每天可生成的语音秒数"),
                  lambda p, v, inv: replace(p, quota_member_s=_quota("member_quota", v))),
    PolicySetting("read_aloud", ("CHANNEL|here|off", "频道|here|off"),
                  ("speak that channel's messages in voice (members in voice with the bot, in their own voice)",
                   "在语音频道朗读该频道的消息（与机器人同在语音里的成员，用其本人声音）"), _read_aloud, voice=True),
    PolicySetting("voice_idle", ("SECONDS|default", "秒数|default"),
                  ("how long the bot stays in voice with nothing to say", "机器人无话可说时在语音里停留多久"),
                  _voice_idle, voice=True),
    PolicySetting("leave_alone", ("on|off|default", "on|off|default"),
                  ("leave voice when no person is left", "只剩机器人时离开语音"),
                  lambda p, v, inv: replace(p, voice_leave_alone=None if _is_default(v) else _on(v)), voice=True),
)
BY_NAME = {s.name: s for s in SETTINGS}


def usage() -> Pair:
    """The usage line of ``/policy set`` in both languages."""
    return ("Usage: /policy set " + " | ".join(s.usage(False) for s in SETTINGS),
            "用法：/policy set " + " | ".join(s.usage(True) for s in SETTINGS))


def help_text(voice: bool) -> Pair:
    """Every setting with what it decides (the voice-channel ones only where ``voice``)."""
    chosen = [s for s in SETTINGS if voice or not s.voice]
    return ("Settings: " + "; ".join(f"{s.usage(False)} — {s.meaning[0]}" for s in chosen),
            "设置：" + "；".join(f"{s.usage(True)} —— {s.meaning[1]}" for s in chosen))


def apply_setting(policy: Policy, key: str, value: str, inv: Invocation) -> Policy:
    """``policy`` with setting ``key`` set to ``value``; a clear refusal for an unknown key or value."""
    setting = BY_NAME.get(key)
    if setting is None:
        names = [s.name for s in SETTINGS]
        raise BadRequest(f"Unknown policy setting. Use {', '.join(names[:-1])} or {names[-1]}.",
                         f"未知设置。可用：{'、'.join(names)}。")
    if setting.voice and inv.voice is None:
        raise BadRequest("Voice-channel settings work in Discord servers.", "语音频道相关设置只能在 Discord 服务器使用。")
    return setting.apply(policy, value, inv)
