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
# # 02 · 剪枝 (Pruning)
#
# *训练好的网络里，大多数权重其实无关紧要。把它们找出来、置为零——然后弄清楚这样做到底换来了什么。*
#
# 本课会对课程中训练好的**教师模型 (teacher)**（第 00 课）做剪枝，并测量每一步的效果：
#
# - 权重分布在哪里，以及亲手写一个幅值掩码 (magnitude mask)，并与 `torch.nn.utils.prune` 的结果对照；
# - 幅值剪枝与随机剪枝、逐层剪枝与全局剪枝的对比，外加一个可以自己探索的滑块；
# - 逐层的**敏感度扫描 (sensitivity scan)**，并据此得出自适应的稀疏度方案；
# - 剪枝后的**微调 (fine-tuning)**，以及**渐进式剪枝 (gradual pruning)**（Zhu & Gupta 的三次多项式 (cubic) 稀疏度调度）与一次性剪枝 (one-shot) 的对比，还有对同一层两次调用 `torch.nn.utils.prune` 时 `amount` 的含义；
# - 剪掉整个通道的**结构化剪枝 (structured pruning)**——在参数预算相同时该剪哪些通道（滤波器范数、BatchNorm 缩放系数、随机）——以及为什么只有把通道真正*删除*才可能让模型变快；
# - 剪枝对磁盘占用的影响，以及初始代码里的评估器错在哪里。
#
# *初始代码 (seed code)*：本课程是根据一份初始文档 (seed document) 编写的，文档里的参考代码用 `PruningManager` 和 `PrunedModelEvaluator` 来剪枝和评估模型。下文说的“初始代码”一律指这份代码（第 12 节会说明它错在哪里），与训练时用的随机种子 (random seed) 无关。
#
# 下面的每一个数字都是运行笔记本时实测得到的。教师模型从课程的缓存中加载（在刚克隆的仓库里，第一个用到它的课会先训练一次，约 15 秒），本课不会改动它，每个实验都在它的一份新副本上剪枝。
#
# **预测 (Predict)** 请你在运行某个单元格之前先给出答案，**观察与解释 (Observe and explain)** 则针对它打印出的结果提问；每个问题都会在几个单元格之后给出答案。
#
# 打印的结果沿用本课程的习惯：以 ✓ 开头的行，是本课对自己测量结果所做的断言，在这次运行中成立；✗ 表示它在你的机器上不成立——请看它上面的数字，想想为什么。

# %%
import os

# Idle OpenMP threads busy-wait and make 2-thread timings on a busy machine far slower; PASSIVE makes
# them sleep. It only works if set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# %matplotlib inline

import torch
from IPython.display import display
from matplotlib.figure import Figure
from torch import nn
from torch.nn.utils import prune
from torch.utils.data import DataLoader, TensorDataset

from coursekit import plots
from coursekit.data import batch_loader, load_dataset, make_loaders
from coursekit.metrics import count_flops
from coursekit.models import TeacherNet, count_parameters
from coursekit.pretrained import pretrained
from coursekit.prune import (
    CALIBRATION_BATCHES,
    adaptive_plan,
    apply_plan,
    clone_model,
    compare_speed,
    finetuner,
    from_sparse_state_dict,
    magnitude_prune,
    polynomial_schedule,
    prunable_layers,
    random_prune,
    recalibrate_batchnorm,
    remove_channels,
    remove_pruning,
    sensitivity_scan,
    size_on_disk,
    sparsity,
    sparsity_report,
    sparsity_sweep,
    to_sparse_state_dict,
)
from coursekit.stats import claim, compare_means, speed_verdict
from coursekit.train import evaluate
from coursekit.widgets import sparsity_explorer

torch.manual_seed(0)
splits = load_dataset("digits", seed=0)
loaders = make_loaders(splits, batch_size=64, seed=0)
calibration = DataLoader(splits.train, batch_size=128)  # fixed training batches for BatchNorm statistics
finetune_loader = make_loaders(splits, batch_size=128, seed=0).train  # bigger batches: faster epochs on a CPU
teacher = pretrained("teacher")


def test_accuracy(model):
    return evaluate(model, loaders.test).accuracy


def val_accuracy(model):
    """Accuracy on the validation split: the one to make choices with (the test split only reports)."""
    return evaluate(model, loaders.val).accuracy


def recalibrated(model):
    """Re-estimate BatchNorm's running statistics on a few training batches (section 3 explains why)."""
    return recalibrate_batchnorm(model, calibration, batches=CALIBRATION_BATCHES)  # as the explorer does


dense_accuracy = test_accuracy(teacher)
print(f"teacher: {count_parameters(teacher):,} parameters, test accuracy {dense_accuracy:.2%} "
      f"on {len(splits.test)} images")

# %% [markdown]
# ## 1. 权重都在哪里？
#
# 剪枝基于这样一个观察：训练好的网络里，大多数权重都很小。下面的直方图展示了每个可剪枝层（所有 `Conv2d` 和 `Linear`）的权重分布。

# %%
weights = torch.cat([m.weight.detach().abs().flatten() for m in teacher.modules()
                     if isinstance(m, (nn.Conv2d, nn.Linear))])
print(f"{weights.numel():,} prunable weights ({weights.numel() / count_parameters(teacher):.1%} of all parameters)")
for fraction in (0.01, 0.05, 0.1):
    print(f"  {(weights < fraction * weights.max()).float().mean():6.1%} of them are smaller than "
          f"{fraction:.0%} of the largest")
plots.weight_histograms(teacher)

# %% [markdown]
# 每个直方图都是围绕零的一个窄峰，外加长长的尾巴。各层之间也不一样：它们的权重处在不同的数值尺度上，这一点在第 4 节会很重要。

# %% [markdown]
# ## 2. 手写一个掩码
#
# 稀疏度 (sparsity) 为 `s` 的*幅值剪枝 (magnitude pruning)* 会把绝对值最小的 `round(s · n)` 个权重置零。它本质上是一个掩码 (mask)：1 表示保留该权重，0 表示剪掉。下面用四行代码实现它，并在教师模型的一层上与 PyTorch 的 `prune.l1_unstructured` 对照。

# %%
def magnitude_mask(weight, sparsity):
    k = round(sparsity * weight.numel())  # how many weights to zero
    mask = torch.ones(weight.numel())
    mask[torch.topk(weight.abs().flatten(), k, largest=False).indices] = 0.0  # the k smallest |w|
    return mask.view(weight.shape)


layer = clone_model(teacher).features[3]  # a fresh copy: the teacher itself stays dense
ours = magnitude_mask(layer.weight.detach(), 0.6)
prune.l1_unstructured(layer, "weight", amount=0.6)
claim(torch.equal(ours, layer.weight_mask) and torch.equal(layer.weight, layer.weight_orig * layer.weight_mask),
      "our mask equals prune.l1_unstructured's, and the layer's weight is weight_orig × weight_mask",
      "我们的掩码与 prune.l1_unstructured 的相同，且该层的 weight 等于 weight_orig × weight_mask")
print(f"our mask == prune.l1_unstructured's mask: {torch.equal(ours, layer.weight_mask)}; "
      f"sparsity {sparsity(layer.weight):.1%}")
print("after pruning the layer holds:", [name for name, _ in layer.named_parameters()], "+",
      [name for name, _ in layer.named_buffers()])

# %% [markdown]
# `torch.nn.utils.prune` 其实什么也没有删除：它把参数改名为 `weight_orig`，把掩码存成缓冲区 (buffer) `weight_mask`，并注册一个前向预钩子 (forward pre-hook)，**在每次调用之前**计算 `weight = weight_orig * weight_mask`。请记住这个钩子：第 10 节的结果要靠它来解释。`coursekit.prune`（`magnitude_prune`、`random_prune` 等）建立在同一套机制之上，所以下面的一切都可以用同样的方式检查。

# %% [markdown]
# ## 3. 幅值剪枝与随机剪枝——以及 BatchNorm 带来的意外
#
# 按幅值剪枝是个好标准吗？基线 (baseline) 是随机剪掉同样数量的权重。我们用两种方法把每一层都剪掉 70%，然后测量测试准确率。
#
# **预测：** 稠密的教师模型约有 99% 的准确率。把每一层 70% 的权重剪掉、不做任何再训练，你觉得幅值剪枝能剩下多少准确率？随机剪枝呢？

