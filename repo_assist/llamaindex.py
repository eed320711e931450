"""repo-assist's hybrid retriever as a llama-index retriever.

    from repo_assist.llamaindex import RepoAssistRetriever
    retriever = RepoAssistRetriever("path/to/repo", k=8)
    engine = RetrieverQueryEngine.from_args(retriever, llm=your_llm)

Each node carries our span metadata: path, start_line, end_line, symbol, kind,
language and the signals that found it (``via``).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from . import assistant


class RepoAssistRetriever(BaseRetriever):
    def __init__(self, repo: str = ".", k: int = 10, flags: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ws = assistant.open_workspace(repo, flags or {})
        self._k = k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = assistant.search(self._ws, query_bundle.query_str, self._k)
        out = []
        for h in result.hits:
            c = h.chunk
            node = TextNode(
                id_=c.id,
                text=c.text,
                metadata={
                    "path": c.path, "start_line": c.start_line, "end_line": c.end_line, "symbol": c.symbol,
                    "kind": c.kind, "language": c.language or "", "via": ",".join(h.via),
                },
                excluded_embed_metadata_keys=["via"],
            )
            out.append(NodeWithScore(node=node, score=h.score))
        return out
