"""The job wire format refuses what a forged job could use against a worker."""

import msgpack
import pytest

from bot.core.tasks import CloneTask, RenderTask, pack, unpack
from indextts_core.engine import EmotionSpec


def test_jobs_round_trip_with_audio_as_bytes():
    task = CloneTask(b"OggS" + b"\0" * 100, "spoken", "1234", "en")
    assert unpack(pack(task)) == task
    render = RenderTask("Hello.", None, EmotionSpec(reference=b"RIFF" + b"\0" * 100), mark=7)
    assert unpack(pack(render)).emotion.reference == render.emotion.reference


@pytest.mark.parametrize("job", [
    {"kind": "clone", "audio": "/etc/passwd", "method": "button", "code": "", "language": "en"},
    {"kind": "render", "text": "Hi.", "profile": None, "duration": None, "mark": 1,
     "emotion": {"preset": None, "intensity": 1.0, "vector": None, "reference": "/home/user/secret.ogg",
                 "description": None, "alpha": 1.0, "reference_speaker": None}},
    {"kind": "render", "text": "Hi.", "profile": "/var/lib/voicebot/profile.bin", "duration": None, "emotion": None},
], ids=["clone-recording", "emotion-clip", "profile"])
def test_a_job_carrying_a_path_is_refused_before_any_file_is_opened(job, tmp_path):
    with pytest.raises(ValueError, match="must be bytes"):
        unpack(msgpack.packb(job, use_bin_type=True))
