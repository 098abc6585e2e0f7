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
# - 剪枝后的**微调 (fine-tuning)**，以及**渐进式剪枝 (gradual pruning)**（Zhu & Gupta 的三次多项式（cubic）稀疏度调度）与一次性剪枝 (one-shot) 的对比；
# - 剪掉整个通道的**结构化剪枝 (structured pruning)**，以及为什么只有把通道真正*删除*才可能让模型变快；
# - 剪枝对磁盘占用的影响，以及初始代码里的评估器错在哪里。
#
# *初始代码（seed code）*：本课程是根据一份初始文档编写的，文档里的参考代码用 `PruningManager` 和 `PrunedModelEvaluator` 来剪枝和评估模型。下文说的“初始代码”一律指这份代码（第 12 节会说明它错在哪里），与训练时用的随机种子 (random seed) 无关。
#
# 下面的每一个数字都是运行笔记本时实测得到的。教师模型从缓存中加载（本课不会重新训练），每个实验都在它的一份新副本上剪枝。

# %%
import os

# 空闲的 OpenMP 线程会忙等 (busy-wait)，在繁忙的机器上会让 2 线程的计时慢很多；设为 PASSIVE 后它们会休眠。
# 这个设置只有在导入 torch 之前完成才会生效。
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# %matplotlib inline

import torch
from IPython.display import display
from torch import nn
from torch.nn.utils import prune
from torch.utils.data import DataLoader, TensorDataset

from coursekit import plots
from coursekit.data import load_dataset, make_loaders
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
    gradual_prune,
    magnitude_prune,
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
from coursekit.train import evaluate
from coursekit.widgets import sparsity_explorer

torch.manual_seed(0)
splits = load_dataset("digits", seed=0)
loaders = make_loaders(splits, batch_size=64, seed=0)
calibration = DataLoader(splits.train, batch_size=128)  # 固定的几批训练数据，用来重新估计 BatchNorm 统计量
finetune_loader = make_loaders(splits, batch_size=128, seed=0).train  # 批更大：在 CPU 上每个 epoch 更快
teacher = pretrained("teacher")


def test_accuracy(model):
    return evaluate(model, loaders.test).accuracy


def recalibrated(model):
    """Re-estimate BatchNorm's running statistics on a few training batches (section 3 explains why)."""
    return recalibrate_batchnorm(model, calibration, batches=CALIBRATION_BATCHES)  # 与交互控件所用的批数相同


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
    k = round(sparsity * weight.numel())  # 要置零的权重个数
    mask = torch.ones(weight.numel())
    mask[torch.topk(weight.abs().flatten(), k, largest=False).indices] = 0.0  # |w| 最小的 k 个
    return mask.view(weight.shape)


layer = clone_model(teacher).features[3]  # 在新副本上操作：教师模型本身保持稠密
ours = magnitude_mask(layer.weight.detach(), 0.6)
prune.l1_unstructured(layer, "weight", amount=0.6)
assert torch.equal(ours, layer.weight_mask)
assert torch.equal(layer.weight, layer.weight_orig * layer.weight_mask)
print(f"our mask == prune.l1_unstructured's mask: {torch.equal(ours, layer.weight_mask)}; "
      f"sparsity {sparsity(layer.weight):.1%}")
print("after pruning the layer holds:", [name for name, _ in layer.named_parameters()], "+",
      [name for name, _ in layer.named_buffers()])

# %% [markdown]
# `torch.nn.utils.prune` 其实什么也没有删除：它把参数改名为 `weight_orig`，把掩码存成缓冲区 (buffer) `weight_mask`，并注册一个前向预钩子 (forward pre-hook)，**在每次调用之前**计算 `weight = weight_orig * weight_mask`。请记住这个钩子：第 10 节的结果要靠它来解释。`coursekit.prune`（`magnitude_prune`、`random_prune` 等）建立在同一套机制之上，所以下面的一切都可以用同样的方式检查。

# %% [markdown]
# ## 3. 幅值剪枝与随机剪枝——以及 BatchNorm 带来的意外
#
# 按幅值剪枝是个好标准吗？基准 (baseline) 是随机剪掉同样数量的权重。我们用两种方法把每一层都剪掉 70%，然后测量测试准确率。

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
assert results["magnitude"][1] > results["random"][1] + 0.2  # 幅值剪枝明显胜出
assert results["magnitude"][1] > results["magnitude"][0] + 0.2  # 而且 BatchNorm 需要新的统计量

