"""The evaluation's tables: the issue's targets and whether this run meets them, then the
detail behind each (markdown, for results.md and the model card)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scripts.evaluation.baselines import METHODS

SERVICE = "service"  # the register's own search; the baselines are METHODS

# the targets
CROSS_R10 = 0.85
CROSS_MAP = 0.65
ABOVE_PIXELS = 0.15  # the service over raw pixels, on cross-design R@10 and mAP@100
TRANSFORMED_R10 = 0.97  # overall
EACH_TRANSFORM_R10 = 0.90  # every single transformation
HIGH_RISK_SHARE = 0.95  # identical figure + words or frame: the original High risk


@dataclass
class Target:
    what: str
    value: float | None
    goal: str
    met: bool


def targets(results: dict[str, Any]) -> list[Target]:
    """Each target of the issue with this run's value."""
    cross = results["cross_design"]
    service, pixels = cross[SERVICE], cross["pixels"]
    transformed = results["transformed"][SERVICE]
    names = [n for n in transformed if not n.startswith("overall")]
    worst = min(names, key=lambda n: transformed[n]["R@10"]) if names else None
    worst_r10 = transformed[worst]["R@10"] if worst else None
    share = results["identical_high_risk"]["both"]["high"]
    return [
        Target("cross-design R@10", service["R@10"], f">= {CROSS_R10}",
               service["R@10"] >= CROSS_R10),
        Target("cross-design mAP@100", service["mAP@100"], f">= {CROSS_MAP}",
               service["mAP@100"] >= CROSS_MAP),
        Target("cross-design R@10 above raw pixels", service["R@10"] - pixels["R@10"],
               f">= +{ABOVE_PIXELS}", service["R@10"] - pixels["R@10"] >= ABOVE_PIXELS),
        Target("cross-design mAP@100 above raw pixels",
               service["mAP@100"] - pixels["mAP@100"], f">= +{ABOVE_PIXELS}",
               service["mAP@100"] - pixels["mAP@100"] >= ABOVE_PIXELS),
        Target("transformed copies R@10, overall", transformed["overall"]["R@10"],
               f">= {TRANSFORMED_R10}", transformed["overall"]["R@10"] >= TRANSFORMED_R10),
        Target(f"transformed copies R@10, every transformation (worst: {worst})", worst_r10,
               f">= {EACH_TRANSFORM_R10}",
               worst_r10 is not None and worst_r10 >= EACH_TRANSFORM_R10),
        Target("identical figure + words or frame: the original High risk", share,
               f">= {HIGH_RISK_SHARE:.0%}", share is not None and share >= HIGH_RISK_SHARE),
    ]


def target_dicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [asdict(t) for t in targets(results)]