# %%
def accuracies(model):
    """Test accuracy as pruned, then after re-estimating BatchNorm statistics."""
    as_pruned = test_accuracy(model)
    return as_pruned, test_accuracy(recalibrated(model))


s = 0.7
results = {
    "magnitude": accuracies(magnitude_prune(clone_model(teacher), s)),
    "random": accuracies(random_prune(clone_model(teacher), s, seed=0)),
}
print(f"dense: {dense_accuracy:.2%}")
print(f"{'pruned to ' + format(s, '.0%'):18s} {'as pruned':>10s} {'BN re-estimated':>16s}")
for name, (raw, recal) in results.items():
    print(f"{name:18s} {raw:>10.2%} {recal:>16.2%}")
claim(results["magnitude"][1] > results["random"][1] + 0.2,
      "with fresh BatchNorm statistics, magnitude beats random by more than 20 points",
      "重新估计 BatchNorm 统计量后，幅值剪枝比随机剪枝高出 20 个百分点以上")
claim(results["magnitude"][1] > results["magnitude"][0] + 0.2,
      "re-estimating BatchNorm statistics adds more than 20 points to magnitude pruning",
      "重新估计 BatchNorm 统计量让幅值剪枝提高了 20 个百分点以上");  # 末尾的分号让笔记本不再回显 claim 返回的 True

# %% [markdown]
# （预测的答案：）先看第一列：连幅值剪枝似乎都把网络毁了。其实并没有。教师模型用了 **BatchNorm**，它用*训练时保存下来的*均值和方差来归一化每个通道。剪枝改变了每一层的输出，这些保存的统计量就不再对了，而且误差会一层一层地累积。重新估计这些统计量——在训练数据上做几次不求梯度的前向传播，不改动任何权重（`recalibrate_batchnorm`）——准确率就回来了（第二列）。从现在起，每个剪过的模型在评估之前都会先更新统计量。
#
# 解决了这个问题之后，幅值剪枝远远好于随机剪枝：小权重确实没那么重要。
#
# （输出中的英文：“as pruned” 即剪枝后直接评估，“BN re-estimated” 即重新估计 BatchNorm 统计量之后。）

# %% [markdown]
# ## 4. 逐层还是全局？
#
# *逐层 (layer-wise)* 剪枝让每一层的稀疏度都相同。*全局 (global)* 剪枝把所有层的所有权重放在一起排序，只用一个阈值，于是每一层最终的稀疏度各不相同。我们还在一系列稀疏度上试了随机剪枝和*结构化*剪枝（剪掉整个通道，见第 9 节）：每个点都是教师模型的一份新副本，只剪一次，重新估计 BatchNorm 统计量，不做微调。
#
# 这次扫描是在做*选择*（用哪种方法、剪到多少），所以用**验证集**来测量；测试集留给最终结果的报告。还有一点要注意：对结构化剪枝来说，要求的稀疏度指的是*通道*的比例。它的掩码把每层这个比例的权重置零（单元格会打印实测的比例），但一旦把这些通道真正删除，下一层对应的输入权重也会一起去掉：剪掉一半通道，*剩下*的参数只有大约四分之一（第 9 节会解释原因）。所以在这次扫描的横轴上，结构化剪枝所处的位置并不是它真正的预算。
#
# **预测：** 第 1 节显示各层的权重处在不同的数值尺度上。如果对所有层只用一个全局阈值，哪些层会被剪掉最多的权重？

# %%
sweep = sparsity_sweep(teacher, lambda m: val_accuracy(recalibrated(m)), [0.5, 0.7, 0.8, 0.9, 0.95])
print(sweep, "   (validation accuracy; columns: requested sparsity)")
print("measured fraction of zero weights:")
for method, achieved in sweep.achieved.items():
    print(f"  {method:20s}" + "".join(f"{a:>8.1%}" for a in achieved))
at = {method: dict(zip(sweep.sparsities, values)) for method, values in sweep.metrics.items()}
claim(at["magnitude (global)"][0.9] > at["magnitude (layer)"][0.9], "at 90%, global beats layer-wise magnitude",
      "在 90% 时，全局幅值剪枝胜过逐层幅值剪枝")
claim(all(at["magnitude (layer)"][s] > at["random"][s] for s in (0.5, 0.7, 0.8)),
      "layer-wise magnitude beats random at 50%, 70% and 80%", "在 50%、70% 和 80% 时，逐层幅值剪枝都胜过随机剪枝")
collapse = {method: next((a for a, v in zip(sweep.achieved[method], sweep.metrics[method]) if v < 0.5), 1.0)
            for method in sweep.metrics}  # 1.0: never below 50% in the sweep
print("lowest measured weight sparsity with validation accuracy below 50%:",
      ", ".join(f"{method} {s:.0%}" if s < 1 else f"{method} none" for method, s in collapse.items()))
claim(collapse["random"] < collapse["magnitude (layer)"] < collapse["magnitude (global)"],
      "random collapses first, then layer-wise magnitude, then global magnitude",
      "随机剪枝最先崩溃，其次是逐层幅值剪枝，最后是全局幅值剪枝")

global90 = sparsity_report(magnitude_prune(clone_model(teacher), 0.9, scope="global"))
per_layer = global90.as_dict()
scale = {name: m.weight.detach().abs().median().item() for name, m in prunable_layers(teacher)}
print("global 90%, layer by layer: the typical weight size (median |w|) and the zeros the threshold left")
for name in per_layer:
    print(f"  {name:13s} median |w| {scale[name]:.4f}   zeros {per_layer[name]:6.1%}")
smallest, largest = min(scale, key=scale.get), max(scale, key=scale.get)
claim(per_layer[smallest] > 0.95 and per_layer[largest] < 0.5,
      f"the layer with the smallest weights ({smallest}) loses over 95%, the one with the largest ({largest}) under half",
      f"权重最小的层（{smallest}）被剪掉 95% 以上，权重最大的层（{largest}）被剪掉不到一半")
global90

# %% [markdown]
# 上表显示了全局剪枝把零放在了哪里：后面那几个大卷积层几乎被剪光，而第一个卷积层（只有几百个权重，但每张图片都要经过它）保留了大部分权重。同样的总体稀疏度下，逐层剪枝对第一层下手和对最大的层一样狠——所以在两种幅值剪枝中，它在扫描里先崩溃（见表格上方打印的那一行）。随机剪枝崩溃得更早：它不看幅值。结构化剪枝是个例外：它的掩码只把要求比例的权重置零，实际去掉的却多得多——在它的 50% 那一点，把通道删除之后只剩下大约四分之一的参数。第 9 节会在相同的剩余参数量和剩余 FLOPs 下比较不同的通道选择标准。
#
# **第 1 节里答应过的“尺度”问题**（也是预测的答案）。表格上方逐层打印的那几行说明了全局剪枝为什么会这样：一个阈值作用在权重尺度各不相同的各层上，剪得最多的是权重*最小*的那些层。而那些层恰恰是大层：一层的初始权重大约按 1/√(fan-in)（输入连接数）缩放，训练并不会抹掉这个差别。在这里这碰巧是个好选择——大层也正是冗余的层——但阈值比较的是大小，不是重要性。一个敏感的层如果权重碰巧很小，也会被剪得一样狠；第 6 节改为直接问网络。
#
# （输出中的英文：“validation accuracy” 即验证准确率，“requested sparsity” 即要求的稀疏度，“measured fraction of zero weights” 即实测的零权重比例，“lowest measured weight sparsity with validation accuracy below 50%” 即验证准确率低于 50% 时的最低实测权重稀疏度，“none” 即没有；“median |w|” 是权重绝对值的中位数，“zeros” 是该层中零的比例。）

# %% [markdown]
# ## 5. 自己动手探索
#
# 拖动滑块、切换方法（需要在 JupyterLab 中运行内核，控件才能工作）。每次改动都会在教师模型的一份新副本上剪枝，教师模型本身从不会被修改。和第 4 节一样，它在**验证集**上测量准确率（它是一个做选择的工具）；它也和本笔记本一样，用同样 `CALIBRATION_BATCHES` 批训练数据重新估计 BatchNorm 统计量，所以同一个设置显示的准确率与第 4 节的表格一致；取消勾选“re-estimate BatchNorm statistics”（重新估计 BatchNorm 统计量），就能再次看到第 3 节中的崩溃。控件下方的静态图汇总了第 4 节的扫描结果，方便没有运行内核的读者阅读。
#
# **滑块任务：** 对每一种方法，找出验证准确率与稠密教师模型相差不超过一个百分点的最高稀疏度。把这四个数写下来；图下面的单元格会用扫描结果来核对。

