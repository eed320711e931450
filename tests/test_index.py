"""Indexing end to end: real git repos, real chunker, real embedder, real Chroma."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repo_assist import assistant
from repo_assist.indexer import open_store
from repo_assist.embeddings import packaged_model_dir
from repo_assist.errors import NotARepoError, ProvenanceError

from .conftest import SAMPLE_PY, git, make_repo, write, run_json as run_cli


def test_index_then_reindex_embeds_nothing(sample_repo, capsys):
    code, first, _ = run_cli(capsys, "index", str(sample_repo), "--json")
    assert code == 0
    assert first["files"] == 5
    assert first["computed"] == first["chunks"] > 0
    assert set(first) >= {"files", "chunks", "computed", "deleted", "unchanged", "skipped", "fallback_chunked", "seconds"}
    assert first["fallback_chunked"] == 2  # README.md and notes.txt have no grammar
    code, again, _ = run_cli(capsys, "index", str(sample_repo), "--json")
    assert code == 0
    assert again["computed"] == 0 and again["deleted"] == 0
    assert again["unchanged"] == 5 and again["chunks"] == first["chunks"]


def test_edit_one_file_reembeds_only_it(sample_repo, capsys):
    run_cli(capsys, "index", str(sample_repo), "--json")
    ws = assistant.open_workspace(sample_repo)
    before = {c.path for c in _all_chunks(ws)}
    write(sample_repo, {"billing/invoice.py": SAMPLE_PY + "\n\ndef refund(invoice):\n    return -invoice.total()\n"})
    code, stats, _ = run_cli(capsys, "index", str(sample_repo), "--json")
    assert code == 0
    assert stats["files_computed"] == 1
    assert stats["unchanged"] == 4
    ws_chunks = _all_chunks(ws)
    invoice = [c for c in ws_chunks if c.path == "billing/invoice.py"]
    assert stats["computed"] + stats["reused"] == len(invoice)
    assert any("refund" in c.defines for c in invoice)
    # every vector of the file, kept or new, is the one its chunk's text embeds to now, under the new id
    from repo_assist.indexer import open_store

    manifest = ws.open_manifest()
    embedder = ws.embedder()
    stored = open_store(ws, embedder, manifest, create=False).vectors([c.id for c in invoice])
    manifest.close()
    fresh = embedder.embed([c.embed_text() for c in invoice])
    for c, vec in zip(invoice, fresh):
        assert float(stored[c.id] @ vec) > 0.999, c.symbol
    assert {c.path for c in ws_chunks} == before
    hits = assistant.search(ws, "refund an invoice", 5).hits
    assert hits[0].chunk.path == "billing/invoice.py"


def _function(name: str, n: int) -> str:
    body = "".join(f"    step_{k} = {name}_input * {k} + len(str(step_{k - 1} if {k} else 0))\n" for k in range(n))
    return f"def {name}({name}_input):\n{body}    return {name}_input\n\n\n"


def test_unchanged_chunks_of_a_changed_file_keep_their_vectors(tmp_path, capsys):
    names = ["parse_ledger", "settle_accounts", "render_report", "archive_entries"]
    repo = make_repo(tmp_path / "r", {"ledger.py": "".join(_function(n, 30) for n in names)})
    run_cli(capsys, "index", str(repo), "--json")
    ws = assistant.open_workspace(repo)
    before = [c for c in _all_chunks(ws) if c.path == "ledger.py"]
    assert len(before) >= 4
    edited = "".join(_function(n, 30) for n in names).replace("settle_accounts_input * 7", "settle_accounts_input * 70")
    write(repo, {"ledger.py": edited})
    code, stats, _ = run_cli(capsys, "index", str(repo), "--json")
    after = [c for c in _all_chunks(ws) if c.path == "ledger.py"]
    assert code == 0 and stats["computed"] + stats["reused"] == len(after)
    assert 1 <= stats["computed"] < len(after) - 1  # the edited function, and no more than one neighbour
    assert not {c.id for c in after} & {c.id for c in before}  # a new blob: every chunk has a new id
    # every vector of the file, kept or new, is the one its chunk's text embeds to now
    manifest = ws.open_manifest()
    embedder = ws.embedder()
    stored = open_store(ws, embedder, manifest, create=False).vectors([c.id for c in after])
    manifest.close()
    for c, vec in zip(after, embedder.embed([c.embed_text() for c in after])):
        assert float(stored[c.id] @ vec) > 0.999, c.symbol
    assert assistant.search(ws, "settle accounts", 3).hits[0].chunk.symbol == "settle_accounts"


def test_delete_and_rename(sample_repo, capsys):
    run_cli(capsys, "index", str(sample_repo), "--json")
    git(sample_repo, "mv", "web/client.js", "web/http_client.js")
    (sample_repo / "notes.txt").unlink()
    code, stats, _ = run_cli(capsys, "index", str(sample_repo), "--json")
    assert code == 0
    assert stats["files"] == 4
    assert stats["files_deleted"] == 2  # the old name and the removed file
    paths = {c.path for c in _all_chunks(assistant.open_workspace(sample_repo))}
    assert "web/http_client.js" in paths and "web/client.js" not in paths and "notes.txt" not in paths
    ws = assistant.open_workspace(sample_repo)
    found = {h.chunk.path for h in assistant.search(ws, "retry policy shouldRetry", 10).hits}
    assert "web/client.js" not in found and "web/http_client.js" in found


def test_skip_reasons_and_ignore_rules(tmp_path, capsys):
    repo = make_repo(tmp_path / "r", {
        "src/ok.py": "def ok():\n    return 1\n",
        "img.bin": b"\x89PNG\0\0\0binary",
        "big.txt": "x = 1\n" * 200_000,
        "dist/app.min.js": "var a=1;" * 10,
        "min.js": "var a=1;" * 2000,
        "package-lock.json": "{}\n",
        "gen.go": "// Code generated by protoc. DO NOT EDIT.\npackage x\n",
        ".env": "SECRET=hunter2\n",
        "keys/server.pem": "-----BEGIN PRIVATE KEY-----\nabc\n",
        "vendor/lib.py": "def vendored():\n    pass\n",
        ".repo-assist-ignore": "vendor/\n",
        ".gitignore": "build/\n",
        "build/out.py": "def built():\n    pass\n",
        "weird name ü.py": "def unicode_path():\n    return 'ü'\n",
    })
    (repo / "link.py").symlink_to("src/ok.py")
    write(repo, {"untracked.py": "def fresh():\n    return 2\n"})
    code, stats, _ = run_cli(capsys, "index", str(repo), "--json")
    assert code == 0
    assert stats["skipped"] == {
        "binary": 1, "too_large": 1, "generated": 2, "minified": 1, "lockfile": 1,
        "secret_path": 2, "ignored": 1, "symlink": 1,
    }
    ws = assistant.open_workspace(repo)
    paths = {c.path for c in _all_chunks(ws)}
    assert {"src/ok.py", "untracked.py", "weird name ü.py", ".gitignore", ".repo-assist-ignore"} <= paths
    assert not any(p.startswith(("build/", "vendor/")) for p in paths)


def test_non_utf8_syntax_errors_crlf_bom(tmp_path, capsys):
    repo = make_repo(tmp_path / "r", {
        "latin.py": "# caf\xe9\ndef f():\n    return 'na\xefve'\n".encode("latin-1"),
        "broken.py": "def broken(:\n    return ((\nclass X\n",
        "crlf.py": b"\xef\xbb\xbfdef a():\r\n    return 1\r\n",
        "empty.py": "",
    })
    code, stats, err = run_cli(capsys, "index", str(repo), "--json")
    assert code == 0, err
    assert stats["files"] == 4
    ws = assistant.open_workspace(repo)
    chunks = _all_chunks(ws)
    latin = "".join(c.text for c in chunks if c.path == "latin.py")
    assert latin == (repo / "latin.py").read_bytes().decode("latin-1")
    crlf = "".join(c.text for c in chunks if c.path == "crlf.py")
    assert crlf == (repo / "crlf.py").read_bytes().decode("utf-8")


def test_empty_repo_and_not_a_repo(tmp_path, capsys):
    empty = make_repo(tmp_path / "empty", {})
    code, stats, err = run_cli(capsys, "index", str(empty), "--json")
    assert code == 0, err
    assert stats["files"] == 0 and stats["chunks"] == 0
    code, status, _ = run_cli(capsys, "status", str(empty), "--json")
    assert code == 0 and status["indexed_commit"] is None
    code, out, err = run_cli(capsys, "index", str(tmp_path / "nope"))
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err
    plain = tmp_path / "plain"
    plain.mkdir()
    code, out, err = run_cli(capsys, "status", str(plain))
    assert code == 2 and "not inside a git work tree" in err and "Traceback" not in err
    with pytest.raises(NotARepoError):
        assistant.open_workspace(plain)


def test_search_before_index_is_a_clear_error(sample_repo, capsys):
    code, _, err = run_cli(capsys, "search", "invoice", "--repo", str(sample_repo))
    assert code == 2
    assert "not been indexed" in err and "repo-assist index" in err


def test_status_reports_languages_and_commit(sample_repo, capsys):
    run_cli(capsys, "index", str(sample_repo), "--json")
    code, st, _ = run_cli(capsys, "status", str(sample_repo), "--json")
    assert code == 0
    head = git(sample_repo, "rev-parse", "HEAD").strip()
    assert st["repo"] == str(sample_repo.resolve())
    assert st["indexed_commit"] == head and st["commits_behind"] == 0
    assert st["embedder"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert st["languages"]["python"] == 1 and st["languages"]["go"] == 1 and st["languages"]["javascript"] == 1
    assert st["files"] == 5 and st["chunks"] > 0
    write(sample_repo, {"more.py": "x = 1\n"})
    git(sample_repo, "add", "more.py")
    git(sample_repo, "commit", "-q", "-m", "more")
    code, st, _ = run_cli(capsys, "status", str(sample_repo), "--json")
    assert st["commits_behind"] == 1 and "behind" in st["warning"]


def test_search_json_shape(sample_repo, capsys):
    run_cli(capsys, "index", str(sample_repo), "--json")
    code, res, _ = run_cli(capsys, "search", "start the http server listening", "--repo", str(sample_repo), "-k", "3", "--json")
    assert code == 0
    assert res["query"] == "start the http server listening"
    assert 1 <= len(res["hits"]) <= 3
    top = res["hits"][0]
    assert set(top) >= {"path", "start_line", "end_line", "symbol", "score", "via"}
    assert top["path"] == "server/server.go"


def test_provenance_mismatch_is_refused_with_rebuild_command(sample_repo, tmp_path, capsys):
    run_cli(capsys, "index", str(sample_repo), "--json")
    other = tmp_path / "other-model"
    shutil.copytree(packaged_model_dir(), other)
    (sample_repo / ".repo-assist.toml").write_text(f'embedder = "{other}"\n')
    code, _, err = run_cli(capsys, "search", "invoice", "--repo", str(sample_repo))
    assert code == 2
    assert "index mismatch" in err and "repo-assist index --full" in err
    with pytest.raises(ProvenanceError):
        assistant.search(assistant.open_workspace(sample_repo), "invoice")
    code, stats, err = run_cli(capsys, "index", str(sample_repo), "--full", "--json")
    assert code == 0, err
    assert stats["computed"] == stats["chunks"] > 0
    code, st, _ = run_cli(capsys, "status", str(sample_repo), "--json")
    assert st["embedder"].startswith("local/other-model")


def test_unknown_config_key_names_it(sample_repo, capsys):
    (sample_repo / ".repo-assist.toml").write_text("embeder = 'x'\n")
    code, _, err = run_cli(capsys, "index", str(sample_repo))
    assert code == 2 and "unknown key `embeder`" in err


def test_cli_process_never_prints_traceback(tmp_path):
    """The installed console script: bad input gives one line and a non-zero exit."""
    exe = Path(sys.executable).with_name("repo-assist")
    proc = subprocess.run([str(exe), "search", "x", "--repo", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    proc = subprocess.run([str(exe), "index", "--bogus"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def _all_chunks(ws):
    m = ws.open_manifest()
    try:
        return [c for path in m.files() for c in m.file_chunks(path)]
    finally:
        m.close()


def test_committed_only_leaves_out_uncommitted_changes(sample_repo, capsys):
    write(sample_repo, {"billing/invoice.py": SAMPLE_PY + "\n\ndef uncommitted_refund():\n    pass\n",
                        "scratch.py": "def scratch_only():\n    pass\n"})
    code, stats, err = run_cli(capsys, "index", str(sample_repo), "--committed-only", "--json")
    assert code == 0, err
    assert stats["files"] == 5  # scratch.py is untracked
    ws = assistant.open_workspace(sample_repo)
    chunks = _all_chunks(ws)
    assert not any("uncommitted_refund" in c.text for c in chunks)
    assert "".join(c.text for c in chunks if c.path == "billing/invoice.py") == SAMPLE_PY
    code, st, _ = run_cli(capsys, "status", str(sample_repo), "--json")
    assert set(st["dirty_now"]) == {"billing/invoice.py", "scratch.py"}
    code, stats, _ = run_cli(capsys, "index", str(sample_repo), "--json")  # and now with them
    assert stats["files"] == 6 and stats["files_computed"] == 2
    assert any("uncommitted_refund" in c.text for c in _all_chunks(ws))