def _num(value: float | None, digits: int = 3, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _row(task: str, method: str, s: dict[str, Any]) -> str:
    return (f"| {task} | {method} | {s['queries']} | {s['R@1']:.3f} | {s['R@10']:.3f} | "
            f"{s['mAP@100']:.3f} | {_num(s['NAR'], 4)} |")


def markdown(results: dict[str, Any]) -> str:
    """The whole report: targets, then each task's detail."""
    reg = results["register"]
    timing = results["timing"]
    lines = [
        f"Gallery: {results['gallery']} images; register: {reg['marks']} marks, "
        f"{reg['vectors']} vectors ({reg['index_type']} index); model "
        f"{results['model_version']}; {results['brands_cross_design']} brands in 2+ sets. "
        f"The service is a real `Register`, searched with "
        f"`{results.get('cross_design_search', 'similar')}` (cross-design, composites: "
        f"`similar`) and `search_many` (uploads), default `SearchOptions` "
        f"({results['search_mode']} mode), k={results['k']}.",
        "",
        "Targets of the issue:",
        "",
        "| target | this run | goal | met |",
        "|---|---|---|---|",
    ]
    for t in targets(results):
        signed = "above" in t.what
        value = (f"{t.value:.1%}" if t.value is not None and "%" in t.goal
                 else _num(t.value, signed=signed))
        lines.append(f"| {t.what} | {value} | {t.goal} | {'yes' if t.met else 'no'} |")
    augment_only = results["transformed"][SERVICE]["overall_augment"]["R@10"]
    lines += [
        "",
        "Transformed copies overall count the evaluation-only cases (*); over "
        "scripts/training/augment.py's transformations alone the service's R@10 is "
        f"{augment_only:.3f}.",
        "",
        f"Service search time, median per query: {_num(timing['similar_ms'], 1)} ms "
        f"(`similar`, one query at a time), {_num(timing['search_many_ms'], 1)} ms "
        f"(`search_many`, batches of {timing['batch']}).",
        "",
        "Methods: *service* is the shipped search; *model* the CNN embedding alone (whole "
        "images, cosine, no descriptor, components or turns); *pixels* 32 x 32 grey of the "
        "canonical crop (cosine); *phash* imagehash's pHash (Hamming).",
        "",
        "| task | method | queries | R@1 | R@10 | mAP@100 | NAR |",
        "|---|---|---|---|---|---|---|",
    ]
    for method in (SERVICE, *METHODS):
        lines.append(_row("cross-design", method, results["cross_design"][method]))
    for method in (SERVICE, *METHODS):
        lines.append(_row("transformed (all)", method,
                          results["transformed"][method]["overall"]))
    lines += _by_set(results) + _per_transformation(results) + _composites(results)
    lines += _risk(results)
    return "\n".join(lines) + "\n"


def _by_set(results: dict[str, Any]) -> list[str]:
    per = results["cross_design_by_set"]
    lines = ["", "Cross-design by the query's icon set:", "",
             "| query set | queries | service R@1 | service R@10 | service mAP@100 | "
             "pixels R@10 | pixels mAP@100 |", "|---|---|---|---|---|---|---|"]
    for name in sorted(per[SERVICE]):
        s, p = per[SERVICE][name], per["pixels"][name]
        lines.append(f"| {name} | {s['queries']} | {s['R@1']:.3f} | {s['R@10']:.3f} | "
                     f"{s['mAP@100']:.3f} | {p['R@10']:.3f} | {p['mAP@100']:.3f} |")
    return lines


def _per_transformation(results: dict[str, Any]) -> list[str]:
    transformed = results["transformed"]
    cases = set(results["evaluation_cases"])
    methods = (SERVICE, *METHODS)
    lines = ["", "Transformed copies, R@10 per transformation (the query is transformed; "
             f"target {EACH_TRANSFORM_R10} for the service; * evaluation-only cases of "
             "scripts/evaluation/cases.py):", "",
             "| transformation | " + " | ".join(methods) + " | target met |",
             "|---|" + "---|" * (len(methods) + 1)]
    for name in transformed[SERVICE]:
        if name.startswith("overall"):
            continue
        cells = [f"{transformed[m][name]['R@10']:.3f}" for m in methods]
        met = transformed[SERVICE][name]["R@10"] >= EACH_TRANSFORM_R10
        label = f"{name} *" if name in cases else name
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {'yes' if met else 'no'} |")
    return lines


def _composites(results: dict[str, Any]) -> list[str]:
    per = results["composites_in_register"]
    methods = [m for m in (SERVICE, "model") if m in per]
    lines = ["", "Composite marks in the register, found from the original figure alone "
             "(R@10; the original itself left out):", "",
             "| composite | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for name in per[SERVICE]:
        lines.append(f"| {name} | " + " | ".join(f"{per[m][name]['R@10']:.3f}"
                                                  for m in methods) + " |")
    risk = results["identical_high_risk"]
    lines += ["", "Identical figure with added words or a frame, searched as the query: how "
              "often the original comes back first, in the top 10, and in the top 10 with "
              f"risk High (score >= {results['risk']['high']:.3f}, this run's calibration):",
              "",
              "| query | queries | original first | in the top 10 | High risk |",
              "|---|---|---|---|---|"]
    for name, r in risk.items():
        lines.append(f"| {name} | {r['queries']} | {_num(r['first'])} | {_num(r['top10'])} | "
                     f"{_num(r['high'])} |")
    return lines


def _risk(results: dict[str, Any]) -> list[str]:
    r = results["risk"]
    return ["", f"Risk levels calibrated on SearchResult.score: high >= {r['high']:.3f} "
            f"(precision of the top-10 hits at or above it >= {r['high_precision']}), "
            f"medium >= {r['medium']:.3f} (>= {r['medium_precision']}); "
            f"{r['hits']} hits, {r['relevant_hits']} of the query's brand."]


START, END = "<!-- evaluation:start -->", "<!-- evaluation:end -->"


def update_model_card(card: Path, table: str) -> None:
    """Replace the evaluation section of the model card with this run's table."""
    text = card.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{card} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    card.write_text(f"{head}{START}\n{table}{END}{tail}")
