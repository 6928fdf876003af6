"""The Telegram adapter running for real (PTB Application, long polling) against the fake Bot API."""

import asyncio

import pytest

from bot.adapters.telegram import run_telegram
from tests.fakes.telegram_api import TOKEN, FakeTelegram


@pytest.fixture
async def tg(app):
    fake = await FakeTelegram().start()
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(app, TOKEN, fake.base_url, fake.base_file_url, stop=stop))
    await fake.wait_for("setMyCommands", 2, timeout=30)
    yield fake
    stop.set()
    await asyncio.wait_for(task, 30)
    await fake.stop()
