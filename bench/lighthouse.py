"""Lighthouse performance and accessibility of the pages a visitor sees signed out.

    .venv/bin/python -m bench.lighthouse [--lighthouse /tmp/lh/node_modules/.bin/lighthouse]
        [--runs 3] [--users 300] [--posts 1500] [--reports DIR]

Optional: needs the `lighthouse` CLI from npm (12.2.3 works on Node 20), installed outside
the repository, for example:

    mkdir -p /tmp/lh && cd /tmp/lh && npm init -y && npm install lighthouse@12.2.3

1. Seeds a small graph with the feed benchmark's seeding (`bench.feed_read.seed`), picks
   the regular (non-celebrity) author with the most posts and gives their newest two
   profile pages of posts real renditions (`bench.web_speed.give_media`), then starts
   the server and marks the celebrities.
2. The pages a visitor reaches signed out: `/login`, the post page `/p/{id}` of that
   author's newest post, and their profile `/{username}` (a full grid of photos).
3. Runs the lighthouse CLI on each page with Debian's Chromium (`CHROME_PATH`, chrome
   flags `--headless=new --no-sandbox` and the test suite's quiet ones), only the
   performance and accessibility categories, `--runs` times in each of two settings as
   lighthouse gives them:
   - `mobile`: lighthouse's default, a Moto G Power sized phone (412x823, DPR 1.75) with
     simulated throttling (slow 4G: 150 ms RTT, 1.6 Mbit/s down; CPU slowed 4x);
   - `desktop`: `--preset=desktop`, 1350x940 at DPR 1, simulated throttling of 40 ms RTT,
     10 Mbit/s and no CPU slowdown.
4. Reports for each page and setting the run of median performance score: the category
   scores (x100), FCP, LCP, TBT, CLS and Speed Index, the accessibility audits that fail
   (with their elements), the performance audits lighthouse flags (opportunities and
   diagnostics scoring under 0.9), and every run's scores. The issue's goal is >= 95 in
   each category.
Prints a table and writes `bench/results/lighthouse.json`. Asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.feed_read import LIMIT, Seed, add_seed_arguments, mark_celebrities, seed
from bench.harness import catch_signals, emit, machine_info
from bench.redis_target import RedisTarget
from bench.web_speed import give_media
from pixtrio.testing.browser import CHROMIUM_ARGS, chromium_path
from pixtrio.testing.server_process import ServerProcess

GOAL_SCORE = 95
DEFAULT_LIGHTHOUSE = Path("/tmp/lh/node_modules/.bin/lighthouse")
INSTALL = ("mkdir -p /tmp/lh && cd /tmp/lh && npm init -y && npm install lighthouse@12.2.3, "
           "then pass --lighthouse /tmp/lh/node_modules/.bin/lighthouse")
CHROME_FLAGS = ["--headless=new", *CHROMIUM_ARGS]
SETTINGS = {"mobile": [], "desktop": ["--preset=desktop"]}
METRICS = {"fcp_ms": "first-contentful-paint", "lcp_ms": "largest-contentful-paint",
           "tbt_ms": "total-blocking-time", "cls": "cumulative-layout-shift",
           "speed_index_ms": "speed-index"}


def log(message: str) -> None:
    print(message, flush=True)


def find_lighthouse(given: str | None) -> str:
    """The lighthouse CLI: `given`, else `lighthouse` on PATH, else DEFAULT_LIGHTHOUSE."""
    candidates = [given] if given else [shutil.which("lighthouse"), str(DEFAULT_LIGHTHOUSE)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    where = given or f"on PATH or at {DEFAULT_LIGHTHOUSE}"
    raise SystemExit(f"lighthouse not found ({where}). This optional benchmark needs the "
                     f"lighthouse CLI from npm, outside the repository: {INSTALL}")


def pick_author(graph: Seed) -> tuple[int, list[int]]:
    """The regular (non-celebrity) author with the most posts, and their posts, newest first."""
    celebrities = set(graph.celebrities)
    posts: dict[int, list[int]] = {}
    for post_id, author in reversed(graph.posts):
        if author not in celebrities:
            posts.setdefault(author, []).append(post_id)
    author = max(posts, key=lambda a: (len(posts[a]), -a))
    return author, posts[author]


def run_lighthouse(lighthouse: str, url: str, flags: list[str], out: Path) -> dict[str, Any]:
    """One lighthouse run of `url`; returns its report (LHR) as a dict."""
    cmd = [lighthouse, url, "--only-categories=performance,accessibility", "--output=json",
           f"--output-path={out}", "--quiet", f"--chrome-flags={' '.join(CHROME_FLAGS)}",
           *flags]
    env = {**os.environ, "CHROME_PATH": chromium_path()}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"lighthouse failed ({done.returncode}) on {url}:\n{done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(out.read_text())
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse runtime error on {url}: {report['runtimeError']}")
    return report


def score(report: dict[str, Any], category: str) -> int | None:
    value = report["categories"][category]["score"]
    return None if value is None else round(value * 100)


def elements(audit: dict[str, Any]) -> list[dict[str, Any]]:
    """The page elements an audit names (selector, snippet, why), at most 10."""
    items = (audit.get("details") or {}).get("items") or []
    return [{"selector": item["node"].get("selector"), "snippet": item["node"].get("snippet"),
             "explanation": item["node"].get("explanation")}
            for item in items if isinstance(item.get("node"), dict)][:10]


def accessibility_failures(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The accessibility audits that fail, with their elements."""
    found = []
    for ref in report["categories"]["accessibility"]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if audit["scoreDisplayMode"] != "binary" or audit["score"] is None or audit["score"] >= 1:
            continue
        found.append({"id": ref["id"], "title": audit["title"], "weight": ref.get("weight"),
                      "elements": elements(audit)})
    return found


