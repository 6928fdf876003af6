"""The job wire format refuses what a forged job could use against a worker."""

import msgpack
import pytest

from bot.core.errors import BadRequest
from bot.core.tasks import Cloned, CloneTask, Rendered, RenderTask, Verified, VerifyTask, pack, unpack, unpack_task
from bot.storage import NoteMark
from indextts_core.engine import EmotionSpec, VoiceProfile
from indextts_core.errors import TooShortError


def test_jobs_round_trip_with_audio_as_bytes():
    task = CloneTask(b"OggS" + b"\0" * 100, "spoken", "1234", "en")
    assert unpack(pack(task)) == task
    render = RenderTask("Hello.", None, EmotionSpec(reference=b"RIFF" + b"\0" * 100), mark=NoteMark("0123abcd", 7))
    assert unpack(pack(render)).emotion.reference == render.emotion.reference
    assert unpack(pack(render)).mark == NoteMark("0123abcd", 7)
    checked = Cloned((), None, b"\0" * 16, synthetic=True)  # the checks of a recording: no profile yet
    assert unpack(pack(checked)) == checked
    assert unpack_task(pack(VerifyTask(b"OggS"))) == VerifyTask(b"OggS")
    assert unpack(pack(Verified(True, "0123abcd", 7))) == Verified(True, "0123abcd", 7)


@pytest.mark.parametrize("mark", [7, [7], ["k"], ["k", -1], ["k", 1 << 20], [1, 2], ["k", "7"]])
def test_a_job_with_a_malformed_mark_is_refused(mark):
    job = {"kind": "render", "text": "Hi.", "profile": None, "duration": None, "emotion": None, "mark": mark}
    with pytest.raises(ValueError, match="watermark payload"):
        unpack(msgpack.packb(job, use_bin_type=True))


@pytest.mark.parametrize("job", [
    {"kind": "clone", "audio": "/etc/passwd", "method": "button", "code": "", "language": "en"},
    {"kind": "render", "text": "Hi.", "profile": None, "duration": None, "mark": ["k", 1],
     "emotion": {"preset": None, "intensity": 1.0, "vector": None, "reference": "/home/user/secret.ogg",
                 "description": None, "alpha": 1.0, "reference_speaker": None}},
    {"kind": "render", "text": "Hi.", "profile": "/var/lib/voicebot/profile.bin", "duration": None, "emotion": None},
    {"kind": "verify", "audio": "/etc/passwd"},
], ids=["clone-recording", "emotion-clip", "profile", "verify-clip"])
def test_a_job_carrying_a_path_is_refused_before_any_file_is_opened(job, tmp_path):
    with pytest.raises(ValueError, match="must be bytes"):
        unpack(msgpack.packb(job, use_bin_type=True))


@pytest.mark.parametrize("message", [
    pack(Rendered(b"OggS", 1.0, b"")),
    pack(Cloned((VoiceProfile("default", "2.0", b""),), None)),
    pack(ValueError("boom")),
    pack(Verified(True, "0123abcd", 7)),
], ids=["a-result", "a-clone-result", "an-error", "a-verify-result"])
def test_a_worker_runs_only_jobs(message):
    """A result or an error put where a job belongs is malformed: the worker refuses it instead of
    handing the runtime something that is not a task."""
    assert not isinstance(unpack(message), (RenderTask, CloneTask, VerifyTask))  # the general reader accepts it
    with pytest.raises(ValueError, match="must be a render, a clone or a verify"):
        unpack_task(message)
    assert unpack_task(pack(RenderTask("Hi."))) == RenderTask("Hi.")


@pytest.mark.parametrize("error", [
    BadRequest("Speed x2 is out of range.", "语速 x2 超出范围。"),
    TooShortError("Too short: record at least 3 s.", "太短：请至少录 3 秒。"),
], ids=["the-bot's", "the-core's"])
def test_a_refusal_crosses_to_the_user_in_both_languages_and_a_fault_does_not(error):
    """One bilingual base for the bot's and the core's refusals: both reach the user as written."""
    failed = unpack(pack(error))
    assert (failed.message("en"), failed.message("zh")) == (error.message("en"), error.message("zh"))
    fault = unpack(pack(RuntimeError("/srv/secret path in a stack")))
    assert "secret" not in fault.message("en") and "failed" in fault.message("en")