# %%
display(sparsity_explorer(teacher, loaders.val, calibration_loader=calibration, sparsity=0.9))
plots.accuracy_vs_sparsity(sweep, title="one-shot pruning, BatchNorm re-estimated, no fine-tuning",
                           ylabel="validation accuracy (%)")

# %% [markdown]
# 滑块任务的答案（以扫描的粗网格所能分辨的程度为限）：对每一种方法，列出仍在一个百分点以内的最后一个扫描稀疏度，以及第一个超出的稀疏度。你用滑块找到的答案应该落在两者之间。验证集很小（最后一行打印了一张图片值多少个百分点），所以曲线可能先跌到线下、再回到线上：答案是*第一次*跌出一个百分点之前的最后一个稀疏度。（练习 02 会请你把这种读曲线的方法写成一个函数。）
#
# （输出中的英文：“within one point up to …” 即直到 … 都在一个百分点以内，“first beyond it” 即第一个超出的稀疏度，“never beyond it in the sweep” 即扫描中从未超出，“more than one point below dense already at …” 即在 … 时就已比稠密模型低一个百分点以上，“one validation image” 即一张验证图片。）

# %%
dense_val = sweep.baseline  # the unpruned teacher on the validation split
for method, values in sweep.metrics.items():
    first_out = next((s for s, v in zip(sweep.sparsities, values) if v < dense_val - 0.01), None)
    within = [s for s in sweep.sparsities if first_out is None or s < first_out]  # up to the first drop beyond
    print(f"{method:20s} within one point up to {max(within):.0%} of the swept grid" if within else
          f"{method:20s} more than one point below dense already at {sweep.sparsities[0]:.0%}",
          f"(first beyond it: {first_out:.0%})" if first_out is not None else "(never beyond it in the sweep)")
print(f"dense validation accuracy {dense_val:.2%}; one validation image = {100 / len(splits.val):.2f} points")

# %% [markdown]
# ## 6. 敏感度扫描 → 自适应方案
#
# 全局幅值剪枝只根据权重的大小来决定每层的稀疏度。我们也可以直接问网络：**每次只剪一层**，剪到若干个稀疏度，测量验证损失 (validation loss) 上升了多少（用的是验证集，而不是我们报告结果的测试集）。这里用损失而不用准确率，是因为验证集很小，准确率只能以一张图片为单位跳动。
#
# `sensitivity_scan` 接收一个*越高越好*的分数，报告每一层相对未剪枝模型的*下降量*：`scan.drops(layer)` = 剪枝前的分数 − 剪枝后的分数。损失是越低越好，所以我们传给它的是**负的**损失：这样下降量就等于剪枝后的损失 − 剪枝前的损失，也就是剪枝*增加*的验证损失。这个值可能是负的——剪掉一个稳健的层（并重新估计 BatchNorm 统计量）之后，验证损失有时会略微下降，在这么小的验证集上这多半只是噪声——`adaptive_plan` 会把这种“收益”记为零。

# %%
scan = sensitivity_scan(teacher, lambda m: -evaluate(recalibrated(m), loaders.val).loss,
                        [0.5, 0.8, 0.9, 0.95, 0.98])
at_98 = {name: scan.drops(name)[-1] for name in scan.layers}  # validation loss added at 98%
most, least = max(at_98, key=at_98.get), min(at_98, key=at_98.get)
print(f"at 98% alone: {most} adds {at_98[most]:.3f} to the validation loss, {least} adds {at_98[least]:.3f}")
claim(at_98[most] > 10 * max(at_98[least], 0.01), "at 98%, the most sensitive layer adds over 10× the loss of the least",
      "在 98% 时，最敏感的层增加的损失是最不敏感的层的 10 倍以上")
plots.sensitivity_curves(scan, ylabel="validation loss added")

# %% [markdown]
# 有些层剪到 98% 也若无其事；另一些层早早就垮了（上面打印的那一行给出了两个极端）。`adaptive_plan` 把扫描结果转换成每层的稀疏度，使总体稀疏度达到目标：从什么都不剪开始，每一步都选择“每剪掉一个权重、损失增加最少”的那一步。我们在相同的总体稀疏度下，把它与均匀（逐层）方案和全局幅值剪枝进行比较，都是一次性剪枝，不做微调。
#
# （输出中的英文：“at 98% alone: … adds … to the validation loss” 即单独把该层剪到 98% 时，验证损失增加了多少。）

# %%
target = 0.95
plan = adaptive_plan(scan, target)
candidates = {
    "uniform": magnitude_prune(clone_model(teacher), target),
    "global magnitude": magnitude_prune(clone_model(teacher), target, scope="global"),
    "adaptive (scan)": apply_plan(clone_model(teacher), plan),
}
plan_accuracy = {name: test_accuracy(recalibrated(m)) for name, m in candidates.items()}
for name, m in candidates.items():
    print(f"{name:17s} overall sparsity {sparsity(m):.2%}  test accuracy {plan_accuracy[name]:.2%}")
claim(all(abs(sparsity(m) - target) < 0.005 for m in candidates.values()),
      f"all three plans reach {target:.0%} overall", f"三种方案的总体稀疏度都达到了 {target:.0%}")
claim(plan_accuracy["adaptive (scan)"] > plan_accuracy["uniform"] + 0.1,
      "the adaptive plan beats the uniform one by more than 10 points", "自适应方案比均匀方案高出 10 个百分点以上")
claim(plan.sparsities["features.0"] < target and plan.sparsities["classifier.8"] < target < max(plan.sparsities.values()),
      "the plan spares the first conv and the output layer and cuts other layers beyond the target",
      "该方案放过了第一个卷积层和输出层，并把其他层剪得比目标更狠")
plots.sparsity_bars({name: sparsity_report(m).as_dict() for name, m in candidates.items()},
                    title=f"per-layer sparsity of three plans at {target:.0%} overall")

# %% [markdown]
# 零的数量相同，*放在哪里*决定了准确率。自适应方案放过了那些小而敏感的层（第一个卷积层、分类器的输出层），把大而稳健的层几乎剪光。这个*方案*假设多层剪枝造成的损害可以简单相加（它把扫描中各层单独剪枝的结果加起来）；实际上并不完全如此（同时剪所有层，损害会叠加放大），所以这个方案是一个有依据的猜测，还需要像上面那样去验证。
#
# （输出中的英文：“uniform” 即均匀（逐层）方案，“global magnitude” 即全局幅值剪枝，“adaptive (scan)” 即基于扫描的自适应方案，“overall sparsity” 即总体稀疏度，“test accuracy” 即测试准确率。）

# %% [markdown]
# ## 7. 微调找回剩下的准确率
#
# 剪枝之后，保持掩码不变、做几轮 (epoch) 普通训练，剩下的权重就能弥补损失。掩码在每次前向传播时都会重新应用，而 `weight_orig` 中被剪掉的位置梯度为零，所以零始终是零。`finetuner` 封装了 `coursekit.train.fit`（本课程唯一的训练循环），并在训练之后重新估计 BatchNorm 统计量。
#
# `finetuner(loader, epochs=…, lr=…, seed=…)` 本身并不训练任何东西：它返回一个函数 `finetune(model, step)`。`gradual_prune` 要的正是这种形式的函数，它在每个剪枝步骤之后都会调用一次，并传入步骤编号 1、2、……（第 8 节把这个循环完整地写了出来）。这里只有一个剪枝步骤，所以我们自己用 `step=1` 调用这个函数；这次训练的随机种子是 `seed + step`。微调也是训练，结果取决于随机种子：所以我们跑三个种子，并且把测试损失也记下来。

# %%
final_sparsity, budget = 0.95, 2  # budget: fine-tuning epochs
SEEDS = (0, 1, 2)
one_shot = {}
for seed in SEEDS:
    model = magnitude_prune(clone_model(teacher), final_sparsity, scope="global")
    before = test_accuracy(recalibrated(model))
    finetune = finetuner(finetune_loader, epochs=budget, lr=1.5e-3, seed=seed)  # a function, not a result
    finetune(model, 1)  # step 1: trains `budget` epochs in place
    result = evaluate(model, loaders.test)
    one_shot[seed] = {"model": model, "after pruning": before, "after fine-tuning": result.accuracy,
                      "test loss": result.loss}
    print(f"seed {seed}: sparsity {sparsity(model):.2%}, accuracy {before:.2%} right after pruning → "
          f"{result.accuracy:.2%} after {budget} epochs (test loss {result.loss:.4f})")
