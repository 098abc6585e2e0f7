# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# > Exercise notebook, generated from `solutions/en/06_capstone.py` by `python -m coursekit exercises build`.
# > Replace each `raise NotImplementedError(...)` with your code, then run the check cell below it.

# %% [markdown]
# # Exercise 06 · Capstone
#
# Two exercises, both measured by the checks themselves — nothing you type about your model is taken
# on trust:
#
# - **06.1 (E4)** — pick a scenario card, build a model that meets it, and save it as a file. The check
#   loads your file, evaluates it on the test split, times it at the card's batch and threads and
#   passes only if every budget line passes.
# - **06.2 (U4)** — given measured report cards, choose the candidate a card should ship. The check
#   draws new candidates and budgets every run.

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# %matplotlib inline

import random
import tempfile
from pathlib import Path

import torch

from coursekit.capstone import int8_onnx, report_card, report_table
from coursekit.data import load_dataset, make_loaders
from coursekit.i18n import tr
from coursekit.pretrained import pretrained
from coursekit.prune import clone_model, finetuner, magnitude_prune, remove_channels  # noqa: F401 (tools for 06.1)
from coursekit.scenarios import SCENARIOS

torch.manual_seed(0)
splits = load_dataset("digits", seed=0)
loaders = make_loaders(splits, 64, seed=0)
teacher = pretrained("teacher", progress=False)
student = pretrained("student", progress=False)
work = Path(tempfile.mkdtemp(prefix="capstone-ex-"))
for card in SCENARIOS.values():
    print(card.describe(), end="\n\n")

# %% [markdown]
# ## 06.1 · Optimise a model end to end for a card (E4)
#
# Set `MY_CARD` to the key of one card (`"phone"`, `"server"`, `"micro"` or `"quality"`) and build a
# model that meets every line of it with the tools of lessons 01–05 (`distill`, `magnitude_prune(...,
# structured=True)` + `finetuner` + `remove_channels`, `int8_onnx`, `to_onnx`). Save it as a file and
# set `ARTEFACT` to its path:
#
# - an ONNX file (`to_onnx(model, path, example)` or `int8_onnx(model, path, calibration)`), or
# - a whole torch model: `torch.save(model, path)` with a `.pt` suffix.
#
# Check your candidate first with `report_card(ARTEFACT, SCENARIOS[MY_CARD], data=splits,
# reference=...)` (lines relative to the teacher need the teacher's card on the same card:
# `report_card(teacher, card, data=splits, reference="self")`). Cards with a speed line are timed on
# your machine; the microcontroller and quality cards have no speed line.

# %%
MY_CARD, ARTEFACT = None, None  # set both below
# Exercise 1: replace the next line with your code. Hint: lesson 06, section 2 (the worked pipeline)
raise NotImplementedError('Exercise 1: not written yet (see the comment above) | 练习 1：还没写（见上方注释）')
print(MY_CARD, ARTEFACT)

# %% tags=["check"] check_id="ex06-end-to-end" checklist=["E4"]
def check():
    from coursekit.capstone import report_card
    from coursekit.data import load_dataset
    from coursekit.pretrained import pretrained
    from coursekit.scenarios import SCENARIOS

    assert MY_CARD in SCENARIOS, tr(f"MY_CARD must be one of {sorted(SCENARIOS)}; got {MY_CARD!r}",
                                    f"MY_CARD 必须是 {sorted(SCENARIOS)} 之一，实际是 {MY_CARD!r}")
    path = Path(ARTEFACT)
    assert path.is_file(), tr(f"ARTEFACT must be the path of a saved file; {str(path)!r} does not exist",
                              f"ARTEFACT 必须是已保存文件的路径；{str(path)!r} 不存在")
    assert path.suffix in (".onnx", ".pt"), tr(f"save an .onnx or a .pt file; got {path.name!r}",
                                               f"请保存为 .onnx 或 .pt 文件；实际是 {path.name!r}")
    card = SCENARIOS[MY_CARD]
    data = load_dataset("digits", seed=0)  # the check's own copy of the test split
    relative = any(line.metric in ("speedup", "accuracy_drop") for line in card.budgets)
    reference = None
    if relative:  # the fp32 teacher, timed now on this machine at the card's batch and threads
        reference = report_card(pretrained("teacher", progress=False), card, data=data, reference="self",
                                name="teacher")
    try:
        measured = report_card(path, card, data=data, reference=reference, name=path.name)
    except (TypeError, ValueError) as exc:
        raise AssertionError(tr(f"could not measure {path.name}: {exc}", f"无法测量 {path.name}：{exc}")) from None
    print(measured)
    assert measured.passed, tr(f"{path.name} misses the '{card.key}' card: ", f"{path.name} 未满足 '{card.key}' 卡片：") \
        + " | ".join(measured.failures())
    print(tr(f"✓ {path.name} meets every line of the '{card.key}' card, measured by the check",
             f"✓ {path.name} 满足 '{card.key}' 卡片的每一项预算（由检查亲自测量）"))


