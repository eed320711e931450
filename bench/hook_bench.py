"""Hook bench: what the repo-assist hooks add to `git commit`, and how soon a commit is searchable.

    python bench/hook_bench.py [--commits N] [--json]

Three throw-away repositories, same content, same run:

* ``none``  — no hooks (the named alternative: plain git);
* ``shim``  — the hooks installed but the tool unreachable (recorded path gone,
  not on PATH): the cost of the sh shim alone;
* ``hooks`` — the hooks installed as `repo-assist hooks install` does: the shim
  starts the detached re-index.

Each round commits one new file in each repository, in rotating order, and
times the `git commit` process. Before every timed commit the bench waits until
the background runner of the ``hooks`` repository is idle, so no variant is
measured while a re-index competes for the CPU (that would be noise, not hook
cost). Printed: mean and p95 per variant, the ratio to ``none`` and the added
milliseconds; and, because a busy machine's noise can hide a few milliseconds,
the shim run directly (100 times) against an empty ``sh``.

Then freshness: a commit adds a new function to the ``hooks`` repository and
the bench measures the time until the background run that saw the new HEAD has
finished, and until `repo-assist search` finds the function. The alternative,
measured on the same commit in a hook-less copy, is what a user would do
without hooks: run `repo-assist index` by hand, then search.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repo_assist import hooks  # noqa: E402

RA = Path(sys.executable).with_name("repo-assist")
WAIT_S = 600.0
SEED = {
    "app/core.py": "def add(a, b):\n    return a + b\n\n\ndef scale(values, k):\n    return [v * k for v in values]\n",
    "app/io.py": "import json\n\n\ndef load(path):\n    with open(path) as fh:\n        return json.load(fh)\n",
    "README.md": "# bench\n\nA tiny repository for the hook bench.\n",
}


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.com",
                "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@example.com"})
    # no repo-assist on PATH: the `shim` variant must find nothing, the `hooks` one uses its recorded path
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and not (Path(p) / "repo-assist").exists())
    return env


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=git_env())
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {root}: {proc.stderr}")
    return proc.stdout


def make_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for rel, text in SEED.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "seed")
    return root


def ra(*args: str) -> str:
    proc = subprocess.run([str(RA), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"repo-assist {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def wait_idle(root: Path, want_head: str | None = None) -> dict:
    deadline = time.monotonic() + WAIT_S
    while True:
        st = hooks.status(root)
        run = st["last_run"]
        if st["running"] is None and not st["rerun_pending"] and (want_head is None or (run and run["head"] == want_head)):
            return st
        if time.monotonic() > deadline:
            raise SystemExit(f"the background run did not finish: {json.dumps(st, indent=1)}")
        time.sleep(0.05)


def timed_commit(root: Path, i: int) -> float:
    rel = f"app/step_{i:04d}.py"
    (root / rel).write_text(f"def step_{i}(x):\n    return x + {i}\n")
    git(root, "add", rel)
    env = git_env()
    t0 = time.perf_counter()
    proc = subprocess.run(["git", "commit", "-q", "-m", f"step {i}"], cwd=root, env=env, capture_output=True)
    ms = (time.perf_counter() - t0) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"commit failed: {proc.stderr.decode()}")
    return ms


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(0.95 * len(s))) - 1))]


def bench_commits(base: Path, n: int) -> dict:
    repos = {name: make_repo(base / name) for name in ("none", "shim", "hooks")}
    hooks.install(repos["shim"], launcher=(str(base / "uninstalled" / "repo-assist"),))
    ra("hooks", "install", str(repos["hooks"]))
    ra("index", str(repos["hooks"]))  # hooks then re-index incrementally, as in daily use
    order = list(repos)
    times: dict[str, list[float]] = {name: [] for name in repos}
    for i in range(n):
        rot = order[i % 3:] + order[:i % 3]
        for name in rot:
            wait_idle(repos["hooks"])
            times[name].append(timed_commit(repos[name], i))
    wait_idle(repos["hooks"], git(repos["hooks"], "rev-parse", "HEAD").strip())
    base_mean = statistics.fmean(times["none"])
    out = {}
    for name, xs in times.items():
        out[name] = {"mean_ms": statistics.fmean(xs), "p95_ms": p95(xs), "median_ms": statistics.median(xs),
                     "ratio_to_none": statistics.fmean(xs) / base_mean,
                     "added_ms": statistics.fmean(xs) - base_mean}
    return out


def bench_shim_alone(base: Path, n: int) -> dict:
    """The shim run directly, as git runs it (tool unreachable, so nothing is spawned), against an empty sh."""
    root = base / "shim"
    hook = root / ".git" / "hooks" / "post-commit"
    env = git_env()
    out = {}
    for name, argv in (("empty_sh_ms", ["/bin/sh", "-c", ":"]), ("shim_ms", ["/bin/sh", str(hook)])):
        xs = []
        for _ in range(n):
            t0 = time.perf_counter()
            subprocess.run(argv, cwd=root, env=env, check=True)
            xs.append((time.perf_counter() - t0) * 1000)
        out[name] = statistics.median(xs)
    return out


def bench_freshness(base: Path) -> dict:
    root = base / "hooks"
    manual = base / "manual"
    subprocess.run(["git", "clone", "-q", str(root), str(manual)], check=True, capture_output=True, env=git_env())
    ra("index", str(manual))
    fn = "def reconcile_quarterly_tax_ledger(entries):\n    return sum(e.amount for e in entries if e.taxable)\n"
    query = "reconcile the quarterly tax ledger"
    result: dict[str, float] = {}
    for name, repo in (("hooks", root), ("manual", manual)):
        (repo / "app" / "tax.py").write_text(fn)
        git(repo, "add", "app/tax.py")
        t0 = time.perf_counter()
        subprocess.run(["git", "commit", "-q", "-m", "tax"], cwd=repo, env=git_env(), check=True, capture_output=True)
        if name == "hooks":
            wait_idle(repo, git(repo, "rev-parse", "HEAD").strip())
        else:
            ra("index", str(repo))
        t_indexed = time.perf_counter()
        hits = json.loads(ra("search", query, "--repo", str(repo), "--json", "-k", "3"))["hits"]
        t_found = time.perf_counter()
        if not hits or hits[0]["symbol"] != "reconcile_quarterly_tax_ledger":
            raise SystemExit(f"{name}: the new function is not the top hit: {hits}")
        result[f"{name}_indexed_s"] = t_indexed - t0
        result[f"{name}_searchable_s"] = t_found - t0
    result["hooks_last_run_s"] = hooks.status(root)["last_run"]["seconds"]
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=20, help="timed commits per variant (default 20)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hook-bench-") as tmp:
        base = Path(tmp)
        os.environ["REPO_ASSIST_HOME"] = str(base / "indexes")
        commits = bench_commits(base, args.commits)
        shim = bench_shim_alone(base, 100)
        fresh = bench_freshness(base)
    if args.json:
        print(json.dumps({"commits": args.commits, "commit": commits, "shim_alone": shim, "freshness": fresh}, indent=2))
        return 0
    print(f"git commit, {args.commits} per variant, interleaved (runner idle before each timed commit)")
    print(f"{'variant':8} {'mean ms':>9} {'p95 ms':>9} {'median':>9} {'ratio':>7} {'added ms':>9}")
    for name, r in commits.items():
        print(f"{name:8} {r['mean_ms']:9.1f} {r['p95_ms']:9.1f} {r['median_ms']:9.1f} {r['ratio_to_none']:7.2f} {r['added_ms']:+9.1f}")
    print(f"the shim alone (median of 100, run directly): {shim['shim_ms']:.2f} ms vs {shim['empty_sh_ms']:.2f} ms "
          f"for an empty sh: {shim['shim_ms'] - shim['empty_sh_ms']:+.2f} ms")
    print()
    print("commit -> searchable (new function found by `repo-assist search`)")
    print(f"  with hooks:   indexed after {fresh['hooks_indexed_s']:.2f}s (background run {fresh['hooks_last_run_s']:.2f}s), "
          f"searchable after {fresh['hooks_searchable_s']:.2f}s, nothing typed")
    print(f"  by hand:      `repo-assist index` took until {fresh['manual_indexed_s']:.2f}s, "
          f"searchable after {fresh['manual_searchable_s']:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