# %% [markdown]
# 先看第一列：连幅值剪枝似乎都把网络毁了。其实并没有。教师模型用了 **BatchNorm**，它用*训练时保存下来的*均值和方差来归一化每个通道。剪枝改变了每一层的输出，这些保存的统计量就不再对了，而且误差会一层一层地累积。重新估计这些统计量——在训练数据上做几次不求梯度的前向传播，不改动任何权重（`recalibrate_batchnorm`）——准确率就回来了（第二列）。从现在起，每个剪过的模型在评估之前都会先更新统计量。
#
# 解决了这个问题之后，幅值剪枝远远好于随机剪枝：小权重确实没那么重要。

# %% [markdown]
# ## 4. 逐层还是全局？
#
# *逐层 (layer-wise)* 剪枝让每一层的稀疏度都相同。*全局 (global)* 剪枝把所有层的所有权重放在一起排序，只用一个阈值，于是每一层最终的稀疏度各不相同。我们还在一系列稀疏度上试了随机剪枝和*结构化*剪枝（剪掉整个通道，见第 9 节）：每个点都是教师模型的一份新副本，只剪一次，重新估计 BatchNorm 统计量，不做微调。

# %%
sweep = sparsity_sweep(teacher, lambda m: test_accuracy(recalibrated(m)), [0.5, 0.7, 0.8, 0.9, 0.95])
print(sweep)
at = {method: dict(zip(sweep.sparsities, values)) for method, values in sweep.metrics.items()}
assert at["magnitude (global)"][0.9] > at["magnitude (layer)"][0.9]
assert all(at["magnitude (layer)"][s] > at["random"][s] for s in (0.5, 0.7, 0.8))
print(f"at 90%: global {at['magnitude (global)'][0.9]:.2%} vs layer-wise {at['magnitude (layer)'][0.9]:.2%}")
collapse = {method: next((s for s in sweep.sparsities if at[method][s] < 0.5), float("inf")) for method in at}
print("first swept sparsity with test accuracy below 50%:",
      ", ".join(f"{method} {s:.0%}" if s < 1 else f"{method} none" for method, s in collapse.items()))
assert max(collapse["random"], collapse["structured"]) < collapse["magnitude (layer)"] < collapse["magnitude (global)"]

global90 = sparsity_report(magnitude_prune(clone_model(teacher), 0.9, scope="global"))
per_layer = global90.as_dict()
assert per_layer["features.0"] < 0.5 < 0.95 < per_layer["features.17"]
global90

# %% [markdown]
# 上表显示了全局剪枝把零放在了哪里：后面那几个大卷积层几乎被剪光，而第一个卷积层（只有几百个权重，但每张图片都要经过它）保留了大部分权重。同样的总体稀疏度下，逐层剪枝对第一层下手和对最大的层一样狠——所以在两种幅值剪枝中，它在扫描里先崩溃（见表格上方打印的那一行）。随机剪枝和结构化剪枝崩溃得还要早：随机剪枝不看幅值，结构化剪枝则一次剪掉整个通道。

# %% [markdown]
# ## 5. 自己动手探索
#
# 拖动滑块、切换方法（需要在 JupyterLab 中运行内核，控件才能工作）。每次改动都会在教师模型的一份新副本上剪枝，教师模型本身从不会被修改。控件和本笔记本一样，用同样 `CALIBRATION_BATCHES` 批训练数据重新估计 BatchNorm 统计量，所以同一个设置显示的准确率与第 4 节的表格一致；取消勾选“re-estimate BatchNorm statistics”（重新估计 BatchNorm 统计量），就能再次看到第 3 节中的崩溃。控件下方的静态图汇总了第 4 节的扫描结果，方便没有运行内核的读者阅读。

# %%
display(sparsity_explorer(teacher, loaders.test, calibration_loader=calibration, sparsity=0.9))
plots.accuracy_vs_sparsity(sweep, title="one-shot pruning, BatchNorm re-estimated, no fine-tuning")