pruned95 = one_shot[SEEDS[0]]["model"]
after = torch.tensor([r["after fine-tuning"] for r in one_shot.values()], dtype=torch.float64)
gap = after.mean().item() - dense_accuracy
position = "level with" if abs(gap) < 1e-9 else f"{100 * abs(gap):.2f} points {'above' if gap > 0 else 'below'}"
print(f"mean over {len(SEEDS)} seeds: {after.mean():.2%} ± {after.std():.2%}, {position} the dense teacher "
      f"({dense_accuracy:.2%}); worst seed {after.min():.2%}; one test image is {100 / len(splits.test):.2f} points")
lost = dense_accuracy - one_shot[SEEDS[0]]["after pruning"]  # what the cut took
claim(sparsity(pruned95) >= 0.9, "the fine-tuned model is still over 90% sparse", "微调后的模型稀疏度仍超过 90%")
claim(after.min() > one_shot[SEEDS[0]]["after pruning"] + lost / 2,
      "every seed's fine-tuning recovers more than half of what the cut took",
      "每个种子的微调都找回了剪枝损失的一半以上");

# %% [markdown]
# 微调之后离稠密教师模型有多近，取决于随机种子，也取决于机器：请看打印出的差距，并把它与各种子之间的波动、以及一张测试图片对应的准确率比较。在任何机器上都成立的，是从“刚剪完”到“微调之后”的那一大步提升（代码单元格会检查它找回了剪枝损失的一半以上）。
#
# （输出中的英文：“right after pruning” 即刚剪完，“after … epochs” 即微调若干轮之后，“test loss” 即测试损失，“worst seed” 即最差的种子，“one test image is … points” 即一张测试图片对应 … 个百分点。）

# %% [markdown]
# ## 8. 渐进还是一次性？
#
# Zhu & Gupta (2017) 的做法是*渐进地*剪枝：稀疏度沿着一条三次曲线分几刀上升，每一刀之后都训练一小会儿，让网络在失去权重的同时逐步适应。第 `t = 1 … n` 刀之后的目标是 `final + (initial − final) · (1 − t/n)³`——开头几刀大，最后几刀小。
#
# 渐进式剪枝是为“一刀下去伤得很重”的情形设计的。在 95%（第 7 节）时，剪一刀再微调就几乎能全部找回，所以我们改到 **98%**：这时剪一刀会让教师模型远远低于它的稠密准确率。两种调度使用**相同的优化步数**（每步一批 128 张训练图片），用 `batch_loader(..., steps=…)` 精确计数：
#
# - **一次性 (one-shot)**：一刀剪到 98%，然后用掉全部步数；
# - **渐进式 (gradual)**：沿三次曲线剪五刀，前四刀之后各训练两步，剩下的步数全部放在最后一刀之后。
#
# 下面的循环就是全部思路，完整写出：剪枝 → 微调 → 剪枝 → ……（`gradual_prune` 封装的也是这个循环）。`magnitude_prune` 把每个目标当作*整个模型*的稀疏度（已剪掉的权重保持剪掉，并计入其中）；下一小节会说明这一点为什么要紧。我们跑三个种子，用两个指标比较：测试准确率（以一张图片为单位跳动）和测试损失（连续变化）。只有当两者均值之差超过各种子间较大的那个标准差（对准确率而言，至少还要超过一张测试图片）时，才算某种调度领先：这是种子不多时的经验法则，并不是显著性检验。
#
# **预测：** 在 98%、预算同样很小的情况下，哪种调度最终领先？领先多少？

# %%
FINAL, CUTS, BETWEEN, STEPS = 0.98, 5, 2, 20  # final sparsity, cuts, steps after each early cut, total steps
schedule = polynomial_schedule(0.0, FINAL, CUTS)
steps_after = [BETWEEN] * (CUTS - 1) + [STEPS - BETWEEN * (CUTS - 1)]  # optimizer steps after each cut
print("gradual: cut targets", [f"{s:.1%}" for s in schedule], "| steps after each cut", steps_after,
      f"| total {sum(steps_after)} = one-shot's {STEPS}")


def train_steps(model, steps, seed):
    """Fine-tune for exactly `steps` optimizer steps (batches of 128), then re-estimate BatchNorm statistics."""
    finetuner(batch_loader(splits.train, 128, seed=seed, steps=steps), epochs=1, lr=1.5e-3, seed=seed,
              recalibrate=False)(model, 0)
    recalibrated(model)  # the same few calibration batches as every other evaluation in this lesson


runs = {"one-shot": [], "gradual": []}  # per seed: the test result (accuracy, loss)
reached = {"one-shot": [], "gradual": []}
right_after_cut = None
for seed in SEEDS:
    model = magnitude_prune(clone_model(teacher), FINAL, scope="global")  # one cut ...
    right_after_cut = test_accuracy(recalibrated(model))
    train_steps(model, STEPS, 100 * seed)  # ... then the whole budget
    runs["one-shot"].append(evaluate(model, loaders.test))
    reached["one-shot"].append(sparsity(model))

    model = clone_model(teacher)
    for t, (target, steps) in enumerate(zip(schedule, steps_after), start=1):  # prune → fine-tune → prune …
        magnitude_prune(model, target, scope="global")
        train_steps(model, steps, 100 * seed + t)
    runs["gradual"].append(evaluate(model, loaders.test))
    reached["gradual"].append(sparsity(model))
    print(f"seed {seed}: one-shot {runs['one-shot'][-1].accuracy:.2%}, gradual {runs['gradual'][-1].accuracy:.2%} "
          f"(test accuracy after {STEPS} steps each)")
one_image = 1 / len(splits.test)  # the smallest change test accuracy can show
by_accuracy = compare_means([r.accuracy for r in runs["one-shot"]], [r.accuracy for r in runs["gradual"]],
                            floor=one_image)
by_loss = compare_means([r.loss for r in runs["one-shot"]], [r.loss for r in runs["gradual"]], higher_is_better=False)
print(f"right after one cut to {FINAL:.0%} (BatchNorm re-estimated): {right_after_cut:.2%}; dense {dense_accuracy:.2%}")
print(f"mean ± std over {len(SEEDS)} seeds; one test image = {100 * one_image:.2f} points")
print(by_accuracy.line("test accuracy (%)", "one-shot", "gradual", fmt=".2f", scale=100))
print(by_loss.line("test loss", "one-shot", "gradual"))
winners = {by_accuracy.ahead, by_loss.ahead}
schedule_verdict = ("no winner at this budget: both differences are within the noise" if winners == {"within noise"}
                    else f"{'gradual' if winners == {'treated'} else 'one-shot'} is ahead on both measures, by more than the noise"
                    if len(winners) == 1 else f"the measures disagree (accuracy: {by_accuracy.ahead}, loss: {by_loss.ahead})")
print("verdict:", schedule_verdict)
claim(all(abs(s - FINAL) < 0.005 for v in reached.values() for s in v), f"both schedules end at {FINAL:.0%} sparsity",
      f"两种调度最终的稀疏度都是 {FINAL:.0%}")
claim(by_accuracy.ahead == "treated", f"at {FINAL:.0%} and equal steps, gradual ends ahead on test accuracy by more than the noise",
      f"在 {FINAL:.0%}、优化步数相同时，渐进式剪枝的测试准确率领先幅度超过噪声")
claim(min(r.accuracy for v in runs.values() for r in v) > right_after_cut,
      "both schedules end above the accuracy of one cut without fine-tuning", "两种调度最终都高于只剪一刀、不微调时的准确率")
plots.seed_strip({name: [r.accuracy for r in v] for name, v in runs.items()},
                 title=f"{FINAL:.0%} sparsity, {STEPS} optimizer steps each")