def performance_flags(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The opportunities and diagnostics lighthouse flags: scored under 0.9, or with
    savings on a metric; with the resources (or elements) it names."""
    found = []
    for ref in report["categories"]["performance"]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        savings = {k: v for k, v in (audit.get("metricSavings") or {}).items() if v}
        low = audit["score"] is not None and audit["score"] < 0.9 and audit["scoreDisplayMode"] in (
            "numeric", "binary", "metricSavings")
        if ref.get("group") == "metrics" or not (low or savings):
            continue
        entry: dict[str, Any] = {"id": ref["id"], "title": audit["title"], "score": audit["score"],
                                 "display_value": audit.get("displayValue"),
                                 "metric_savings": savings}
        items = (audit.get("details") or {}).get("items") or []
        urls = [{k: item[k] for k in ("url", "totalBytes", "wastedBytes", "wastedMs", "duration",
                                      "total", "scripting")
                 if k in item and not isinstance(item[k], dict)}
                for item in items[:5] if "url" in item]
        if urls:
            entry["items"] = urls
        if elements(audit):
            entry["elements"] = elements(audit)
        found.append(entry)
    return found


def errored(report: dict[str, Any]) -> dict[str, str]:
    """Audits lighthouse could not run (on a newer Chromium than it knows, some trace ones)."""
    return {name: str(audit.get("errorMessage", ""))[:200]
            for name, audit in report["audits"].items() if audit["scoreDisplayMode"] == "error"}


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """Scores, key metrics, failing accessibility audits and flagged performance audits."""
    metrics = {}
    for name, audit_id in METRICS.items():
        value = report["audits"][audit_id].get("numericValue")
        metrics[name] = None if value is None else round(value, 3 if name == "cls" else 0)
    return {
        "performance": score(report, "performance"),
        "accessibility": score(report, "accessibility"),
        "metrics": metrics,
        "accessibility_failures": accessibility_failures(report),
        "performance_flags": performance_flags(report),
        "final_url": report.get("finalDisplayedUrl"),
        "run_warnings": report.get("runWarnings") or [],
        "errored_audits": errored(report),
        "benchmark_index": report["environment"].get("benchmarkIndex"),
        "emulation": {"form_factor": report["configSettings"]["formFactor"],
                      "screen": report["configSettings"]["screenEmulation"],
                      "throttling_method": report["configSettings"]["throttlingMethod"],
                      "throttling": report["configSettings"]["throttling"]},
    }


def measure(lighthouse: str, url: str, flags: list[str], runs: int, scratch: Path,
            keep: Path | None, name: str) -> dict[str, Any]:
    """`runs` lighthouse runs; the summary of the run of median performance score."""
    reports = []
    for i in range(runs):
        out = scratch / f"{name}-{i}.json"
        reports.append(run_lighthouse(lighthouse, url, flags, out))
    ordered = sorted(range(runs), key=lambda i: score(reports[i], "performance") or 0)
    median = ordered[(runs - 1) // 2]
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(scratch / f"{name}-{median}.json", keep / f"{name}.json")
    return {**summary(reports[median]),
            "runs": [{"performance": score(r, "performance"),
                      "accessibility": score(r, "accessibility")} for r in reports]}


def table(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = [f"{'page':8} {'setting':8} {'perf':>4} {'a11y':>4} {'FCP ms':>7} {'LCP ms':>7} "
             f"{'TBT ms':>7} {'CLS':>6} {'SI ms':>7}  failing a11y audits"]
    for page, settings in results.items():
        for setting, r in settings.items():
            m = r["metrics"]
            lines.append(f"{page:8} {setting:8} {r['performance']:>4} {r['accessibility']:>4} "
                         f"{m['fcp_ms']:>7.0f} {m['lcp_ms']:>7.0f} {m['tbt_ms']:>7.0f} "
                         f"{m['cls']:>6.3f} {m['speed_index_ms']:>7.0f}  "
                         + (", ".join(a["id"] for a in r["accessibility_failures"]) or "-"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lighthouse",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--lighthouse", default=None,
                        help=f"the lighthouse CLI (default: on PATH, else {DEFAULT_LIGHTHOUSE})")
    parser.add_argument("--runs", type=int, default=3, help="lighthouse runs per page and setting")
    parser.add_argument("--reports", type=Path, default=None,
                        help="keep the median run's full lighthouse JSON reports in this directory")
    add_seed_arguments(parser, users=300, follows=30, celebrities=2, posts=1_500,
                       celebrity_posts=20, viewers=2)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("need --runs >= 1")
    lighthouse = find_lighthouse(args.lighthouse)
    version = subprocess.run([lighthouse, "--version"], capture_output=True, text=True,
                             check=True).stdout.strip()

    catch_signals()
    started = time.monotonic()
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="pixtrio-bench-lighthouse-") as tmp:
        data_dir, scratch = Path(tmp) / "data", Path(tmp) / "scratch"
        scratch.mkdir()
        graph = seed(data_dir, args)
        author, posts = pick_author(graph)
        # the profile's first two pages, so that scrolling to "Load more" finds media too
        posts_with_media = give_media(data_dir, graph, graph.viewers[0], scratch,
                                      post_ids=posts[:2 * LIMIT])
        paths = {"login": "/login", "post": f"/p/{posts[0]}",
                 "profile": f"/{graph.usernames[author]}"}
        log(f"media for {posts_with_media} posts by {graph.usernames[author]}; pages {paths}")
        with ServerProcess(data_dir) as proc:
            mark_celebrities(RedisTarget(), proc, [graph.user_ids[c] for c in graph.celebrities])
            for page, path in paths.items():
                for setting, flags in SETTINGS.items():
                    log(f"lighthouse {setting} {path} x{args.runs}")
                    results.setdefault(page, {})[setting] = measure(
                        lighthouse, proc.url + path, flags, args.runs, scratch, args.reports,
                        f"{page}-{setting}")
    scores = [r[c] for s in results.values() for r in s.values()
              for c in ("performance", "accessibility")]
    log(table(results))
    emit("lighthouse", {
        "benchmark": "lighthouse",
        "lighthouse": version,
        "chromium": chromium_path(),
        "chrome_flags": CHROME_FLAGS,
        "settings": {"mobile": "lighthouse's default: phone emulation 412x823 DPR 1.75, simulated "
                               "slow 4G (150 ms RTT, 1.6 Mbit/s) and 4x CPU slowdown",
                     "desktop": "--preset=desktop: 1350x940 DPR 1, simulated 40 ms RTT, "
                                "10 Mbit/s, no CPU slowdown"},
        "errored_audits": sorted({name for s in results.values() for r in s.values()
                                  for name in r["errored_audits"]}),
        "pages": {**paths, "author_posts": len(posts)},
        "results": results,
        "goal": {"score_at_least": GOAL_SCORE,
                 "met": all(s is not None and s >= GOAL_SCORE for s in scores),
                 "lowest": min((s for s in scores if s is not None), default=None),
                 "median": statistics.median(s for s in scores if s is not None)},
        "seed": {"users": args.users, "posts": len(graph.posts),
                 "posts_with_media": posts_with_media},
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": machine_info(),
        "wall_s": round(time.monotonic() - started, 1),
    })


if __name__ == "__main__":
    main()
