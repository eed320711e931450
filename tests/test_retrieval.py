"""Hybrid retrieval on a real index: identifiers, stack traces, paths, and the llama-index adapter."""

from __future__ import annotations

import pytest

from repo_assist import assistant, retrieval
from repo_assist.manifest import FileRow, Manifest
from repo_assist.records import Chunk
from repo_assist.retrieval import bm25_rids, informative
from repo_assist.signals import content_text, extract

from .conftest import make_repo

FILES = {
    "payments/gateway.py": (
        "import json\n\n\nclass PaymentGateway:\n    def charge_card(self, card, cents):\n"
        "        if cents <= 0:\n            raise ValueError('amount must be positive')\n"
        "        return self._post('/charge', {'card': card, 'cents': cents})\n\n"
        "    def _post(self, url, body):\n        return json.dumps(body)\n"
    ),
    "payments/refunds.py": (
        "from payments.gateway import PaymentGateway\n\n\ndef refund_order(order, gateway: PaymentGateway):\n"
        "    total = sum(line.cents for line in order.lines)\n    return gateway.charge_card(order.card, -total)\n"
    ),
    "users/accounts.py": (
        "class AccountStore:\n    def __init__(self):\n        self.accounts = {}\n\n"
        "    def create_account(self, email):\n        self.accounts[email] = {'email': email}\n"
        "        return self.accounts[email]\n\n    def delete_account(self, email):\n"
        "        self.accounts.pop(email, None)\n"
    ),
    "web/server.js": (
        "const express = require('express');\n\nfunction startServer(port) {\n  const app = express();\n"
        "  app.get('/health', (req, res) => res.send('ok'));\n  return app.listen(port);\n}\n\n"
        "module.exports = { startServer };\n"
    ),
    "docs/guide.md": "# Guide\n\nHow to deploy the service and configure the database.\n",
    "cli.js": "const { startServer } = require('./web/server');\n\nfunction main(argv) {\n  return startServer(Number(argv[2]));\n}\n",
    ".eslintrc.js": "module.exports = {\n  root: true,\n  rules: { semi: ['error', 'always'] },\n};\n",
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    import os

    home = tmp_path_factory.mktemp("rhome")
    old = os.environ.get("REPO_ASSIST_HOME")
    os.environ["REPO_ASSIST_HOME"] = str(home)
    repo = make_repo(tmp_path_factory.mktemp("r") / "shop", FILES)
    ws = assistant.open_workspace(repo)
    assistant.index(ws)
    yield ws
    if old is None:
        os.environ.pop("REPO_ASSIST_HOME", None)
    else:
        os.environ["REPO_ASSIST_HOME"] = old


def top_paths(ws, q, k=3):
    return [h.chunk.path for h in assistant.search(ws, q, k).hits]


def test_identifier_query_finds_definition_first(indexed):
    hits = assistant.search(indexed, "where is create_account implemented?", 5).hits
    assert hits[0].chunk.path == "users/accounts.py"
    assert "symbol" in hits[0].via
    assert top_paths(indexed, "what calls charge_card with a negative amount")[0] in {"payments/refunds.py", "payments/gateway.py"}
    assert top_paths(indexed, "PaymentGateway.charge_card")[0] == "payments/gateway.py"


def test_stack_trace_query_finds_the_cited_line(indexed):
    trace = (
        'Traceback (most recent call last):\n  File "/srv/app/payments/refunds.py", line 6, in refund_order\n'
        '  File "/srv/app/payments/gateway.py", line 7, in charge_card\nValueError: amount must be positive'
    )
    hits = assistant.search(indexed, trace, 5).hits
    assert {h.chunk.path for h in hits[:2]} == {"payments/refunds.py", "payments/gateway.py"}
    assert any("trace" in h.via for h in hits[:2])
    js = "TypeError: app.listen is not a function\n    at startServer (web/server.js:6:14)"
    assert top_paths(indexed, js, 1) == ["web/server.js"]


def test_absolute_trace_paths_and_dotfiles_name_top_level_files(indexed):
    # Node and Python print absolute paths; a file at the top of the repository has no folder to match on
    hits = assistant.search(indexed, "Error: bad port\n    at main (/home/dev/shop/cli.js:4:10)", 3).hits
    assert hits[0].chunk.path == "cli.js" and "trace" in hits[0].via
    hits = assistant.search(indexed, 'File "/srv/app/payments/refunds.py", line 6, in refund_order', 3).hits
    assert hits[0].chunk.path == "payments/refunds.py" and "trace" in hits[0].via
    hits = assistant.search(indexed, "why does .eslintrc.js turn on semi", 3).hits
    assert hits[0].chunk.path == ".eslintrc.js" and "path" in hits[0].via
    assert extract("see ./.eslintrc.js and config/.babelrc, set to 0.5").paths == ("./.eslintrc.js", "config/.babelrc")


def test_path_mention_and_prose(indexed):
    assert top_paths(indexed, "explain accounts.py", 1) == ["users/accounts.py"]
    assert top_paths(indexed, "how do I deploy the service and set up the database", 1) == ["docs/guide.md"]


def test_signals_extraction():
    sig = extract('fix `Foo.bar` in src/x_y.py and parseHTTPResponse; File "a/b.py", line 3; at c.js:10:2')
    assert "Foo.bar" in sig.identifiers and "parseHTTPResponse" in sig.identifiers
    assert "src/x_y.py" in sig.paths
    assert ("a/b.py", 3) in sig.locations and ("c.js", 10) in sig.locations


def test_dense_signal_embeds_a_trace_as_its_function_names_and_message():
    trace = ('Traceback (most recent call last):\n  File "/srv/app/payments/refunds.py", line 6, in refund_order\n'
             '    return gateway.charge_card(order.card, -total)\n'
             '  File "/srv/app/payments/gateway.py", line 7, in charge_card\nValueError: amount must be positive\n'
             '    at startServer (web/server.js:4:15)')
    text = content_text(trace)
    assert text == ("in refund_order return gateway.charge_card(order.card, -total) in charge_card "
                    "ValueError: amount must be positive at startServer")
    plain = "where is payments/gateway.py used and how are refunds computed?"
    assert content_text(plain) == plain


def test_llama_index_retriever_in_a_query_engine(indexed):
    from llama_index.core.llms import MockLLM
    from llama_index.core.response_synthesizers.no_text import NoText
    from llama_index.core.query_engine import RetrieverQueryEngine

    from repo_assist.llamaindex import RepoAssistRetriever

    retriever = RepoAssistRetriever(str(indexed.repo.root), k=3, flags={"home": str(indexed.dir.parent)})
    nodes = retriever.retrieve("create an account for an email")
    assert nodes and nodes[0].node.metadata["path"] == "users/accounts.py"
    assert {"path", "start_line", "end_line", "symbol", "via"} <= set(nodes[0].node.metadata)
    # the synthesizer only lists sources here (no_text): the retrieval path is llama-index's own
    engine = RetrieverQueryEngine(retriever=retriever, response_synthesizer=NoText(llm=MockLLM()))
    response = engine.query("start the web server on a port")
    assert response.source_nodes[0].node.metadata["path"] == "web/server.js"


def _lexical_index(tmp_path, bodies: list[str]) -> Manifest:
    """A real manifest (SQLite + FTS5) holding one chunk per body; BM25 needs nothing else."""
    m = Manifest(tmp_path / "manifest.sqlite")
    rows, chunks = [], []
    for i, body in enumerate(bodies):
        path = f"pkg/mod{i}.py"
        rows.append(FileRow(path, f"{i:040x}", "python", "indexed", None, 1, False))
        chunks.append(Chunk(f"c{i}", path, 1, 1, body, "python", "", "module", f"{i:040x}"))
    m.record_files(rows, chunks)
    return m


def test_bm25_skips_words_in_most_chunks_without_changing_the_ranking(tmp_path):
    bodies = [f"def handler_{i}(request):\n    return request.status\n" for i in range(40)]
    bodies[7] += "    ledger = reconcile(ledger)\n"
    bodies[9] += "    reconcile(request, request)\n"
    m = _lexical_index(tmp_path, bodies)
    assert informative(m.db, ["request", "reconcile", "nowhere"]) == ["reconcile"]
    assert informative(m.db, ["request", "status"]) == ["request", "status"]  # all common: all kept
    with_common = bm25_rids(m.db, "reconcile the request", 10)
    assert len(with_common) == 2 and with_common == bm25_rids(m.db, "reconcile", 10)


def test_bm25_bounds_its_cost_on_a_large_index_only_when_a_rare_word_anchors_it(tmp_path, monkeypatch):
    bodies = [f"def step_{i}(state):\n    return state\n" for i in range(200)]
    for i in range(0, 200, 5):
        bodies[i] += "    cache.flush()\n"  # 'cache' and 'flush' in 20% of chunks
    bodies[3] += "    journal.rotate()\n"  # 'journal' in one chunk of 200
    m = _lexical_index(tmp_path, bodies)
    assert informative(m.db, ["journal", "cache", "flush"]) == ["journal", "cache", "flush"]  # under the bound
    monkeypatch.setattr(retrieval, "SCORED_ROWS", 30)
    assert informative(m.db, ["journal", "cache", "flush"]) == ["journal"]
    assert informative(m.db, ["cache", "flush"]) == ["cache", "flush"]  # no rare anchor: nothing dropped


def test_reference_hits_take_a_plain_word_that_names_a_definition_exactly(tmp_path, monkeypatch):
    # "rename chain to build_chain": `chain` is written as a plain word, but a function is named exactly that, so
    # its definition comes first, then its uses in code, then the word in prose. "the handler" names no
    # definition (the class is `Handler`), and a word no definition has brings nothing.
    from repo_assist.retrieval import reference_hits
    from repo_assist.workspace import require_index

    monkeypatch.setenv("REPO_ASSIST_HOME", str(tmp_path / "home"))
    repo = make_repo(tmp_path / "r", {
        "README.md": "# Notes\n\nEach request runs through the middleware chain in order.\n",
        "wiring/chain.py": "def chain(middlewares, endpoint):\n    for m in reversed(middlewares):\n"
                           "        endpoint = m(endpoint)\n    return endpoint\n",
        "server.py": "from wiring.chain import chain\n\n\ndef serve(app, middlewares):\n"
                     "    return chain(middlewares, app)\n",
        "handler.py": "class Handler:\n    def handle(self, request):\n        return request\n",
    })
    ws = assistant.open_workspace(repo)
    assistant.index(ws)
    m = require_index(ws)
    try:
        hits = reference_hits(m, "rename chain to build_chain")
        order = [(h.chunk.path, h.via[0]) for h in hits]
        assert order[0] == ("wiring/chain.py", "symbol"), order
        paths = [p for p, _ in order]
        assert "server.py" in paths and "README.md" in paths and paths.index("server.py") < paths.index("README.md")
        assert "handler.py" not in paths
        assert reference_hits(m, "make the handler return an error") == []
        assert [h.chunk.path for h in reference_hits(m, "make Handler return an error")][0] == "handler.py"
    finally:
        m.close()
