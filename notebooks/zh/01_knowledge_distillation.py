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
# # 01 · 知识蒸馏 (Knowledge distillation)
# *让小网络向大网络的“软答案”学习。*
#
# 一个训练好的分类器知道的，远不止它给出的那个最高分答案。问它一张手写的 3，它同时也在告诉你：这张图有几分像
# 2、几分像 8、几分像 9。**知识蒸馏**（Hinton、Vinyals 和 Dean，2015）就是让一个小的**学生模型 (student)**
# 去模仿大的**教师模型 (teacher)** 这些被“软化”过的答案，以此代替（或补充）单纯的硬标签。
#
# 在本课中你将：
#
# 1. 用**温度 (temperature)** 软化 softmax，并从一个真实教师模型的输出里读出“暗知识 (dark knowledge)”；
# 2. 亲手写出蒸馏损失，弄清 KL 散度的方向，并理解它*为什么*要乘以 T²；
# 3. 比较教师与学生（大小、FLOPs、延迟），并让同一个学生分别从零训练和通过蒸馏训练——初始权重完全相同，
#    并在多个随机种子 (seed) 上重复；
# 4. 找出蒸馏明显有用的场景：标签很少的时候，以及 Hinton 等人的“缺失类别”实验；
# 5. 扫描 T 和 α，并复现几个经典 bug，看看它们各自给出的错误数字。
#
# 所有实验都在真实的手写数字（8×8 图像）上、用 CPU 运行。教师模型就是第 00 课的 `TeacherNet`，直接从缓存加载：
# 本课从不重新训练它。

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # 必须在导入 torch 之前设置：空闲的 OpenMP 线程不能忙等
# %matplotlib inline
import copy
import math

import torch
import torch.nn.functional as F
from IPython.display import display
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from coursekit import plots
from coursekit.data import load_dataset, make_loaders
from coursekit.distill import (
    MLPStudent,
    add_class_bias,
    best_class_bias,
    class_accuracy,
    compare_seeds,
    compute_logits,
    distill,
    kd_loss,
    soft_targets,
    split_labels,
    without_class,
)
from coursekit.metrics import measure_latency, profile_model
from coursekit.models import StudentNet
from coursekit.pretrained import pretrained
from coursekit.train import evaluate, fit
from coursekit.widgets import temperature_explorer

splits = load_dataset("digits")
loaders = make_loaders(splits, batch_size=64, seed=0)
teacher = pretrained("teacher")  # 第 00 课的 TeacherNet，从缓存加载（评估模式）
teacher_test = evaluate(teacher, loaders.test)
print(splits)
print(f"teacher: {teacher_test.accuracy:.2%} test accuracy on {teacher_test.n} images")

# %% [markdown]
# ## 1. 带温度的 softmax
#
# 分类器为每个类别输出一个数，称为 **logits**，记作 $z$。softmax 把它们变成概率；softmax 之前先把 logits
# 除以**温度** $T$：
#
# $$p_i(T) = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}$$
#
# $T = 1$ 就是普通的 softmax。$T$ 越大，logits 之间的差距被压得越小，分布就越平坦；$T \to \infty$ 时趋于均匀分布，
# $T \to 0$ 时则把全部概率放在最大的那个 logit 上。无论 $T$ 取多少，各类别的大小顺序都不会改变。
#
# 先自己写一遍（减去最大的 logit 在数学上不改变结果，但能防止 `exp` 溢出），再和
# `coursekit.distill.soft_targets` 对照。

# %%
def softmax_with_temperature(logits: torch.Tensor, T: float) -> torch.Tensor:
    z = logits / T
    z = z - z.max(dim=-1, keepdim=True).values  # 分布不变，exp 不会溢出
    e = z.exp()
    return e / e.sum(dim=-1, keepdim=True)


z = 8 * torch.randn(6, 10)  # 较大的 logits，就像一个自信的网络给出的那样
for T in (0.5, 1.0, 4.0, 20.0):
    assert torch.allclose(softmax_with_temperature(z, T), soft_targets(z, T), atol=1e-6)
print("✓ softmax_with_temperature matches coursekit.distill.soft_targets")

# %% [markdown]
# ### 一个真实教师的答案，软化之后
#
# 下面是教师模型对测试集中第一张“3”的输出。在 $T = 1$ 时它几乎就是一个 one-hot 向量：其他类别的概率虽然存在，
# 但小得根本看不见。把温度调高，它们就显现出来了。

# %%
test_images, test_labels = splits.test.tensors
index = int((test_labels == 3).nonzero()[0])
image = test_images[index]
logits = compute_logits(teacher, image[None])[0]  # (10,)
for T in (1, 4, 8):
    p = soft_targets(logits, T)
    next_classes = p.topk(4).indices.tolist()[1:]
    print(f"T = {T}: p(3) = {p[3]:.4f}, next: " + ", ".join(f"{c} ({p[c]:.4f})" for c in next_classes))

# %% [markdown]
# 拖动滑块，看看温度如何重塑这个分布（空心描边的柱子是一个未经训练的学生对同一张图的回答；滑块下方那一行给出
# 两者之间的软损失 (soft loss) 及其梯度的大小，第 2 节会解释这两个量）。滑块下方的静态图把五个温度并排展示，
# 供不运行内核、直接阅读笔记本时参考。

# %%
torch.manual_seed(0)
untrained = StudentNet(num_classes=10, in_channels=1).eval()
with torch.no_grad():
    untrained_logits = untrained(image[None])[0]
display(temperature_explorer(logits, untrained_logits, image=image, true_class=3))
plots.temperature_panels(logits, [1, 2, 4, 8, 16], image=image, true_class=3)  # 同样的内容，画成静态图

# %% [markdown]
# ### 暗知识
#
# Hinton 等人把错误类别上的那些小概率称为**暗知识 (dark knowledge)**：它们不是噪声，而是教师学到的一种
# 相似性结构。对每个数字的全部训练图像取平均，教师给哪个错误类别的评分最高？