# %% [markdown]
# （预测的答案。）请看你这次运行打印出的结论：这个对比能支持的只有这一个结论；结论下面的 ✓/✗ 行告诉你，在你这次运行中渐进式剪枝的准确率是否领先超过了噪声。如果领先，原因正如 Zhu & Gupta 所说：前几刀剪掉的是网络可以舍弃的权重，每刀之后的几步训练让剩下的权重接手它们的工作，而最后一刀很小。一次性剪枝只剪一大刀，必须一下子从全部损失中恢复过来。
#
# 两点诚实的限制。在一刀下去伤害不大的稀疏度上（试试 `FINAL = 0.95`），渐进式剪枝无可挽救，它前面那几刀只是把步数花在了较低的稀疏度上：在课程的机器上用五个种子测试，渐进式剪枝在 98% 时胜出，在 95% 时却*落后*（`benchmarks/prune_schedules.py`，结果见 docs/benchmarks.md）。三次多项式调度也不是魔法：Zhu & Gupta 在数千个训练步中每隔几百步剪一次；初始代码用的则是线性调度 (`np.linspace`)。先在**相同**的预算下、用多个随机种子、看不止一个指标来比较不同的调度，再去相信哪一个更好。
#
# （输出中的英文：“cut targets” 即各刀的目标稀疏度，“steps after each cut” 即每刀之后的优化步数，“one-shot” 即一次性剪枝，“gradual” 即渐进式剪枝，“difference” 即差值，“noise” 即噪声幅度，“within noise” 即在噪声范围之内，“verdict” 即结论，“no winner at this budget” 即在这个预算下没有赢家，“is ahead on both measures” 即在两个指标上都领先，“the measures disagree” 即两个指标的结论不一致。）
#
# ### `amount` 是什么意思：初始代码的渐进式剪枝
#
# `torch.nn.utils.prune` 把 `amount` 作用在**尚未剪掉**的权重上，而不是整层：`amount=0.5` 调用两次，剩下的是四分之一，而不是一半。初始代码的 `gradual_pruning(initial_sparsity=0.3, final_sparsity=0.7, num_steps=5)` 调用 `prune.l1_unstructured(..., amount=step_ratio)`，其中 `step_ratio = (target − current) / (1 − current)`——如果 `current` 是对的，这正是正确的*相对*比例。但它在 `model.parameters()` 上统计 `current`，而剪枝之后这里返回的是原封不动的 `weight_orig`（第 12 节的第 1 条缺陷）：`current` 始终为 0，于是每一步都剪掉剩余权重的 `target` 这么多。
#
# **预测：** 依次剪掉*剩余权重*的 30%、40%、50%、60% 和 70%，最后还剩多大比例的权重？下面的单元格在教师模型的一份副本上逐行运行初始代码的循环。

# %%
layer = clone_model(teacher).features[3]
prune.l1_unstructured(layer, "weight", amount=0.5)
prune.l1_unstructured(layer, "weight", amount=0.5)  # half of what is LEFT
print(f"amount=0.5 twice on one layer: {sparsity(layer.weight):.0%} zeros")


def seed_code_gradual(model, initial=0.3, final=0.7, num_steps=5):
    """The seed code's PruningManager.gradual_pruning, line for line (np.linspace → torch.linspace)."""
    original_params = sum(p.numel() for p in model.parameters())
    count_nonzero = lambda: sum(int((p != 0).sum()) for p in model.parameters())  # noqa: E731 (the seed's count)
    for step, target in enumerate(torch.linspace(initial, final, num_steps).tolist()):
        current = 1 - count_nonzero() / original_params
        if target > current:
            step_ratio = (target - current) / (1 - current)
            for module in model.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    prune.l1_unstructured(module, name="weight", amount=step_ratio)
            print(f"  step {step + 1}: believes {current:.1%}, prunes amount={step_ratio:.2f} → really "
                  f"{sparsity(model):.1%}")
    return 1 - count_nonzero() / original_params  # what it reports


seed_model = clone_model(teacher)
believed = seed_code_gradual(seed_model)
print(f"the seed code aimed for 70%, reports {believed:.1%}; the model is {sparsity(seed_model):.1%} sparse, "
      f"{1 - sparsity(seed_model):.1%} of the weights left")

fixed = clone_model(teacher)  # the same loop, with the sparsity measured on the masked weights
for target in torch.linspace(0.3, 0.7, 5).tolist():
    current = sparsity(fixed)  # of the effective weights: weight_orig × weight_mask
    for _, module in prunable_layers(fixed):
        prune.l1_unstructured(module, name="weight", amount=(target - current) / (1 - current))
print(f"with the sparsity measured correctly, the same relative amounts end at {sparsity(fixed):.1%}")
claim(sparsity(seed_model) > 0.9 and believed < 0.05,
      "the seed code's gradual pruning ends above 90% sparse while reporting under 5%",
      "初始代码的渐进式剪枝实际稀疏度超过 90%，自己却报告不到 5%")
claim(abs(sparsity(fixed) - 0.7) < 0.005, "measured correctly, the relative amounts reach the 70% target",
      "正确测量稀疏度之后，相对比例恰好达到 70% 的目标");

# %% [markdown]
# 五次“相对”剪枝是相乘的：0.7 · 0.6 · 0.5 · 0.4 · 0.3 ≈ 2.5% 的权重留了下来，所以初始代码的演示最后大约是 97.5% 的稀疏度，而它自己的统计却说几乎什么都没剪（它的目标是 70%）。要记住两条规则：
#
# - 在 `torch.nn.utils.prune` 中，`amount` **相对于剩下的权重**：要把稀疏度从 `s₀` 提高到 `s₁`，应传入 `amount = (s₁ − s₀) / (1 − s₀)`——其中 `s₀` 要在带掩码的权重上测量。
# - `coursekit.prune`（以及本节的循环）用的则是**绝对**目标：“把模型剪到 80% 稀疏”，不管它之前是多少。把两次调用串起来之前，先弄清楚所用的库遵循哪种约定。
#
# （输出中的英文：“believes” 即它以为的稀疏度，“prunes amount=…” 即按剩余权重的这个比例剪枝，“really” 即实际稀疏度，“reports” 即它报告的数值，“weights left” 即剩下的权重。）

# %% [markdown]
# ## 9. 结构化剪枝
#
# 非结构化剪枝把零撒得到处都是。*结构化剪枝 (structured pruning)* 则剪掉整个输出通道——L2 范数最小的那些滤波器 (filter)——以及隐藏全连接层中的整个神经元（分类器的输出层除外）。被剪掉的通道必须输出严格的零：它的滤波器和偏置都被掩码遮住，后面那个 BatchNorm 的缩放和平移参数也一样，否则 BatchNorm 会把零变成一个常数。

# %%
structured = magnitude_prune(clone_model(teacher), 0.5, structured=True).eval()
outputs = {}
hook = structured.features[2].register_forward_hook(lambda mod, inp, out: outputs.update(relu=out))
structured(splits.test[:64][0])
hook.remove()
dead = (outputs["relu"].abs().sum(dim=(0, 2, 3)) == 0).sum().item()
print(f"first block: {dead} of {outputs['relu'].shape[1]} channels output exactly zero")
claim(dead == structured.features[0].out_channels // 2, "exactly half of the first block's channels output zero",
      "第一个模块中恰好一半的通道输出为零")
before = test_accuracy(recalibrated(structured))
finetuner(finetune_loader, epochs=1, lr=1.5e-3)(structured, 1)
structured_accuracy = test_accuracy(structured)
print(f"50% of channels pruned: accuracy {before:.2%} right after pruning → {structured_accuracy:.2%} after "
      f"1 epoch (dense {dense_accuracy:.2%}); weight sparsity {sparsity(structured):.1%}")

# %% [markdown]
# 模型仍然保留着每一个通道，只是其中一半被乘以零。`remove_channels` 会构建一个新的、实实在在更小的网络：每个输出为零的通道都被删除，连同它在 BatchNorm 中的条目以及下一层对应的输入通道。它必须计算出相同的函数——我们在真实图片上做了检查，两个模型都处于 eval 模式（在训练模式下，BatchNorm 会用当前这批数据自己的统计量来归一化）。
#
# **预测：** 每个隐藏层都剪掉一半通道。更小的网络的参数量和 FLOPs 会减少到原来的几分之一：1/2、1/3，还是 1/4？
#
# （上一个单元格输出中的英文：“first block: … of … channels output exactly zero” 即第一个模块中有多少个通道输出恰好为零，“right after pruning → … after 1 epoch” 即刚剪完时的准确率 → 微调一轮之后的准确率，“weight sparsity” 即权重稀疏度。）

# %%
x64 = splits.test[:64][0]  # (64, 1, 8, 8)
small = remove_channels(structured, example_input=x64).eval()
structured.eval()
claim(torch.allclose(small(x64), structured(x64), atol=1e-5),
      "the network with channels removed computes the same outputs as the masked one",
      "删除通道后的网络与带掩码的网络输出相同")
