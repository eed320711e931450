"""Why each piece of context was chosen: the packed spans, what did not fit, and the token gauge.

The gauge shows the whole window (n_ctx) as one bar: the context retrieval
filled, the part of its budget left empty, and the fixed rest (system prompt,
history, question, the answer's reserve, the safety margin). A user who sees
an almost empty budget knows the retrieval found little; one who sees the
budget full and spans dropped knows a bigger window would help.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from ..plurals import counted
from ..records import PackedSpan
from .messages import OpenSource


def span_label(s: PackedSpan) -> str:
    return f"{s.path}:{s.start_line}-{s.end_line}" if s.end_line != s.start_line else f"{s.path}:{s.start_line}"


def gauge_text(used: int, budget: int, n_ctx: int, width: int) -> Text:
    """A one-line bar: █ context used, ▒ budget left, ░ the fixed rest of the window."""
    width = max(width, 10)
    if n_ctx <= 0:
        return Text("░" * width, style="dim")
    scale = width / n_ctx
    used_w = min(width, round(used * scale))
    budget_w = max(used_w, min(width, round(budget * scale)))
    bar = Text()
    bar.append("█" * used_w, style="bold green")
    bar.append("▒" * (budget_w - used_w), style="green")
    bar.append("░" * (width - budget_w), style="dim")
    return bar


class TokenGauge(Static):
    """Tokens used / budget / n_ctx, as numbers and as a bar that fits the panel's width."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.used = self.budget = self.n_ctx = self.prompt = 0

    def set_figures(self, used: int, budget: int, n_ctx: int, prompt: int) -> None:
        self.used, self.budget, self.n_ctx, self.prompt = used, budget, n_ctx, prompt
        self.refresh(layout=True)

    def render(self) -> Text:
        pct = f" ({self.used * 100 // self.budget}%)" if self.budget else ""
        head = Text.assemble(
            ("context ", "bold"), f"{self.used:,} / {self.budget:,} budget{pct}",
            "  ·  ", ("prompt ", "bold"), f"{self.prompt:,} / {self.n_ctx:,} n_ctx",
        )
        legend = Text.assemble(("█", "bold green"), " used  ", ("▒", "green"), " budget left  ",
                               ("░", "dim"), " prompt and answer reserve")
        return Text("\n").join([head, gauge_text(self.used, self.budget, self.n_ctx, self.size.width or 40), legend])


class ContextPanel(VerticalScroll):
    """The context of the last question; selecting a row opens that span in the source viewer."""

    def compose(self) -> ComposeResult:
        yield Static("Ask a question to see which code it gets as context, and why.", id="ctx-empty")
        yield Static("", id="ctx-model")
        yield TokenGauge(id="ctx-gauge")
        yield Static("", id="ctx-packed-title", classes="ctx-title")
        yield DataTable(id="ctx-packed", cursor_type="row", zebra_stripes=True)
        yield Static("", id="ctx-dropped-title", classes="ctx-title")
        yield DataTable(id="ctx-dropped", cursor_type="row", zebra_stripes=True)
        yield Static("", id="ctx-notes")

    def on_mount(self) -> None:
        for table_id in ("#ctx-packed", "#ctx-dropped"):
            self.query_one(table_id, DataTable).add_columns("#", "span", "tokens", "score", "via", "symbol")
        self._show_details(False)
        self.packed: tuple[PackedSpan, ...] = ()
        self.dropped: tuple[PackedSpan, ...] = ()

    def _show_details(self, shown: bool) -> None:
        self.query_one("#ctx-empty").display = not shown
        for wid in ("#ctx-model", "#ctx-gauge", "#ctx-packed-title", "#ctx-packed", "#ctx-dropped-title",
                    "#ctx-dropped", "#ctx-notes"):
            self.query_one(wid).display = shown

    def reset(self) -> None:
        """Back to the empty state (a new conversation)."""
        self._show_details(False)

    def show_plan(self, planned, model: str, timing: dict | None = None) -> None:
        """Fill the panel from a PlannedPrompt (``conv.plan`` or ``answer.plan``)."""
        w, b, pack = planned.window, planned.budget, planned.pack
        kv = f" · KV {w.kv_bytes_per_token / 1024:.1f} KiB/token" if w.kv_bytes_per_token else ""
        exact = "" if planned.exact_tokens else " (estimated tokens)"
        model_line = Text.assemble(("model ", "bold"), model, f" · n_ctx {w.n_ctx:,} ({w.source}){kv}{exact}")
        if timing:
            bits = [f"retrieval {timing.get('retrieval_ms', 0):.0f} ms"]
            if timing.get("first_token_s") is not None:
                bits.append(f"first token {timing['first_token_s']:.1f}s")
            if timing.get("tokens_per_s"):
                bits.append(f"{timing['tokens_per_s']:.1f} tok/s")
            model_line.append("\n" + " · ".join(bits), style="dim")
        self.query_one("#ctx-model", Static).update(model_line)
        self.query_one(TokenGauge).set_figures(pack.tokens, b.context_tokens, w.n_ctx, planned.prompt_tokens)
        self.packed, self.dropped = tuple(pack.chunks), tuple(pack.dropped)
        self.query_one("#ctx-packed-title", Static).update(
            f"[b]Packed[/b] {counted(len(self.packed), 'span')}, {counted(pack.tokens, 'token')}")
        self._fill("#ctx-packed", self.packed)
        self.query_one("#ctx-dropped-title", Static).update(
            f"[b]Dropped[/b] {len(self.dropped)} (did not fit the budget)" if self.dropped
            else "[b]Dropped[/b] nothing: every span found fit")
        self._fill("#ctx-dropped", self.dropped)
        self.query_one("#ctx-dropped", DataTable).display = bool(self.dropped)
        notes = "\n".join(f"note: {n}" for n in planned.notes)
        self.query_one("#ctx-notes", Static).update(notes)
        self._show_details(True)
        self.query_one("#ctx-dropped", DataTable).display = bool(self.dropped)

    def _fill(self, table_id: str, spans: tuple[PackedSpan, ...]) -> None:
        table = self.query_one(table_id, DataTable)
        table.clear()
        for i, s in enumerate(spans, 1):
            table.add_row(str(i), span_label(s), f"{s.tokens:,}", f"{s.score:.4f}", ",".join(s.via) or "·",
                          s.symbol or "·", key=f"{table_id}-{i}")

    @on(DataTable.RowSelected)
    def _open_row(self, event: DataTable.RowSelected) -> None:
        event.stop()
        spans = self.packed if event.data_table.id == "ctx-packed" else self.dropped
        try:
            s = spans[event.cursor_row]
        except IndexError:
            return
        where = "packed" if spans is self.packed else "dropped"
        self.post_message(OpenSource(s.path, s.start_line, s.end_line, f"{where}, {counted(s.tokens, 'token')}"))
