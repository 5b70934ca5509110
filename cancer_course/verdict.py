"""The verdict of lesson 07's experiment: rules that read :func:`cancer_course.diagnosis.diagnose`'s
results (is there the symptom, does a correction fix it, is it memorisation, does the model rank
the tissue within a modality) and :func:`verdict`, the sentences they add up to, each with how many
training runs support it. :mod:`cancer_course.diagnosis` re-exports every name.

Research and education only: not for clinical use.
"""

from __future__ import annotations

__all__ = ["COLLAPSED", "MARGIN", "collapsed", "has_symptom", "is_fix", "memorisation", "verdict", "within_modality"]

MARGIN = 0.05  # a gap in AUC smaller than this counts as none: a choice, not a law
COLLAPSED = 0.95  # a model that calls at least this share of a set one class has collapsed to it


def has_symptom(s: dict) -> bool:
    """The original's symptom on a set: accuracy at 0.5 below the majority rate and AUC above 0.5,
    both by their 95% intervals."""
    return s["model"]["deficit"]["high"] < 0 and s["auc"]["low"] > 0.5


def collapsed(point: dict) -> bool:
    """Calls (nearly) every image one class: at least :data:`COLLAPSED` of them, either way."""
    return not 1 - COLLAPSED < point["called_malignant"] < COLLAPSED


def is_fix(point: dict) -> bool:
    """A correction removes the deficit only if accuracy is no longer below the majority rate by its
    interval while the classes are still told apart (balanced accuracy above 0.5 by its interval).
    Calling every image the majority class scores the majority rate with balanced accuracy 0.5: no fix."""
    return point["deficit"]["high"] >= 0 and point["balanced_accuracy"]["low"] > 0.5


def memorisation(train_auc: dict, val_auc: dict, margin: float = MARGIN) -> str:
    """'memorised' when training AUC exceeds validation AUC by more than `margin` even at the
    intervals' near ends; 'ruled out' when the gap is below `margin` even at their far ends;
    'undecided' otherwise (the intervals are too wide to tell)."""
    if train_auc["low"] - val_auc["high"] > margin:
        return "memorised"
    if train_auc["high"] - val_auc["low"] < margin:
        return "ruled out"
    return "undecided"


def within_modality(rows: list[dict]) -> str:
    """From :func:`score_set`'s "modalities": 'tissue too' when the AUC within some modality is
    above 0.5 by its interval (the model ranks tiles of one look); 'modality only' when every
    interval contains 0.5; 'unclear' otherwise (e.g. a modality holds one class only)."""
    intervals = [row["auc"] for row in rows]
    if any(a is not None and a["low"] > 0.5 for a in intervals):
        return "tissue too"
    if intervals and all(a is not None and a["low"] <= 0.5 <= a["high"] for a in intervals):
        return "modality only"
    return "unclear"


def _overlap(a: dict, b: dict) -> bool:
    return a["low"] <= b["high"] and b["low"] <= a["high"]


def _count(hits: int, total: int) -> str:
    return f"{hits} of {total}" + (" (weak evidence)" if 0 < hits < total else "")


def _table(results: list[dict], matched: str) -> tuple[list[dict], list[dict]]:
    """One row of yes/no answers per run, and one per (run, set)."""
    runs, cases = [], []
    for i, r in enumerate(results):
        sets = r["sets"]
        others = [k for k in sets if k != matched]
        runs.append({
            "memorisation": memorisation(r["train_auc_batchnorm"], sets[matched]["batchnorm"]["auc"]),
            "stuck": all(collapsed(s["model"]) for s in sets.values()),
            "unstuck": not any(collapsed(s["batchnorm"]) for s in sets.values()),
            "backwards": any(s["auc"]["high"] < 0.5 for s in sets.values()),
            "auc_equal": all(_overlap(sets[matched]["auc"], sets[k]["auc"]) for k in others),
            "auc_equal_bn": all(_overlap(sets[matched]["batchnorm"]["auc"], sets[k]["batchnorm"]["auc"])
                                for k in others),
        })
        for name, s in sets.items():
            cases.append({"run": i, "set": name, "symptom": has_symptom(s),
                          "minority": (s["model"]["called_malignant"] >= 0.5) != (s["prevalence"] >= 0.5),
                          "prior": is_fix(s["prior"]), "threshold": is_fix(s["threshold"]),
                          "batchnorm": is_fix(s["batchnorm"]), "modality": within_modality(s["modalities"])})
    return runs, cases


