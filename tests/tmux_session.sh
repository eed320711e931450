#!/usr/bin/env bash
# Try the TUI as a person would: in a real terminal (tmux), on a fixture repository.
#
#   tests/tmux_session.sh [PYTHON]
#
# Starts `repo-assist tui` with the packaged model, asks a question, waits for the
# streamed answer, then reviews a two-hunk patch: rejects one hunk, applies the
# other, checks with git that only that hunk landed, undoes it, and quits.
# Every screen it waits for is printed (tmux capture-pane). Exits non-zero when a
# screen does not show up in time or git disagrees with what the screen said.
set -euo pipefail

PY=${1:-${PYTHON:-python}}
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/repo-assist-tmux.XXXXXX")
SESSION="repo-assist-$$"
REPO="$WORK/shop"
export REPO_ASSIST_HOME="$WORK/indexes" XDG_CONFIG_HOME="$WORK/config"
export REPO_ASSIST_ANSWER_TOKENS=${REPO_ASSIST_ANSWER_TOKENS:-32} REPO_ASSIST_N_CTX=${REPO_ASSIST_N_CTX:-2048}
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"

cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

screen() { tmux capture-pane -p -t "$SESSION"; }

show() {  # show TITLE: print the screen under a heading
    printf '\n===== %s =====\n' "$1"
    screen
}

wait_for() {  # wait_for TEXT SECONDS: poll the screen until TEXT is on it
    local text=$1 deadline=$((SECONDS + $2))
    until screen | grep -qF -- "$text"; do
        if ((SECONDS > deadline)); then
            show "TIMEOUT waiting for: $text"
            exit 1
        fi
        sleep 0.5
    done
}

# --- a fixture repository, indexed -------------------------------------------------------
mkdir -p "$REPO/billing" "$REPO/app"
cat > "$REPO/billing/invoice.py" <<'EOF'
"""Billing helpers."""

import math


class Invoice:
    """An invoice with lines."""

    def __init__(self, customer):
        self.customer = customer
        self.lines = []

    def add_line(self, description, amount):
        self.lines.append((description, amount))

    def total(self):
        return math.fsum(a for _, a in self.lines)
EOF
for i in $(seq 0 11); do printf 'def f%d(x):\n    return x + %d\n\n\n' "$i" "$i"; done > "$REPO/app/util.py"
git -C "$REPO" init -q -b main
git -C "$REPO" -c user.name=Test -c user.email=t@example.com add -A
git -C "$REPO" -c user.name=Test -c user.email=t@example.com commit -q -m initial
"$PY" -m repo_assist.cli index "$REPO" >/dev/null

if "$PY" -m repo_assist.cli tui --help >/dev/null 2>&1; then
    CMD=("$PY" -m repo_assist.cli tui)
else  # until cli.py registers the command
    CMD=("$PY" -m repo_assist.tui)
fi

# --- open the app ---------------------------------------------------------------------------
tmux new-session -d -s "$SESSION" -x 120 -y 36 \
    "cd '$REPO' && $(printf '%q ' "${CMD[@]}") . --model llamacpp/default; echo TUI-EXITED \$?; sleep 30"
wait_for "up to date" 120
show "opened: the status bar, the question box focused"

# --- ask ------------------------------------------------------------------------------------
tmux send-keys -t "$SESSION" "How is the invoice total computed?" Enter
wait_for "answering…" 600  # the turn says so once the first token is in
show "streaming"
wait_for "tok/s" 900
show "answered: the answer, its context in the panel"

# --- review a patch -----------------------------------------------------------------------
sed -i 's/return x + 0$/return x - 0/; s/return x + 11$/return x + 11.0/' "$REPO/app/util.py"
git -C "$REPO" diff > "$WORK/change.diff"
git -C "$REPO" checkout -q -- app/util.py
tmux send-keys -t "$SESSION" "/review $WORK/change.diff" Enter
wait_for "the 2 accepted hunks apply" 60
show "review: both hunks accepted and checked"
tmux send-keys -t "$SESSION" r
wait_for "the accepted hunk applies" 60
show "review: first hunk rejected, the rest re-checked"
tmux send-keys -t "$SESSION" C-s
wait_for "applied" 60
show "review: applied"
applied=$(git -C "$REPO" diff -U0 | grep '^[-+][^-+]' || true)
printf '\n===== git diff after apply =====\n%s\n' "$applied"
[[ "$applied" == $'-    return x + 11\n+    return x + 11.0' ]] || { echo "FAIL: git diff is not the accepted hunk"; exit 1; }
tmux send-keys -t "$SESSION" u
wait_for "undone" 60
show "review: undone"
[[ -z "$(git -C "$REPO" status --porcelain)" ]] || { echo "FAIL: undo left changes"; exit 1; }
tmux send-keys -t "$SESSION" Escape
sleep 1
tmux send-keys -t "$SESSION" C-q
wait_for "TUI-EXITED 0" 30
show "quit"
echo "OK: asked, streamed, reviewed, applied one hunk of two, undid it, quit cleanly"