# %%
train_images, train_labels = splits.train.tensors
train_logits = compute_logits(teacher, splits.train)  # 只算一次：后面所有实验都复用它
wrong_mass = {}
for T in (1, 4, 8):
    p = soft_targets(train_logits, T)
    wrong_mass[T] = 1 - p[torch.arange(len(p)), train_labels].mean().item()
    print(f"T = {T}: on average {wrong_mass[T]:.2%} of the probability goes to wrong classes")
wrong = train_logits.clone()
wrong[torch.arange(len(wrong)), train_labels] = -math.inf
second = wrong.argmax(1)  # 每张图像的第二名：与 T 无关（T 不改变顺序）
p4 = soft_targets(train_logits, 4)
runner_up, share = [], []
for c in range(10):
    counts = torch.bincount(second[train_labels == c], minlength=10)
    runner_up.append(int(counts.argmax()))
    share.append(counts.max().item() / counts.sum().item())
    print(f"digit {c}: runner-up {runner_up[c]} on {share[c]:.0%} of its images "
          f"(mean probability at T = 4: {p4[train_labels == c, runner_up[c]].mean():.2%})")
assert wrong_mass[1] < 0.01 < wrong_mass[4] < wrong_mass[8]
assert min(share) > 3 / 9  # 远高于随机挑选第二名时的九分之一
mean_soft = torch.stack([p4[train_labels == c].mean(0) for c in range(10)])  # （真实数字，类别）
mean_soft = mean_soft.masked_fill(torch.eye(10, dtype=torch.bool), math.nan)  # 隐去正确答案（对角线）
plots.value_heatmap((100 * mean_soft).tolist(), list(range(10)), list(range(10)), row_title="true digit",
                    col_title="class", title="teacher's mean probability at T = 4 (%), diagonal hidden",
                    fmt="{:.1f}")

# %% [markdown]
# 在 $T = 1$ 时（第一行），错误类别几乎分不到任何概率：用这样的目标训练，和直接用标签训练没有区别。到了
# $T = 4$ 和 $8$，它们分到了实实在在的一份，而且这不是噪声：对每个数字来说，都有一个“第二名”被相当大比例的
# 图像共享（如果第二名是随机挑的，只会有九分之一的图像共享它），热力图里平均概率呈现的也是同样的规律。
# 下面的图把每个数字的平均图像放在上方、它的“第二名”的平均图像放在下方：每一对都有共同的笔画（一个圈、一道竖线、
# 右侧的一段弧线），而这正是教师的特征所响应的东西。一个学会了“这个 3 有点像 2”的学生，学到的是关于形状的知识，
# 这是单凭标签“3”永远学不到的。

# %%
mean_image = torch.stack([train_images[train_labels == c].mean(0) for c in range(10)])
plots.image_pairs([(mean_image[c], mean_image[runner_up[c]], f"{c} → {runner_up[c]}") for c in range(10)],
                  title="each digit's mean image (top) and its runner-up's (bottom)")

# %% [markdown]
# ## 2. 蒸馏损失
#
# 记教师软化后的分布为 $p = \mathrm{softmax}(v/T)$，学生的为 $q = \mathrm{softmax}(z/T)$（$v$ 是教师的 logits，
# $z$ 是学生的 logits）：
#
# $$\mathcal{L} = \alpha \cdot \underbrace{\mathrm{CE}(z, y)}_{\text{hard: true labels, } T=1}
#   + (1-\alpha) \cdot \underbrace{T^2 \, \mathrm{KL}(p \,\|\, q)}_{\text{soft: the teacher}}$$
#
# 前一项是**硬损失 (hard loss)**，用真实标签、温度为 1；后一项是**软损失 (soft loss)**，目标是教师的**软目标
# (soft targets)**。
#
# **KL 的方向。** $\mathrm{KL}(p\|q) = \sum_i p_i \log(p_i / q_i)$ 用*教师*的概率，给教师与学生概率之比的对数加权：教师是目标，
# 正如 one-hot 标签是交叉熵的目标一样（事实上，$\mathrm{KL}(p\|q)$ 就等于以 $p$ 为软目标的交叉熵减去教师分布的熵，
# 而后者是常数）。PyTorch 的 `F.kl_div(input, target)` 计算的是 $\mathrm{KL}(\text{target} \,\|\, \text{input})$，
# 并且要求 `input` 是**对数**概率：
# `F.kl_div(F.log_softmax(z / T, 1), F.softmax(v / T, 1), reduction="batchmean")`。
# `reduction="batchmean"` 先对类别求和、再除以批大小，得到的正是每个样本的 KL；`"mean"` 则还会再除以类别数。
#
# 先自己写出这个损失，再和 `coursekit.distill.kd_loss` 对照：

# %%
def my_kd_loss(student_logits, teacher_logits, targets, T=4.0, alpha=0.3):
    hard = F.cross_entropy(student_logits, targets)
    log_q = F.log_softmax(student_logits / T, dim=1)  # 学生：对数概率
    p = F.softmax(teacher_logits / T, dim=1)  # 教师：概率（目标）
    soft = F.kl_div(log_q, p, reduction="batchmean") * T**2
    return alpha * hard + (1 - alpha) * soft, hard, soft


zs, zt, y = torch.randn(32, 10), 5 * torch.randn(32, 10), torch.randint(0, 10, (32,))
for T, alpha in [(1.0, 0.5), (4.0, 0.3), (10.0, 0.0)]:
    mine, reference = my_kd_loss(zs, zt, y, T, alpha), kd_loss(zs, zt, y, temperature=T, alpha=alpha)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(mine, reference))
print("✓ my_kd_loss matches coursekit.distill.kd_loss:", kd_loss(zs, zt, y))

