"""A torch-free encoder for BERT-family sentence-transformers models.

Importing torch + transformers costs seconds; a query or a small index update
needs a few vectors. This module runs the same forward pass
(Transformer -> Pooling [-> Normalize]) with numpy, ``tokenizers`` and
``safetensors`` only, and gives the vectors sentence-transformers gives, to
float32 rounding. ``supports()`` says which folders it can serve exactly
(``bert_folder`` reads and checks them); everything else goes to
sentence-transformers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np

from .bert_folder import HINT, QKV, Spec, first_line
from .errors import ConfigError

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


class _Layer:
    """One encoder layer's weights, kept (out, in) as in the file; Q, K, V fused, Q pre-scaled."""

    __slots__ = ("qkv_w", "qkv_b", "ao_w", "ao_b", "ln1_w", "ln1_b", "in_w", "in_b", "out_w", "out_b", "ln2_w", "ln2_b")

    def __init__(self, get: Callable[[str], np.ndarray], prefix: str, scale: np.float32) -> None:
        def pair(part: str) -> tuple[np.ndarray, np.ndarray]:
            return get(f"{prefix}{part}.weight"), get(f"{prefix}{part}.bias")

        qkv = [pair(part) for part in QKV]
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

        spec = Spec(Path(model_dir))
        self._spec = spec
        self.max_seq_length: int = spec.max_seq_length
        self.dim: int = spec.hidden
        self._eps = np.float32(spec.eps)

        tok_path = spec.transformer_dir / "tokenizer.json"
        try:
            self._tokenizer = Tokenizer.from_file(str(tok_path))
        except Exception as exc:  # noqa: BLE001 - tokenizers raises a plain Exception on a bad file
            raise ConfigError(f"cannot load {tok_path}: {first_line(exc)}", HINT) from None
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
            raise ConfigError(f"cannot load {st_path}: {first_line(exc)}", HINT) from None

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
            raise ConfigError(f"{st_path}: embedding shapes do not match config.json", HINT)

    @staticmethod
    def supports(model_dir: str | Path) -> bool:
        """True if this encoder reproduces the folder's model; False means: use sentence-transformers."""
        try:
            Spec(Path(model_dir))
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
