"""What a model adds to a scan: the model detector alone, and end to end with and without it.

    .venv/bin/python bench/model_bench.py                     # the packaged default model
    .venv/bin/python bench/model_bench.py --model out/models  # a registry's champion
    .venv/bin/python bench/model_bench.py --per-corpus 200 --json out/model_bench.json
    .venv/bin/python bench/model_bench.py --signal-costs   # what each signal costs after the rules

On the same mix of the shared corpora as bench/scan_bench.py (pinned to one core, a warm-up
pass first, the median of `--repeat` passes kept):

* ``model detector``: `ModelDetector.score(values)` on a message whose rules already ran —
  reading the signals the trees use that the rules did not (computed on demand), the trees,
  the text model, the blend and, for flagged messages, the attribution. This is what the model
  adds to a scan.
* ``  on ham`` / ``  on spam + malicious``: the same, split by the corpus label: mail that is
  clearly safe stops at the model's screen (the "decided by" line counts the stages).
* ``  again, signals cached``: the same call again (every signal now computed): the model's
  own work, trees, words and attribution.
* ``end-to-end rules`` / ``end-to-end rules + model``: `Engine.scan`, bytes to verdict.

`--signal-costs` prints, for every signal a model may read, its mean cost per message when the
rules have not already computed it, and how often that is: the measurement behind the screen's
`SCREEN_SIGNALS` (mailwarden.models.train): the signals the rules leave uncomputed for 3% of
messages or fewer.

The trees are scored by onnxruntime when it is installed (the `models` extra), else by numpy;
the header line says which, and the machine reference to compare runs across hosts.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import orjson
from latency import (  # bench/ is on sys.path
    HEADER,
    machine_reference_ms,
    pinned_corpus_mix,
    row,
    summary,
)

from mailwarden.corpora import CorpusMessage
from mailwarden.detectors.model import ModelDetector, load_model_detectors
from mailwarden.engine import Engine


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="default", help="model or registry dir, or default")
    parser.add_argument("--per-corpus", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--signal-costs", action="store_true", help="per-signal cost table")
    args = parser.parse_args()

    mix = pinned_corpus_mix(args.per_corpus)
    if mix is None:
        return 0
    if args.signal_costs:
        return signal_costs(mix)
    (detector,) = load_model_detectors(args.model)
    if not isinstance(detector, ModelDetector):
        print(f"model unavailable: {detector.score.__self__.reason}")  # type: ignore[attr-defined]
        return 1
    rules = Engine()
    both = Engine(model=detector)
    for message in mix:  # warm-up
        rules.scan(message.raw)
        both.scan(message.raw)

    results: dict[str, list[float]] = {}
    passes = []
    stages: dict[str, int] = {}
    for _ in range(args.repeat):
        timings: dict[str, list[float]] = {
            k: [] for k in ("model", "ham", "unwanted", "predict", "rules", "both")
        }
        stages = {}
        for message in mix:
            _, values = rules.explain(message.raw)
            assert values is not None
            start = time.perf_counter_ns()
            found = detector.score(values)
            spent = (time.perf_counter_ns() - start) / 1000
            timings["model"].append(spent)
            timings["ham" if message.label == "ham" else "unwanted"].append(spent)
            stage = str(found.summary.get("stage", "-"))
            stages[stage] = stages.get(stage, 0) + 1
            start = time.perf_counter_ns()  # again: every signal is now cached
            detector.score(values)
            timings["predict"].append((time.perf_counter_ns() - start) / 1000)
            start = time.perf_counter_ns()
            rules.scan(message.raw)
            timings["rules"].append((time.perf_counter_ns() - start) / 1000)
            start = time.perf_counter_ns()
            both.scan(message.raw)
            timings["both"].append((time.perf_counter_ns() - start) / 1000)
        passes.append(timings)
    passes.sort(key=lambda t: statistics.median(t["model"]))
    results = passes[len(passes) // 2]
    labels = {
        "model": "model detector",
        "ham": "  on ham",
        "unwanted": "  on spam + malicious",
        "predict": "  again, signals cached",
        "rules": "end-to-end rules",
        "both": "end-to-end rules + model",
    }
    reference = machine_reference_ms()
    bundle = detector.bundle
    print(
        f"{len(mix)} messages; model {bundle.name} {bundle.version}, trees scored by "
        f"{bundle.scorer}; machine reference (sum(range(100_000))): {reference:.2f} ms"
    )
    print(HEADER)
    for key, label in labels.items():
        print(row(label, results[key]))
    print("decided by: " + ", ".join(f"{k} {v}" for k, v in sorted(stages.items())))
    if args.json:
        report = {
            "machine_reference_ms": reference,
            "messages": len(mix),
            "model": bundle.version,
            "scorer": bundle.scorer,
            "stages": stages,
            **{key: summary(values) for key, values in results.items()},
        }
        args.json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 0


def signal_costs(mix: list[CorpusMessage]) -> int:
    """Mean microseconds per message each feature signal costs after the rules have run."""
    from mailwarden.training.schema import FeatureSchema

    names = FeatureSchema.current().names
    rules = Engine()
    spent = dict.fromkeys(names, 0.0)
    needed = dict.fromkeys(names, 0)
    for message in mix:
        _, values = rules.explain(message.raw)
        assert values is not None
        done = values.computed()
        for name in names:
            if name in done:
                continue
            needed[name] += 1
            start = time.perf_counter_ns()
            values[name]
            spent[name] += (time.perf_counter_ns() - start) / 1000
    print(f"{len(mix)} messages; mean us per message when the rules left the signal uncomputed")
    print(f"{'signal':<45} {'us/msg':>8} {'left by rules':>14}")
    for name in sorted(names, key=lambda n: -spent[n]):
        print(f"{name:<45} {spent[name] / len(mix):>8.1f} {needed[name] / len(mix):>14.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
