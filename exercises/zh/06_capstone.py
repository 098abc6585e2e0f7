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
# > 练习笔记本，由 `python -m coursekit exercises build` 从 `solutions/zh/06_capstone.py` 生成。
# > 把每个 `raise NotImplementedError(...)` 换成你的代码，然后运行它下面的检查单元格。

# %% [markdown]
# # 练习 06 · 综合项目
#
# 两道练习，都由检查亲自测量——你关于模型写下的任何说法都不会被直接采信：
#
# - **06.1 (E4)**——选一张场景卡片，构建一个满足它的模型，并保存为文件。检查会加载你的文件，在测试集上评估，
#   按卡片规定的批大小和线程数计时，只有每一项预算都通过才算通过。
# - **06.2 (U4)**——根据测得的成绩单，为卡片选出应该交付的候选模型。每次运行，检查都会抽取新的候选和预算。

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
# ## 06.1 · 针对一张卡片端到端地优化模型 (E4)
#
# 把 `MY_CARD` 设为一张卡片的键（`"phone"`、`"server"`、`"micro"` 或 `"quality"`），用第 01–05 课的工具
# （`distill`、`magnitude_prune(..., structured=True)` + `finetuner` + `remove_channels`、`int8_onnx`、
# `to_onnx`）构建一个满足其每一项预算的模型。把它保存为文件，并把 `ARTEFACT` 设为文件路径：
#
# - ONNX 文件（`to_onnx(model, path, example)` 或 `int8_onnx(model, path, calibration)`），或
# - 完整的 torch 模型：`torch.save(model, path)`，后缀为 `.pt`。
#
# 先用 `report_card(ARTEFACT, SCENARIOS[MY_CARD], data=splits, reference=...)` 自查（以教师为基准的预算项
# 需要教师在同一张卡片上的成绩单：`report_card(teacher, card, data=splits, reference="self")`）。
# 带速度项的卡片在你的机器上计时；微控制器卡片和质量优先卡片没有速度项。

# %%
MY_CARD, ARTEFACT = None, None  # 在下面设置这两个变量
# 练习 1：把下一行换成你的代码。提示：第 06 课第 2 节（完整流水线）
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
# ## 06.2 · 卡片应该交付哪个候选？(U4)
#
# 一个团队在同一张卡片上测量了若干候选模型；`cards` 是它们的 `ReportCard` 列表（`card.passed`、
# `card.size_bytes`、`card.parameters`、`card.accuracy`、`card.p50_ms`、`card.lines`）。
# 编写 `choose(cards)`：返回应交付候选的**名字**——在通过**所有**预算项的候选中**磁盘大小最小**的那个；
# 如果没有候选通过，返回 `None`。
#
# 先在你自己的测量结果上试一试：下表是在手机卡片上测得的。

# %%
phone = SCENARIOS["phone"]
ref = report_card(teacher, phone, data=splits, reference="self", name="teacher")
measured = [ref, report_card(student, phone, data=splits, reference=ref, name="student"),
            report_card(int8_onnx(student, work / "student-int8.onnx", splits.train.tensors[0][:256]), phone,
                        data=splits, reference=ref, name="student int8")]
print(report_table(measured))


# %%
def choose(cards):
    # 练习 2：把下一行换成你的代码。提示：用 ReportCard.passed 和 ReportCard.size_bytes
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
# **解释（不检查）**：对每张卡片，说出你的选择组合了哪些方法，以及是哪一项预算排除了每个更简单的选择——
# 例如"微控制器：int8（int8 这一项排除了所有浮点模型）+ 结构化剪枝（大小这一项排除了 int8 学生）"。
