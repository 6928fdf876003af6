from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_loads_and_tokens_come_from_the_environment():
    cfg = load_config(ROOT / "config.example.toml", env={"TELEGRAM_TOKEN": "t", "DISCORD_TOKEN": ""})
    assert cfg.engine.name == "default" and cfg.engine.options["chinese_voice"] == "kokoro:jf_gongitsune"
    assert cfg.bot.consent_mode == "spoken" and cfg.telegram_token == "t" and cfg.discord_token is None


@pytest.mark.parametrize("text,match", [
    ('[bot]\nworkerz = 2\n', "Unknown key"),
    ('telegram_token = "x"\n', "tokens belong in the environment"),
    ('[bot]\nconsent_mode = "maybe"\n', "consent_mode"),
    ('[bot\n', "config"),
    ('[queue]\nurl = "http://redis:6379"\n', "queue.url must start with redis://"),
    ('[queue]\nlease_seconds = 1\n', "lease_seconds must be between"),
    ('[storage]\nurl = "mysql://u:pw@db/x"\n', "storage.url must start with sqlite:// or postgresql://"),
    ('[bot]\nconsent_mode = "button"\n', "lets anyone clone anyone's voice.*i_understand_anyone_can_clone_anyone = true"),
    ('[bot]\nconsent_mode = "button"\ni_understand_anyone_can_clone_anyone = false\n', "lets anyone clone anyone's voice"),
    ('[engine]\nname = "indextts"\n[bot]\nconsent_mode = "button"\ni_understand_anyone_can_clone_anyone = true\n', "cannot be used with engine.name = 'indextts'"),
    ('[engines.indextts]\n[bot]\nconsent_mode = "button"\ni_understand_anyone_can_clone_anyone = true\n', "cannot be used with engine.name = 'indextts'"),
    ('[engines.default]\nchinese_voice = "espeak"\n', "already the primary engine"),
    ('[rollout]\ncanary = "indextts"\n', "rollout.canary must name a configured engine"),
    ('[engines.indextts]\n[rollout]\ncanary = "indextts"\npercent = 150\n', "rollout.percent must be a number from 0 to 100"),
    ('[rollout]\nservers = ["1234"]\n', "platform:server_id"),
    ('[rollout]\ncanary_percent = 5\n', "Unknown key"),
])
def test_bad_config_is_refused(tmp_path, text, match):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(path, env={})


async def test_button_consent_is_warned_about_at_start(tmp_path, engine, caplog):
    from bot.app import BotApp

    path = tmp_path / "c.toml"
    path.write_text(f'[bot]\nconsent_mode = "button"\ni_understand_anyone_can_clone_anyone = true\ndata_dir = "{tmp_path / "d"}"\npreload_clone_models = false\n')
    app = await BotApp(load_config(path, env={}), engine=engine).start()
    await app.stop()
    assert any(r.levelname == "WARNING" and "someone else's forwarded voice" in r.getMessage() for r in caplog.records)


def test_engines_side_by_side_and_rollout_rules_load(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[engines.indextts]\nmodel_dir = "/srv/m"\n[rollout]\ncanary = "indextts"\npercent = 12.5\n'
                    'servers = ["discord:42"]\nuser_choice = false\n')
    cfg = load_config(path, env={})
    assert [e.name for e in cfg.all_engines] == ["default", "indextts"] and cfg.engines[0].options == {"model_dir": "/srv/m"}
    assert (cfg.rollout.canary, cfg.rollout.percent, cfg.rollout.servers, cfg.rollout.user_choice) == (
        "indextts", 12.5, frozenset({"discord:42"}), False)


def test_missing_file_means_defaults(tmp_path):
    cfg = load_config(tmp_path / "none.toml", env={})
    assert cfg.database_url == f"sqlite:///{Path('data') / 'bot.sqlite3'}"