# %% [markdown]
# ### 为什么要乘 T²
#
# 软损失项对学生 logits 的梯度很简洁：
#
# $$\frac{\partial\, \mathrm{KL}(p\|q)}{\partial z_i} = \frac{1}{T}\,(q_i - p_i)$$
#
# （$1/T$ 来自对 $z/T$ 使用链式法则。）当 $T$ 远大于 logits 之间的差值时，$e^{z_i/T} \approx 1 + z_i/T$。在 $N$ 个
# 类别、logits *已中心化*（每个样本的 logits 在各类别上均值为零；softmax 对同一样本的所有 logits 整体平移不敏感，所以
# 这样做不失一般性）的情况下，$q_i \approx \frac{1}{N}\left(1 + \frac{z_i}{T}\right)$，$p_i$ 同理，因此
#
# $$\frac{\partial\, \mathrm{KL}}{\partial z_i} \approx \frac{1}{N T^2}\,(z_i - v_i).$$
#
# 软损失的梯度按 $1/T^2$ 缩小，而硬损失的梯度与 $T$ 无关。如果不加修正，调高 $T$ 就等于悄悄把教师的声音调小，
# $\alpha$ 也就不再是它字面上的意思了。把软损失乘以 $T^2$ 正好抵消这一点：它的梯度变成
# $T\,(q_i - p_i) \approx (z_i - v_i)/N$，在任何温度下尺度都相同（在极限情况下，蒸馏就是把学生的 logits
# 回归到教师的 logits 上，只差每个样本各自的一个平移，而 softmax 本来就不区分这种平移）。下面用一个未训练的学生和教师在一批真实图像上做数值验证：

# %%
xb, yb = next(iter(loaders.val))  # 一批验证图像
with torch.no_grad():
    teacher_val = teacher(xb)
    student_val = untrained(xb)
span = (teacher_val.max(1).values - teacher_val.min(1).values).mean().item()
print(f"the teacher's logits span {span:.1f} units per image on average (largest minus smallest)")
temperatures = [1, 2, 4, 8, 16, 32, 64, 128]
with_t2, without_t2 = [], []
for T in temperatures:
    z = student_val.clone().requires_grad_(True)
    soft = kd_loss(z, teacher_val, yb, temperature=T, alpha=0.0).soft  # 已包含 T²
    (grad,) = torch.autograd.grad(soft, z)
    with_t2.append(grad.norm().item())
    without_t2.append(grad.norm().item() / T**2)
    print(f"T = {T:>2}: gradient norm with T² {with_t2[-1]:8.4f}   without T² {without_t2[-1]:.6f}")
slope_without = math.log2(without_t2[-1] / without_t2[-2])  # T 每翻一倍的变化，从 64 到 128
slope_with = math.log2(with_t2[-1] / with_t2[-2])
print(f"from T = 64 to 128 the gradient changes by 2^{slope_without:.2f} without T² and 2^{slope_with:.2f} with it")
print(f"over T = 1 to 128: the gradient varies by a factor {max(with_t2) / min(with_t2):.1f} with T², "
      f"{max(without_t2) / min(without_t2):,.0f} without")
assert -2.2 < slope_without < -1.8 and abs(slope_with) < 0.2
assert max(with_t2) / min(with_t2) < 10 < 1000 < max(without_t2) / min(without_t2)
plots.gradient_scale_plot(temperatures, {"with T² (kd_loss)": with_t2, "without T²": without_t2})

# %% [markdown]
# 在双对数坐标图上，不乘 $T^2$ 的曲线在 $T$ 较大时以斜率 −2 下降，与推导一致；乘了 $T^2$ 的曲线则趋于平稳。
# 这个近似要求 $T$ 远大于 logits 的跨度（上面已打印），所以只有在最高的几个温度下曲线才到达极限；在此之前，
# 乘 $T^2$ 的版本只在一个很小的倍数内变化，而另一条曲线则下降了好几个数量级（两个倍数都已在上面打印）。
#
# ## 3. 教师与学生
#
# 沿用第 00 课的测量规则：参数量、磁盘大小、每张图像的 FLOPs，以及延迟——先预热，再取多次运行的中位数和第 90
# 百分位数 (p90)，并注明线程数和批大小。除了 `StudentNet`，这里还有第二个、更小的学生：`MLPStudent`，一个
# 64-300-100-10 的全连接网络：隐藏层与 LeNet-300-100（LeCun 等人，1998）相同，输入换成我们的 64 个像素。
# （Hinton 等人在 MNIST 上的学生网络更大：两个 800 单元的隐藏层，教师则是 1200-1200 的网络。）

# %%
example = test_images[:1]  # 一张图像，批大小为 1
torch.manual_seed(0)
mlp = MLPStudent()
models = {"teacher": teacher, "StudentNet": untrained, "MLPStudent": mlp}
profiles = {name: profile_model(m, example, name=name) for name, m in models.items()}
latency = {name: measure_latency(m, example, warmup=20, runs=100, threads=1) for name, m in models.items()}
for name in models:
    prof, lat = profiles[name], latency[name]
    print(f"{name:>10}: {prof.parameters:>9,} parameters, {prof.size_bytes / 1024:7.1f} KiB, "
          f"{prof.flops:>10,} FLOPs/image, latency median {lat.median_ms:.3f} ms (p90 {lat.p90_ms:.3f} ms)")
print(f"(latency: batch size 1, {latency['teacher'].threads} thread, after {latency['teacher'].warmup} warm-up runs)")
for name in ("StudentNet", "MLPStudent"):
    print(f"{name} vs teacher: {profiles['teacher'].parameters / profiles[name].parameters:.1f}× fewer parameters, "
          f"{profiles['teacher'].flops / profiles[name].flops:.0f}× fewer FLOPs, "
          f"{latency['teacher'].median_ms / latency[name].median_ms:.1f}× faster")