# %% [markdown]
# ## 6. 敏感度扫描 → 自适应方案
#
# 全局幅值剪枝只根据权重的大小来决定每层的稀疏度。我们也可以直接问网络：**每次只剪一层**，剪到若干个稀疏度，测量验证损失 (validation loss) 上升了多少（用的是验证集，而不是我们报告结果的测试集）。这里用损失而不用准确率，是因为验证集很小，准确率只能以一张图片为单位跳动。
#
# `sensitivity_scan` 接收一个*越高越好*的分数，报告每一层相对未剪枝模型的*下降量*：`scan.drops(layer)` = 剪枝前的分数 − 剪枝后的分数。损失是越低越好，所以我们传给它的是**负的**损失：这样下降量就等于剪枝后的损失 − 剪枝前的损失，也就是剪枝*增加*的验证损失。这个值可能是负的——剪掉一个稳健的层（并重新估计 BatchNorm 统计量）之后，验证损失有时会略微下降，在这么小的验证集上这多半只是噪声——`adaptive_plan` 会把这种“收益”记为零。

# %%
scan = sensitivity_scan(teacher, lambda m: -evaluate(recalibrated(m), loaders.val).loss,
                        [0.5, 0.8, 0.9, 0.95, 0.98])
at_98 = {name: scan.drops(name)[-1] for name in scan.layers}  # 98% 稀疏度时验证损失的增加量
most, least = max(at_98, key=at_98.get), min(at_98, key=at_98.get)
print(f"at 98% alone: {most} adds {at_98[most]:.3f} to the validation loss, {least} adds {at_98[least]:.3f}")
assert at_98[most] > 10 * max(at_98[least], 0.01)
plots.sensitivity_curves(scan, ylabel="validation loss added")

# %% [markdown]
# 有些层剪到 98% 也若无其事；另一些层早早就垮了（上面打印的那一行给出了两个极端）。`adaptive_plan` 把扫描结果转换成每层的稀疏度，使总体稀疏度达到目标：从什么都不剪开始，每一步都选择“每剪掉一个权重、损失增加最少”的那一步。我们在相同的总体稀疏度下，把它与均匀（逐层）方案和全局幅值剪枝进行比较，都是一次性剪枝，不做微调。

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
assert all(abs(sparsity(m) - target) < 0.005 for m in candidates.values())
assert plan_accuracy["adaptive (scan)"] > plan_accuracy["uniform"] + 0.1
assert plan.sparsities["features.0"] < target and plan.sparsities["classifier.8"] < target
assert max(plan.sparsities.values()) > target
plots.sparsity_bars({name: sparsity_report(m).as_dict() for name, m in candidates.items()},
                    title=f"per-layer sparsity of three plans at {target:.0%} overall")

# %% [markdown]
# 零的数量相同，*放在哪里*决定了准确率。自适应方案放过了那些小而敏感的层（第一个卷积层、分类器的输出层），把大而稳健的层几乎剪光。这个*方案*假设多层剪枝造成的损害可以简单相加（它把扫描中各层单独剪枝的结果加起来）；实际上并不完全如此（同时剪所有层，损害会叠加放大），所以这个方案是一个有依据的猜测，还需要像上面那样去验证。

# %% [markdown]
# ## 7. 微调找回剩下的准确率
#
# 剪枝之后，保持掩码不变、做几个 epoch 的普通训练，剩下的权重就能弥补损失。掩码在每次前向传播时都会重新应用，而 `weight_orig` 中被剪掉的位置梯度为零，所以零始终是零。`finetuner` 封装了 `coursekit.train.fit`（本课程唯一的训练循环），并在训练之后重新估计 BatchNorm 统计量。
#
# `finetuner(loader, epochs=…, lr=…, seed=…)` 本身并不训练任何东西：它返回一个函数 `finetune(model, step)`。`gradual_prune`（第 8 节）要的正是这种形式的函数，它在每个剪枝步骤之后都会调用一次，并传入步骤编号 1、2、……。这里只有一个剪枝步骤，所以我们自己用 `step=1` 调用这个函数；这次训练的随机种子是 `seed + step`。微调也是训练，结果取决于随机种子：所以我们跑三个种子，并且把测试损失也记下来。

# %%
final_sparsity, budget = 0.95, 2  # budget：微调的 epoch 数，下面每种调度都相同
SEEDS = (0, 1, 2)
one_shot = {}
for seed in SEEDS:
    model = magnitude_prune(clone_model(teacher), final_sparsity, scope="global")
    before = test_accuracy(recalibrated(model))
    finetune = finetuner(finetune_loader, epochs=budget, lr=1.5e-3, seed=seed)  # 得到的是一个函数，而不是训练结果
    finetune(model, 1)  # 第 1 步：就地训练 `budget` 个 epoch
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
assert sparsity(pruned95) >= 0.9
assert after.min() > one_shot[SEEDS[0]]["after pruning"] + 0.1  # 微调找回了很大一部分准确率

