"""What a sentence-transformers BERT folder says, read and checked before any weight is loaded.

``embed_numpy`` runs the forward pass; this module decides whether a folder
is one it computes exactly (modules, pooling, options, config, tokenizer and
the tensors in ``model.safetensors``), and says why not in one line.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

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
HINT = "re-export the model with sentence-transformers, or use a folder that has these files"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing", HINT) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {first_line(exc)}", HINT) from None


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
        raise ConfigError(f"{path} is missing", HINT) from None
    except (OSError, ValueError, struct.error, TypeError, KeyError, AttributeError) as exc:
        raise ConfigError(f"{path} is not a safetensors file: {first_line(exc)}", HINT) from None


def _plain_st_config(cfg: dict[str, Any]) -> bool:
    """True if the Transformer module's options are ones this encoder reproduces."""
    fixed = {"backend": "torch", "transformer_task": "feature-extraction"}
    return all(
        value == fixed[key] if key in fixed else (not value if key in _EMPTY_ST_KEYS else key in _USED_ST_KEYS)
        for key, value in cfg.items()
    )


QKV = ("attention.self.query", "attention.self.key", "attention.self.value")
_LAYER_PARTS = QKV + (
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
        raise ConfigError(f"{model_dir}: config.json {first_line(exc)} is missing or not a number", HINT) from None


class Spec:
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
            raise ConfigError(f"{model_dir}: modules are not Transformer -> Pooling [-> Normalize]", HINT)
        self.normalize = len(kinds) == 3
        self.transformer_dir = model_dir / str(modules[0].get("path", ""))
        pool_cfg = _read_json(model_dir / str(modules[1].get("path", "")) / "config.json")
        on = [flag for flag in _POOLING_FLAGS if isinstance(pool_cfg, dict) and pool_cfg.get(flag)]
        if on not in (["pooling_mode_cls_token"], ["pooling_mode_mean_tokens"]):
            raise ConfigError(f"{model_dir}: pooling {on} is not plain mean or cls", HINT)
        self.pooling = "cls" if on == ["pooling_mode_cls_token"] else "mean"

        st_cfg = _read_json(self.transformer_dir / "sentence_bert_config.json")
        if not isinstance(st_cfg, dict) or not _plain_st_config(st_cfg):
            raise ConfigError(f"{model_dir}: sentence_bert_config.json has options this encoder lacks", HINT)
        cfg = _read_json(self.transformer_dir / "config.json")
        model_type = cfg.get("model_type") if isinstance(cfg, dict) else None
        if model_type != "bert":
            raise ConfigError(f"{model_dir}: model_type {model_type!r} is not bert", HINT)
        if cfg.get("hidden_act") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ConfigError(f"{model_dir}: hidden_act/position embeddings are not gelu/absolute", HINT)
        self.hidden, self.heads, self.layers, max_pos, self.eps = _config_numbers(cfg, model_dir)
        raw_max = st_cfg.get("max_seq_length")
        if not isinstance(raw_max, int) or not 2 < raw_max <= max_pos or self.hidden % self.heads:
            raise ConfigError(f"{model_dir}: max_seq_length {raw_max!r} or head split does not fit the model", HINT)
        self.max_seq_length = raw_max
        self.do_lower_case = bool(st_cfg.get("do_lower_case", False))

        if not (self.transformer_dir / "tokenizer.json").is_file():
            raise ConfigError(f"{self.transformer_dir / 'tokenizer.json'} is missing", HINT)
        tok_cfg_path = self.transformer_dir / "tokenizer_config.json"
        tok_cfg = _read_json(tok_cfg_path) if tok_cfg_path.is_file() else {}
        if isinstance(tok_cfg, dict) and tok_cfg.get("truncation_side", "right") != "right":
            raise ConfigError(f"{model_dir}: the tokenizer truncates on the left", HINT)

        dtypes = _safetensors_dtypes(self.transformer_dir / "model.safetensors")
        self.prefix = "bert." if "bert." + _EMBEDDING_TENSORS[0] in dtypes else ""
        needed = list(_EMBEDDING_TENSORS)
        needed += [f"encoder.layer.{i}.{part}.{kind}" for i in range(self.layers)
                   for part in _LAYER_PARTS for kind in ("weight", "bias")]
        bad = [n for n in needed if dtypes.get(self.prefix + n) not in ("F32", "F16", "F64")]
        if bad:
            raise ConfigError(f"{model_dir}: model.safetensors lacks {bad[0]} (or numpy cannot read its dtype)", HINT)
