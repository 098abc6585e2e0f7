"""The capstone's scenario cards (lesson 06): deployment targets with budget lines, in both languages.

A card is data: a name, a story, the batch size and thread count its latency is measured at, and
its budget lines. Each line is one measurable property, a comparison and a number:

- ``accuracy``   (>=): test-split accuracy, a fraction;
- ``accuracy_drop`` (<=): points (percent) below the reference (the fp32 teacher) on the same split;
- ``size_kb``    (<=): bytes on disk / 1024 (the file that would ship);
- ``speedup``    (>=): the reference's p50 latency / the candidate's, both measured in the same run
  at the card's batch and threads. A ratio, not milliseconds: a slower laptop slows both, so
  a budget chosen on one machine stays fair on another;
- ``int8_weights`` (==1): every weight tensor of a Conv/Gemm/MatMul is stored as 8-bit integers.

The numbers were chosen from measurements (``benchmarks/capstone_budgets.py`` prints them) so that
no single technique meets every card and the cards need different combinations.
"""

from __future__ import annotations

from dataclasses import dataclass

from coursekit._validate import check_choice
from coursekit.i18n import tr

__all__ = ["METRICS", "SCENARIOS", "BudgetLine", "Scenario", "scenario"]

# metric -> (comparison, English label, Chinese label, unit)
METRICS = {
    "accuracy": (">=", "test accuracy", "测试准确率", "%"),
    "accuracy_drop": ("<=", "accuracy drop vs teacher", "相对教师的准确率下降", "points"),
    "size_kb": ("<=", "size on disk", "磁盘大小", "KiB"),
    "speedup": (">=", "speed-up vs fp32 teacher", "相对 fp32 教师的加速比", "×"),
    "int8_weights": (">=", "int8 weights only", "仅 int8 权重", ""),
}


@dataclass(frozen=True)
class BudgetLine:
    metric: str  # a key of METRICS
    value: float  # accuracy as a fraction; drop in points; size in KiB; speedup as a ratio; int8: 1

    @property
    def op(self) -> str:
        return METRICS[self.metric][0]

    def label(self) -> str:
        _, en, zh, _ = METRICS[self.metric]
        return tr(en, zh)

    def show(self, value: float) -> str:
        """``value`` of this line's metric as a learner reads it (87.5%, 120.3 KiB, 4.2×, yes/no)."""
        if self.metric == "accuracy":
            return f"{100 * value:.2f}%"
        if self.metric == "accuracy_drop":
            return f"{value:+.2f} " + tr("points", "个百分点")
        if self.metric == "size_kb":
            return f"{value:.1f} KiB"
        if self.metric == "speedup":
            return f"{value:.2f}×"
        return tr("yes", "是") if value >= 1 else tr("no", "否")

    def passes(self, value: float) -> bool:
        return value >= self.value if self.op == ">=" else value <= self.value

    def __str__(self) -> str:
        return f"{self.label()} {self.op} {self.show(self.value)}"


@dataclass(frozen=True)
class Scenario:
    key: str
    name_en: str
    name_zh: str
    story_en: str
    story_zh: str
    batch: int  # latency is measured on batches of this size ...
    threads: int  # ... with this many CPU threads
    budgets: tuple  # BudgetLine, ...

    @property
    def name(self) -> str:
        return tr(self.name_en, self.name_zh)

    @property
    def story(self) -> str:
        return tr(self.story_en, self.story_zh)

    def describe(self) -> str:
        lines = [f"{self.name} ({self.key}): {self.story}",
                 f"  batch={self.batch}, threads={self.threads}"]
        lines += [f"  - {line}" for line in self.budgets]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Scenario({self.key!r}, batch={self.batch}, threads={self.threads}, lines={len(self.budgets)})"


SCENARIOS = {
    "phone": Scenario(
        "phone", "Phone app", "手机应用",
        "Reads one handwritten digit at a time on a phone's single free core; the app store caps the download.",
        "在手机上一次识别一个手写数字，只有一个空闲核心；应用商店限制下载大小。",
        batch=1, threads=1,
        budgets=(BudgetLine("size_kb", 256.0), BudgetLine("speedup", 8.0), BudgetLine("accuracy", 0.96)),
    ),
    "server": Scenario(
        "server", "Batch server", "批处理服务器",
        "Scores scanned forms in batches of 256 on a 2-core virtual machine; throughput pays the bill.",
        "在 2 核虚拟机上以 256 张为一批处理扫描表格；吞吐量决定成本。",
        batch=256, threads=2,
        budgets=(BudgetLine("speedup", 3.0), BudgetLine("accuracy", 0.96)),
    ),
    "micro": Scenario(
        "micro", "Microcontroller", "微控制器",
        "A sensor board without a floating-point unit: weights must be 8-bit integers and fit in a small flash.",
        "一块没有浮点单元的传感器板：权重必须是 8 位整数，并且要放进很小的闪存。",
        batch=1, threads=1,
        budgets=(BudgetLine("int8_weights", 1.0), BudgetLine("size_kb", 96.0), BudgetLine("accuracy", 0.94)),
    ),
    "quality": Scenario(
        "quality", "Quality first", "质量优先",
        "A medical-forms pipeline: within half a point of the teacher, as small as you can make it.",
        "医疗表单流水线：准确率与教师相差不超过 0.5 个百分点，模型尽可能小。",
        batch=64, threads=2,
        budgets=(BudgetLine("accuracy_drop", 0.5), BudgetLine("size_kb", 2048.0)),
    ),
}


def scenario(key: str) -> Scenario:
    """The card called ``key`` (one of ``SCENARIOS``)."""
    check_choice("key", key, "scenario", sorted(SCENARIOS))
    return SCENARIOS[key]
