"""Rebuilding and repairing an index: real git repos, real embedder, real Chroma."""

from __future__ import annotations

import json
import re

from repo_assist import assistant, cli

UUID_DIR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def run_cli(capsys, *argv: str) -> tuple[int, dict | str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, out, err


def segment_dirs(ws) -> list[str]:
    return sorted(p.name for p in ws.chroma_dir.iterdir() if p.is_dir() and UUID_DIR.fullmatch(p.name))


def test_full_rebuilds_leave_no_chroma_folders_behind(sample_repo, capsys):
    for _ in range(3):
        code, stats, err = run_cli(capsys, "index", str(sample_repo), "--full", "--json")
        assert code == 0, err
    ws = assistant.open_workspace(sample_repo)
    assert len(segment_dirs(ws)) == 1  # one collection, one vector segment folder: the replaced ones are gone
    hits = assistant.search(ws, "retry policy shouldRetry", 3).hits
    assert hits and hits[0].chunk.path == "web/client.js"
