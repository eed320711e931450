"""Model geometry: what one token costs in the KV cache, read from model metadata.

The context window we send to the model is computed, not guessed (DESIGN.md,
"The budget is computed"). That needs the attention geometry of the model:
layers, KV heads per layer, key/value head sizes, and which layers use a
sliding window. It comes from one of two places, both flat ``key -> value``
metadata with ``<arch>.`` prefixed keys:

* a GGUF file, whose header we walk ourselves (``from_gguf`` says why not
  ``gguf.GGUFReader``); tensor data is never read;
* Ollama's ``POST /api/show`` JSON (its ``model_info`` object). Ollama empties
  array values unless the request says ``"verbose": true``; an empty per-layer
  array falls back to the conservative scalar default (``head_count``).

The rules follow llama.cpp (``llama-hparams.cpp``, ``llama-model.cpp``,
``llama-kv-cache-iswa.cpp``):

* per layer ``n_embd_k_gqa = head_dim_k * n_head_kv(il)`` (same for V);
  ``head_count_kv`` may be a per-layer array, 0 where a layer has no KV;
* the sliding-window (SWA) layer pattern is hard-coded per architecture via
  ``set_swa_pattern(n)`` (layer ``il`` is SWA when ``il % n < n - 1``; the
  ``dense_first`` variant: SWA when ``il % n != 0``), and newer files may carry
  ``<arch>.attention.sliding_window_pattern`` (a period, or a per-layer array,
  non-zero = SWA), which we honour when present;
* an architecture we do not know is treated as all full attention even if it
  declares a window (llama.cpp ignores Mistral's window on ``llama``): an
  over-estimate of memory is safe, an under-estimate is an out-of-memory crash;
* recurrent models (Mamba, RWKV) keep a fixed state, no per-token KV: 0 bytes
  per token here (the state belongs in the compute reserve);
* hybrid models mark their recurrent layers with ``head_count_kv = 0`` in the
  per-layer array (Jamba, Granite-hybrid, LFM2, Nemotron-H) or, for Qwen3-Next /
  Qwen3.5, with ``full_attention_interval`` (layer ``il`` has attention when
  ``(il + 1) % interval == 0``);
* Gemma 3n shares the KV of its last ``attention.shared_kv_layers`` layers;
* MLA (DeepSeek-V2/V3): current conversions store the compressed latent as
  ``key_length = kv_lora_rank + rope dims``, ``value_length = kv_lora_rank`` and
  ``head_count_kv = 1``, so the generic formula already sizes the latent cache.
  Recent llama.cpp may skip the V half for MLA; counting it is conservative.
  Old conversions (no ``key_length_mla``) describe the uncompressed cache,
  which is what older llama.cpp allocated.
* Gemma 4-style separate SWA head sizes (``key_length_swa``) are not in
  ``ModelInfo``; the larger of the two sizes is used for every layer.

SWA cache size (``llama_kv_cache_iswa``, the non-unified layout, which is the
larger one): each sequence keeps ``pad256(min(n_ctx, sliding_window + n_ubatch))``
cells in SWA layers and ``pad256(n_ctx)`` cells in full layers; parallel
sequences multiply both (Ollama: ``num_ctx`` is per slot).
"""

from __future__ import annotations

import math
import mmap
import os
import struct
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .errors import ConfigError, ModelError
from .records import ModelInfo

#: bytes per element of the KV cache types llama.cpp / Ollama accept (block size 32 for quants)
ELEMENT_BYTES: Mapping[str, Fraction] = MappingProxyType({
    "f32": Fraction(4),
    "f16": Fraction(2),
    "bf16": Fraction(2),
    "q8_0": Fraction(34, 32),
    "q4_0": Fraction(18, 32),
    "q4_1": Fraction(20, 32),
    "q5_0": Fraction(22, 32),
    "q5_1": Fraction(24, 32),
    "iq4_nl": Fraction(18, 32),
})

#: llama.cpp pads every KV cache (full and SWA) to a multiple of this many cells
KV_PAD = 256

# arch -> (period, dense_first) of llama.cpp's hparams.set_swa_pattern(...)
_SWA_PERIOD: Mapping[str, tuple[int, bool]] = MappingProxyType({
    "gemma2": (2, False),
    "gpt-oss": (2, False),
    "cohere2": (4, False),
    "olmo2": (4, False),
    "exaone4": (4, False),
    "llama4": (4, False),
    "gemma3n": (5, False),
    "gemma3": (6, False),
    "gemma-embedding": (6, False),
    "smallthinker": (4, True),
})
# window llama.cpp assumes when the file has no sliding_window key
_SWA_DEFAULT_WINDOW: Mapping[str, int] = MappingProxyType({"gemma2": 4096, "llama4": 8192})
_RECURRENT = frozenset({"mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"})
_INTERVAL_HYBRID = frozenset({"qwen3next", "qwen35", "qwen35moe"})