print(small.features[:4])
params = {name: count_parameters(m) for name, m in [("dense", teacher), ("pruned (masks)", structured), ("channels removed", small)]}
flops = {name: count_flops(m, x64[:1]) for name, m in [("dense", teacher), ("pruned (masks)", structured), ("channels removed", small)]}
for name in params:
    print(f"{name:17s} {params[name]:>10,} parameters  {flops[name] / 1e6:6.2f} MFLOPs per image")
flops_ratio = flops["dense"] / flops["channels removed"]
params_ratio = params["dense"] / params["channels removed"]
print(f"removing the channels: {params_ratio:.2f}× fewer parameters, {flops_ratio:.2f}× fewer FLOPs, "
      f"same outputs, accuracy {test_accuracy(small):.2%}")
conv = teacher.features[3]
print(f"e.g. {type(conv).__name__} features.3: weight {tuple(conv.weight.shape)} → {tuple(small.features[3].weight.shape)}, "
      f"{conv.weight.numel() / small.features[3].weight.numel():.0f}× fewer weights")
claim(3 < params_ratio < 4 and 3 < flops_ratio < 4, "half the channels removed: between 3× and 4× fewer parameters and FLOPs",
      "剪掉一半通道：参数量和 FLOPs 都减少到原来的 1/4 到 1/3 之间");

# %% [markdown]
# （预测的答案。）只剪掉了一半通道，为什么参数和运算量差不多只剩四分之一，而不是一半？卷积的权重形状是 `out × in × k × k`，剪掉某一层一半的输出通道，也就同时剪掉了下一层一半的输入通道。中间的每一层两头各少一半：权重和乘法都只剩 ½ · ½ = ¼。第一个卷积层（输入是图片）和输出层（输出是各个类别）只有一头变少，所以减少的倍数最终略低于 4。
#
# （输出中的英文：“pruned (masks)” 即带掩码的剪枝模型，“channels removed” 即删除通道之后，“MFLOPs per image” 即每张图像的百万次浮点运算，“fewer parameters / fewer FLOPs, same outputs” 即参数量 / FLOPs 减少的倍数、输出相同。）
#
# 正因为如此，“50% 稀疏度”对结构化剪枝和非结构化剪枝意味着完全不同的预算；比较结构化方法时，必须在相同的**剩余参数量或剩余 FLOPs** 下比较。
#
# ### 剪哪些通道？相同预算下的三种标准
#
# 到目前为止，结构化剪枝剪掉的是 L2 范数最小的滤波器。但在每个卷积后面都接着 BatchNorm 的网络里，这个标准有问题：BatchNorm 会用每个通道自己的标准差去除它，所以把一个滤波器整体放大或缩小，对它后面的输出毫无影响——滤波器的范数几乎说明不了这个通道贡献了什么。真正决定一个通道在归一化之后贡献多少的，是 BatchNorm 的缩放系数 γ。**网络瘦身 (network slimming)**（Liu 等人，2017）按 |γ| 给通道排序（训练时还对 γ 加 L1 惩罚，把不需要的通道压向零；这里我们只对训练好的教师模型排序）。基线照例是随机选择。
#
# 下面的函数在每个卷积层和隐藏全连接层中剪掉相同比例的通道，依据可以是任意的逐通道分数；变的只有分数。（隐藏全连接层后面没有 BatchNorm，所以“BatchNorm γ”对它们的神经元仍按 L2 范数排序。）每个点都是一份新副本，重新估计 BatchNorm 统计量，不做微调，在验证集上评估；横轴是*删除*通道之后模型的参数量和 FLOPs。随机选择取三个种子的平均。作为参照，图中还画出了剩余非零参数相同的非结构化全局幅值剪枝：它的零要靠稀疏存储才能省下字节，在稠密计算核上也省不下任何 FLOPs。
#
# **预测：** 剪掉一半通道时，给这三种标准排个名次。

# %%
def prune_channels(model, fraction, score):
    """Structured pruning with any per-channel score (lowest go), on every conv and hidden linear layer."""
    leaves = [m for m in model.modules() if not list(m.children())]
    bn_after = {a: b for a, b in zip(leaves, leaves[1:]) if isinstance(b, nn.BatchNorm2d)}
    layers = [m for m in leaves if isinstance(m, (nn.Conv2d, nn.Linear))][:-1]  # never the output layer
    for layer in layers:
        bn = bn_after.get(layer)
        with torch.no_grad():
            scores = score(layer, bn)
        keep = torch.ones_like(scores)
        keep[scores.argsort()[:round(fraction * len(scores))]] = 0
        prune.custom_from_mask(layer, "weight", keep.view(-1, *[1] * (layer.weight.dim() - 1)).expand_as(layer.weight))
        prune.custom_from_mask(layer, "bias", keep)
        if bn is not None:  # a pruned channel must output exactly zero after BatchNorm too
            prune.custom_from_mask(bn, "weight", keep)
            prune.custom_from_mask(bn, "bias", keep)
    return model


def filter_norm(layer, bn):
    return layer.weight.flatten(1).norm(dim=1)


def bn_gamma(layer, bn):
    return bn.weight.abs() if bn is not None else filter_norm(layer, bn)


def random_score(seed):
    generator = torch.Generator().manual_seed(seed)
    return lambda layer, bn: torch.rand(layer.weight.shape[0], generator=generator)


ours, reference = (dict(m.named_buffers()) for m in (prune_channels(clone_model(teacher), 0.5, filter_norm),
                                                     magnitude_prune(clone_model(teacher), 0.5, structured=True)))
same = ours.keys() == reference.keys() and all(torch.equal(ours[k], reference[k]) for k in ours)
claim(same, "prune_channels with filter L2 norms gives the same masks as magnitude_prune(structured=True)",
      "用滤波器 L2 范数的 prune_channels 与 magnitude_prune(structured=True) 给出相同的掩码")
FRACTIONS = (0.25, 0.5, 0.625, 0.75)  # share of channels removed
dense_params, dense_flops = count_parameters(teacher), count_flops(teacher, x64[:1])
criteria = {"filter L2 norm": [filter_norm], "BatchNorm γ": [bn_gamma], "random (3 seeds)": [random_score(s) for s in range(3)]}
curves = {}  # criterion -> [(parameters left, FLOPs left, validation accuracy)]
for name, scores in criteria.items():
    curves[name] = []
    for fraction in FRACTIONS:
        accs = [val_accuracy(recalibrated(prune_channels(clone_model(teacher), fraction, score))) for score in scores]
        shrunk = remove_channels(prune_channels(clone_model(teacher), fraction, scores[0]), example_input=x64)
        curves[name].append((count_parameters(shrunk) / dense_params, count_flops(shrunk, x64[:1]) / dense_flops,
                             sum(accs) / len(accs)))
unstructured = [(p, 1.0, val_accuracy(recalibrated(magnitude_prune(clone_model(teacher), 1 - p, scope="global"))))
                for p, _, _ in curves["filter L2 norm"]]
print(f"{'channels removed':>17s} {'params left':>12s} {'FLOPs left':>11s} " + "".join(f"{n:>18s}" for n in curves)
      + f" {'unstructured':>13s}   (validation accuracy)")
for i, fraction in enumerate(FRACTIONS):
    p, f, _ = curves["filter L2 norm"][i]
    print(f"{fraction:>17.1%} {p:>12.1%} {f:>11.1%} " + "".join(f"{curves[n][i][2]:>18.2%}" for n in curves)
          + f" {unstructured[i][2]:>13.2%}")
half = FRACTIONS.index(0.5)
claim(curves["BatchNorm γ"][half][2] > curves["filter L2 norm"][half][2] + 0.05,
      "at half the channels removed, ranking by BatchNorm γ beats filter L2 norm by more than 5 points",
      "剪掉一半通道时，按 BatchNorm γ 排序比按滤波器 L2 范数高出 5 个百分点以上")
fig = Figure(figsize=(8.5, 3.4), layout="constrained")
axes = fig.subplots(1, 2, sharey=True)
for name, points in {**curves, "unstructured (global magnitude)": unstructured}.items():
    for ax, column in zip(axes, (0, 1)):
        ax.plot([100 * pt[column] for pt in points], [100 * pt[2] for pt in points], "o-", label=name)
for ax, label in zip(axes, ("parameters remaining (%)", "FLOPs remaining (%)")):
    ax.axhline(100 * sweep.baseline, color="black", linestyle="--", linewidth=1, label="dense")
    ax.set_xlabel(label)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("validation accuracy (%)")
