"""Discord voice-channel latency: from the slash command (or a read-aloud message) to the first RTP
packet at the voice server, through the real discord.py client, a fake gateway and a fake TLS voice
server with UDP on 127.0.0.1 (tests/fakes), on the default engine.

Usage: python bench/discord_voice.py [--requests 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import yarl  # noqa: E402
from discord.gateway import DiscordWebSocket  # noqa: E402
from discord.http import Route  # noqa: E402

from bot.adapters.discord import VoiceBotClient  # noqa: E402
from bot.app import BotApp  # noqa: E402
from bot.config import BotConfig, Config  # noqa: E402
from bot.storage import Policy  # noqa: E402
from tests.bot.adapters.test_discord import dispatch, interaction, opt  # noqa: E402
from tests.bot.adapters.test_discord_voice import _post  # noqa: E402
from tests.fakes.discord_api import FakeDiscord  # noqa: E402
from tests.fakes.discord_voice import GUILD, TEXT_CHANNEL, VOICE_CHANNEL, FakeGateway, FakeVoiceServer, self_signed_cert  # noqa: E402

#: Twelve words, as the goal is stated.
SENTENCES = ["Please remember to bring your umbrella because it might rain this afternoon.",
             "The meeting starts at three so we still have time for lunch.",
             "Call me when you arrive at the station and I will come."]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def first_packet_after(server: FakeVoiceServer, t0: float, before: int) -> float:
    while len(server.packets) <= before:
        await asyncio.sleep(0.002)
    return server.packets[before].at - t0


async def drained(server: FakeVoiceServer) -> None:
    """Wait until the bot has stopped sending (the previous reply has ended)."""
    while True:
        n = len(server.packets)
        await asyncio.sleep(0.3)
        if len(server.packets) == n:
            return


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    app = BotApp(Config(bot=BotConfig(data_dir=tmp / "data", consent_mode="button", preload_clone_models=False)))
    await app.start()
    cert, key = self_signed_cert(tmp)
    api = await FakeDiscord().start()
    server = await FakeVoiceServer(cert, key).start()
    gateway = await FakeGateway(server, {"1": VOICE_CHANNEL}).start()
    Route.BASE = api.base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway.url)
    client = VoiceBotClient(app.commands, voice_idle_seconds=0, read_aloud=True,
                            connector=aiohttp.TCPConnector(ssl=server.client_ssl()))
    await client.login("bench-token")
    task = asyncio.create_task(client.connect())
    await client.wait_until_ready()
    api.client = client  # interactions are handed to the client as the gateway would
    await app.store.set_policy(Policy("discord", GUILD, read_aloud_channel=TEXT_CHANNEL))
    try:
        results: dict[str, list[float]] = {"/say voice:True (bot not in voice yet)": [], "/say voice:True": [],
                                           "read-aloud message": []}
        for i in range(args.requests):
            text = SENTENCES[i % len(SENTENCES)]
            before, t0 = len(server.packets), time.monotonic()
            if i % 2 == 0:
                dispatch(api, interaction("say", [opt("text", text), opt("voice", True, 5)], user=1))
                label = "/say voice:True" if i else "/say voice:True (bot not in voice yet)"
            else:
                await _post(gateway, 1, text)
                label = "read-aloud message"
            results[label].append(await first_packet_after(server, t0, before))
            await drained(server)
        print(f"{'request':40} {'n':>3} {'p50 s':>7} {'p95 s':>7}")
        for label, values in results.items():
            if values:
                print(f"{label:40} {len(values):3d} {statistics.median(values):7.3f} {pct(values, 95):7.3f}")
        print(f"packets dropped or undecryptable: {server.bad_packets}")
    finally:
        await client.close()
        await asyncio.gather(task, return_exceptions=True)
        await gateway.stop()
        await server.stop()
        await api.stop()
        await app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