# %% [markdown]
# 微调之后离稠密教师模型有多近，取决于随机种子，也取决于机器：请看打印出的差距，并把它与各种子之间的波动、以及一张测试图片对应的准确率比较。在任何机器上都成立的，是从“刚剪完”到“微调之后”的那一大步提升（代码单元格会检查这一点）。

# %% [markdown]
# ## 8. 渐进还是一次性？
#
# Zhu & Gupta (2017) 的做法是*渐进地*剪枝：稀疏度沿着一条三次曲线分步上升，每步之间进行训练，让网络在失去权重的同时逐步适应。第 `t = 1 … n` 步之后的目标是 `final + (initial − final) · (1 − t/n)³`——开始时步子大，结束时步子小。我们给渐进式剪枝与上面一次性剪枝完全相同的预算：分 `budget` 步，每步之后微调一个 epoch；对比一次剪到位、再微调 `budget` 个 epoch。两者使用相同的随机种子，并用两个指标来比较：测试准确率，它以一张图片为单位跳动；以及测试损失，它是连续的，能区分准确率分不开的结果。只有当两者均值之差超过各种子间较大的那个标准差（对准确率而言，至少还要超过一张测试图片）时，才算某种调度在这个指标上领先：这是种子不多时的经验法则，并不是显著性检验。

# %%
gradual = {}
for seed in SEEDS:
    model = clone_model(teacher)
    history = gradual_prune(model, final_sparsity, steps=budget, scope="global",
                            finetune=finetuner(finetune_loader, epochs=1, lr=1.5e-3, seed=seed),
                            evaluate_fn=test_accuracy)
    gradual[seed] = {"history": history, "after fine-tuning": history.metrics[-1],
                     "test loss": evaluate(model, loaders.test).loss}
print(gradual[SEEDS[0]]["history"])
one_image = 1 / len(splits.test)  # 测试准确率能体现的最小变化


def compare(measure, label, higher_is_better, floor=0.0, fmt=".4f", scale=1.0):
    """Mean ± std over seeds for both schedules, and who is ahead by more than the noise.

    The noise is the larger standard deviation over seeds, but never less than `floor` (for
    accuracy: one test image, since two results closer than that cannot be told apart).
    """
    one = torch.tensor([r[measure] for r in one_shot.values()], dtype=torch.float64) * scale
    grad = torch.tensor([r[measure] for r in gradual.values()], dtype=torch.float64) * scale
    diff, std = (grad.mean() - one.mean()).item(), max(one.std().item(), grad.std().item())
    noise = max(std, floor * scale)
    ahead = "within noise" if abs(diff) <= noise else "gradual" if (diff > 0) == higher_is_better else "one-shot"
    noise_text = f"std over seeds {std:{fmt}}" + (f", raised to one test image, {noise:{fmt}}" if noise > std else "")
    print(f"{label:17s} one-shot {one.mean():{fmt}} ± {one.std():{fmt}}   gradual {grad.mean():{fmt}} ± "
          f"{grad.std():{fmt}}   difference {diff:+{fmt}} ({noise_text}) → {ahead}")
    return ahead


print(f"mean ± std over {len(SEEDS)} seeds; accuracy in points (%), one test image = {100 * one_image:.2f} points")
ahead = {"accuracy": compare("after fine-tuning", "test accuracy (%)", True, floor=one_image, fmt=".2f", scale=100),
         "loss": compare("test loss", "test loss", False)}
if ahead["accuracy"] == ahead["loss"] == "within noise":
    schedule_verdict = "no winner at this budget: both differences are within the noise"
elif ahead["accuracy"] == ahead["loss"]:
    schedule_verdict = f"{ahead['loss']} is ahead on both measures, by more than the noise"
else:
    schedule_verdict = (f"the measures disagree (accuracy: {ahead['accuracy']}, loss: {ahead['loss']}): "
                        f"no clear winner at this budget")