def element_bytes(type_name: str) -> Fraction:
    """Bytes per cached element for a KV cache type name such as ``f16`` or ``q8_0``."""
    key = str(type_name).strip().lower()
    try:
        return ELEMENT_BYTES[key]
    except KeyError:
        raise ConfigError(
            f"unknown KV cache type {type_name!r}",
            hint="use one of " + ", ".join(ELEMENT_BYTES),
        ) from None


# --------------------------------------------------------------------------- readers


def from_gguf(path: str | os.PathLike[str]) -> ModelInfo:
    """Read the geometry of a GGUF model file (header only, no tensor data).

    Not ``gguf.GGUFReader``: it builds a numpy view per element of every array,
    and the 262k-entry tokenizer arrays of the packaged Gemma 3 make that take
    close to a minute. The header walk below skips arrays it does not need.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"model file not found: {p}", hint="check the model path")
    try:
        with open(p, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            meta, n_elements = _read_gguf_header(buf)
    except (OSError, ValueError, struct.error, IndexError, UnicodeDecodeError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ModelError(
            f"not a readable GGUF file: {p} ({first})",
            hint="point the model setting at a .gguf file",
        ) from None
    n_params = meta.get("general.parameter_count")
    if not isinstance(n_params, int) or n_params <= 0:
        n_params = n_elements
    return _info_from_metadata(p.name, meta, n_params=n_params, file_size=p.stat().st_size)


def from_ollama_show(name: str, show: Mapping[str, Any]) -> ModelInfo:
    """Read the geometry from Ollama's ``/api/show`` response (ask with ``verbose: true``)."""
    info = show.get("model_info") if isinstance(show, Mapping) else None
    if not isinstance(info, Mapping) or not info:
        raise ModelError(
            f"Ollama returned no model_info for {name}",
            hint="update Ollama; /api/show must include model_info",
        )
    n_params = info.get("general.parameter_count")
    return _info_from_metadata(name, info, n_params=n_params if isinstance(n_params, int) else 0)


# GGUF value types (ggml docs/gguf.md): id -> struct code; 8 = string, 9 = array
_GGUF_SCALAR = MappingProxyType({0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f",
                                 7: "?", 10: "Q", 11: "q", 12: "d"})
_GGUF_STRING, _GGUF_ARRAY = 8, 9
_GGUF_MAX_DECODED_ARRAY = 4096  # per-layer arrays are at most a few hundred entries


def _read_gguf_header(buf: Any) -> tuple[dict[str, Any], int]:
    """Metadata (big arrays left out) and the total tensor element count of a GGUF v2/v3 file."""
    if buf[:4] != b"GGUF":
        raise ValueError("no GGUF magic")
    if len(buf) < 24:
        raise ValueError("truncated header")
    endian = "<"
    version = struct.unpack_from("<I", buf, 4)[0]
    if version > 0xFFFF:  # a big-endian file
        endian, version = ">", struct.unpack_from(">I", buf, 4)[0]
    if version not in (2, 3):
        raise ValueError(f"unsupported GGUF version {version}")
    n_tensors, n_kv = struct.unpack_from(endian + "QQ", buf, 8)
    pos = 24

    def scalar(code: str, at: int) -> tuple[Any, int]:
        fmt = endian + code
        return struct.unpack_from(fmt, buf, at)[0], at + struct.calcsize(fmt)

    def string(at: int) -> tuple[str, int]:
        size, at = scalar("Q", at)
        if at + size > len(buf):
            raise ValueError("truncated string")
        return bytes(buf[at:at + size]).decode("utf-8", "replace"), at + size

    def value(vtype: int, at: int) -> tuple[Any, int]:
        if vtype == _GGUF_STRING:
            return string(at)
        if vtype == _GGUF_ARRAY:
            etype, at = scalar("I", at)
            count, at = scalar("Q", at)
            if etype in _GGUF_SCALAR:
                code = _GGUF_SCALAR[etype]
                end = at + count * struct.calcsize(code)
                if end > len(buf):
                    raise ValueError("truncated array")
                if count > _GGUF_MAX_DECODED_ARRAY:
                    return None, end
                return list(struct.unpack_from(f"{endian}{count}{code}", buf, at)), end
            if count > _GGUF_MAX_DECODED_ARRAY and etype == _GGUF_STRING:
                length = struct.Struct(endian + "Q")  # skip the vocabulary without decoding it
                for _ in range(count):
                    at += 8 + length.unpack_from(buf, at)[0]
                if at > len(buf):
                    raise ValueError("truncated array")
                return None, at
            items = []
            for _ in range(count):
                item, at = value(etype, at)
                items.append(item)
            return (items if count <= _GGUF_MAX_DECODED_ARRAY else None), at
        if vtype not in _GGUF_SCALAR:
            raise ValueError(f"unknown GGUF value type {vtype}")
        return scalar(_GGUF_SCALAR[vtype], at)

    meta: dict[str, Any] = {}
    for _ in range(n_kv):
        key, pos = string(pos)
        vtype, pos = scalar("I", pos)
        meta[key], pos = value(vtype, pos)
    n_elements = 0
    for _ in range(n_tensors):
        _, pos = string(pos)
        n_dims, pos = scalar("I", pos)
        dims = struct.unpack_from(f"{endian}{n_dims}Q", buf, pos)
        pos += 8 * n_dims + 4 + 8  # dims, ggml type, data offset
        n_elements += math.prod(dims)
    return meta, n_elements