plots.bar_compare({
    "parameters": {n: p.parameters for n, p in profiles.items()},
    "FLOPs per image": {n: p.flops for n, p in profiles.items()},
    "latency, batch 1 (ms)": {n: latency[n].median_ms for n in models},
}, log=True)

# %% [markdown]
# FLOPs 和延迟不一定一致：FLOPs 只计算算术运算，而每次调用还要付出固定开销（Python 本身、逐层调度）和内存访问
# 的代价，对这么小的网络、批大小为 1 时，这些开销占了很大比重（见第 00 课）。本课余下部分要回答的问题是：这些学生
# 能保住教师多少准确率？
#
# ## 4. 从零训练 vs 蒸馏：同一个学生，同一个起点
#
# 公平的比较只改变一件事。对每个种子，我们创建一个 `StudentNet` 并原样保留；它的一份副本用标签训练（交叉熵，
# 第一个单元格），另一份副本用蒸馏训练（$T = 4$，$\alpha = 0.3$，第二个单元格，并在训练前检查这份副本的权重与
# 从零训练那次的初始权重完全相同），两者的数据顺序、优化器、学习率和训练轮数都相同。
# 训练数据没有做数据增强，所以 `distill` 只计算一次教师的 logits；这里我们甚至直接传入前面算好的 logits，
# 于是所有种子总共只需要运行教师一次。

# %%
SEEDS = (0, 1, 2)
EPOCHS, LR = 8, 3e-3
starts = {}  # 种子 -> 初始的 StudentNet，从不训练：两次训练都从它的副本出发
scratch_start = {}  # 种子 -> 从零训练那次在开始训练前的权重
results = {"scratch": [], "distilled": []}
for seed in SEEDS:
    torch.manual_seed(seed)
    starts[seed] = StudentNet(num_classes=10, in_channels=1)
    scratch = copy.deepcopy(starts[seed])
    scratch_start[seed] = copy.deepcopy(scratch.state_dict())
    fit(scratch, make_loaders(splits, batch_size=64, seed=seed).train, epochs=EPOCHS, lr=LR, seed=seed,
        progress=False)
    results["scratch"].append(evaluate(scratch, loaders.test).accuracy)
    print(f"seed {seed}: from scratch, test accuracy {results['scratch'][-1]:.2%}")

# %%
results["distilled"] = []  # 这样重新运行本单元格时，不会接在上一次的结果后面
for seed in SEEDS:
    distilled = copy.deepcopy(starts[seed])
    same_start = all(torch.equal(v, scratch_start[seed][k]) for k, v in distilled.state_dict().items())
    assert same_start
    history = distill(distilled, teacher, make_loaders(splits, batch_size=64, seed=seed).train, loaders.val,
                      epochs=EPOCHS, lr=LR, temperature=4.0, alpha=0.3, seed=seed, teacher_logits=train_logits,
                      progress=False)
    results["distilled"].append(evaluate(distilled, loaders.test).accuracy)
    print(f"seed {seed}: same initial weights as the scratch run: {same_start}; distilled, test accuracy "
          f"{results['distilled'][-1]:.2%}")
print("last run, per epoch: hard", [f"{v:.3f}" for v in history.components["hard"]],
      "soft", [f"{v:.3f}" for v in history.components["soft"]])

def verdict(comparison, baseline: str, treated: str) -> str:
    """An honest sentence about a SeedComparison of accuracies."""
    diff, spread = 100 * comparison.difference, 100 * comparison.spread
    text = (f"{treated}: {100 * comparison.treated_mean:.2f} ± {100 * comparison.treated_std:.2f} %, "
            f"{baseline}: {100 * comparison.baseline_mean:.2f} ± {100 * comparison.baseline_std:.2f} % "
            f"(mean ± std over {comparison.seeds} seeds). ")
    if comparison.exceeds_spread:
        return text + (f"The difference, {diff:+.2f} points, is larger than the spread over seeds "
                       f"({spread:.2f} points): {treated} {'wins' if diff > 0 else 'loses'}.")
    return text + (f"The difference, {diff:+.2f} points, is within the spread over seeds ({spread:.2f} "
                   f"points): with these seeds we cannot tell the two apart.")


main_comparison = compare_seeds(results["scratch"], results["distilled"])
print(verdict(main_comparison, "scratch", "distilled"))
assert main_comparison.baseline_mean > 0.9  # 从零训练的学生自己就已经不错
plots.seed_strip(results, title="StudentNet, all labels")

# %% [markdown]
# 在下结论之前，先读一读上面打印的那句话（其中 “is larger than the spread over seeds” 意为差别超出了种子间的波动，
# “is within the spread” 意为差别在波动范围之内，“cannot tell the two apart” 即无法区分两者）。当所有训练标签都可用时，这个学生自己就能认对绝大多数数字，留给教师
# 补充的空间不大；剩下的那一点差别能否超出不同种子之间的波动，正是那句话要告诉你的。还要注意，单单一个种子就能让
# 结果变化多少：只跑一次不能算证据。如果蒸馏的学生并没有领先，原因多半有两个：差别本来就在波动范围之内；而且
# 八轮是很短的训练（上面逐轮打印的损失可以看出，停止时它是否还在进步）。
#
# ## 5. 蒸馏明显有用的地方
#
# 蒸馏让学生从每张图像中获得更多信息：一个完整的分布，而不只是一个标签。当学生缺的恰恰是标签时，这一点最为重要。
# 下面的两个实验都使用训练很快的 `MLPStudent`，这样我们可以负担更多的种子。
#
# ### 更小的学生，全部标签
#
# 先用 MLP 重复第 4 节的比较：两者初始权重相同（每次运行都从 `torch.manual_seed(seed)` 开始），共五个种子；
# 所用的蒸馏设置由单元格打印出来。

# %%
MLP = dict(batch_size=256, epochs=30, lr=1e-2)  # 每轮 5 个批次：一次很短的训练


