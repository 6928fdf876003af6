from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_loads_and_tokens_come_from_the_environment():
    cfg = load_config(ROOT / "config.example.toml", env={"TELEGRAM_TOKEN": "t", "DISCORD_TOKEN": ""})
    assert cfg.engine.name == "default" and cfg.engine.options["chinese_voice"] == "espeak"
    assert cfg.bot.consent_mode == "spoken" and cfg.telegram_token == "t" and cfg.discord_token is None


@pytest.mark.parametrize("text,match", [
    ('[bot]\nworkerz = 2\n', "Unknown key"),
    ('telegram_token = "x"\n', "tokens belong in the environment"),
    ('[bot]\nconsent_mode = "maybe"\n', "consent_mode"),
    ('[bot\n', "config"),
])
def test_bad_config_is_refused(tmp_path, text, match):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(path, env={})


def test_missing_file_means_defaults(tmp_path):
    cfg = load_config(tmp_path / "none.toml", env={})
    assert cfg.database_path == Path("data") / "bot.sqlite3"


def test_python_m_bot_with_a_bad_engine_option_exits_2_with_one_line(tmp_path):
    import subprocess
    import sys

    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[engine]\nchinese_voice = "robot"\n[bot]\ndata_dir = "{tmp_path / "d"}"\n')
    proc = subprocess.run([sys.executable, "-m", "bot", "--config", str(cfg)], input="", capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "config error: chinese_voice must be 'espeak' or 'kokoro'"