print("verdict:", schedule_verdict)
assert all(abs(r["history"].achieved[-1] - final_sparsity) < 0.005 for r in gradual.values())
assert min(r["after fine-tuning"] for r in gradual.values()) > one_shot[SEEDS[0]]["after pruning"] + 0.1
plots.gradual_vs_one_shot(gradual[SEEDS[0]]["history"], {"sparsity": final_sparsity, **one_shot[SEEDS[0]]},
                          dense=dense_accuracy)

# %% [markdown]
# 请看你这次运行打印出的结论：这个对比能支持的只有这一个结论，换一台机器或换几个种子，它可能就不一样。不管结论是什么，都请注意渐进式剪枝在预算这么短时吃的亏：只有 `budget` 步时，它的最后一步本身就剪掉了一大截（比较历史记录里的两个目标值），之后只有一个 epoch 来恢复；而一次性剪枝把全部预算都花在最终稀疏度上。两种调度都找回了剪枝损失的大部分准确率（代码单元格只检查这一点）。渐进式剪枝是为“很多小步、每步之间都有训练”而设计的——Zhu & Gupta 在数千个训练步中每隔几百步剪一次，从而以很小的损失达到很高的稀疏度。初始代码用的是线性调度 (`np.linspace`)；三次多项式调度则趁冗余还多的时候先迈大步。要记住的是：先在**相同**的微调预算下、用多个随机种子、看不止一个指标来比较不同的调度，再去相信哪一个更好。

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
assert dead == structured.features[0].out_channels // 2
before = test_accuracy(recalibrated(structured))
finetuner(finetune_loader, epochs=1, lr=1.5e-3)(structured, 1)
structured_accuracy = test_accuracy(structured)
print(f"50% of channels pruned: accuracy {before:.2%} right after pruning → {structured_accuracy:.2%} after "
      f"1 epoch (dense {dense_accuracy:.2%}); weight sparsity {sparsity(structured):.1%}")

# %% [markdown]
# 模型仍然保留着每一个通道，只是其中一半被乘以零。`remove_channels` 会构建一个新的、实实在在更小的网络：每个输出为零的通道都被删除，连同它在 BatchNorm 中的条目以及下一层对应的输入通道。它必须计算出相同的函数——我们在真实图片上做了检查，两个模型都处于 eval 模式（在训练模式下，BatchNorm 会用当前这批数据自己的统计量来归一化）。

# %%
x64 = splits.test[:64][0]  # (64, 1, 8, 8)
small = remove_channels(structured, example_input=x64).eval()
structured.eval()
assert torch.allclose(small(x64), structured(x64), atol=1e-5)
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
assert 3 < params_ratio < 4 and 3 < flops_ratio < 4

# %% [markdown]
# 只剪掉了一半通道，为什么参数和运算量少了将近 4 倍，而不是 2 倍？卷积的权重形状是 `out × in × k × k`，剪掉某一层一半的输出通道，也就同时剪掉了下一层一半的输入通道。中间的每一层两头各少一半：权重和乘法都只剩 ½ · ½ = ¼。第一个卷积层（输入是图片）和输出层（输出是各个类别）只有一头变少，所以这个比值最终略低于 4。

# %% [markdown]
# ## 10. 掩码能让模型变快吗？测一测。
#
# 我们在相同的输入上，以批大小 1 和 64、线程数 1 和 2，测量四个模型的延迟：稠密的教师模型；仍以掩码形式保存的 50% 通道剪枝模型；删除了这些通道的同一个模型；以及第 7 节那个 95% 非结构化剪枝的模型，它的掩码已经折叠进权重（`remove_pruning`：普通权重，其中 95% 为零）。各模型轮流计时，共测若干轮。
#
# 和第 00 课一样，关于比值的结论只有超出噪声范围才算数。除了所有轮次合起来的中位数，表中还给出了各轮结果所允许的加速比范围（稠密模型最慢的一轮 / 该模型最快的一轮，以及反过来）。另外，我们把稠密教师模型当作另一个模型再计时一次，记作“dense (again)”：它和稠密模型完全相同，所以它的加速比偏离 1× 多少，就全是噪声。只有当一个模型的整个范围都落在这个对照的范围之外时，才算它比稠密模型快（或慢）。

# %%
speed = compare_speed({
    "dense": teacher,
    "dense (again)": teacher,  # 对照组：与基准完全相同
    "50% ch. masked": structured,
    "50% ch. removed": small,
    "95% zeros": remove_pruning(clone_model(pruned95)),
}, x64, batch_sizes=(1, 64), threads=(1, 2), runs=6, rounds=3)
print(speed)