def mlp_loader(dataset, seed):
    """Shuffled batches, each fetched with one indexing operation: this MLP is so small that fetching
    the images one by one (what a plain DataLoader does) would take longer than training on them."""
    generator = torch.Generator().manual_seed(seed)
    batches = BatchSampler(RandomSampler(dataset, generator=generator), MLP["batch_size"], drop_last=False)
    return DataLoader(dataset, batch_size=None, sampler=batches, generator=generator)


KD = dict(temperature=4.0, alpha=0.3)  # 本节的蒸馏设置（除非某个单元格另有说明）


def train_mlp(dataset, seed, *, teacher_logits=None, epochs=MLP["epochs"], **kd):
    """A fresh MLPStudent (initial weights from ``seed``) trained from scratch or, given teacher logits, distilled."""
    torch.manual_seed(seed)
    model = MLPStudent()
    if teacher_logits is None:
        fit(model, mlp_loader(dataset, seed), epochs=epochs, lr=MLP["lr"], seed=seed, progress=False)
    else:
        distill(model, teacher, mlp_loader(dataset, seed), epochs=epochs, lr=MLP["lr"], seed=seed,
                teacher_logits=teacher_logits, progress=False, **{**KD, **kd})
    return model


MLP_SEEDS = (0, 1, 2, 3, 4)
small = {"scratch": [], "distilled": []}
for seed in MLP_SEEDS:
    small["scratch"].append(evaluate(train_mlp(splits.train, seed), loaders.test).accuracy)
    small["distilled"].append(evaluate(train_mlp(splits.train, seed, teacher_logits=train_logits), loaders.test).accuracy)
small_comparison = compare_seeds(small["scratch"], small["distilled"])
print(f"MLPStudent, all labels, distilled with T = {KD['temperature']:g}, α = {KD['alpha']:g}:")
print(verdict(small_comparison, "scratch", "distilled"))

# %% [markdown]
# ### 标签很少的时候
#
# 现在假设只有 **10% 的训练图像带标签**（每个数字的比例相同），但可以就所有图像去询问教师。蒸馏的学生只在有标签
# 的图像上计算硬损失，在所有图像上计算软损失：`split_labels` 返回带 `labelled` 掩码的训练集（被隐藏的标签设为 −1，
# 因此不可能泄漏），`distill` 再把这个掩码传给 `kd_loss`。对照组是同一个学生只用有标签的图像训练，并给它相同的
# 优化步数。
#
# 需要坦白说明一点：我们的教师是用*全部*标签训练的，所以在这里它扮演的是一个“在别处训练好的教师”（用另一个带标签
# 的数据集训练，或者是一个大型预训练模型）。这个实验衡量的是：学生在无标签图像上向这样一个教师请教，能得到多少好处。

# %%
few = split_labels(splits.train, 0.10, seed=0)
print(few)
steps_ratio = len(mlp_loader(few.mixed, 0)) // len(mlp_loader(few.labelled, 0))  # 每轮的批次数之比
few_results = {"labels only": [], "distilled": []}
for seed in MLP_SEEDS:
    alone = train_mlp(few.labelled, seed, epochs=MLP["epochs"] * steps_ratio)  # 相同的优化步数
    taught = train_mlp(few.mixed, seed, teacher_logits=train_logits)
    few_results["labels only"].append(evaluate(alone, loaders.test).accuracy)
    few_results["distilled"].append(evaluate(taught, loaders.test).accuracy)
few_comparison = compare_seeds(few_results["labels only"], few_results["distilled"])
print(verdict(few_comparison, "labels only", "distilled"))
gap = 100 * (few_comparison.treated_mean - small_comparison.baseline_mean)
print(f"distilled with 10% of the labels: {100 * few_comparison.treated_mean:.2f} %, the same MLP from scratch with "
      f"every label: {100 * small_comparison.baseline_mean:.2f} %: {abs(gap):.2f} points {'above' if gap > 0 else 'below'} it")
assert few_comparison.exceeds_spread and few_comparison.difference > 0
assert gap > -1  # 最多比使用全部标签的 MLP 低一个百分点
plots.seed_strip({**{f"all labels, {k}": v for k, v in small.items()}, **{f"10% labels, {k}": v for k, v in few_results.items()}},
                 title="MLPStudent")

# %% [markdown]
# 只有十分之一的标签时，只用标签训练的学生明显落后。再把蒸馏的学生与用全部标签从零训练的 MLP 比一比（最后打印的
# 那一行，以及图中第一列）：教师在无标签图像上给出的目标，承载了缺失的标签本该提供的大部分信息，甚至更多。
#
# ### 缺失的类别（Hinton 等人论文第 3 节）
#
# Hinton 等人把一个 MNIST 网络蒸馏到一个更小的网络中，所用的迁移集 (transfer set) 里**所有的 3 都被删掉了**。
# 学生从没见过 3，但其他数字的软目标还是向它透露了一点关于 3 的信息（比如一个“有点像 3”的 8）。它本来就已经认对了
# 大部分测试集中的 3（1,010 个 3 中错了 133 个），而这些错误大多来自类别 3 的偏置 (bias) 太低：只把这一个偏置调高
# 3.5，就让它认对了 98.6% 的 3。
#
# 我们做同样的实验：用删掉所有 3 的训练图像蒸馏 MLP，统计它认对了多少测试集中的 3；然后把类别 3 的输出偏置调高，
# 调高的幅度选在使**验证集**准确率最高的位置（论文是在测试集上调的；我们把测试集留给最终统计）。较高的温度
# （$T = 8$）会放大其他数字上“3”的那点小概率——这是迁移集中关于 3 仅存的线索。不过，在所有迁移图像上
# 取的平均值本身说明不了多少（$T = 8$ 时每个错误类别都能分到一份），所以单元格还按真实数字把它拆开，并与同一批图像
# 上一个错误类别的平均概率相比。