def verdict(results: list[dict], matched: str = "matched", min_n: int = 150) -> list[str]:
    """Sentences computed from :func:`diagnose` results (one per training seed), each with how many
    runs support it. `matched` names the set with the training mix. With fewer than `min_n` images
    in a set nothing is concluded."""
    if not results:
        raise ValueError("verdict needs the diagnose() result of at least one trained model.")
    n, names = len(results), list(results[0]["sets"])
    if matched not in names:
        raise ValueError(f"verdict(matched={matched!r}): the results have the sets {names}; name the one "
                         "with the training mix.")
    first = results[0]["sets"]
    sizes = ", ".join(f"{k} ({first[k]['n']} images, {first[k]['prevalence']:.0%} malignant)" for k in names)
    lines = [f"{n} training run(s); validation sets: {sizes}."]
    if min(s["n"] for r in results for s in r["sets"].values()) < min_n:
        return lines + [f"Too few tiles to tell (a set has fewer than {min_n} images) and "
                        f"{'too few seeds' if n < 3 else 'wide intervals'}: run the lesson in the laptop profile."]
    runs, rows = _table(results, matched)
    cases = [c for c in rows if c["symptom"]]
    per_set = ", ".join(f"on '{k}' in {sum(c['symptom'] for c in rows if c['set'] == k)} of {n}" for k in names)
    lines.append(f"Symptom (accuracy at 0.5 below the majority rate, AUC above 0.5, both by their intervals): {per_set}.")
    if not cases:
        return lines + ["Without the symptom there is nothing to explain: no explanation is tested."]
    k = len(cases)
    count = lambda key, value=True, among=cases: sum(c[key] == value for c in among)  # noqa: E731

    verdicts = [r["memorisation"] for r in runs]
    lines.append(f"(a) memorisation - training vs '{matched}' AUC, both in inference mode after re-estimating "
                 f"BatchNorm (before it, a collapsed model's rankings are unreliable): training ahead by more than "
                 f"{MARGIN} by both intervals in {verdicts.count('memorised')}, a gap below {MARGIN} even at the "
                 f"intervals' ends (ruled out) in {verdicts.count('ruled out')}, undecided in "
                 f"{verdicts.count('undecided')} of {n} runs. Memorisation would lower every set alike.")
    lines.append(f"(b) prior shift - AUC '{matched}' vs the other set(s): equal within their intervals in "
                 f"{count('auc_equal', among=runs)} of {n} runs as trained, {count('auc_equal_bn', among=runs)} "
                 f"of {n} after re-estimating BatchNorm (a pure prior shift moves no AUC). Where the symptom "
                 f"appeared ({k} set(s) x run(s)) the model called mostly the set's minority class in "
                 f"{count('minority')} (for a model that calls one class this follows from the symptom: no separate "
                 "evidence). The deficit removed - accuracy no "
                 "longer below the majority rate by its interval, balanced accuracy above 0.5 by its interval - by:")
    for key, label in (("prior", "probabilities corrected to the set's balance"),
                       ("threshold", "a threshold matched to the set's balance"),
                       ("batchnorm", "BatchNorm re-estimated")):
        lines.append(f"    {label}: {_count(count(key), k)}")
    stuck = [r for r in runs if r["stuck"]]
    after = [f"{s['batchnorm']['auc']['value']:.2f}" for r in results for s in r["sets"].values()
             if s["auc"]["high"] < 0.5]
    lines.append(f"(c) BatchNorm - at 0.5 the model called at least {COLLAPSED:.0%} of every set one class in "
                 f"{_count(len(stuck), n)} runs; re-estimating the moving averages ended that in "
                 f"{count('unstuck', among=stuck)} of those {len(stuck)}. Ranked backwards (AUC below 0.5 by its "
                 f"interval) on some set in {count('backwards', among=runs)} of {n} runs"
                 + (f"; after re-estimation those AUCs are {', '.join(after)}." if after else "."))
    modality_only, tissue = count("modality", "modality only"), count("modality", "tissue too")
    smallest = min(((m[c], c, m["group"], name) for r in results for name, s in r["sets"].items()
                    for m in s["modalities"] for c in ("benign", "malignant")))
    lines.append(f"(d) modality mix - within each modality, every AUC interval contains 0.5 (the ranking comes "
                 f"from the modality only) in {_count(modality_only, k)}; some modality ranked above 0.5 by its "
                 f"interval (the tissue counts too) in {_count(tissue, k)}. A predictor that knows only the "
                 f"modality scores {first[names[0]]['modality_only_auc']:.2f} by design. Smallest cell: "
                 f"{smallest[0]} {smallest[1]} tiles of '{smallest[2]}' in '{smallest[3]}'"
                 + (": its interval is wide." if smallest[0] < 30 else "."))
    bn_fixed = count("batchnorm")
    if 2 * bn_fixed > k:
        text = "In most cases here the symptom is a collapse to one class that BatchNorm re-estimation undoes"
        text += ("; it showed only on sets whose majority is the other class. " if count("minority") == k else ". ")
        if 2 * verdicts.count("ruled out") > n:
            text += "It is not memorisation: (a) ruled that out in most runs. "
        else:
            text += "Memorisation is not ruled out: (a) did not exclude it in most runs. "
        text += (f"Correcting the probabilities removed the deficit in {count('prior')} of {k}; a threshold at the "
                 f"set's balance in {count('threshold')} of {k} - which does not show that the ranking uses the "
                 "tissue: it would help a modality-only predictor too. ")
        text += ("Within the modalities the model ranked the tissue in most cases."
                 if 2 * tissue > k else "Within the modalities the ranking came from the modality only in most "
                 "cases." if 2 * modality_only > k else "Whether it ranked the tissue within a modality is "
                 "not settled by most cases.")
        lines.append(text)
    else:
        lines.append("BatchNorm re-estimation did not remove the symptom in most cases, and the runs do not agree "
                     "on one explanation: no cause is supported by most of them.")
    lines.append("This is what the course's controlled experiment shows, not what caused the original system's "
                 "curves: its two published epochs hold none of these measurements and cannot tell the "
                 "explanations apart.")
    return lines