# --------------------------------------------------------------------------- metadata -> ModelInfo


def _info_from_metadata(
    model_id: str, meta: Mapping[str, Any], *, n_params: int = 0, file_size: int = 0
) -> ModelInfo:
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelError(
            f"{model_id}: metadata has no general.architecture",
            hint="the file is not a language model GGUF",
        )

    def key(name: str) -> Any:
        value = meta.get(f"{arch}.{name}")
        return None if value == [] else value  # Ollama empties arrays unless verbose

    n_layers = _positive_int(key("block_count"), f"{arch}.block_count", model_id)
    n_ctx_trained = _positive_int(key("context_length"), f"{arch}.context_length", model_id)

    if arch in _RECURRENT:
        zeros = (0,) * n_layers
        return ModelInfo(
            id=model_id, n_ctx_trained=n_ctx_trained, n_layers=n_layers, n_kv_heads=zeros,
            head_dim_k=0, head_dim_v=0, sliding_window=0, swa_layers=(False,) * n_layers,
            architecture=arch, n_params=int(n_params or 0), file_size=int(file_size),
        )

    heads = _per_layer(key("attention.head_count"), n_layers, f"{arch}.attention.head_count", model_id)
    kv_heads = _per_layer(key("attention.head_count_kv"), n_layers,
                          f"{arch}.attention.head_count_kv", model_id) or heads
    if heads is None:
        raise ModelError(f"{model_id}: metadata lacks {arch}.attention.head_count",
                         hint="the model metadata is incomplete; re-convert it")
    n_head0 = next((h for h in heads if h > 0), 0)
    n_embd = key("embedding_length")
    default_dim = n_embd // n_head0 if isinstance(n_embd, int) and n_head0 else 0
    head_k = _int_or(key("attention.key_length"), default_dim)
    head_v = _int_or(key("attention.value_length"), default_dim)
    head_k = max(head_k, _int_or(key("attention.key_length_swa"), 0))
    head_v = max(head_v, _int_or(key("attention.value_length_swa"), 0))
    if head_k <= 0 or head_v <= 0:
        raise ModelError(f"{model_id}: cannot tell the attention head size",
                         hint=f"metadata lacks {arch}.attention.key_length and embedding_length")

    kv = list(kv_heads)
    if arch in _INTERVAL_HYBRID:
        interval = _int_or(key("full_attention_interval"), 4) or 4
        kv = [n if (il + 1) % interval == 0 else 0 for il, n in enumerate(kv)]
    shared = _int_or(key("attention.shared_kv_layers"), 0)
    if 0 < shared < n_layers:
        kv = kv[: n_layers - shared] + [0] * shared

    window, swa = _sliding_window(arch, key, n_layers)
    return ModelInfo(
        id=model_id, n_ctx_trained=n_ctx_trained, n_layers=n_layers, n_kv_heads=tuple(kv),
        head_dim_k=head_k, head_dim_v=head_v, sliding_window=window, swa_layers=swa,
        architecture=arch, n_params=int(n_params or 0), file_size=int(file_size),
    )