check()

# %% [markdown]
# ## 06.2 · Which candidate should a card ship? (U4)
#
# A team measured several candidates on one card; `cards` is their list of `ReportCard`s
# (`card.passed`, `card.size_bytes`, `card.parameters`, `card.accuracy`, `card.p50_ms`, `card.lines`).
# Write `choose(cards)`: the **name** of the candidate to ship — the one with the **smallest size on
# disk** among those that pass **every** budget line — or `None` when no candidate passes.
#
# Try it on your own measurements first: the table below is measured on the phone card.

# %%
phone = SCENARIOS["phone"]
ref = report_card(teacher, phone, data=splits, reference="self", name="teacher")
measured = [ref, report_card(student, phone, data=splits, reference=ref, name="student"),
            report_card(int8_onnx(student, work / "student-int8.onnx", splits.train.tensors[0][:256]), phone,
                        data=splits, reference=ref, name="student int8")]
print(report_table(measured))


# %%
def choose(cards):
    # Exercise 2: replace the next line with your code. Hint: ReportCard.passed and ReportCard.size_bytes
    raise NotImplementedError('Exercise 2: not written yet (see the comment above) | 练习 2：还没写（见上方注释）')


print("ship on the phone card:", choose(measured))


# %% tags=["check"] check_id="ex06-choose" checklist=["U4"]
def check():
    from coursekit.capstone import LineResult, ReportCard
    from coursekit.scenarios import SCENARIOS, BudgetLine

    def candidate(name, card, rng):
        acc, size = rng.uniform(0.85, 0.99), rng.randrange(20_000, 6_000_000)
        p50, params = rng.uniform(0.03, 3.0), rng.randrange(10_000, 1_500_000)  # params unrelated to size
        int8, speedup, drop = rng.random() < 0.5, rng.uniform(0.5, 40), rng.uniform(-0.5, 3)
        values = {"accuracy": acc, "size_kb": size / 1024, "int8_weights": float(int8), "speedup": speedup,
                  "accuracy_drop": drop}
        lines = tuple(LineResult(b.metric, str(b), b.show(values[b.metric]), b.passes(values[b.metric]))
                      for b in card.budgets)
        return ReportCard(name, card.key, "test", acc, params, size, None, p50, p50 * 1.2, card.batch,
                          card.threads, int8, speedup, drop, lines)

    rng = random.Random()
    names = ["teacher", "student", "distilled", "pruned", "pruned int8", "teacher int8", "distilled int8", "mlp"]
    outcomes = set()
    for trial in range(300):
        base = rng.choice(list(SCENARIOS.values()))
        scale = rng.uniform(0.5, 2.0)  # budgets vary: a memorised answer for the real cards fails
        budgets = tuple(BudgetLine(b.metric, b.value if b.metric in ("int8_weights", "accuracy") else b.value * scale)
                        for b in base.budgets)
        card = type(base)(base.key, base.name_en, base.name_zh, base.story_en, base.story_zh, base.batch,
                          base.threads, budgets)
        cards = [candidate(n, card, rng) for n in rng.sample(names, rng.randint(2, 6))]
        if trial % 7 == 0:  # sometimes nothing passes
            cards = [c for c in cards if not c.passed] or cards
        passing = [c for c in cards if c.passed]
        expected = min(passing, key=lambda c: c.size_bytes).name if passing else None
        got = choose(list(cards))
        outcomes.add(expected is None)
        table = "; ".join(f"{c.name}: {'pass' if c.passed else 'fail'}, {c.size_kb:.0f} KiB, "
                          f"{100 * c.accuracy:.1f}%" for c in cards)
        assert got == expected, tr(f"card '{card.key}' with candidates [{table}]: choose returned {got!r}, "
                                   f"expected {expected!r} (the smallest on disk among those passing every line, "
                                   f"None if none passes)",
                                   f"卡片 '{card.key}'，候选 [{table}]：choose 返回 {got!r}，应为 {expected!r}"
                                   f"（在通过所有预算项的候选中磁盘最小者；都不通过则为 None）")
    assert outcomes == {True, False}
    print(tr("✓ choose ships the smallest candidate that passes every line, on 300 fresh card/candidate sets",
             "✓ 在 300 组新的卡片与候选中，choose 都选出了通过所有预算项且最小的模型"))


check()

# %% [markdown]
# **Explain (not checked)**: for each card, name the methods your choice combines and the line that
# rules out each simpler choice — e.g. "micro: int8 (the int8 line rules out every float model) +
# structured pruning (the size line rules out the int8 student)".