axes[1].legend(fontsize=9, loc="lower right")
fig.suptitle("structured pruning criteria at equal budgets (one-shot, BatchNorm re-estimated)", fontsize=11)
fig

# %% [markdown]
# （预测的答案。）看表格：在相同的参数和 FLOPs 预算下，按 BatchNorm 的 γ 选择通道保住的准确率远多于按滤波器范数选择（见上面的 ✓ 行），而随机那一列告诉你，在你这次运行中滤波器范数是否比随机选择强（在课程的机器上用五个随机种子测试，它在每个比例下都不如随机选择：见 `benchmarks/prune_schedules.py`）。在带 BatchNorm 的网络里，滤波器的范数主要只是一个尺度，而 BatchNorm 会把尺度消掉。在 FLOPs 轴上，非结构化剪枝的点都停在 100%：对稠密计算核来说，它的零和其他权重一样要参与运算（第 10 节）。
#
# **观察与解释：** 第 4 节的扫描和本课其余部分用的 `coursekit` 的 `magnitude_prune(structured=True)` 是按滤波器 L2 范数排序的。如果换成 γ 标准，你预计第 4 节里那条结构化剪枝曲线会怎样变化？（答案就在表格里：在剪掉相同比例通道时，比较“filter L2 norm”和“BatchNorm γ”两列。）
#
# （输出中的英文：“channels removed” 即剪掉的通道比例，“params left” 即剩余参数量，“FLOPs left” 即剩余 FLOPs，“filter L2 norm” 即滤波器 L2 范数，“random (3 seeds)” 即随机（三个种子的平均），“unstructured” 即非结构化剪枝；图中 “parameters remaining” / “FLOPs remaining” 为剩余参数量 / 剩余 FLOPs。）

# %% [markdown]
# ## 10. 掩码能让模型变快吗？测一测。
#
# 我们在相同的输入上，以批大小 1 和 64、线程数 1 和 2，测量四个模型的延迟：稠密的教师模型；仍以掩码形式保存的 50% 通道剪枝模型；删除了这些通道的同一个模型；以及第 7 节那个 95% 非结构化剪枝的模型，它的掩码已经折叠进权重（`remove_pruning`：普通权重，其中 95% 为零）。各模型交替计时，共测若干组。
#
# 和第 00 课一样，关于比值的结论只有超出噪声范围才算数。除了全部各组数据合在一起的中位数，表中还给出了各组结果所允许的加速比范围（稠密模型最慢的一组 / 该模型最快的一组，以及反过来）。另外，我们把稠密教师模型当作另一个模型再计时一次，记作“dense (again)”（再测一次稠密模型）：它和稠密模型完全相同，所以它的加速比偏离 1× 多少，就全是噪声。只有当一个模型的整个范围都落在这个对照的范围之外时，才算它比稠密模型快（或慢）。
#
# **预测：** 对每个模型，在批大小 1 和 64 时，它会比稠密模型快、慢，还是在噪声范围内一样快？

# %%
speed = compare_speed({
    "dense": teacher,
    "dense (again)": teacher,  # the control: identical to the baseline
    "50% ch. masked": structured,
    "50% ch. removed": small,
    "95% zeros": remove_pruning(clone_model(pruned95)),
}, x64, batch_sizes=(1, 64), threads=(1, 2), runs=6, rounds=3)
print(speed)


def speed_claim(row):
    """Faster or slower than dense only when the row's range lies beyond the control's (same batch, threads)."""
    return speed_verdict(row, speed.row("dense (again)", row.batch_size, row.threads))


print("\n1 thread: speed-up over dense (range the rounds allow) → what this run shows")
for model_name in ("dense (again)", "50% ch. masked", "50% ch. removed", "95% zeros"):
    for batch in (1, 64):
        r = speed.row(model_name, batch, 1)
        print(f"  {model_name:16s} batch {batch:2d}: {r.speedup:5.2f}× ({r.speedup_low:.2f}–{r.speedup_high:.2f}×) "
              f"→ {'the noise band' if model_name == 'dense (again)' else speed_claim(r)}")
removed = [speed.row("50% ch. removed", b, t) for b in (1, 64) for t in (1, 2)]
versus_flops = [r.judge(r.flops_reduction, speed.row("dense (again)", r.batch_size, r.threads)) for r in removed]
print(f"50% ch. removed against its FLOPs ratio ({removed[0].flops_reduction:.2f}×), in its {len(removed)} settings: "
      f"speed-up below it in {versus_flops.count('below')}, within the noise in {versus_flops.count('within noise')}, "
      f"above it in {versus_flops.count('above')}")
plots.speed_comparison(speed)

# %% [markdown]
# （预测的答案。）一张表里有三个教训：
#
# - **掩码带不来加速。** 带掩码的模型在同样数量的通道上运行同样的稠密卷积，而且它的前向预钩子在每次调用时都要为每一层重新计算 `weight_orig * weight_mask`：稠密模型的工作它一样不少，还要再乘一遍掩码，所以除了噪声之外，它不可能更快。它在批大小 1 时的那几行最能看出钩子的开销：一张 8×8 的图片运算量很小，每次重新计算全部带掩码的权重这笔固定开销，就占了每次调用的很大一部分。初始代码的评估器计时的恰恰就是这个模型，然后把这个比值当成了“加速比”。
# - **零也带不来加速**，至少对稠密计算核 (dense kernel) 而言如此：稠密模型做的每一次乘法，95% 稀疏的模型一次也不少，乘零也照算（乘零和乘任何别的数一样费时），所以它最多只能和稠密模型一样快。要把非结构化稀疏变成速度，需要稀疏计算核（通常还需要高得多的稀疏度或硬件支持）。
# - **删除通道才能加速。** 三者之中，只有更小的网络真正减少了运算，所以也只有它可能更快；至于在这台机器上是否更快、快了多少，请看它打印出的结论。再把它的加速比和最后一行打印的 FLOPs 比值对照一下：出于第 00 课讲过的原因——每次调用的固定开销和内存访问并不会随着运算量同步减少——加速比不一定跟得上 FLOPs 比值。
#
# （输出中的英文：表头 “model / batch / threads / median ms / speed-up / rounds allow / FLOPs fewer” 依次为模型、批大小、线程数、中位延迟（毫秒）、加速比、各组结果允许的范围、FLOPs 减少的倍数；“faster than dense” 即比稠密模型快，“slower than dense” 即比稠密模型慢，“same speed as dense, within the noise” 即在噪声范围内与稠密模型一样快，“the noise band” 即噪声带；最后一行比较删除通道后的加速比与它的 FLOPs 比值：“below it / within the noise / above it” 即低于、在噪声范围内、高于。）

# %% [markdown]
# ## 11. 磁盘占用
#
# 每种形式存下来要占多少空间？`size_on_disk` 用四种方式保存一个模型：原样保存的 `state_dict`；`remove_pruning` 之后（掩码折叠进权重，零仍然以普通的 float32 零存储）；用 zlib 压缩后的同一个文件；以及一种稀疏编码（每个权重用一个比特表示“是否非零”，再加上所有非零值）。
#
# **预测：** 把 95% 稀疏的模型按 `torch.nn.utils.prune` 剪完的原样，用 `torch.save(model.state_dict())` 保存：文件会比稠密模型小、一样大，还是更大？

# %%
sizes = {"dense teacher": size_on_disk(teacher), "95% unstructured": size_on_disk(pruned95),
         "50% ch. removed": size_on_disk(small)}
kib = 1024
print(f"{'':18s} {'state_dict':>11s} {'remove_pruning':>15s} {'zlib':>9s} {'sparse':>9s}   (KiB)")
for name, sz in sizes.items():
    print(f"{name:18s} {sz.state_dict_bytes / kib:>11.0f} {sz.dense_bytes / kib:>15.0f} "
          f"{sz.zlib_bytes / kib:>9.0f} {sz.sparse_bytes / kib:>9.0f}")
p95 = sizes["95% unstructured"]
claim(p95.state_dict_bytes > 1.9 * p95.dense_bytes, "saved with its masks, the pruned model is about twice the dense size",
      "连同掩码一起保存时，剪枝后的模型约为稠密模型的两倍大")
claim(p95.sparse_bytes < p95.zlib_bytes < p95.dense_bytes
      and abs(p95.dense_bytes - sizes["dense teacher"].dense_bytes) < 0.01 * p95.dense_bytes,
      "after remove_pruning it is the dense size; zlib is smaller, the sparse encoding smaller still",
      "remove_pruning 之后与稠密模型一样大；zlib 更小，稀疏编码还要更小")
