"""Lesson 14's exercise 5 (interpretive): what a capstone run on BreastMNIST shows, and what it does not."""

from __future__ import annotations

from ._choice import Choice, Option, format_table
from ._ex14_split import LESSON

# Lesson 14 in `laptop` with DATASET_PATH = BreastMNIST (546 / 78 / 156 images, re-split by the lesson with
# copies and near-copies kept together), 2026-12-03: what its summary printed.
BREASTMNIST_RUN = {
    "inflation": (0.020, 0.010, 0.032),  # test AUC with the training twins an image-by-image split leaves in, minus without
    "improved_minus_baseline": (0.005, 0.025),  # paired mean over 3 seeds, its standard error
    "seeds_significant": 0,  # of 3: DeLong's test on the same test cases
    "reported_auc": (0.936, 0.887, 0.973),  # the model chosen on validation: its test AUC and 95% interval
    "published_resnet18": 0.901,  # MedMNIST v2, official test split, 28 px
}


class ReadingTheCapstone(Choice):
    title = "what the capstone run on BreastMNIST shows"
    names = ("follows",)
    lesson = LESSON + ": the summary of a run with DATASET_PATH = BreastMNIST"
    question = ("Lesson 14 ran in laptop on BreastMNIST: its audit found 1 exact and 117 near-duplicate pairs across "
                "the published splits; it re-split the images with copies kept together, trained a baseline and an "
                "'improved' recipe (a pretrained start on other data plus a smaller head, together) for 3 seeds "
                "each at matched target steps, and scored them on the same test cases. Which statements follow?")
    hints = (
        "For each statement, find the line of evidence it rests on, and ask whether its interval (or its standard "
        "error) excludes the claim's opposite.",
        "'No difference shown' is not 'no difference'; a bundle of two changes cannot credit either one; and an AUC "
        "on this lesson's own re-split is not a score on MedMNIST's official test split.",
        "Last hint. Two statements follow: one about the duplicates, one about what the comparison could not tell.",
    )
    solution_code = """
    follows = {"A", "D"}
    """

    @property
    def options(self) -> dict[str, Option]:
        r = BREASTMNIST_RUN
        inf, lo, hi = r["inflation"]
        d, se = r["improved_minus_baseline"]
        auc, a_lo, a_hi = r["reported_auc"]
        return {
            "A": Option("leaving the copies in would have made the baseline's test AUC look higher", True,
                        f"the paired difference is {inf:+.3f} AUC with a 95% interval [{lo:+.3f}, {hi:+.3f}], which "
                        "excludes zero (for this one baseline model)."),
            "B": Option("the improved recipe is as good as the baseline, no better", False,
                        f"the paired difference is {d:+.3f} ± {se:.3f}: no difference is shown, which is not the same "
                        f"as none - the seeds leave room for about ±{2 * se:.2f} AUC."),
            "C": Option("the pretrained start helps on BreastMNIST", False,
                        "the improved arm bundles the pretrained start and a smaller head, so no part of it can be "
                        f"credited alone; and the bundle itself was not shown better ({r['seeds_significant']} of 3 "
                        "seeds significant)."),
            "D": Option("at this budget, the comparison cannot tell the improved recipe from the baseline", True,
                        f"{d:+.3f} ± {se:.3f} over 3 seeds, and {r['seeds_significant']} of 3 seeds significant on "
                        "the same cases."),
            "E": Option(f"with a test AUC of {auc:.3f} the capstone model beats MedMNIST's ResNet-18 "
                        f"({r['published_resnet18']})", False,
                        f"its test cases are the lesson's own re-split, not the official test split, and its interval "
                        f"[{a_lo:.3f}, {a_hi:.3f}] includes {r['published_resnet18']}: the two numbers are not "
                        "comparable, let alone ranked."),
            "F": Option("the model is good enough to triage breast ultrasound", False,
                        "nothing in the course is for clinical use; and one small public dataset, re-split, says "
                        "nothing about other machines, hospitals or patients."),
        }

    def evidence(self) -> str:
        r = BREASTMNIST_RUN
        rows = [
            ["test AUC with training twins left in, minus without (paired bootstrap)",
             "{:+.3f} [{:+.3f}, {:+.3f}]".format(*r["inflation"])],
            ["improved - baseline, test AUC, paired over 3 seeds", "{:+.3f} ± {:.3f} (SE)".format(
                *r["improved_minus_baseline"])],
            ["seeds where DeLong's test on the same cases is significant", f"{r['seeds_significant']} of 3"],
            ["reported model (chosen on validation): test AUC [95% CI]", "{:.3f} [{:.3f}, {:.3f}]".format(
                *r["reported_auc"])],
            ["MedMNIST v2 ResNet-18, official test split (published)", f"{r['published_resnet18']:.3f}"],
        ]
        return format_table(["measurement", "value"], rows)