# %%
transfer = without_class(splits.train, 3)
transfer_logits = compute_logits(teacher, transfer)
transfer_labels = transfer.tensors[1]
for T in (1, 8):
    print(f"T = {T}: the teacher gives class 3 on average {soft_targets(transfer_logits, T)[:, 3].mean():.4%} "
          f"of its probability on the {len(transfer)} transfer images")
p8 = soft_targets(transfer_logits, 8)
wrong_avg = (1 - p8[torch.arange(len(p8)), transfer_labels]) / 9  # 每张图像上：一个错误类别的平均概率
ratio_3 = {c: (p8[transfer_labels == c, 3].mean() / wrong_avg[transfer_labels == c].mean()).item()
           for c in transfer_labels.unique().tolist()}
order = sorted(ratio_3, key=ratio_3.get, reverse=True)
print("T = 8, p(3) divided by the average wrong-class probability, by true digit: "
      + ", ".join(f"{c}: {ratio_3[c]:.1f}×" for c in order))
assert ratio_3[order[0]] > 1.5 * ratio_3[order[-1]]  # 有些数字明显比另一些更像 3
PAPER_3S = 0.986  # Hinton 等人 (2015)，MNIST，偏置修正后认对的 3 的比例
amounts = [0.25 * i for i in range(81)]  # 候选的偏置增量，0 到 20
threes = {"before": [], "after": [], "bias": [], "overall": []}
for seed in MLP_SEEDS:
    student = train_mlp(transfer, seed, teacher_logits=transfer_logits, temperature=8.0, alpha=0.3)
    threes["before"].append(class_accuracy(student, loaders.test, 3))
    bias, _ = best_class_bias(student, loaders.val, 3, amounts)  # 在验证集上选定
    add_class_bias(student, 3, bias)
    threes["after"].append(class_accuracy(student, loaders.test, 3))
    threes["bias"].append(bias)
    threes["overall"].append(evaluate(student, loaders.test).accuracy)
n3 = int((test_labels == 3).sum())
fix = compare_seeds(threes["before"], threes["after"])
n_val3 = sum(int((batch[1] == 3).sum()) for batch in loaders.val)
print(f"test 3s correct ({n3} images), mean ± std over {len(MLP_SEEDS)} seeds:")
print(f"  before the bias fix: {fix.baseline_mean:.1%} ± {fix.baseline_std:.1%}")
print(f"  after raising the class-3 bias by {min(threes['bias']):g} to {max(threes['bias']):g} (chosen on the "
      f"{n_val3} validation 3s): {fix.treated_mean:.1%} ± {fix.treated_std:.1%}   (paper, MNIST: {PAPER_3S:.1%})")
print(f"  overall test accuracy after the fix: {sum(threes['overall']) / len(threes['overall']):.2%}")
assert fix.baseline_mean < 0.05 and 0.5 < fix.treated_mean

# %% [markdown]
# 按数字拆开后，真正的信号就出现了：排在打印列表前面的数字给类别 3 的概率高于一个错误类别的平均水平（它们有点像 3），
# 排在后面的则明显更低。
#
# 修正之前，我们的学生几乎从不回答“3”（而论文中的学生在修正前就已认对大部分 3）：教师非常自信、迁移集又小，
# 把学生拉向“3”的力量很弱；而且硬损失（权重 $\alpha$ = 0.3，所用标签里没有一个 3）在每张图像上都把 3 的 logit
# 往下压。这就是偏置需要调高这么多的原因（见上面的打印）。只改动一个数之后，它就认出了大部分从未见过的 3：这些知识其实一直都在学生那里，是通过
# 教师在其他数字上给出的小概率传过来的。我们认对的 3 仍然比论文少：论文的迁移集有数万张 28×28 的图像，而我们只有
# 上面统计的这些 8×8 图像，偏置也只是在验证集里寥寥几个 3 上调出来的。
#
# ## 6. T × α 扫描
#
# 蒸馏对它的两个旋钮有多敏感？每个格子跑一次少标签实验（种子 0）：这只是一张粗略的图，小于第 4、5 节中种子间
# 波动的差别都应视为噪声。

# %%
SWEEP_T = [1, 4, 16]
SWEEP_ALPHA = [0.0, 0.5, 1.0]
grid = [[evaluate(train_mlp(few.mixed, 0, teacher_logits=train_logits, temperature=T, alpha=a), loaders.test).accuracy
         for a in SWEEP_ALPHA] for T in SWEEP_T]
best_T, best_alpha = max(((T, a) for T in SWEEP_T for a in SWEEP_ALPHA),
                         key=lambda ta: grid[SWEEP_T.index(ta[0])][SWEEP_ALPHA.index(ta[1])])
best = grid[SWEEP_T.index(best_T)][SWEEP_ALPHA.index(best_alpha)]
alpha1 = [row[-1] for row in grid]
with_teacher = [acc for row in grid for acc in row[:-1]]
best_t1 = max(grid[0][:-1])
best_higher_t = max(acc for row in grid[1:] for acc in row[:-1])
print(f"best cell: T = {best_T}, α = {best_alpha}: {best:.2%}")
print(f"α = 1 (labels only, teacher ignored): {alpha1[0]:.2%} at every T: {len(set(alpha1)) == 1}")
print(f"α < 1 (teacher used): {min(with_teacher):.2%} to {max(with_teacher):.2%}; "
      f"best at T = 1 (almost one-hot targets): {best_t1:.2%}, {100 * (best - best_t1):.2f} points below the best cell")
higher = 100 * (best_higher_t - best_t1)
print(f"best at T > 1 minus best at T = 1: {higher:+.2f} points, "
      + ("within" if abs(higher) <= 100 * few_comparison.spread else "larger than")
      + f" the spread over seeds of the few-labels experiment ({100 * few_comparison.spread:.2f} points)")
