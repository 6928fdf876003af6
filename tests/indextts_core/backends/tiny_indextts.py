"""A tiny random-weight IndexTTS-2.5 ONNX model in the exact layout ``index-tts-2.5-onnx`` loads.

Every graph has the input and output names, dtypes and ranks the package documents in
``core/protocols.py`` and feeds in ``engine.py``, so the package's own code (feature extraction,
tokenizer, GPT sampling loop with its KV cache, CFM solver, vocoder call) runs end to end.  The
weights are random: the audio is noise, the wiring is real.

Two behaviours are built in so that lengths are realistic: the GPT stops after
``CODES_PER_TOKEN`` codes per text token (the KV cache carries the text length, as a real one
carries the prompt), and the length regulator really interpolates its input to the asked length.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 18
N_LAYERS = 24  # the package's KV-cache layout
VOCAB = 8194  # mel codes 0..8191, start 8192, stop 8193
STOP = 8193
CODES_PER_TOKEN = 6  # about 0.2 s of speech per text token at 50 codes/s × 1.72 frames per code
FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64


def _w(rng: np.random.Generator, name: str, *shape: int, scale: float = 0.05) -> onnx.TensorProto:
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def _const(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def _save(path: Path, nodes, inputs, outputs, inits, external: bool = False) -> None:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    if external:  # the big graphs ship as .onnx + .onnx.data
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + ".data", size_threshold=1024)
    else:
        onnx.save_model(model, str(path))


def _io(name: str, dtype: int, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def _n(op: str, inputs: list[str], outputs: list[str], **attrs) -> onnx.NodeProto:
    return helper.make_node(op, inputs, outputs, **attrs)


def _campplus(d: Path, rng) -> None:
    _save(d / "campplus.onnx",
          [_n("ReduceMean", ["fbank", "ax1"], ["m"], keepdims=0), _n("MatMul", ["m", "W"], ["p"]),
           _n("Tanh", ["p"], ["embedding"])],
          [_io("fbank", FLOAT, [1, "T", 80])], [_io("embedding", FLOAT, [1, 192])],
          [_w(rng, "W", 80, 192, scale=0.3), _const("ax1", np.array([1], np.int64))])


def _bigvgan(d: Path, rng) -> None:
    _save(d / "bigvgan.onnx",
          [_n("Transpose", ["mel"], ["mt"], perm=[0, 2, 1]), _n("MatMul", ["mt", "W"], ["f"]),
           _n("Tanh", ["f"], ["ft"]), _n("Mul", ["ft", "gain"], ["fg"]), _n("Reshape", ["fg", "shape"], ["wav"])],
          [_io("mel", FLOAT, [1, 80, "T"])], [_io("wav", FLOAT, [1, 1, "N"])],
          [_w(rng, "W", 80, 256, scale=0.2), _const("gain", np.float32(0.3)),
           _const("shape", np.array([1, 1, -1], np.int64))])


def _length_regulator(d: Path, rng) -> None:
    # nearest-neighbour interpolation of x [1,T,1024] to template's length, then a projection
    _save(d / "length_regulator.onnx",
          [_n("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
           _n("Transpose", ["template"], ["tt"], perm=[0, 2, 1]),
           _n("Shape", ["tt"], ["tshape"]), _n("Mul", ["tshape", "chan"], ["sizes"]),
           _n("Resize", ["xt", "", "", "sizes"], ["r"], mode="nearest"),
           _n("Transpose", ["r"], ["rt"], perm=[0, 2, 1]), _n("MatMul", ["rt", "W"], ["cond"])],
          [_io("x", FLOAT, [1, "T", 1024]), _io("template", FLOAT, [1, "T_out", 1])],
          [_io("cond", FLOAT, [1, "T_out", 512])],
          [_w(rng, "W", 1024, 512), _const("chan", np.array([1, 1024, 1], np.int64))])


def _codec_decode(d: Path, rng) -> None:
    _save(d / "semantic_codec_decode.onnx", [_n("Gather", ["E", "codes"], ["e"]), _n("MatMul", ["e", "W"], ["latent"])],
          [_io("codes", INT64, [1, "T"])], [_io("latent", FLOAT, [1, "T", 1024])],
          [_w(rng, "E", VOCAB, 8, scale=1.0), _w(rng, "W", 8, 1024, scale=1.0)])


def _emo_vec(d: Path, rng) -> None:
    _save(d / "emo_vec.onnx",
          [_n("ReduceMean", ["feat", "ax1"], ["m"], keepdims=0), _n("MatMul", ["m", "W"], ["p"]),
           _n("Cast", ["ilens"], ["lf"], to=FLOAT), _n("Mul", ["lf", "zero"], ["lz"]), _n("Add", ["p", "lz"], ["emo_vec"])],
          [_io("feat", FLOAT, [1, "Te", 1024]), _io("ilens", INT64, [1])], [_io("emo_vec", FLOAT, [1, 1280])],
          [_w(rng, "W", 1024, 1280, scale=0.5), _const("ax1", np.array([1], np.int64)), _const("zero", np.float32(0))])


def _semantic_model(d: Path, rng, feature_dim: int) -> None:
    _save(d / "semantic_model" / "semantic_model.onnx",
          [_n("MatMul", ["input_features", "W"], ["h"]), _n("Cast", ["attention_mask"], ["mf"], to=FLOAT),
           _n("Unsqueeze", ["mf", "ax2"], ["m3"]), _n("Mul", ["h", "m3"], ["feat"])],
          [_io("input_features", FLOAT, [1, "T", feature_dim]), _io("attention_mask", INT64, [1, "T"])],
          [_io("feat", FLOAT, [1, "T", 1024])],
          [_w(rng, "W", feature_dim, 1024, scale=0.1), _const("ax2", np.array([2], np.int64))], external=True)


def _kv_io(prefix: str) -> list[onnx.ValueInfoProto]:
    return [_io(f"{prefix}{i}_{kind}", FLOAT, [1, 1, f"S{kind}", 4 if kind == "k" else 1])
            for i in range(N_LAYERS) for kind in ("k", "v")]


def _gpt(d: Path, rng) -> None:
    onehot = np.zeros(VOCAB, np.float32)
    onehot[STOP] = 1.0
    shared = [_const("stop_onehot", onehot), _const("zero", np.float32(0)), _const("idx2", np.array([2], np.int64)),
              _const("end3", np.array([3], np.int64)), _const("per_token", np.float32(CODES_PER_TOKEN)),
              _const("gain", np.float32(100.0)), _const("lo", np.float32(-1e4)), _const("hi", np.float32(1e4))]
    # prefill: logits from the conditioning; the cache holds the text (its length stops the decode)
    nodes = [_n("ReduceMean", ["conds", "ax1"], ["c"], keepdims=0), _n("MatMul", ["c", "Wc"], ["c16"]),
             _n("MatMul", ["c16", "Wo"], ["base"]), _n("Cast", ["lang_id"], ["lf"], to=FLOAT), _n("Mul", ["lf", "zero"], ["lz"]),
             _n("Mul", ["stop_onehot", "lo"], ["never"]), _n("Add", ["base", "never"], ["b2"]),
             _n("Add", ["b2", "lz"], ["logits"]),
             _n("Cast", ["text_ids"], ["tf"], to=FLOAT), _n("Unsqueeze", ["tf", "ax13"], ["text_kv"]),
             _n("ReduceMean", ["conds", "ax12"], ["c0"], keepdims=1), _n("Unsqueeze", ["c0", "ax3"], ["c1"]),
             _n("Expand", ["c1", "k_shape"], ["k0"])]
    outs = [_io("logits", FLOAT, [1, VOCAB])]
    for i in range(N_LAYERS):
        nodes += [_n("Identity", ["k0"], [f"present_{i}_k"]), _n("Identity", ["text_kv"], [f"present_{i}_v"])]
    outs += _kv_io("present_")
    _save(d / "gpt_prefill" / "gpt_prefill.onnx", nodes,
          [_io("text_ids", INT64, [1, "L"]), _io("conds", FLOAT, [1, 3, 1280]), _io("lang_id", INT64, [1])],
          outs, shared + [_w(rng, "Wc", 1280, 16, scale=1.0), _w(rng, "Wo", 16, VOCAB, scale=1.0), _const("ax1", np.array([1], np.int64)),
                          _const("ax13", np.array([1, 3], np.int64)), _const("ax12", np.array([1, 2], np.int64)),
                          _const("ax3", np.array([3], np.int64)), _const("k_shape", np.array([1, 1, 1, 4], np.int64))],
          external=True)

    # step: logits from the last token; the stop code wins once pos_idx passes CODES_PER_TOKEN × text length
    nodes = [_n("Gather", ["E", "token"], ["e"]), _n("Reshape", ["e", "flat"], ["e2"]), _n("MatMul", ["e2", "Wo"], ["base"]),
             _n("Shape", ["past_kv_0_v"], ["vshape"]), _n("Slice", ["vshape", "idx2", "end3"], ["L"]),
             _n("Cast", ["L"], ["Lf"], to=FLOAT), _n("Mul", ["Lf", "per_token"], ["limit"]),
             _n("Cast", ["pos_idx"], ["pf"], to=FLOAT), _n("Sub", ["pf", "limit"], ["over"]),
             _n("Mul", ["over", "gain"], ["boost_raw"]), _n("Clip", ["boost_raw", "lo", "hi"], ["boost"]),
             _n("Mul", ["stop_onehot", "boost"], ["stop_term"]), _n("Add", ["base", "stop_term"], ["logits"]),
             _n("Gather", ["Ek", "token"], ["krow"]), _n("Reshape", ["krow", "k_row_shape"], ["k_new"])]
    for i in range(N_LAYERS):
        nodes += [_n("Concat", [f"past_kv_{i}_k", "k_new"], [f"present_{i}_k"], axis=2),
                  _n("Identity", [f"past_kv_{i}_v"], [f"present_{i}_v"])]
    _save(d / "gpt_step" / "gpt_step.onnx", nodes,
          [_io("token", INT64, [1, 1]), _io("pos_idx", INT64, [1])] + _kv_io("past_kv_"),
          [_io("logits", FLOAT, [1, VOCAB])] + _kv_io("present_"),
          shared + [_w(rng, "E", VOCAB, 16, scale=1.0), _w(rng, "Wo", 16, VOCAB, scale=1.0),
                    _w(rng, "Ek", VOCAB, 4), _const("flat", np.array([1, 16], np.int64)),
                    _const("k_row_shape", np.array([1, 1, 1, 4], np.int64))],
          external=True)


def _cfm(d: Path, rng) -> None:
    _save(d / "cfm_estimator" / "cfm_estimator.onnx",
          [_n("MatMul", ["cond", "Wc"], ["cp"]), _n("Transpose", ["cp"], ["ct"], perm=[0, 2, 1]),
           _n("MatMul", ["style", "Ws"], ["sp"]), _n("Unsqueeze", ["sp", "ax2"], ["s3"]),
           _n("Add", ["ct", "s3"], ["a"]), _n("Sub", ["a", "x"], ["b"]),
           _n("Mul", ["prompt_x", "tenth"], ["px"]), _n("Add", ["b", "px"], ["c"]),
           _n("Cast", ["x_lens"], ["lf"], to=FLOAT), _n("Mul", ["lf", "zero"], ["lz"]),
           _n("Mul", ["t", "zero"], ["tz"]), _n("Unsqueeze", ["tz", "ax12"], ["t3"]),
           _n("Add", ["c", "t3"], ["d"]), _n("Add", ["d", "lz"], ["v"])],
          [_io("x", FLOAT, [2, 80, "T"]), _io("prompt_x", FLOAT, [2, 80, "T"]), _io("x_lens", INT64, [1]),
           _io("t", FLOAT, [2]), _io("style", FLOAT, [2, 192]), _io("cond", FLOAT, [2, "T", 512])],
          [_io("v", FLOAT, [2, 80, "T"])],
          [_w(rng, "Wc", 512, 80, scale=0.5), _w(rng, "Ws", 192, 80, scale=0.5), _const("tenth", np.float32(0.1)),
           _const("zero", np.float32(0)), _const("ax2", np.array([2], np.int64)), _const("ax12", np.array([1, 2], np.int64))],
          external=True)


def _tokenizer(d: Path) -> None:
    # byte-level vocabulary: every text encodes, one token per byte
    lines = [f"{base64.b64encode(bytes([b])).decode()} {b}" for b in range(256)]
    (d / "multilingual_zh_ja_yue_char_del.tiktoken").write_text("\n".join(lines) + "\n")


def _feature_extractor(d: Path) -> int:
    from transformers import SeamlessM4TFeatureExtractor

    w2v = d / "hf_cache" / "w2v-bert-2.0"
    extractor = SeamlessM4TFeatureExtractor()
    extractor.save_pretrained(str(w2v))
    (w2v / "config.json").write_text(json.dumps({"model_type": "wav2vec2-bert", "hidden_size": 1024}))
    return extractor.feature_size * extractor.stride


def build_tiny_model(dest: Path, seed: int = 0) -> Path:
    """Write every file the package loads into ``dest``; return ``dest``."""
    rng = np.random.default_rng(seed)
    dest.mkdir(parents=True, exist_ok=True)
    feature_dim = _feature_extractor(dest)
    _tokenizer(dest)
    _campplus(dest, rng)
    _bigvgan(dest, rng)
    _length_regulator(dest, rng)
    _codec_decode(dest, rng)
    _emo_vec(dest, rng)
    _semantic_model(dest, rng, feature_dim)
    _gpt(dest, rng)
    _cfm(dest, rng)
    np.savez(dest / "spk_proj.npz", weight=(rng.standard_normal((1280, 192)) * 0.1).astype(np.float32),
             bias=np.zeros(1280, np.float32))
    return dest