def _sliding_window(arch: str, key: Any, n_layers: int) -> tuple[int, tuple[bool, ...]]:
    """The window and the per-layer SWA flags, or ``(0, all False)`` when none is known."""
    none = (0, (False,) * n_layers)
    raw = key("attention.sliding_window")
    if raw is None:
        window = _SWA_DEFAULT_WINDOW.get(arch, 0)
    else:
        window = _int_or(raw, 0)
    if window <= 0:
        return none
    period, dense_first = _SWA_PERIOD.get(arch, (-1, False))
    pattern = key("attention.sliding_window_pattern")
    if isinstance(pattern, list) and len(pattern) == n_layers:
        flags = tuple(bool(x) for x in pattern)
        return (window, flags) if any(flags) else none
    if isinstance(pattern, int) and not isinstance(pattern, bool) and pattern >= 0:
        period = pattern
    if period < 0:
        return none  # unknown architecture: conservative, all layers full
    if dense_first:
        flags = tuple(period == 0 or il % period != 0 for il in range(n_layers))
    else:
        flags = tuple(period == 0 or il % period < period - 1 for il in range(n_layers))
    return (window, flags) if any(flags) else none


def _positive_int(value: Any, name: str, model_id: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ModelError(f"{model_id}: metadata lacks a valid {name}",
                         hint="the model metadata is incomplete; re-convert it")
    return value


def _int_or(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return int(value)


def _per_layer(value: Any, n_layers: int, name: str, model_id: str) -> tuple[int, ...] | None:
    """A scalar or per-layer array as one int per layer; ``None`` when absent."""
    if value is None:
        return None
    if isinstance(value, list):
        if len(value) != n_layers:
            raise ModelError(f"{model_id}: {name} has {len(value)} entries "
                             f"for {n_layers} layers", hint="the model metadata is inconsistent")
        return tuple(_int_or(v, 0) for v in value)
    return (_int_or(value, 0),) * n_layers


# --------------------------------------------------------------------------- KV arithmetic


def _pad(n: int, to: int = KV_PAD) -> int:
    return -(-n // to) * to


def _layer_bytes(info: ModelInfo, il: int, bk: Fraction, bv: Fraction) -> Fraction:
    n = info.n_kv_heads[il]
    return n * info.head_dim_k * bk + n * info.head_dim_v * bv


def _is_swa(info: ModelInfo, il: int) -> bool:
    return info.sliding_window > 0 and il < len(info.swa_layers) and info.swa_layers[il]


def kv_bytes_per_token(
    info: ModelInfo, type_k: str = "f16", type_v: str = "f16", *, include_swa: bool = False
) -> float:
    """Bytes one more token of context costs: the full-attention layers only.

    SWA layers hold a fixed window however long the context is, so past the
    window they cost nothing per token; ``include_swa=True`` counts them too
    (the cost of a token that is still inside every layer's window).
    """
    bk, bv = element_bytes(type_k), element_bytes(type_v)
    total = sum(
        (_layer_bytes(info, il, bk, bv) for il in range(info.n_layers)
         if include_swa or not _is_swa(info, il)),
        Fraction(0),
    )
    return float(total)


def swa_cells(info: ModelInfo, n_ctx: int, n_ubatch: int = 512) -> int:
    """Cells one sequence keeps in a sliding-window layer (llama.cpp's iSWA rule)."""
    if info.sliding_window <= 0:
        return _pad(n_ctx)
    return _pad(min(n_ctx, info.sliding_window + n_ubatch))


def kv_cache_bytes(
    info: ModelInfo,
    n_ctx: int,
    type_k: str = "f16",
    type_v: str = "f16",
    n_parallel: int = 1,
    n_ubatch: int = 512,
) -> int:
    """Bytes of the whole KV cache for ``n_parallel`` sequences of ``n_ctx`` tokens each."""
    if n_ctx <= 0 or n_parallel <= 0 or n_ubatch <= 0:
        raise ConfigError(f"invalid KV cache size n_ctx={n_ctx} n_parallel={n_parallel} "
                          f"n_ubatch={n_ubatch}", hint="all three must be positive")
    bk, bv = element_bytes(type_k), element_bytes(type_v)
    full_cells = _pad(n_ctx)
    window_cells = swa_cells(info, n_ctx, n_ubatch)
    total = Fraction(0)
    for il in range(info.n_layers):
        cells = window_cells if _is_swa(info, il) else full_cells
        total += _layer_bytes(info, il, bk, bv) * cells
    return math.ceil(total * n_parallel)