assert len(set(alpha1)) == 1  # α = 1 时软损失的权重为 0：T 不可能有影响
assert min(with_teacher) > alpha1[0] + 0.04 and max(with_teacher) - min(with_teacher) < 0.03
plots.value_heatmap(grid, SWEEP_T, SWEEP_ALPHA, row_title="temperature T", col_title="α (weight of the hard loss)",
                    title="MLPStudent, 10% labels: test accuracy")

# %% [markdown]
# 最后一列（$\alpha = 1$）完全忽略教师，所以在所有温度下结果都一样：这是一个内置的自检。所有用到教师的格子
# 都远高于它，而且彼此落在一个很窄的区间内（上面已打印）。再看 $T = 1$ 那一行：这时教师的目标几乎是 one-hot 的
# （第 1 节），几乎不含暗知识，却已经接近最好的格子。在少标签的场景下，大部分收益来自教师*给无标签图像打上了标签*；
# 较高温度下的暗知识能否在此基础上再带来可测量的提升，要看最后打印的那一行（每格只有一个种子：“within” 即在波动
# 范围之内，意味着分辨不出来）。而在标签齐全的场景下（第 4、5 节），暗知识就是教师能提供的全部了。
#
# ## 7. 经典 bug，以及它们给出的错误数字
#
# 下面每个 bug 运行时都不会报错，这正是它们危险的地方。每个 bug 只用一两行代码展示，并与正确的值并列，使用的是
# 验证集这一批图像和第 4 节蒸馏出来的 StudentNet（即该单元格留下的 `distilled`，最后一个种子的那个）。

# %%
T = 4.0
with torch.no_grad():
    zs = distilled(xb)  # 学生的 logits（第 4 节最后一个种子）
right = kd_loss(zs, teacher_val, yb, temperature=T).soft.item()
log_q, p = F.log_softmax(zs / T, dim=1), F.softmax(teacher_val / T, dim=1)

no_t2 = F.kl_div(log_q, p, reduction="batchmean").item()  # 1. 忘了乘 T²
probs_in = (F.kl_div(log_q.exp(), p, reduction="batchmean") * T**2).item()  # 2. 把概率当作 kl_div 的输入
reverse = (F.kl_div(F.log_softmax(teacher_val / T, dim=1), log_q.exp(), reduction="batchmean") * T**2).item()  # 3. KL 方向反了
mean_red = (F.kl_div(log_q, p, reduction="mean") * T**2).item()  # 4. 'mean' 还会除以类别数
print(f"right soft loss (T = {T:g}):              {right:9.4f}")
print(f"1. without T²:                         {no_t2:9.4f}  ({right / no_t2:.0f}× too small, and so are its gradients)")
print(f"2. probabilities instead of log-probs: {probs_in:9.4f}  (negative: not a KL at all)")
print(f"3. reversed KL, KL(student ‖ teacher):  {reverse:9.4f}  (a different quantity, weighted by the student)")
print(f"4. reduction='mean':                   {mean_red:9.4f}  ({right / mean_red:.0f}× too small: divided by the "
      f"{zs.shape[1]} classes)")
assert math.isclose(right / no_t2, T**2, rel_tol=1e-4) and math.isclose(right / mean_red, zs.shape[1], rel_tol=1e-4)
assert probs_in < 0 and not math.isclose(reverse, right, rel_tol=0.05)

# bug 2 奖励的是什么：学生完全照抄教师，还是把全部概率放在教师的最高类别上？
one_hot = F.one_hot(p.argmax(1), p.shape[1]).float()
copy_loss, top_loss = (F.kl_div(q, p, reduction="batchmean").item() for q in (p, one_hot))
print(f"   bug 2 scores a perfect copy of the teacher {copy_loss:.4f}, a one-hot answer on its top class "
      f"{top_loss:.4f}: lower, so training with it prefers the one-hot answer")
assert top_loss < copy_loss

# %%
T = 4.0
loose = copy.deepcopy(teacher).train()  # 5. 教师停留在训练模式（用副本演示：否则教师会被永久改变）
stats_before = {k: v.clone() for k, v in loose.state_dict().items() if "running" in k}
with torch.no_grad():
    noisy_a, noisy_b = loose(xb), loose(xb)
stats_moved = any(not torch.equal(v, loose.state_dict()[k]) for k, v in stats_before.items())
acc_train_mode = (noisy_a.argmax(1) == yb).float().mean().item()
acc_eval_mode = (teacher_val.argmax(1) == yb).float().mean().item()
drift = F.kl_div(F.log_softmax(noisy_b / T, 1), F.softmax(noisy_a / T, 1), reduction="batchmean").item()
print(f"5. teacher in train mode: accuracy {acc_train_mode:.1%} (eval mode: {acc_eval_mode:.1%}); two calls on "
      f"the same images differ by KL = {drift:.4f}: the targets change every time")
print(f"   and its BatchNorm running statistics changed: {stats_moved}")
assert drift > 0 and not torch.equal(noisy_a, noisy_b) and stats_moved

cached = compute_logits(teacher, splits.train)  # 数据集中的顺序
shuffled = make_loaders(splits, batch_size=64, seed=0).train
agree_wrong = agree_right = 0
for k, (x, y) in enumerate(shuffled):  # 6. logits 按数据集顺序缓存，却按打乱后的顺序取用
    agree_wrong += (cached[k * 64:(k + 1) * 64].argmax(1) == y).sum().item()
    with torch.no_grad():
        agree_right += (teacher(x).argmax(1) == y).sum().item()
n = len(splits.train)
print(f"6. cached logits paired with a shuffled loader: the 'teacher' agrees with the label on "
      f"{agree_wrong / n:.1%} of images (chance: 10%); correctly paired: {agree_right / n:.1%}")
