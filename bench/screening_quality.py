"""Screening quality bench: precision, recall and F1 of the matcher on labelled name pairs.

Usage: ``python bench/screening_quality.py [DATA_DIR] [--seed S] [--write FILE] [--pairs FILE]``

The pairs (see ``bench/screening_pairs.py``) are generated deterministically from the OFAC SDN and
UN consolidated files in DATA_DIR (default ``/work/shared/data/sanctions``), or read from a file
written earlier with ``--write`` (the repository keeps one:
``bench/data/screening_pairs.jsonl.gz``).
Each pair is screened as the application does: an index over the one target entry, the query as
``owner`` (person) or ``legal_name`` (organisation); the pair's score is the best hit's score, 0
without a hit. Printed for the current matcher (v2) and the frozen v1 as the baseline: per
category at the policy's two scores, and a curve over thresholds to choose those scores from.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.screening_pairs import Generator, Pair  # noqa: E402
from checks.screening import load_list  # noqa: E402
from checks.screening.entries import ListEntry  # noqa: E402
from checks.screening.matcher import MATCHER_VERSION, ScreeningIndex  # noqa: E402
from checks.screening.matcher_v1 import ScreeningIndex as ScreeningIndexV1  # noqa: E402

POLICY = Path(__file__).resolve().parents[1] / "checks" / "policies" / "kyb-2026.11.2.toml"
FLOOR = 50.0  # lowest score asked of the matcher (the curve starts here)
_NOT_STORED = ("remarks", "programs", "identifiers")  # not used by name matching
DEFAULT_PAIRS = Path(__file__).resolve().parent / "data" / "screening_pairs.jsonl.gz"


def generate(data_dir: Path, seed: int) -> list[Pair]:
    ofac = load_list(sorted(data_dir.glob("ofac_*.csv")))
    un = load_list(data_dir / "un_consolidated.xml")
    return Generator([*ofac.entries, *un.entries], seed).build()


def _open(path: Path, mode: str):
    """Text file, gzip-compressed when the name ends in .gz (written with a fixed mtime)."""
    if path.suffix == ".gz":
        if "r" in mode:
            return gzip.open(path, mode, encoding="utf-8")
        raw = path.open("wb")  # no file name nor time in the header: same pairs, same bytes
        return io.TextIOWrapper(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0),
                                encoding="utf-8")
    return path.open(mode[0], encoding="utf-8")


def write_pairs(pairs: list[Pair], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _open(path, "wt") as out:
        for p in pairs:
            target = {k: v for k, v in p.target.to_dict().items()
                      if v not in ("", []) and k not in _NOT_STORED}
            out.write(json.dumps({"category": p.category, "label": p.label, "query": p.query,
                                  "person": p.person, "target": target},
                                 ensure_ascii=False, sort_keys=True) + "\n")


def read_pairs(path: Path) -> list[Pair]:
    pairs = []
    with _open(path, "rt") as source:
        lines = source.read().splitlines()
    for line in lines:
        row = json.loads(line)
        pairs.append(Pair(row["category"], row["label"], row["query"], row["person"],
                          ListEntry.from_dict(row["target"])))
    return pairs


def score(index_class: type, pair: Pair) -> float:
    index = index_class([pair.target], {pair.target.list_name: "bench"})
    role = "owner" if pair.person else "legal_name"
    hits = index.screen(pair.query, role, threshold=FLOOR, limit=1)
    return hits[0].score if hits else 0.0


def prf(rows: list[tuple[int, float]], threshold: float) -> tuple[float, float, float, int, int]:
    tp = sum(1 for label, s in rows if label and s >= threshold)
    fp = sum(1 for label, s in rows if not label and s >= threshold)
    fn = sum(1 for label, s in rows if label and s < threshold)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, tp, fp


def report(name: str, pairs: list[Pair], scores: list[float], strong: float,
           possible: float) -> None:
    rows = [(p.label, s) for p, s in zip(pairs, scores, strict=True)]
    by_category: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for p, s in zip(pairs, scores, strict=True):
        by_category[p.category].append((p.label, s))
    print(f"\n== {name}: per category (possible >= {possible:g} | strong >= {strong:g})")
    print(f"{'category':<16}{'pos':>5}{'neg':>5} | {'P':>6}{'R':>6}{'F1':>6} | "
          f"{'P':>6}{'R':>6}{'F1':>6}")
    for category in sorted(by_category):
        cat = by_category[category]
        pos = sum(label for label, _ in cat)
        p1, r1, f1, _, _ = prf(cat, possible)
        p2, r2, f2, _, _ = prf(cat, strong)
        print(f"{category:<16}{pos:>5}{len(cat) - pos:>5} | {p1:6.3f}{r1:6.3f}{f1:6.3f} | "
              f"{p2:6.3f}{r2:6.3f}{f2:6.3f}")
    pos = sum(label for label, _ in rows)
    p1, r1, f1, _, _ = prf(rows, possible)
    p2, r2, f2, _, _ = prf(rows, strong)
    print(f"{'ALL':<16}{pos:>5}{len(rows) - pos:>5} | {p1:6.3f}{r1:6.3f}{f1:6.3f} | "
          f"{p2:6.3f}{r2:6.3f}{f2:6.3f}")
    print(f"-- {name}: curve (threshold: precision recall F1)")
    for threshold in range(60, 101, 2):
        p, r, f, tp, fp = prf(rows, threshold)
        print(f"  {threshold:>3}: P {p:.3f}  R {r:.3f}  F1 {f:.3f}  (tp {tp}, fp {fp})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default="/work/shared/data/sanctions")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--pairs", type=Path, help="read the pairs from this JSONL file")
    parser.add_argument("--write", type=Path, help="write the generated pairs to this file")
    parser.add_argument("--strong", type=float, default=None, help="strong score (policy's)")
    parser.add_argument("--possible", type=float, default=None, help="possible score")
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                        help="also score the frozen v1 matcher (policy 2026.11.1: 92 / 85)")
    args = parser.parse_args(argv)
    pairs = read_pairs(args.pairs) if args.pairs else generate(Path(args.data_dir), args.seed)
    if args.write:
        write_pairs(pairs, args.write)
        print(f"wrote {len(pairs)} pairs to {args.write}")
    positives = sum(p.label for p in pairs)
    print(f"pairs: {len(pairs)}  positives: {positives}  negatives: {len(pairs) - positives}")
    if args.baseline:
        started = time.perf_counter()
        v1 = [score(ScreeningIndexV1, p) for p in pairs]
        print(f"v1 scored in {time.perf_counter() - started:.1f} s")
        report("matcher v1 (baseline)", pairs, v1, 92, 85)
    from checks.policy import load_policy  # noqa: PLC0415 - only to read the shipped scores

    params = load_policy(POLICY).check("sanctions_pep").params
    strong = args.strong or float(params["strong_score"])
    possible = args.possible or float(params["possible_score"])
    started = time.perf_counter()
    v2 = [score(ScreeningIndex, p) for p in pairs]
    print(f"\nv{MATCHER_VERSION} scored in {time.perf_counter() - started:.1f} s")
    report(f"matcher v{MATCHER_VERSION} (current)", pairs, v2, strong, possible)


if __name__ == "__main__":
    main()
