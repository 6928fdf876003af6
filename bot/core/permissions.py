"""Ordered roles and the single place that decides who may do what."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..storage import Policy
from .command_spec import Access


class Role(enum.IntEnum):
    USER = 0
    TRUSTED = 1
    ADMIN = 2
    OWNER = 3


def resolve_role(is_owner: bool, is_platform_admin: bool, is_trusted: bool, is_private: bool) -> Role:
    """Owner of the server (or of a private chat) > platform admin > trusted member > user."""
    if is_owner or is_private:
        return Role.OWNER
    if is_platform_admin:
        return Role.ADMIN
    return Role.TRUSTED if is_trusted else Role.USER


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason_en: str = ""
    reason_zh: str = ""


ALLOW = Decision(True)

def decide(access: Access, role: Role, policy: Policy, blocked: bool) -> Decision:
    """May someone with ``role`` run a command of ``access`` (its spec says which) here under ``policy``?"""
    if access is Access.OPEN:
        return ALLOW
    if access is Access.ADMIN:
        if role >= Role.ADMIN:
            return ALLOW
        return Decision(False, "Only admins of this server can do that.", "只有本群/服务器的管理员可以这样做。")
    if blocked and role < Role.ADMIN:
        return Decision(False, "An admin has blocked you from using the voice bot here.", "管理员已禁止你在这里使用语音机器人。")
    if access is Access.CLONE:
        if policy.clone_allowed or role >= Role.ADMIN:
            return ALLOW
        return Decision(False, "Voice cloning is turned off in this server. Try in a private chat with me.",
                        "本服务器已关闭声音克隆。请在与我的私聊中尝试。")
    if access in (Access.STEER, Access.CHECK):
        return ALLOW  # STEER: whose playback it is decides, see may_steer_voice
    needed = {"everyone": Role.USER, "role": Role.TRUSTED, "admins": Role.ADMIN}[policy.say_mode]
    if role >= needed:
        return ALLOW
    who = {"role": "members with the allowed role", "admins": "admins"}[policy.say_mode]
    who_zh = {"role": "拥有指定角色的成员", "admins": "管理员"}[policy.say_mode]
    return Decision(False, f"Here only {who} can make the bot speak.", f"这里只有{who_zh}可以让机器人说话。")


def may_steer_voice(action: str, role: Role, *, alone_with_bot: bool, theirs: bool, others_using: bool) -> Decision:
    """/skip, /stop, /leave and /join (moving the bot) in a voice channel.

    A moderator, or a member alone with the bot, may do any of them.  Otherwise /skip and /stop
    belong to whoever asked for what is playing (``theirs``; /stop then drops only their own
    requests), and the bot leaves or moves only when nobody else is using it (``others_using``:
    someone else's request plays or waits, or others listen in a channel the caller is not in).
    """
    if role >= Role.ADMIN or alone_with_bot:
        return ALLOW
    if action in ("skip", "stop"):
        if theirs:
            return ALLOW
        return Decision(False, "Only the member who asked for this, or a moderator, can skip or stop it.",
                        "只有点播这段语音的成员或管理员可以跳过或停止它。")
    if not others_using:
        return ALLOW
    return Decision(False, "Others are using me in my voice channel: only a moderator, or a member alone there with "
                    "me, can make me leave or move now.",
                    "其他人正在我的语音频道里使用我：现在只有管理员或与我单独在频道里的成员可以让我离开或换频道。")