assert agree_wrong / n < 0.3 < 0.9 < agree_right / n

# %% [markdown]
# 1. **漏乘 T²**：软损失及其梯度小了 $T^2$ 倍（第 2 节）；$\alpha$ 不再能平衡两项损失。
# 2. **传入概率而不是对数概率**：`kl_div` 假定它的输入已经取过对数。传入学生的概率 $q$，算出来的是
#    $\sum_i p_i(\log p_i - q_i) = -H(p) - \sum_i p_i q_i$，它永远是负数。训练照样会把它当目标去最小化，且不报任何错；
#    而最小化它就是最大化 $\sum_i p_i q_i$，当学生把全部概率放在教师的最高类别上时它最大（最后打印的那一行）：学生被推向
#    硬标签，暗知识就丢掉了。
# 3. **KL 方向反了**：$\mathrm{KL}(q\|p)$ 用*学生*的概率给对数比加权，于是学生几乎不给概率的类别，不管教师给它多少，
#    都几乎不计入损失：学生不会被要求再现教师的那些小概率。它的数值和梯度都与正确的损失不同（见上面的打印）。
# 4. **`reduction="mean"`** 同时对批和类别求平均，损失因此被除以了类别数；`"batchmean"` 给出的才是每个样本的 KL。
#    （PyTorch 会对这一个发出警告。）
# 5. **教师处于训练模式**：`TeacherNet` 含有 dropout 和 BatchNorm，于是它的目标会带噪声，还会随批次而变；而且训练模式下
#    的每次前向计算都会更新 BatchNorm 的滑动统计量，把教师永久改变（所以上面的演示用的是一份副本）。
#    `distill` 会把教师切换到评估模式 (eval mode)，结束后再恢复原来的模式。
# 6. **缓存错位**：只计算一次教师的 logits 是个好主意（见第 8 节提到的基准测试），但它们必须*跟着*各自的图像走。
#    `distill` 把它们作为数据集的一列存储，因此打乱顺序的加载器会让每一行整体移动。
#
# ## 8. 本课程的原始文档错在哪里，又对在哪里
#
# 本课程是根据一份原始文档编写的（一份带参考代码的起始文本，和随机种子无关）。那份文档的损失函数写得是对的（`log_softmax`、`batchmean`、$T^2$），但它的演示代码是在**随机噪声和
# 随机标签**上训练教师和学生的（图像用 `torch.randn`，标签用 `torch.randint`）。那里没有任何东西可学，所以它打印出
# 的每一个准确率不是死记硬背就是碰运气。下面几行代码复现了它的设置，一看便知：

# %%
gen = torch.Generator().manual_seed(0)
noise_train = TensorDataset(torch.randn(1000, 1, 8, 8, generator=gen), torch.randint(0, 10, (1000,), generator=gen))
noise_test = TensorDataset(torch.randn(500, 1, 8, 8, generator=gen), torch.randint(0, 10, (500,), generator=gen))
torch.manual_seed(0)
memoriser = MLPStudent()
fit(memoriser, mlp_loader(noise_train, 0), epochs=60, lr=1e-2, progress=False)
noise_fit = evaluate(memoriser, DataLoader(noise_train, batch_size=500)).accuracy
noise_new = evaluate(memoriser, DataLoader(noise_test, batch_size=500)).accuracy
print(f"trained on noise: {noise_fit:.1%} 'accuracy' on its own training noise, {noise_new:.1%} on new noise (chance: 10%)")
assert noise_new < 0.2 < 0.5 < noise_fit

# %% [markdown]
# 在训练用的噪声上准确率很高，在新的噪声上却只有碰运气的水平：网络只是背下了答案。在这样的数据上比较教师和学生，
# 说明不了任何关于蒸馏的问题。这就是为什么本课程使用真实的数字、留出的测试集，以及多个随机种子。
#
# 蒸馏本身的开销也值得测量：`benchmarks/distill_cache.py` 对比了两种蒸馏方式每轮 (epoch) 的耗时——教师的 logits
# 只计算一次，或者每个批次都让教师前向计算一遍（结果见 `docs/benchmarks.md`）。
#
# ## 小结
#
# - 带温度 $T$ 的 softmax 会让分布变平坦，但不改变类别的顺序；当 $T > 1$ 时，一个自信的教师给出的那些小概率——
#   它的暗知识——就变得可见，而且是有结构的。
# - 蒸馏损失是 $\alpha\,\mathrm{CE}(z, y) + (1-\alpha)\,T^2\,\mathrm{KL}(p\|q)$：教师是 KL 的目标，`kl_div` 接收
#   学生的*对数*概率，`batchmean` 给出每个样本的 KL，$T^2$ 让软损失梯度的尺度与 $T$ 无关。
# - 在标签齐全时，我们公平地比较了蒸馏与从零训练（相同的初始权重、多个种子），并以种子间的波动为尺度作出判断，
#   结论见第 4、5 节打印的句子。
# - 当标签稀缺时，蒸馏的收益非常明显；它甚至能教会学生一个从未见过的类别（缺失类别实验，偏置修正在验证集上选定）。
# - 当数据没有做增强时，冻结的教师的 logits 只需计算一次——在评估模式下计算，并和对应的样本存放在一起。
#
# **本课对应的检查清单条目：** U1（理解知识蒸馏的原理和温度的作用）、T1（实现知识蒸馏训练框架：`kd_loss`、
# `distill`）、T4（公平地评估和比较不同方法：相同起点、多个种子、均值 ± 标准差）。
#
# **练习：** `exercises/zh/01_knowledge_distillation.py`——亲手写出软化的 softmax、蒸馏损失和一个蒸馏训练步，
# 自己验证 $T^2$ 的论证，并判断一次跨种子的比较。然后运行
# `python -m coursekit check exercises/zh/01_knowledge_distillation.py`，看看你的解答为哪些检查清单条目提供了证据。
