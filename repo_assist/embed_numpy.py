"""A torch-free encoder for BERT-family sentence-transformers models.

Importing torch + transformers costs seconds; a query or a small index update
needs a few vectors. This module runs the same forward pass
(Transformer -> Pooling [-> Normalize]) with numpy, ``tokenizers`` and
``safetensors`` only, and gives the vectors sentence-transformers gives, to
float32 rounding. ``supports()`` says which folders it can serve exactly;
everything else goes to sentence-transformers.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import ConfigError

_ST_PREFIX = "sentence_transformers."
_POOLING_FLAGS = tuple(f"pooling_mode_{m}" for m in (
    "cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken",
))
# sentence_bert_config.json: keys this encoder applies or that do not change a
# text model's vectors, and keys that must be empty (older and newer ST names).
_USED_ST_KEYS = frozenset({
    "max_seq_length", "do_lower_case", "modality_config", "module_output_name", "unpad_inputs",
})
_EMPTY_ST_KEYS = frozenset({
    "model_args", "tokenizer_args", "config_args", "cache_dir", "model_kwargs", "processor_kwargs",
    "config_kwargs", "processing_kwargs", "query_length", "document_length", "query_expansion",
    "tokenizer_name_or_path",
})
_HINT = "re-export the model with sentence-transformers, or use a folder that has these files"

# erf(z) ~ z*P(z^2)/Q(z^2) on [-4, 4] (the float32 rational fit Eigen and XLA use;
# |error| < 1e-7 in float64, ~4e-7 evaluated in float32). Outside [-4, 4]
# erf is +-1 to float32 precision. numpy has no erf; math.erf per element and
# scipy.special.erf (scalar cephes) are 5-50x slower on the 1536-wide MLP.
_ERF_P = tuple(np.float32(c) for c in (
    -2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
    -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
    -1.60960333262415e-02,
))
_ERF_Q = tuple(np.float32(c) for c in (
    -1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
    -7.37332916720468e-03, -1.42647390514189e-02,
))
_INV_SQRT2 = np.float32(1.0 / math.sqrt(2.0))
_GELU_BLOCK = 1 << 16  # elements per block: temporaries stay in L2 cache
_BATCH_OVERHEAD_TOKENS = 64  # a forward pass's fixed cost (numpy calls, small GEMMs) in padded tokens


def erf(x: np.ndarray) -> np.ndarray:
    """float32 erf of an array, as a new array (GELU's kernel, exposed for tests)."""
    z = np.clip(np.asarray(x, dtype=np.float32), -4.0, 4.0)
    return _erf_into(z, *(np.empty_like(z) for _ in range(3)))


def _erf_into(z: np.ndarray, x2: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """erf of the clipped ``z``, written into ``z``; ``x2``, ``p``, ``q`` are scratch."""
    np.multiply(z, z, out=x2)
    np.multiply(x2, _ERF_P[0], out=p)
    p += _ERF_P[1]
    for c in _ERF_P[2:]:
        p *= x2
        p += c
    np.multiply(x2, _ERF_Q[0], out=q)
    q += _ERF_Q[1]
    for c in _ERF_Q[2:]:
        q *= x2
        q += c
    z *= p
    z /= q
    return z


def gelu_(h: np.ndarray) -> None:
    """Exact (erf) GELU in place on a C-contiguous float32 array.

    Worked in blocks so the temporaries stay in cache: on the (tokens, 1536)
    MLP activations a whole-array evaluation is memory-bound and ~2x slower.
    """
    flat = h.reshape(-1)
    n = flat.shape[0]
    size = min(n, _GELU_BLOCK)
    bufs = [np.empty(size, np.float32) for _ in range(4)]
    for start in range(0, n, _GELU_BLOCK):
        x = flat[start:start + _GELU_BLOCK]
        z, x2, p, q = (b[: x.shape[0]] for b in bufs)
        np.multiply(x, _INV_SQRT2, out=z)
        np.clip(z, -4.0, 4.0, out=z)
        _erf_into(z, x2, p, q)
        z += 1.0
        z *= 0.5
        x *= z


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing", _HINT) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {_first_line(exc)}", _HINT) from None


def _module_kind(entry: Any) -> str:
    """'Transformer' for 'sentence_transformers.models.Transformer', '' if foreign."""
    kind = entry.get("type", "") if isinstance(entry, dict) else ""
    if not isinstance(kind, str) or not kind.startswith(_ST_PREFIX):
        return ""
    return kind.rsplit(".", 1)[-1]


def _safetensors_dtypes(path: Path) -> dict[str, str]:
    """Tensor name -> dtype from the file header, without reading the weights."""
    try:
        with path.open("rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            if size > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(fh.read(size))
        return {k: v["dtype"] for k, v in header.items() if k != "__metadata__"}
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing", _HINT) from None
    except (OSError, ValueError, struct.error, TypeError, KeyError, AttributeError) as exc:
        raise ConfigError(f"{path} is not a safetensors file: {_first_line(exc)}", _HINT) from None


def _plain_st_config(cfg: dict[str, Any]) -> bool:
    """True if the Transformer module's options are ones this encoder reproduces."""
    fixed = {"backend": "torch", "transformer_task": "feature-extraction"}
    return all(
        value == fixed[key] if key in fixed else (not value if key in _EMPTY_ST_KEYS else key in _USED_ST_KEYS)
        for key, value in cfg.items()
    )


_QKV = ("attention.self.query", "attention.self.key", "attention.self.value")
_LAYER_PARTS = _QKV + (
    "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm",
)
_EMBEDDING_TENSORS = (
    "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
)


def _config_numbers(cfg: dict[str, Any], model_dir: Path) -> tuple[int, int, int, int, float]:
    """(hidden, heads, layers, max positions, layer-norm eps) from config.json."""
    try:
        return (
            int(cfg["hidden_size"]), int(cfg["num_attention_heads"]), int(cfg["num_hidden_layers"]),
            int(cfg["max_position_embeddings"]), float(cfg["layer_norm_eps"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{model_dir}: config.json {_first_line(exc)} is missing or not a number", _HINT) from None


class _Spec:
    """What the folder says, read and checked before any weight is loaded.

    Every check here is a way the folder could differ from what ``encode``
    computes; ``supports()`` is "no check failed".
    """

    __slots__ = (
        "transformer_dir", "max_seq_length", "do_lower_case", "pooling", "normalize",
        "hidden", "heads", "layers", "eps", "prefix",
    )

    def __init__(self, model_dir: Path) -> None:
        modules = _read_json(model_dir / "modules.json")
        kinds = [_module_kind(m) for m in modules] if isinstance(modules, list) else []
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            raise ConfigError(f"{model_dir}: modules are not Transformer -> Pooling [-> Normalize]", _HINT)
        self.normalize = len(kinds) == 3
        self.transformer_dir = model_dir / str(modules[0].get("path", ""))
        pool_cfg = _read_json(model_dir / str(modules[1].get("path", "")) / "config.json")
        on = [flag for flag in _POOLING_FLAGS if isinstance(pool_cfg, dict) and pool_cfg.get(flag)]
        if on not in (["pooling_mode_cls_token"], ["pooling_mode_mean_tokens"]):
            raise ConfigError(f"{model_dir}: pooling {on} is not plain mean or cls", _HINT)
        self.pooling = "cls" if on == ["pooling_mode_cls_token"] else "mean"

        st_cfg = _read_json(self.transformer_dir / "sentence_bert_config.json")
        if not isinstance(st_cfg, dict) or not _plain_st_config(st_cfg):
            raise ConfigError(f"{model_dir}: sentence_bert_config.json has options this encoder lacks", _HINT)
        cfg = _read_json(self.transformer_dir / "config.json")
        model_type = cfg.get("model_type") if isinstance(cfg, dict) else None
        if model_type != "bert":
            raise ConfigError(f"{model_dir}: model_type {model_type!r} is not bert", _HINT)
        if cfg.get("hidden_act") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ConfigError(f"{model_dir}: hidden_act/position embeddings are not gelu/absolute", _HINT)
        self.hidden, self.heads, self.layers, max_pos, self.eps = _config_numbers(cfg, model_dir)
        raw_max = st_cfg.get("max_seq_length")
        if not isinstance(raw_max, int) or not 2 < raw_max <= max_pos or self.hidden % self.heads:
            raise ConfigError(f"{model_dir}: max_seq_length {raw_max!r} or head split does not fit the model", _HINT)
        self.max_seq_length = raw_max
        self.do_lower_case = bool(st_cfg.get("do_lower_case", False))

        if not (self.transformer_dir / "tokenizer.json").is_file():
            raise ConfigError(f"{self.transformer_dir / 'tokenizer.json'} is missing", _HINT)
        tok_cfg_path = self.transformer_dir / "tokenizer_config.json"
        tok_cfg = _read_json(tok_cfg_path) if tok_cfg_path.is_file() else {}
        if isinstance(tok_cfg, dict) and tok_cfg.get("truncation_side", "right") != "right":
            raise ConfigError(f"{model_dir}: the tokenizer truncates on the left", _HINT)

        dtypes = _safetensors_dtypes(self.transformer_dir / "model.safetensors")
        self.prefix = "bert." if "bert." + _EMBEDDING_TENSORS[0] in dtypes else ""
        needed = list(_EMBEDDING_TENSORS)
        needed += [f"encoder.layer.{i}.{part}.{kind}" for i in range(self.layers)
                   for part in _LAYER_PARTS for kind in ("weight", "bias")]
        bad = [n for n in needed if dtypes.get(self.prefix + n) not in ("F32", "F16", "F64")]
        if bad:
            raise ConfigError(f"{model_dir}: model.safetensors lacks {bad[0]} (or numpy cannot read its dtype)", _HINT)


class _Layer:
    """One encoder layer's weights, kept (out, in) as in the file; Q, K, V fused, Q pre-scaled."""

    __slots__ = ("qkv_w", "qkv_b", "ao_w", "ao_b", "ln1_w", "ln1_b", "in_w", "in_b", "out_w", "out_b", "ln2_w", "ln2_b")

    def __init__(self, get: Callable[[str], np.ndarray], prefix: str, scale: np.float32) -> None:
        def pair(part: str) -> tuple[np.ndarray, np.ndarray]:
            return get(f"{prefix}{part}.weight"), get(f"{prefix}{part}.bias")

        qkv = [pair(part) for part in _QKV]
        self.qkv_w = np.concatenate([w for w, _ in qkv])
        self.qkv_b = np.concatenate([b for _, b in qkv])
        rows = self.qkv_w.shape[0] // 3
        self.qkv_w[:rows] *= scale  # 1/sqrt(head_dim) folded into Q, as SDPA scales Q
        self.qkv_b[:rows] *= scale
        self.ao_w, self.ao_b = pair("attention.output.dense")
        self.ln1_w, self.ln1_b = pair("attention.output.LayerNorm")
        self.in_w, self.in_b = pair("intermediate.dense")
        self.out_w, self.out_b = pair("output.dense")
        self.ln2_w, self.ln2_b = pair("output.LayerNorm")


def _batches(lengths: list[int], batch_size: int) -> list[tuple[int, int]]:
    """Split lengths sorted longest-first into runs of at most ``batch_size``.

    Minimises padded tokens plus a fixed cost per forward pass, so a few long
    texts do not pad 31 short ones to 256 tokens (a plain cut every
    ``batch_size`` texts can do 5x the work on mixed chunk sizes).
    """
    n = len(lengths)
    best = [0] * (n + 1)  # best[i]: cost of texts i.. ; cut[i]: end of the batch starting at i
    cut = [n] * (n + 1)
    for i in range(n - 1, -1, -1):
        best[i] = -1
        for j in range(i + 1, min(n, i + batch_size) + 1):
            cost = (j - i) * lengths[i] + _BATCH_OVERHEAD_TOKENS + best[j]
            if best[i] < 0 or cost <= best[i]:  # ties: the longer batch
                best[i], cut[i] = cost, j
    runs, i = [], 0
    while i < n:
        runs.append((i, cut[i]))
        i = cut[i]
    return runs


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: np.float32) -> np.ndarray:
    """LayerNorm over the last axis, in place on ``x`` (float32 like torch)."""
    mean = x.mean(axis=-1, keepdims=True)
    x -= mean
    var = np.mean(np.square(x), axis=-1, keepdims=True)
    var += eps
    np.sqrt(var, out=var)
    x /= var
    x *= w
    x += b
    return x


class NumpyBertEncoder:
    """Sentence vectors from a BERT sentence-transformers folder, without torch.

    Same tokenization (the model's tokenizer, optional extra lower-casing,
    truncation to ``max_seq_length`` with [CLS]/[SEP]), same forward pass,
    same pooling and normalization as ``SentenceTransformer(folder).encode``.
    Weights are read once, in the constructor; nothing is cached globally.
    """

    def __init__(self, model_dir: str | Path) -> None:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer, normalizers

        spec = _Spec(Path(model_dir))
        self._spec = spec
        self.max_seq_length: int = spec.max_seq_length
        self.dim: int = spec.hidden
        self._eps = np.float32(spec.eps)

        tok_path = spec.transformer_dir / "tokenizer.json"
        try:
            self._tokenizer = Tokenizer.from_file(str(tok_path))
        except Exception as exc:  # noqa: BLE001 - tokenizers raises a plain Exception on a bad file
            raise ConfigError(f"cannot load {tok_path}: {_first_line(exc)}", _HINT) from None
        self._tokenizer.no_truncation()  # the file may carry its own (128 here); ST cuts at max_seq_length
        self._tokenizer.no_padding()  # padding is per batch, in encode()
        if spec.do_lower_case:  # as ST's Transformer does; a no-op if the normalizer lowercases already
            norm = self._tokenizer.normalizer
            self._tokenizer.normalizer = normalizers.Sequence([normalizers.Lowercase()] + ([norm] if norm else []))
        self._n_special = self._tokenizer.num_special_tokens_to_add(False)

        st_path = spec.transformer_dir / "model.safetensors"
        try:
            tensors = load_file(str(st_path))
        except (OSError, ValueError, SafetensorError) as exc:
            raise ConfigError(f"cannot load {st_path}: {_first_line(exc)}", _HINT) from None

        def get(name: str) -> np.ndarray:
            return np.ascontiguousarray(tensors.pop(spec.prefix + name), dtype=np.float32)

        self._word = get("embeddings.word_embeddings.weight")
        self._pos = get("embeddings.position_embeddings.weight")
        self._type = get("embeddings.token_type_embeddings.weight")
        self._emb_ln = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        scale = np.float32(1.0 / math.sqrt(spec.hidden // spec.heads))
        self._layers = [_Layer(get, f"encoder.layer.{i}.", scale) for i in range(spec.layers)]
        del tensors  # the pooler and anything else unused is freed here
        if self._word.shape[1] != self.dim or self._pos.shape[0] < self.max_seq_length:
            raise ConfigError(f"{st_path}: embedding shapes do not match config.json", _HINT)

    @staticmethod
    def supports(model_dir: str | Path) -> bool:
        """True if this encoder reproduces the folder's model; False means: use sentence-transformers."""
        try:
            _Spec(Path(model_dir))
        except ConfigError:
            return False
        return True

    # -- tokens --------------------------------------------------------------
    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens per text, special tokens excluded, not truncated."""
        encs = self._tokenizer.encode_batch([str(t) for t in texts], add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def _token_ids(self, texts: list[str]) -> list[tuple[list[int], list[int]]]:
        """(ids, type ids) per text, truncated and wrapped in special tokens as ST does."""
        keep = self.max_seq_length - self._n_special
        out = []
        for enc in self._tokenizer.encode_batch([str(t) for t in texts], add_special_tokens=False):
            if len(enc.ids) > keep:
                enc.truncate(keep)
            enc = self._tokenizer.post_process(enc)
            out.append((enc.ids, enc.type_ids))
        return out

    # -- vectors -------------------------------------------------------------
    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """float32 (len(texts), dim) sentence vectors, in the order given."""
        texts = list(texts)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, not {batch_size}")
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return result
        toks = self._token_ids(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(toks[i][0]))  # similar lengths share a batch
        lengths = [len(toks[i][0]) for i in order]
        for start, stop in _batches(lengths, batch_size):
            idx = order[start:stop]
            width = lengths[start]
            ids = np.zeros((len(idx), width), dtype=np.int64)
            types = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=bool)
            for row, i in enumerate(idx):
                n = len(toks[i][0])
                ids[row, :n], types[row, :n], mask[row, :n] = toks[i][0], toks[i][1], True
            result[idx] = self._pool(self._forward(ids, types, lengths[start:stop]), mask)
        if self._spec.normalize:
            norms = np.linalg.norm(result, axis=1, keepdims=True)
            result /= np.maximum(norms, np.float32(1e-12))
        return result

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._spec.pooling == "cls":
            return hidden[:, 0, :]
        m = mask[:, :, None].astype(np.float32)
        summed = (hidden * m).sum(axis=1)
        return summed / np.maximum(m.sum(axis=1), np.float32(1e-9))

    def _forward(self, ids: np.ndarray, types: np.ndarray, lengths: list[int]) -> np.ndarray:
        """BERT encoder: (batch, seq) ids -> (batch, seq, hidden) float32.

        Attention runs per sequence over its real tokens only, which is what
        the additive -inf mask computes, without the padded columns; the
        padded rows stay finite garbage that pooling masks out.
        """
        b, s = ids.shape
        d, h = self.dim, self._spec.heads
        x = self._word[ids]
        x += self._type[types]
        x += self._pos[:s]
        x = _layer_norm(x.reshape(b * s, d), *self._emb_ln, self._eps)
        ctx = np.zeros((b, s, h, d // h), dtype=np.float32)
        for layer in self._layers:
            qkv = x @ layer.qkv_w.T
            qkv += layer.qkv_b
            qkv = qkv.reshape(b, s, 3, h, d // h)
            for i, n in enumerate(lengths):
                scores = qkv[i, :n, 0].transpose(1, 0, 2) @ qkv[i, :n, 1].transpose(1, 2, 0)  # (h, n, n)
                scores -= scores.max(axis=-1, keepdims=True)
                np.exp(scores, out=scores)
                scores /= scores.sum(axis=-1, keepdims=True)
                ctx[i, :n] = (scores @ qkv[i, :n, 2].transpose(1, 0, 2)).transpose(1, 0, 2)
            attn = ctx.reshape(b * s, d) @ layer.ao_w.T
            attn += layer.ao_b
            attn += x
            x = _layer_norm(attn, layer.ln1_w, layer.ln1_b, self._eps)
            inter = x @ layer.in_w.T
            inter += layer.in_b
            gelu_(inter)
            out = inter @ layer.out_w.T
            out += layer.out_b
            out += x
            x = _layer_norm(out, layer.ln2_w, layer.ln2_b, self._eps)
        return x.reshape(b, s, d)
