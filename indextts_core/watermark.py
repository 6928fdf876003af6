"""A watermark for voice notes: which speech this system made, and the id of the note.

No watermarking model ships offline, so this is plain DSP, chosen for what people do to voice
notes (re-encoding at low bitrates, resampling to 16 kHz, trimming, gain, noise, speed change,
playback through a speaker into a phone):

- The mark lives in the **energy envelope of 48 bands between 550 and 5000 Hz** (what speech
  codecs, telephone band-limits and room acoustics keep; lower down, bands hold single harmonics
  of the voice, which carry a mark audibly and read it poorly), over **32 ms chips**: each (band,
  chip) cell is made a little louder or softer (±:data:`STRENGTH_DB`) following a keyed ±1
  pattern.  The gain follows the speech itself (it multiplies it), so silence stays silent and
  the change sits under the speech it modulates.
- The pattern repeats every :data:`PERIOD_CHIPS` chips (≈ 2.9 s), so any 3 s of a note holds a
  whole period: trimming, concatenation and a cut at any point leave a full copy.
- Every pattern comes from the deployment's **secret key** (:class:`WatermarkKey`, Kerckhoffs:
  this code is public, the key is not).  Even bands carry the key's **sync** pattern (is this
  ours, where does the period start, at what speed); odd bands carry the **payload**:
  :data:`PAYLOAD_BITS` bits (a note id) plus a :data:`MAC_BITS`-bit MAC of it under the key
  (decoded by flipping up to two of the least reliable bits), each bit spread over many cells
  and read after sync, summed over every period heard.  Without the key the mark can be neither
  found, removed exactly nor written; a note id whose MAC does not check is not read at all.
  Detection tries every key of the ring (:func:`detect`), so notes made before a rotation
  still verify.
- The detector keeps only what changes from cell to cell: it subtracts each chip's mean (gain,
  compression) and then the mean of the 3 × 3 cells around each cell.  What a channel does (EQ,
  band-limits, microphones) and most of what speech itself does (formants span bands, phonemes
  span chips) is shared with the neighbours and goes; a keyed pattern that flips from cell to cell
  stays.  Cells are then weighted as a matched filter would: less near the band's noise floor,
  less in bands that swing widely, more in the bands given more of the mark.  It searches speeds
  from −7 % to +7 % (as resampling and as tempo change).
- Detection reads every band: the sync bands by correlation, the payload bands by how strongly
  each bit reads, whatever its value — twice the cells of sync alone.

Figures (detection and payload reads per attack, false positives on unmarked speech, the mark's
SNR and PESQ, WER/CER with and without the mark) come from ``bench/watermark.py``.  :data:`DETECT_Z`
is set from the false positives measured there: a clip's score is the best of some thousands of
alignments, and that model, fitted to the tail of unmarked scores, puts the rate at the threshold
below 1 in 10,000.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional, Sequence, Union

import numpy as np

#: Analysis rate: every band lies under 8 kHz, so a note resampled to 16 kHz keeps the whole mark.
RATE = 16000
HOP = 256  # 16 ms
CHIP_HOPS = 2  # 32 ms chips: many cells in 3 s
PERIOD_CHIPS = 92  # 2.94 s: a 3 s cut of a note played up to 2 % slower still holds a period
BAND_EDGES_HZ = tuple(float(f) for f in np.geomspace(550.0, 5000.0, 49))
N_BANDS = len(BAND_EDGES_HZ) - 1
SYNC_BANDS = tuple(range(0, N_BANDS, 2))
DATA_BANDS = tuple(range(1, N_BANDS, 2))
PAYLOAD_BITS = 20
MAC_BITS = 12
#: Payload decoding flips up to 2 of this many least reliable bits to find a word whose MAC checks.
CHASE_BITS = 6
#: Alignments (best sync first) the payload is read at.
PAYLOAD_TRIES = 4
#: The wanted mark per cell, in dB of band energy; the mark's SNR is measured in bench/watermark.py.
STRENGTH_DB = 2.8
#: Speeds searched by the detector (a note played or re-encoded 7 % fast or slow still reads).
SPEEDS = tuple(np.round(np.arange(-0.07, 0.0701, 0.005), 4))
#: The detection statistic above which a clip is ours (calibrated in bench/watermark.py).
DETECT_Z = 5.7
#: The shortest key accepted (bytes): 128 bits.
MIN_KEY_BYTES = 16
#: Informed-embedding passes, and the largest change of one cell's energy (natural log), on average
#: over the bands: it rises with frequency from (1 − CAP_TILT)× in the lowest band to (1 + CAP_TILT)×
#: in the highest, where speech masks it better and the mark reads better (measured with the bands
#: from 550 Hz: 1.6× the detection score of one cap over bands from 300 Hz, at a better PESQ).
ISS_PASSES = 3
MAX_CELL = 1.25
CAP_TILT = 0.5
#: Informed embedding measures the note with white noise this far below it (the noise attack).
ISS_NOISE_SNR_DB = 20.0
#: The strengths :func:`embed` accepts.  Below 1 the bench's robustness no longer holds; at 1.3 a
#: reverberant phone replay is found in ≥ 98 % of 3 s cuts of every voice the bench marks (1.0:
#: 97–99 % of the engine's notes, 86–95 % of eSpeak voices), at a change of the note a listener can
#: hear (PESQ-WB 4.02 instead of 4.31; README, Watermark).
STRENGTHS = (1.0, 1.5)


@dataclass(frozen=True)
class WatermarkKey:
    """A deployment's secret watermark key.  Its :attr:`fingerprint` names it in records and
    logs; the secret itself never appears in a repr."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) < MIN_KEY_BYTES:
            raise ValueError(f"a watermark key needs at least {MIN_KEY_BYTES} random bytes")

    @classmethod
    def generate(cls) -> "WatermarkKey":
        return cls(secrets.token_bytes(32))

    @classmethod
    def from_text(cls, text: str) -> "WatermarkKey":
        """A key written as hex (``secrets.token_hex(32)``), as operators keep it in the environment."""
        try:
            return cls(bytes.fromhex(text.strip()))
        except ValueError as exc:
            raise ValueError(f"a watermark key must be at least {2 * MIN_KEY_BYTES} hex digits") from exc

    @property
    def fingerprint(self) -> str:
        """A public name of the key (16 hex digits): which key a note was made with."""
        return hashlib.sha256(b"watermark key id\0" + self.secret).hexdigest()[:16]

    def mac(self, payload: int) -> int:
        """The :data:`MAC_BITS`-bit MAC of a note id under this key."""
        digest = hmac.new(self.secret, b"note id\0" + payload.to_bytes(4, "little"), hashlib.sha256).digest()
        return int.from_bytes(digest[:4], "little") & ((1 << MAC_BITS) - 1)

    def rng(self, tag: bytes) -> np.random.Generator:
        seed = hmac.new(self.secret, b"pattern\0" + tag, hashlib.sha256).digest()
        return np.random.default_rng(np.frombuffer(seed, dtype=np.uint32))