restored = TeacherNet(in_channels=1).eval()
restored.load_state_dict(from_sparse_state_dict(to_sparse_state_dict(pruned95)))
claim(torch.equal(restored(x64), pruned95.eval()(x64)), "the sparse file loses nothing: identical outputs",
      "稀疏文件没有丢失任何信息：输出完全相同")
print(f"95% unstructured: saving with masks costs {p95.state_dict_bytes / p95.dense_bytes:.1f}× the dense file; "
      f"the sparse encoding is {p95.dense_bytes / p95.sparse_bytes:.1f}× smaller than the dense file, "
      f"zlib {p95.dense_bytes / p95.zlib_bytes:.1f}×")

# %% [markdown]
# （预测的答案。）一个随手保存的剪枝检查点 (checkpoint) 反而是原来的*两倍*大（`weight_orig` 和浮点掩码都被存了下来）。`remove_pruning` 之后，它与稠密模型大小完全相同：零仍然是 4 字节的浮点数。只有跳过零的编码方式——通用压缩器或专门的稀疏格式——才能把稀疏度变成节省下来的字节，而稀疏格式的索引开销（这里是每个权重一个比特）决定了它最多能省多少。删除了通道的模型则根本不需要任何特殊格式。
#
# （输出中的英文：表头 “state_dict / remove_pruning / zlib / sparse” 依次为原样保存、折叠掩码之后、zlib 压缩之后、稀疏编码，单位为 KiB；“saving with masks costs … the dense file” 即带掩码保存的大小是稠密文件的多少倍。）

# %% [markdown]
# ## 12. 初始代码的评估器错在哪里
#
# 初始代码中的 `PruningManager` 和 `PrunedModelEvaluator`（见本课开头）看上去很合理。下面的代码单元格逐一展示了它的缺陷：第 1、2、5 条用的是本课的模型，第 3、4 条则用它当时用的值重新运行它自己的表达式。
#
# 1. 它在 `model.parameters()` 上统计稀疏度，而用 `torch.nn.utils.prune` 剪枝之后，这里返回的是原封不动的 `weight_orig`——于是一个剪掉了大部分权重的模型，统计出来几乎没有零；
# 2. 它拿带掩码的模型和稠密模型比较计时，并把这个比值叫作加速比（第 10 节：掩码从原理上就不会让任何东西变快）；
# 3. 它的计时代码对默认的 `device='cuda'`（一个字符串）调用 `self.device.type`：直接崩溃；
# 4. 它的渐进式剪枝没有记录 `'sparsity'` 这个键，所以进度图（`entry.get('sparsity', 0)`）把每次渐进式剪枝都画成 0——而它确实记录下的那个数也统计错了（第 8 节）；
# 5. 它在随机噪声和随机标签上训练和评估，所以它打印的每一个准确率都毫无意义——而且它从未重新估计 BatchNorm 统计量（第 3 节）。

# %%
params_all = list(pruned95.parameters())
naive_count = 1 - sum(int((p != 0).sum()) for p in params_all) / sum(p.numel() for p in params_all)
print(f"1. the seed code's count on the 95%-pruned model: {naive_count:.2%} sparse; the real sparsity: "
      f"{sparsity(pruned95):.2%}")
claim(naive_count < 0.05 < 0.9 < sparsity(pruned95), "the seed code's count sees almost no zeros in a 95%-sparse model",
      "初始代码的统计在一个 95% 稀疏的模型里几乎看不到零")
masked = speed.row("50% ch. masked", 64, 1)
print(f"2. masked vs dense, batch 64, 1 thread: {masked.speedup:.2f}× the dense speed "
      f"({masked.speedup_low:.2f}–{masked.speedup_high:.2f}×: {speed_claim(masked)}), which it called a speed-up")
try:
    device = "cuda"  # the evaluator's default
    device.type
except AttributeError as error:
    print(f"3. {type(error).__name__}: {error}")
seed_code_history = [{"method": "gradual", "steps": 10, "final_sparsity": 0.8}]
print(f"4. the seed code's plot reads sparsity {seed_code_history[0].get('sparsity', 0)} for a run that reached "
      f"{seed_code_history[0]['final_sparsity']:.0%} (and section 8 showed its 'final_sparsity' itself is "
      f"miscounted: {believed:.1%} reported, {sparsity(seed_model):.1%} real)")
g = torch.Generator().manual_seed(0)
noise = DataLoader(TensorDataset(torch.randn(len(splits.test), 1, 8, 8, generator=g),
                                 torch.randint(0, 10, (len(splits.test),), generator=g)), batch_size=256)
print(f"5. on random noise with random labels, the dense teacher ({dense_accuracy:.2%} on real digits) scores "
      f"{evaluate(teacher, noise).accuracy:.2%}; any model, trained or broken, expects {1 / 10:.0%} there")

# %% [markdown]
# ## 观察与解释
#
# 1. 在第 3 节中，为什么在相同稀疏度下，随机剪枝受到的损害比幅值剪枝大得多？为什么重新估计 BatchNorm 统计量对两者都有帮助？
# 2. 在第 4 节的表格中，全局剪枝放过了哪些层？把这与它们的权重数量以及第 6 节的敏感度扫描联系起来。
# 3. 自适应方案是由单层实验构建的。举一个例子，说明为什么同时剪两层造成的损害可能大于分别剪各层的损害之和。
# 4. 第 10 节：把删除通道在批大小 1 和 64 时的加速比与它的 FLOPs 比值做比较。除了运算之外，一次前向传播还把时间花在了哪些地方？
# 5. 一位同事报告说：“剪掉了 95% 的权重，模型小了 20 倍，也快了 20 倍。”你首先会要求看哪两项测量？
# 6. 第 8 节：渐进式剪枝在 98% 时胜出。先预测同样的比较在 90% 时会是什么结果，再动手试一试（`FINAL = 0.9`）。要下任何一种结论，你需要多大的预算？
# 7. 第 9 节：把某个卷积层中的*一个*滤波器（连同它的偏置）乘以 10，然后重新估计 BatchNorm 统计量。网络的输出会有什么变化？按 L2 范数排序，这个滤波器现在排在哪里？这说明在带 BatchNorm 的网络里这个标准有什么问题？
#
# ## 小结
#
# - 幅值剪枝之所以有效，是因为训练好的权重大多很小；随机剪枝是它必须超越的基线。对于带 BatchNorm 的网络，剪枝后要先重新估计统计量，再评判它的好坏。
# - 全局阈值把零放进权重最小的那些层（这里正是又大又冗余的层）；基于敏感度的方案则直接问网络。在两种幅值剪枝中，均匀的逐层剪枝最先崩溃（随机剪枝崩溃得更早）。保持掩码不变进行微调，可以找回剩下的大部分准确率。
# - 渐进式（三次多项式）剪枝在一刀下去伤得很重的地方（这里是 98%）才有用武之地：分几刀剪，每刀之间训练一小会儿，总优化步数与一次性剪枝相同。比较调度时要用相同的预算、多个随机种子、不止一个指标，并以你这次运行打印出的结论为准。
# - `torch.nn.utils.prune` 的 `amount` 是相对于剩余权重的；`coursekit.prune` 用的是绝对目标。把两者混在一起（初始代码就是这样）会在不知不觉中剪掉远多于预期的权重。
# - 比较结构化剪枝要看相同的剩余参数量或剩余 FLOPs，而不是相同的“稀疏度”；在带 BatchNorm 的网络里，按 BatchNorm 的 γ 选择通道胜过按滤波器范数选择。
# - 掩码和零本身既不带来速度，也不节省字节。只有删除通道才真正减少了运算；它能换来多少速度必须实测（第 10 节打印了这台机器上的结果，而且它不一定跟得上 FLOPs 比值）。稀疏或压缩格式才能真正节省字节。
#
# **本课对应的检查清单条目：** U2（掌握不同剪枝策略的特点和适用场景）、U3（理解压缩率与性能保持之间的权衡）、T2（结构化与非结构化剪枝）、T3（渐进式与自适应剪枝）、T4（正确地评估和对比不同压缩方法的效果）。
#
# **下一步：** 练习 `exercises/zh/02_pruning.py`（从零写“保留最大权重”的掩码和全局阈值、三次多项式调度、正确统计稀疏度、删除“卷积 → BatchNorm → 卷积”模块中被剪掉的通道）。