def speed_claim(row):
    """Faster or slower than dense only when the row's range lies beyond the control's."""
    control = speed.row("dense (again)", row.batch_size, row.threads)
    return {"above": "faster than dense", "below": "slower than dense",
            "within noise": "same speed as dense, within the noise"}[row.judge(1.0, control)]


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
# 一张表里有三个教训：
#
# - **掩码带不来加速。** 带掩码的模型在同样数量的通道上运行同样的稠密卷积，而且它的前向预钩子在每次调用时都要为每一层重新计算 `weight_orig * weight_mask`：稠密模型的工作它一样不少，还要再乘一遍掩码，所以除了噪声之外，它不可能更快。它在批大小 1 时的那几行最能看出钩子的开销：一张 8×8 的图片运算量很小，每次重新计算全部带掩码的权重这笔固定开销，就占了每次调用的很大一部分。初始代码的评估器计时的恰恰就是这个模型，然后把这个比值当成了“加速比”。
# - **零也带不来加速**，至少对稠密计算核 (dense kernel) 而言如此：稠密模型做的每一次乘法，95% 稀疏的模型一次也不少，乘零也照算（乘零和乘任何别的数一样费时），所以它最多只能和稠密模型一样快。要把非结构化稀疏变成速度，需要稀疏计算核（通常还需要高得多的稀疏度或硬件支持）。
# - **删除通道才能加速。** 三者之中，只有更小的网络真正减少了运算，所以也只有它可能更快；至于在这台机器上是否更快、快了多少，请看它打印出的结论。再把它的加速比和最后一行打印的 FLOPs 比值对照一下：出于第 00 课讲过的原因——每次调用的固定开销和内存访问并不会随着运算量同步减少——加速比不一定跟得上 FLOPs 比值。

# %% [markdown]
# ## 11. 磁盘占用
#
# 每种形式存下来要占多少空间？`size_on_disk` 用四种方式保存一个模型：原样保存的 `state_dict`；`remove_pruning` 之后（掩码折叠进权重，零仍然以普通的 float32 零存储）；用 zlib 压缩后的同一个文件；以及一种稀疏编码（每个权重用一个比特表示“是否非零”，再加上所有非零值）。

# %%
sizes = {"dense teacher": size_on_disk(teacher), "95% unstructured": size_on_disk(pruned95),
         "50% ch. removed": size_on_disk(small)}
kib = 1024
print(f"{'':18s} {'state_dict':>11s} {'remove_pruning':>15s} {'zlib':>9s} {'sparse':>9s}   (KiB)")
for name, sz in sizes.items():
    print(f"{name:18s} {sz.state_dict_bytes / kib:>11.0f} {sz.dense_bytes / kib:>15.0f} "
          f"{sz.zlib_bytes / kib:>9.0f} {sz.sparse_bytes / kib:>9.0f}")
p95 = sizes["95% unstructured"]
assert p95.state_dict_bytes > 1.9 * p95.dense_bytes  # weight_orig + weight_mask：权重存了两份
assert p95.sparse_bytes < p95.zlib_bytes < p95.dense_bytes
assert abs(p95.dense_bytes - sizes["dense teacher"].dense_bytes) < 0.01 * p95.dense_bytes
restored = TeacherNet(in_channels=1).eval()
restored.load_state_dict(from_sparse_state_dict(to_sparse_state_dict(pruned95)))
assert torch.equal(restored(x64), pruned95.eval()(x64))  # 稀疏格式的文件没有丢失任何信息
print(f"95% unstructured: saving with masks costs {p95.state_dict_bytes / p95.dense_bytes:.1f}× the dense file; "
      f"the sparse encoding is {p95.dense_bytes / p95.sparse_bytes:.1f}× smaller than the dense file, "
      f"zlib {p95.dense_bytes / p95.zlib_bytes:.1f}×")

# %% [markdown]
# 一个随手保存的剪枝检查点 (checkpoint) 反而是原来的*两倍*大（`weight_orig` 和浮点掩码都被存了下来）。`remove_pruning` 之后，它与稠密模型大小完全相同：零仍然是 4 字节的浮点数。只有跳过零的编码方式——通用压缩器或专门的稀疏格式——才能把稀疏度变成节省下来的字节，而稀疏格式的索引开销（这里是每个权重一个比特）决定了它最多能省多少。删除了通道的模型则根本不需要任何特殊格式。

