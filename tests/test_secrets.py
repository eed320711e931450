"""Planted secrets never reach the vector store, the manifest, or a prompt."""

from __future__ import annotations

import json
import stat

from repo_assist import assistant, cli
from repo_assist.redaction import redact

from .conftest import make_repo

SECRETS = {
    "aws": "AKIAIOSFODNN7EXAMPLQ",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYq",
    "github": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "slack": "xoxb-2048-93571-VQz8kdp1mZ",
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "password": "Tr0ub4dor&3xQz!",
    "dburl": "s3cr3tP4ss",
    "keyline": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
}

FILES = {
    "app/settings.py": (
        "import os\n\n"
        f"AWS_ACCESS_KEY_ID = \"{SECRETS['aws']}\"\n"
        f"aws_secret_access_key = '{SECRETS['aws_secret']}'\n"
        f"GITHUB_TOKEN = \"{SECRETS['github']}\"\n"
        f"DATABASE_URL = \"postgres://admin:{SECRETS['dburl']}@db.internal:5432/app\"\n"
        "API_KEY = os.environ.get('API_KEY')  # a reference, not a secret\n\n\n"
        "def connect():\n    return DATABASE_URL\n"
    ),
    "app/notify.js": (
        f"const slackToken = '{SECRETS['slack']}';\nconst stripe = require('stripe')('{SECRETS['stripe']}');\n"
        f"const session = \"{SECRETS['jwt']}\";\n\nfunction send(msg) {{\n  return slackToken + msg;\n}}\n"
    ),
    "config/app.yaml": f"database:\n  user: admin\n  password: \"{SECRETS['password']}\"\n",
    "docs/deploy.md": (
        "Deploy key:\n\n-----BEGIN RSA PRIVATE KEY-----\n" + SECRETS["keyline"] + "\nabcdefghijklmnopqrstuvwxyz0123456789ABCD\n"
        "-----END RSA PRIVATE KEY-----\n\nThen run make deploy.\n"
    ),
}


def all_bytes(folder) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_planted_secrets_never_reach_store_manifest_or_prompt(tmp_path, capsys, monkeypatch):
    repo = make_repo(tmp_path / "r", FILES)
    ws = assistant.open_workspace(repo)
    stats = assistant.index(ws)
    assert stats.files == 4
    stored = all_bytes(ws.dir)
    for name, value in SECRETS.items():
        assert value.encode() not in stored, f"{name} leaked into the index"
    st = assistant.status(ws)
    assert st["redacted"]["values"] >= len(SECRETS) - 1 and st["redacted"]["files"] == 4
    # the key names survive, so the model knows they exist
    m = ws.open_manifest()
    text = "".join(c.text for c in m.file_chunks("app/settings.py"))
    m.close()
    assert "GITHUB_TOKEN = \"[REDACTED]\"" in text and "os.environ.get('API_KEY')" in text
    assert text.count("\n") == FILES["app/settings.py"].count("\n")
    # a rendered prompt carries no secret either
    monkeypatch.setenv("REPO_ASSIST_N_CTX", "4096")
    for question in ("what is the database password and the AWS key?", "how does send notify slack?",
                     "show the deploy private key"):
        code = cli.main(["context", question, "--repo", str(repo), "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        from repo_assist.asking import Conversation

        conv = Conversation.open(ws, "llamacpp/default")
        try:
            prompt = json.dumps(conv.plan(question).messages)
        finally:
            conv.close()
        for name, value in SECRETS.items():
            assert value not in prompt and value not in out, f"{name} leaked into a prompt"


def test_skip_mode_and_private_home(tmp_path, capsys):
    repo = make_repo(tmp_path / "r", {**FILES, "app/clean.py": "def ok():\n    return 1\n"})
    (repo / ".repo-assist.toml").write_text('secrets = "skip"\n')
    ws = assistant.open_workspace(repo)
    stats = assistant.index(ws)
    assert stats.skipped_by_reason.get("secret_content") == 4 and stats.files == 2  # clean.py and the toml
    assert stat.S_IMODE(ws.dir.stat().st_mode) == 0o700
    (repo / ".repo-assist.toml").write_text('secrets = "sometimes"\n')
    code = cli.main(["status", str(repo)])
    assert code == 2 and "must be one of redact, skip" in capsys.readouterr().err


def test_redaction_keeps_ordinary_code():
    code = ("token = tokenizer.next_token()\npassword_field = form.password\nsecret_name = 'prod'\n"
            "api_key = get_key()\nkey = 'x'\nTIMEOUT = 30\n")
    out, n = redact(code)
    assert n == 0 and out == code