def test_python_m_bot_with_a_bad_engine_option_exits_2_with_one_line(tmp_path):
    import subprocess
    import sys

    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[engine]\nchinese_voice = "robot"\n[bot]\ndata_dir = "{tmp_path / "d"}"\n')
    proc = subprocess.run([sys.executable, "-m", "bot", "--config", str(cfg)], input="", capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert err.startswith("config error: engine.chinese_voice must be one of") and err.endswith("(got 'robot')")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("text,match", [
    ('[bot]\nworkers = "two"\n', 'bot.workers must be a whole number \\(got \'two\'\\)'),
    ('[bot]\ndata_dir = 5\n', "bot.data_dir must be a path"),
    ('[bot]\nper_user = 0\n', "bot.per_user must be between 1 and 1000"),
    ('[bot]\nmax_pending = true\n', "bot.max_pending must be a whole number"),
    ('[bot]\npreload_clone_models = "yes"\n', "bot.preload_clone_models must be true or false"),
    ('[discord]\ntest_guild_id = "abc"\n', "discord.test_guild_id must be a whole number"),
    ('[telegram]\nbase_url = 8081\n', "telegram.base_url must be text"),
    ('bot = 3\n', "\\[bot\\] must be a table"),
    ('[bot]\nwatermark_strength = 0.5\n', "bot.watermark_strength must be between 1.0 and 1.5 \\(got 0.5\\)"),
    ('[bot]\nwatermark_strength = nan\n', "bot.watermark_strength must be between 1.0 and 1.5"),
    ('[bot]\nwatermark_strength = "strong"\n', "bot.watermark_strength must be a number"),
])
def test_wrong_types_and_ranges_name_the_key(tmp_path, text, match):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(path, env={})


@pytest.mark.parametrize("text,strength", [("1.3", 1.3), ("1", 1.0)])
def test_watermark_strength_is_a_number(tmp_path, text, strength):
    path = tmp_path / "c.toml"
    path.write_text(f"[bot]\nwatermark_strength = {text}\n")
    value = load_config(path, env={}).bot.watermark_strength
    assert value == strength and isinstance(value, float)


def test_telegram_server_settings(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[telegram]\nbase_url = "http://127.0.0.1:8081/bot"\nbase_file_url = "http://127.0.0.1:8081/file/bot"\n')
    cfg = load_config(path, env={})
    assert cfg.telegram.base_url == "http://127.0.0.1:8081/bot" and cfg.telegram.base_file_url.endswith("/file/bot")


def test_an_explicit_config_path_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "typo.toml", env={}, required=True)


def _main(tmp_path, monkeypatch, capsys, text):
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    cfg = tmp_path / "c.toml"
    if text is not None:
        cfg.write_text(text)
    code = main(["--config", str(cfg)])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("text,match", [
    (None, "config file .*c.toml not found"),
    ('[bot]\nworkers = "two"\n', "bot.workers must be a whole number"),
    ('[engine]\nmax_chars = "lots"\n', "engine.max_chars must be a whole number"),
    ('[bot]\ndata_dir = "blocker/data"\n', "bot.data_dir .*blocker/data is not usable"),
])
def test_bad_start_is_one_line_and_exit_2_and_creates_nothing(tmp_path, monkeypatch, capsys, text, match):
    import re

    (tmp_path / "blocker").write_text("a file where a folder should be")
    code, err = _main(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err.strip().splitlines()) == 1 and re.search(match, err), err
    assert "Traceback" not in err
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()


def test_a_damaged_database_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "bot.sqlite3").write_bytes(b"not a database" * 100)
    code, err = _main(tmp_path, monkeypatch, capsys, f'[bot]\ndata_dir = "{tmp_path / "d"}"\nconsent_mode = "button"\ni_understand_anyone_can_clone_anyone = true\n')
    assert code == 2 and err.startswith("cannot start: cannot use the database") and len(err.strip().splitlines()) == 1


def test_queue_and_storage_urls_and_their_passwords_never_reach_the_logs(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[queue]\nurl = "redis://:redis-pw@10.0.0.5:6379/0"\n'
                    '[storage]\nurl = "postgresql://bot:pg-pw@10.0.0.6/voicebot"\n')
    cfg = load_config(path, env={"VOICEBOT_QUEUE_SECRET": "q" * 40, "REDIS_PASSWORD": "env-redis-pw",
                                 "VOICEBOT_WATERMARK_KEYS": "ab" * 32})
    assert cfg.queue.url.startswith("redis://") and cfg.database_url.startswith("postgresql://")
    assert {"redis-pw", "pg-pw", "q" * 40, "env-redis-pw", "ab" * 32} <= set(cfg.secrets)


@pytest.mark.parametrize("secret", [None, "too short"])
def test_a_redis_queue_without_a_strong_shared_secret_is_refused(tmp_path, secret):
    path = tmp_path / "c.toml"
    path.write_text('[queue]\nurl = "redis://10.0.0.5:6379/0"\n')
    env = {} if secret is None else {"VOICEBOT_QUEUE_SECRET": secret}
    with pytest.raises(ConfigError, match="needs VOICEBOT_QUEUE_SECRET.*at least 32 characters"):
        load_config(path, env=env)


@pytest.mark.parametrize("keys,match", [
    (None, "needs VOICEBOT_WATERMARK_KEYS"),
    ("", "needs VOICEBOT_WATERMARK_KEYS"),
    ("abc123", "key 1 is not 32\\+ hex digits"),
    ("ab" * 32 + ",not-hex-at-all-not-hex-at-all-not-hex", "key 2 is not"),
])
def test_workers_need_the_watermark_keys_and_a_bad_key_is_named_not_shown(tmp_path, keys, match):
    path = tmp_path / "c.toml"
    path.write_text('[queue]\nurl = "redis://10.0.0.5:6379/0"\n')
    env = {"VOICEBOT_QUEUE_SECRET": "q" * 40} | ({} if keys is None else {"VOICEBOT_WATERMARK_KEYS": keys})
    with pytest.raises(ConfigError, match=match) as refused:
        load_config(path, env=env)
    assert "abc123" not in str(refused.value) and "not-hex" not in str(refused.value)


def test_watermark_keys_come_newest_first_from_the_environment(tmp_path):
    new, old = "11" * 32, "22" * 32
    cfg = load_config(None, env={"VOICEBOT_WATERMARK_KEYS": f" {new} , {old} "})
    assert [k.secret.hex() for k in cfg.watermark_keys] == [new, old]
    assert load_config(None, env={}).watermark_keys == ()  # embedded: kept in the database


@pytest.mark.parametrize("url,shown", [
    ("redis://:pw@10.0.0.5:6379/0", "redis://…@10.0.0.5:6379/0"),
    ("postgresql://bot:p@ss@db/voicebot", "postgresql://…@db/voicebot"),  # an @ inside the password
    ("rediss://voicebot@redis.internal:6380/0", "rediss://…@redis.internal:6380/0"),
    ("sqlite:///data/bot.sqlite3", "sqlite:///data/bot.sqlite3"),
])
def test_urls_are_shown_without_their_credentials(url, shown):
    from bot.logsafe import without_credentials

    assert without_credentials(url) == shown
