"""Self-evaluation from git history: commit message → the source files it changed.

Each case is measured on the commit's parent tree (a detached worktree that
walks forward through the parents, indexed incrementally), so retrieval never
sees the change it is asked about. A whole-file BM25 over the same tree is the
baseline in the same run.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from .errors import UsageError
from .gitrepo import NO_HOOKS, Repo, run_git
from .languages import language_for

WORD = re.compile(r"[A-Za-z0-9_]+")
TRIVIAL = re.compile(r"^(merge|bump|release|version|update changelog|wip|fixup!|squash!|revert)\b", re.I)


@dataclass(frozen=True, slots=True)
class Case:
    commit: str
    parent: str
    query: str
    files: tuple[str, ...]


@dataclass
class Scores:
    """Recall@k of the changed files, and the reciprocal rank of the first one found."""

    recall: dict[int, list[float]] = field(default_factory=lambda: {1: [], 5: [], 10: []})
    rr: list[float] = field(default_factory=list)

    def add(self, ranked: list[str], relevant: tuple[str, ...]) -> None:
        rel = set(relevant)
        for k in self.recall:
            self.recall[k].append(len(rel & set(ranked[:k])) / len(rel))
        first = next((i for i, p in enumerate(ranked) if p in rel), None)
        self.rr.append(0.0 if first is None else 1.0 / (first + 1))

    def summary(self) -> dict[str, float]:
        n = len(self.rr) or 1
        out = {f"R@{k}": round(sum(v) / n, 4) for k, v in self.recall.items()}
        out["MRR"] = round(sum(self.rr) / n, 4)
        return out


def build_cases(repo: Repo, *, commits: int, max_files: int = 8, min_words: int = 3) -> list[Case]:
    """Recent non-merge commits that changed 1..max_files existing source files, oldest first."""
    log = run_git(
        ["log", "--no-merges", "--first-parent", "-n", str(commits * 6), "--format=%x1e%H %P%x1f%s%x1f%b%x1d", "--name-status",
         "--no-renames", "HEAD"],
        repo.root,
    ).stdout.decode("utf-8", "replace")
    cases: list[Case] = []
    for record in log.split("\x1e"):
        if not record.strip():
            continue
        head, _, rest = record.partition("\x1f")
        subject, _, tail = rest.partition("\x1f")
        body, _, names = tail.partition("\x1d")
        shas = head.split()
        if len(shas) != 2:
            continue  # root commit or merge
        files = []
        for line in names.strip().splitlines():
            status, _, path = line.partition("\t")
            if status[:1] in ("M", "D") and language_for(path):
                files.append(path)
        query = (subject + "\n" + body.strip())[:400].strip()
        if not files or len(files) > max_files or len(WORD.findall(subject)) < min_words or TRIVIAL.match(subject):
            continue
        cases.append(Case(shas[0], shas[1], query, tuple(files)))
        if len(cases) >= commits:
            break
    return list(reversed(cases))


class FileBM25:
    """Plain whole-file BM25 (k1 1.2, b 0.75) over word tokens: the baseline."""

    def __init__(self, docs: dict[str, str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = {p: Counter(w.lower() for w in WORD.findall(t)) for p, t in docs.items()}
        self.len = {p: sum(c.values()) for p, c in self.tf.items()}
        self.avg = (sum(self.len.values()) / len(self.len)) if self.len else 1.0
        df: Counter[str] = Counter()
        for c in self.tf.values():
            df.update(c.keys())
        n = len(self.tf)
        self.idf = {w: math.log(1 + (n - d + 0.5) / (d + 0.5)) for w, d in df.items()}

    def rank(self, query: str) -> list[str]:
        words = [w.lower() for w in WORD.findall(query)]
        scores: dict[str, float] = {}
        for p, tf in self.tf.items():
            s = 0.0
            norm = self.k1 * (1 - self.b + self.b * self.len[p] / self.avg)
            for w in words:
                f = tf.get(w)
                if f:
                    s += self.idf[w] * f * (self.k1 + 1) / (f + norm)
            if s > 0:
                scores[p] = s
        return sorted(scores, key=lambda p: -scores[p])


ALL_SIGNALS = ("dense", "bm25", "symbol", "path", "trace")


def configurations(ablate: bool) -> dict[str, tuple[str, ...]]:
    configs = {"hybrid": ALL_SIGNALS}
    if ablate:
        configs["dense only"] = ("dense",)
        configs["bm25 only"] = ("bm25",)
        for s in ("dense", "bm25", "symbol", "path"):
            configs[f"without {s}"] = tuple(x for x in ALL_SIGNALS if x != s)
    return configs


def run_eval(ws, *, commits: int = 30, ablate: bool = False, depth: int = 60, progress=None) -> dict:
    """Measure file Recall@1/5/10 and MRR on the repository's own history (see module doc)."""
    import shutil
    import tempfile
    from pathlib import Path

    from .indexer import Indexer, open_store
    from .retrieval import Retriever, rank_files
    from .workspace import Workspace

    if ws.repo.head() is None:
        raise UsageError(f"{ws.repo.root} has no commits yet", "eval turns commits into cases: commit first")
    cases = build_cases(ws.repo, commits=commits)
    configs = configurations(ablate)
    scores = {name: Scores() for name in configs}
    baseline = Scores()
    used: list[dict] = []
    if not cases:
        return {"repo": str(ws.repo.root), "cases": 0, "results": {}, "baseline": {}, "note": "no usable commits"}
    tmp = Path(tempfile.mkdtemp(prefix="repo-assist-eval-"))
    tree = tmp / "tree"
    try:  # the worktree is added inside: an interrupt during `git worktree add` still removes it
        run_git([*NO_HOOKS, "worktree", "add", "-q", "--detach", str(tree), cases[0].parent], ws.repo.root)
        settings = ws.settings.replace(home=str(tmp / "home"), chroma_url="")
        ews = Workspace.for_repo(Repo.open(tree), settings)
        for i, case in enumerate(cases):
            run_git([*NO_HOOKS, "checkout", "-q", "--force", "--detach", case.parent], tree)
            run_git(["clean", "-q", "-fdx"], tree)
            Indexer(ews).run()
            manifest = ews.open_manifest()
            try:
                indexed = {p for p, row in manifest.files().items() if row.status == "indexed"}
                relevant = tuple(p for p in case.files if p in indexed)
                if not relevant:
                    continue
                store = open_store(ews, ews.embedder(), manifest, create=False)
                retriever = Retriever(manifest, store, ews.embedder())
                for name, signals in configs.items():
                    hits = retriever.search(case.query, depth, signals=signals)
                    scores[name].add([p for p, _ in rank_files(hits)], relevant)
                docs = {p: "".join(c.text for c in manifest.file_chunks(p)) for p in indexed}
                baseline.add(FileBM25(docs).rank(case.query), relevant)
                used.append({"commit": case.commit[:12], "files": list(relevant), "query": case.query.splitlines()[0][:100]})
            finally:
                manifest.close()
            if progress:
                progress("eval", i + 1, len(cases))
    finally:
        run_git(["worktree", "remove", "--force", str(tree)], ws.repo.root, check=False)
        run_git(["worktree", "prune"], ws.repo.root, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    results = {name: s.summary() for name, s in scores.items()}
    base = baseline.summary()
    hyb = results["hybrid"]
    miss_cut = None
    if base["R@5"] < 1:
        miss_cut = round(1 - (1 - hyb["R@5"]) / (1 - base["R@5"]), 4)
    return {
        "repo": str(ws.repo.root),
        "cases": len(used),
        "results": results,
        "baseline": {"name": "whole-file BM25", **base},
        "r5_miss_reduction": miss_cut,
        "case_list": used,
    }