KeyLike = Union[WatermarkKey, Sequence[WatermarkKey]]


@dataclass(frozen=True)
class Detection:
    """What the detector found in a clip."""

    marked: bool
    score: float  # detection z-score of the best alignment, as if the clip held one stretch to search
    payload: Optional[int]  # the note id, when its MAC checks under the key that found it
    speed: float  # the speed change it was found at (0.03: played 3 % fast)
    key: Optional[str] = None  # the fingerprint of the key whose mark was found


def _balanced(rng: np.random.Generator, rows: int) -> np.ndarray:
    """±1 [rows × period], each chip half +1 and half −1: a loudness change of the whole chip
    (gain, compression) cannot read as the mark."""
    column = np.array([1.0] * (rows // 2) + [-1.0] * (rows - rows // 2))
    return np.stack([rng.permutation(column) for _ in range(PERIOD_CHIPS)], axis=1)


@lru_cache(maxsize=16)
def _patterns(key: WatermarkKey) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The key's (sync ±1 [sync bands × period], data signs ±1 [data bands × period], bit of each
    data cell)."""
    sync = _balanced(key.rng(b"sync"), len(SYNC_BANDS))
    rng = key.rng(b"data")
    signs = _balanced(rng, len(DATA_BANDS))
    cells = len(DATA_BANDS) * PERIOD_CHIPS
    bit_of = rng.permutation(np.arange(cells) % (PAYLOAD_BITS + MAC_BITS)).reshape(len(DATA_BANDS), PERIOD_CHIPS)
    return sync, signs, bit_of


def _bits(key: WatermarkKey, payload: int) -> np.ndarray:
    word = payload | (key.mac(payload) << PAYLOAD_BITS)
    return np.array([(word >> i) & 1 for i in range(PAYLOAD_BITS + MAC_BITS)], dtype=float) * 2 - 1


def _cell_pattern(key: WatermarkKey, payload: int) -> np.ndarray:
    """±1 for every (band, chip of the period)."""
    sync, signs, bit_of = _patterns(key)
    pattern = np.empty((N_BANDS, PERIOD_CHIPS))
    pattern[list(SYNC_BANDS)] = sync
    pattern[list(DATA_BANDS)] = signs * _bits(key, payload)[bit_of]
    return pattern


@lru_cache(maxsize=8)
def _band_weights(nfft: int, rate: int) -> np.ndarray:
    """[bands × bins] of an ``nfft``-point FFT at ``rate``: overlapping raised-cosine bands on a
    log axis (smooth, no ringing).  Shared: read-only."""
    logf = np.log(np.maximum(np.fft.rfftfreq(nfft, 1.0 / rate), 1.0))
    edges = np.log(np.array(BAND_EDGES_HZ))
    centers = (edges[:-1] + edges[1:]) / 2
    width = edges[1] - edges[0]
    d = (logf[None, :] - centers[:, None]) / width
    weights = np.where(np.abs(d) < 1.0, 0.5 + 0.5 * np.cos(np.pi * d), 0.0)
    weights.setflags(write=False)
    return weights


def embed(samples: np.ndarray, rate: int, payload: int, key: WatermarkKey, strength: float = 1.0) -> np.ndarray:
    """Return ``samples`` with ``key``'s mark carrying ``payload`` (0 ≤ payload < 2**PAYLOAD_BITS).

    ``strength`` scales the wanted mark and the most one cell may change (:data:`STRENGTH_DB`,
    :data:`MAX_CELL`): the operator's choice between a quieter mark and one that survives more
    (:data:`STRENGTHS`; bench/watermark.py ``--strength`` measures both sides).  The detector is
    the same for every strength.

    Informed embedding: besides the ±:data:`STRENGTH_DB` pattern, each chip's sync cells and each
    period's cells of one payload bit are corrected by what the speech itself already says along
    their pattern (improved spread spectrum), so the detector reads the mark, not the speech.
    That is measured on the note with white noise added at :data:`ISS_NOISE_SNR_DB`: the mark
    goes up where noise would drown it, not only where the clean note needs it.
    """
    if not 0 <= payload < 1 << PAYLOAD_BITS:
        raise ValueError(f"payload must fit in {PAYLOAD_BITS} bits")
    if not STRENGTHS[0] <= strength <= STRENGTHS[1]:
        raise ValueError(f"strength must lie between {STRENGTHS[0]} and {STRENGTHS[1]}")
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < rate // 2:
        return x.astype(np.float32)
    from .audio import resample

    pattern = _cell_pattern(key, payload)
    _, _, bit_of = _patterns(key)
    alpha = strength * STRENGTH_DB / 10 * np.log(10)  # the wanted projection, in natural log of energy
    sb, db = list(SYNC_BANDS), list(DATA_BANDS)
    noise: list[np.ndarray] = []  # one draw, scaled to each pass's note

    def measure(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        heard = resample(signal.astype(np.float32), rate, RATE).astype(np.float64)
        if not noise:
            noise.append(np.random.default_rng(0).standard_normal(len(heard)))
        return _chips(_features(heard + noise[0][:len(heard)] * _noise_level(heard, ISS_NOISE_SNR_DB)), 0)

    d, active = measure(x)
    n = d.shape[1]
    phase = np.arange(n) % PERIOD_CHIPS
    p = pattern[:, phase]
    # Groups of cells read together: each chip's sync cells; each period's cells of one bit.
    group = np.empty((N_BANDS, n), dtype=int)
    group[sb] = np.arange(n)[None, :]
    group[db] = n + (np.arange(n) // PERIOD_CHIPS)[None, :] * (PAYLOAD_BITS + MAC_BITS) + bit_of[:, phase]
    size = int(group.max()) + 1 if n else 0
    cells = np.zeros((N_BANDS, n))
    cap = strength * MAX_CELL * _band_share()[:, None]
    y = x
    shaper = _Shaper(x, rate)
    for step in range(ISS_PASSES):
        if step:
            d, active = measure(y)
        if n == 0 or d.shape[1] < n:
            break
        d, active = d[:, :n], active[:n]
        on = np.broadcast_to(active[None, :], d.shape)
        proj = np.bincount(group.ravel(), (d * p * on).ravel(), minlength=size)
        count = np.bincount(group.ravel(), on.ravel().astype(float), minlength=size)
        short = np.maximum(alpha - proj / np.maximum(count, 1), 0.0)  # only where the mark is weaker than wanted
        cells = np.clip(cells + short[group] * p * on, -cap, cap)
        y = shaper.apply(cells)
    return y.astype(np.float32)


def _band_share() -> np.ndarray:
    """Each band's share of the mark (its cap over the mean cap): more in the higher bands."""
    return 1 + CAP_TILT * np.linspace(-1.0, 1.0, N_BANDS)


def _noise_level(x16: np.ndarray, snr_db: float) -> float:
    """The level (standard deviation) of white noise at ``snr_db`` below the speech of a 16 kHz
    signal, as a noisy room or a cheap microphone would add it."""
    speech = x16[np.abs(x16) > 0.01 * (np.max(np.abs(x16)) if len(x16) else 0.0)]
    power = float(np.mean(speech ** 2)) if len(speech) else 0.0
    return float(np.sqrt(power / 10 ** (snr_db / 10)))


class _Shaper:
    """Multiplies each (band, chip) of a signal by exp(cells/2) (cells: log energy), smoothly.

    Its own STFT pair (Hann windows of 4 hops, weighted overlap-add): the signal is analysed once
    and each informed-embedding pass only synthesises again, its FFT zero-padded to a length FFTs
    are fast at (the hop follows the rate: 353 samples at 22.05 kHz, a prime, and a frame of 4
    hops took 7× longer than one of 1440).
    """

    def __init__(self, x: np.ndarray, rate: int) -> None:
        from scipy.fft import next_fast_len, rfft

        self.length = len(x)
        self.hop = hop = int(round(HOP * rate / RATE))
        self.nper = 4 * hop
        self.nfft = next_fast_len(self.nper, real=True)
        self.window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(self.nper) / self.nper)  # periodic Hann
        half = self.nper // 2
        ext = np.concatenate([x[half:0:-1], x, x[-2:-half - 2:-1]]) if len(x) > half + 1 else np.pad(x, half)
        ext = np.pad(ext, (0, (-(len(ext) - self.nper)) % hop))  # whole frames
        frames = np.lib.stride_tricks.sliding_window_view(ext, self.nper)[::hop]
        self.spec = rfft(frames * self.window, n=self.nfft, axis=1)  # [frames × bins]
        # what overlap-add of the squared window gives each sample, to divide out
        self.norm = self._overlap_add(np.broadcast_to(self.window ** 2, frames.shape))
        weights = _band_weights(self.nfft, rate)
        used = np.flatnonzero(weights.any(axis=0))  # the bins the bands reach; the rest keep their gain of 1
        self.bins = slice(int(used[0]), int(used[-1]) + 1)
        self.weights = weights[:, self.bins]  # [bands × bins]

    def _overlap_add(self, frames: np.ndarray) -> np.ndarray:
        count, hop = frames.shape[0], self.hop
        blocks = frames.reshape(count, 4, hop)
        out = np.zeros((count + 3, hop))
        for j in range(4):
            out[j:j + count] += blocks[:, j]
        return out.ravel()

    def apply(self, cells: np.ndarray) -> np.ndarray:
        from scipy.fft import irfft

        frames = self.spec.shape[0]
        n = cells.shape[1]
        chip_pos = (np.arange(frames) + 0.5) / CHIP_HOPS - 0.5
        c0 = np.clip(np.floor(chip_pos).astype(int), -1, n)
        frac = chip_pos - np.floor(chip_pos)
        w = 0.5 - 0.5 * np.cos(np.pi * frac)  # raised-cosine crossfade between neighbouring chips
        padded = np.pad(cells, ((0, 0), (1, 2)))
        cell = (1 - w)[None, :] * padded[:, c0 + 1] + w[None, :] * padded[:, c0 + 2]  # [bands × frames]
        shaped = self.spec.copy()
        shaped[:, self.bins] *= np.exp(0.5 * (cell.T @ self.weights))  # amplitude
        out = self._overlap_add(irfft(shaped, n=self.nfft, axis=1)[:, :self.nper] * self.window)
        y = (out / np.maximum(self.norm, 1e-10))[self.nper // 2:self.nper // 2 + self.length]
        return np.pad(y, (0, self.length - len(y))) if len(y) < self.length else y


def _features(x16: np.ndarray) -> np.ndarray:
    """Log band energies [bands × hops] of a 16 kHz signal."""
    from scipy.signal import stft

    nper = 4 * HOP
    _, _, spec = stft(x16, fs=RATE, nperseg=nper, noverlap=nper - HOP, boundary="even", padded=True)
    power = np.abs(spec) ** 2
    energy = _band_weights(nper, RATE) @ power
    return np.log(energy + 1e-10)


def _chips(feat: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Whitened chip features [bands × chips] starting at hop ``offset``, and each chip's weight."""
    n = (feat.shape[1] - offset) // CHIP_HOPS
    if n <= 0:
        return np.zeros((N_BANDS, 0)), np.zeros(0)
    energy = np.exp(feat[:, offset:offset + n * CHIP_HOPS]).reshape(N_BANDS, n, CHIP_HOPS).mean(axis=2)
    level = np.log(energy + 1e-10)
    loud = level.mean(axis=0)
    # Chips of silence carry no mark (it multiplies the speech): leave them out.
    active = loud > np.max(loud) - 9.0
    d = level - level.mean(axis=0, keepdims=True)  # the chip's loudness (gain, compression)
    # What the neighbouring cells share (channel, formants, the phoneme), from speech chips only.
    from scipy.ndimage import uniform_filter

    on = np.broadcast_to(active[None, :].astype(float), d.shape)
    local = uniform_filter(d * on, 3, mode="nearest") / np.maximum(uniform_filter(on, 3, mode="nearest"), 1e-6)
    white = (d - local) * on
    # Weights (a matched filter): a cell near its band's noise floor holds little of the mark (the
    # mark multiplies the speech, noise is added to it), and a band whose cells swing widely
    # (narrow bands around moving harmonics) says less per cell.
    # (The floor is measured where there is sound at all: digital silence, as in padding, is not
    # a noise floor.)
    sound = loud > np.max(loud) - 14.0
    floor = np.percentile(energy[:, sound], 10, axis=1, keepdims=True)
    audible = np.clip(1.0 - floor / (energy + 1e-10), 0.0, 1.0)
    # (Scaled to keep cells in units of log energy: informed embedding compares them with the
    # wanted strength.)
    spread = (white ** 2).sum(axis=1, keepdims=True) / max(float(active.sum()), 1.0)
    return white * audible * float(np.mean(spread)) / (spread + 1e-3), active.astype(float)


def _fold(d: np.ndarray) -> np.ndarray:
    n = d.shape[1]
    pad = (-n) % PERIOD_CHIPS
    return np.pad(d, ((0, 0), (0, pad))).reshape(N_BANDS, -1, PERIOD_CHIPS).sum(axis=1)


def _scores(key: WatermarkKey, d: np.ndarray) -> np.ndarray:
    """Detection z-score at every cyclic shift of the period: the sync bands, and the data bands
    read without knowing the payload (each bit's |correlation|), combined.

    The data bands hold as many cells as the sync bands; summing each bit's strength whatever its
    sign uses them for detection too (measured: 1.3–1.5× the z of sync alone on clean cuts, Opus
    16 kbit/s, noise and tempo change), at the price of a statistic that is not exactly normal,
    which the calibration of :data:`DETECT_Z` on unmarked speech takes in.
    """
    sync, _, _ = _patterns(key)
    period = _fold(d)
    folded = period[list(SYNC_BANDS)]
    corr = np.real(np.fft.ifft(np.conj(np.fft.fft(sync, axis=1)) * np.fft.fft(folded, axis=1), axis=1)).sum(axis=0)
    # Each chip's sync cells are balanced (sum zero): the chip's own mean does not count.
    centred = folded - folded.mean(axis=0, keepdims=True)
    sync_z = corr / (np.sqrt(np.sum(centred ** 2)) + 1e-9)
    soft = np.abs(_soft_bits(key, period))  # [bits × shifts], each N(0, 1) on unmarked speech
    bits = soft.shape[0]
    # A half-normal has mean √(2/π) and variance 1 − 2/π.
    data_z = (soft.sum(axis=0) - bits * np.sqrt(2 / np.pi)) / np.sqrt(bits * (1 - 2 / np.pi))
    return (sync_z + data_z) / np.sqrt(2.0)


@lru_cache(maxsize=16)
def _bit_masks(key: WatermarkKey) -> tuple[np.ndarray, np.ndarray]:
    """Spectra (over the period) of each bit's signed cells and of its cells: [bits × data bands × bins]."""
    _, signs, bit_of = _patterns(key)
    of_bit = (bit_of[None, :, :] == np.arange(PAYLOAD_BITS + MAC_BITS)[:, None, None]).astype(float)
    return np.conj(np.fft.rfft(of_bit * signs[None], axis=2)), np.conj(np.fft.rfft(of_bit, axis=2))


def _soft_bits(key: WatermarkKey, period: np.ndarray) -> np.ndarray:
    """Each payload bit's normalised correlation at every cyclic shift of a folded clip
    (``_fold``): [bits × shifts]."""
    signed, cells = _bit_masks(key)
    folded = period[list(DATA_BANDS)]
    folded = folded - folded.mean(axis=0, keepdims=True)
    corr = np.fft.irfft(np.einsum("kbf,bf->kf", signed, np.fft.rfft(folded, axis=1)), PERIOD_CHIPS, axis=1)
    power = np.fft.irfft(np.einsum("kbf,bf->kf", cells, np.fft.rfft(folded ** 2, axis=1)), PERIOD_CHIPS, axis=1)
    return corr / np.sqrt(np.maximum(power, 1e-12))


def _windows(d: np.ndarray) -> list[np.ndarray]:
    """The whole clip, and stretches of one and two periods, a quarter period apart.

    Folding a clip made of several notes adds their marks at different phases, which cancel; a
    stretch inside one note holds its mark alone (a 3 s cut between other speech: mostly).
    """
    n = d.shape[1]
    if n < PERIOD_CHIPS // 2:
        return []
    out = [d]
    for span in (PERIOD_CHIPS, 2 * PERIOD_CHIPS):
        if n > span:
            out += [d[:, start:start + span] for start in range(0, n - span + 1, PERIOD_CHIPS // 4)]
    return out


def _speed_variants(x16: np.ndarray, feat: np.ndarray, speed: float) -> list[np.ndarray]:
    """Features of the clip undone for ``speed``, as resampling (pitch moved) and as tempo only
    (``feat``: the clip's own features)."""
    if speed == 0:
        return [feat]
    import soxr

    # A clip played (1+s)× fast by resampling: resampling it back undoes time and pitch at once.
    back = soxr.resample(x16.astype(np.float32), RATE, RATE * (1 + speed), quality="LQ")
    resampled = _features(np.asarray(back, dtype=np.float64))
    # Tempo only (pitch kept): stretch the feature track in time.
    n = feat.shape[1]
    m = int(round(n * (1 + speed)))
    src = np.clip(np.arange(m) / (1 + speed), 0, n - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    fr = src - i0
    tempo = feat[:, i0] * (1 - fr) + feat[:, i1] * fr
    return [resampled, tempo]


#: The most of a clip the detector reads (the mark repeats every period; more adds only time).
MAX_DETECT_SECONDS = 20.0


def _keyring(keys: KeyLike) -> tuple[WatermarkKey, ...]:
    ring = (keys,) if isinstance(keys, WatermarkKey) else tuple(keys)
    if not ring:
        raise ValueError("detection needs at least one key")
    return ring


def detect(samples: np.ndarray, rate: int, keys: KeyLike, max_seconds: float = MAX_DETECT_SECONDS) -> Detection:
    """Look for the mark of any of ``keys`` (a key, or the ring, newest first) in a clip of any
    rate (mono float).  Needs ~3 s of speech."""
    from .audio import resample

    ring = _keyring(keys)
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim > 1:
        x = x.mean(axis=1)
    x16 = resample(x[: int(max_seconds * rate)], rate, RATE).astype(np.float64)
    if len(x16) < RATE:
        return Detection(False, 0.0, None, 0.0)
    own = _features(x16)
    # A matched filter over the bands too: each counts as much as the mark it was given (measured:
    # replay found in 109 instead of 105 of 112 cuts, Opus 16 kbit/s and noise read more strongly,
    # unmarked speech scores no higher).
    share = _band_share()[:, None]
    views: list[tuple[float, np.ndarray]] = []  # (speed, window of chip features): the same for every key
    stretches = 1
    for speed in SPEEDS:
        for feat in _speed_variants(x16, own, float(speed)):
            for offset in range(CHIP_HOPS):
                windows = _windows(_chips(feat, offset)[0] * share)
                stretches = max(stretches, len(windows))
                views += [(float(speed), window) for window in windows]
    if not views:
        return Detection(False, 0.0, None, 0.0)
    best = Detection(False, 0.0, None, 0.0)  # a marked one (no id read) outranks any unmarked one
    for key in ring:
        found = []  # (z, speed, window, shift)
        for speed, window in views:
            scores = _scores(key, window)
            shift = int(np.argmax(scores))
            found.append((float(scores[shift]), speed, window, shift))
        found.sort(key=lambda f: -f[0])
        # Every key is one more search: the threshold holds for the whole ring.
        z = _for_stretches(found[0][0], stretches * len(ring))
        if z < DETECT_Z:
            if not best.marked and z >= best.score:
                best = Detection(False, z, None, found[0][1])
            continue
        # The payload from the best alignments in turn (neighbouring speeds and offsets read alike).
        payload = next((p for p in (_read_payload(key, d, shift) for _, _, d, shift in found[:PAYLOAD_TRIES])
                        if p is not None), None)
        detection = Detection(True, z, payload, found[0][1], key.fingerprint)
        if payload is not None:
            return detection
        if not best.marked or z > best.score:
            best = detection
    return best


def _for_stretches(z: float, stretches: int) -> float:
    """The best score over ``stretches`` stretches of a clip, as the score of one.

    A long clip gives unmarked speech more chances: its best stretch must score higher for the
    same false-positive rate (Bonferroni: conservative, the stretches overlap), so one threshold,
    :data:`DETECT_Z`, holds for clips of any length.
    """
    from scipy.optimize import brentq
    from scipy.stats import norm

    # In logs: a whole note scores far beyond where the normal tail underflows.
    target = float(norm.logsf(z)) + np.log(max(stretches, 1))
    if target >= np.log(0.5):
        return 0.0
    return float(brentq(lambda t: float(norm.logsf(t)) - target, 0.0, max(z, 0.0)))


def _read_payload(key: WatermarkKey, d: np.ndarray, shift: int) -> Optional[int]:
    soft = _soft_bits(key, _fold(d))[:, shift]
    hard = soft > 0
    weakest = np.argsort(np.abs(soft))[:CHASE_BITS]
    flips = [()] + [(int(i),) for i in weakest] + [(int(i), int(j)) for k, i in enumerate(weakest) for j in weakest[k + 1:]]
    for flip in flips:  # the most likely words first: none, one, then two of the weakest bits wrong
        bits = hard.copy()
        bits[list(flip)] ^= True
        word = sum(1 << i for i, v in enumerate(bits) if v)
        payload = word & ((1 << PAYLOAD_BITS) - 1)
        if hmac.compare_digest((word >> PAYLOAD_BITS).to_bytes(2, "little"), key.mac(payload).to_bytes(2, "little")):
            return payload
    return None