# %% [markdown]
# ## 12. 初始代码的评估器错在哪里
#
# 初始代码中的 `PruningManager` 和 `PrunedModelEvaluator`（见本课开头）看上去很合理。下面的代码单元格逐一展示了它的缺陷：第 1、2、5 条用的是本课的模型，第 3、4 条则用它当时用的值重新运行它自己的表达式。
#
# 1. 它在 `model.parameters()` 上统计稀疏度，而用 `torch.nn.utils.prune` 剪枝之后，这里返回的是原封不动的 `weight_orig`——于是一个剪掉了大部分权重的模型，统计出来几乎没有零；
# 2. 它拿带掩码的模型和稠密模型比较计时，并把这个比值叫作加速比（第 10 节：掩码从原理上就不会让任何东西变快）；
# 3. 它的计时代码对默认的 `device='cuda'`（一个字符串）调用 `self.device.type`：直接崩溃；
# 4. 它的渐进式剪枝没有记录 `'sparsity'` 这个键，所以进度图（`entry.get('sparsity', 0)`）把每次渐进式剪枝都画成 0；
# 5. 它在随机噪声和随机标签上训练和评估，所以它打印的每一个准确率都毫无意义——而且它从未重新估计 BatchNorm 统计量（第 3 节）。

# %%
params_all = list(pruned95.parameters())
naive_count = 1 - sum(int((p != 0).sum()) for p in params_all) / sum(p.numel() for p in params_all)
print(f"1. the seed code's count on the 95%-pruned model: {naive_count:.2%} sparse; the real sparsity: "
      f"{sparsity(pruned95):.2%}")
assert naive_count < 0.05 < 0.9 < sparsity(pruned95)
masked = speed.row("50% ch. masked", 64, 1)
print(f"2. masked vs dense, batch 64, 1 thread: {masked.speedup:.2f}× the dense speed "
      f"({masked.speedup_low:.2f}–{masked.speedup_high:.2f}×: {speed_claim(masked)}), which it called a speed-up")
try:
    device = "cuda"  # 评估器的默认值
    device.type
except AttributeError as error:
    print(f"3. {type(error).__name__}: {error}")
seed_code_history = [{"method": "gradual", "steps": 10, "final_sparsity": 0.8}]
print(f"4. the seed code's plot reads sparsity {seed_code_history[0].get('sparsity', 0)} for a run that reached "
      f"{seed_code_history[0]['final_sparsity']:.0%}; gradual_prune records every step:",
      [f"{a:.0%}" for a in gradual[SEEDS[0]]["history"].achieved])
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
#
# ## 小结
#
# - 幅值剪枝之所以有效，是因为训练好的权重大多很小；随机剪枝是它必须超越的基准。对于带 BatchNorm 的网络，剪枝后要先重新估计统计量，再评判它的好坏。
# - 全局阈值和基于敏感度的方案会把零放在伤害最小的地方；在两种幅值剪枝中，均匀的逐层剪枝最先崩溃（随机剪枝和结构化剪枝崩溃得更早）。保持掩码不变进行微调，可以找回剩下的大部分准确率。
# - 渐进式（三次多项式）剪枝是为“很多小步、每步之间都有训练”而设计的；在预算短且相同时，它的最后一步剪掉了一大截，却没有多少时间恢复。比较调度时要用相同的预算、多个随机种子、不止一个指标，并以你这次运行打印出的结论为准。
# - 掩码和零本身既不带来速度，也不节省字节。只有删除通道才真正减少了运算；它能换来多少速度必须实测（第 10 节打印了这台机器上的结果，而且它不一定跟得上 FLOPs 比值）。稀疏或压缩格式才能真正节省字节。
#
# **本课对应的清单项：** U2（掌握不同剪枝策略的特点和适用场景）、U3（理解压缩率与性能保持之间的权衡）、T2（结构化与非结构化剪枝）、T3（渐进式与自适应剪枝）、T4（正确地评估和对比不同压缩方法的效果）。
#
# **下一步：** 练习 `exercises/zh/02_pruning.py`（从零写“保留最大权重”的掩码和全局阈值、三次多项式调度、正确统计稀疏度、删除“卷积 → BatchNorm → 卷积”模块中被剪掉的通道）。
