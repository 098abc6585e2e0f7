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
# 一个训练好的分类器知道的，远不止它给出的那个最高分答案。问它一张手写的 3，它同时也在告诉你：这张图有几分像 2、几分像 8、几分像 9。**知识蒸馏**（Hinton、Vinyals 和 Dean，2015）就是让一个小的**学生模型 (student)** 去模仿大的**教师模型 (teacher)** 这些被“软化”过的答案，以此代替（或补充）单纯的硬标签。
#
# 在本课中你将：
#
# 1. 用**温度 (temperature)** 软化 softmax，并从一个真实教师模型的输出里读出“暗知识 (dark knowledge)”；
# 2. 亲手写出蒸馏损失，弄清 KL 散度的方向，并理解它*为什么*要乘以 T²；
# 3. 比较教师与学生（大小、FLOPs、延迟），并让同一个学生分别从零训练和通过蒸馏训练——初始权重完全相同，并在多个随机种子 (seed) 上重复；
# 4. 找出蒸馏明显有用的场景：标签很少的时候，以及 Hinton 等人的“缺失类别”实验；
# 5. 扫描 T 和 α，并复现几个经典 bug，看看它们各自给出的错误数字。
#
# 所有实验都在真实的手写数字（8×8 图像）上、用 CPU 运行。教师模型就是第 00 课的 `TeacherNet`，从课程的缓存中加载：本课不会改动它。（在刚克隆下来的仓库里，第一个用到教师模型的课会先把它训练一次——在两个核心上约 15 秒，并显示进度条——然后存进 `.cache/coursekit/`；之后每次运行都能瞬间加载。）
#
# 本课中，**预测 (Predict)** 请你在运行某个单元格*之前*先给出答案，**观察与解释 (Observe and explain)** 则针对单元格打印出的结果提问；每个问题都会在几个单元格之后给出答案。请先把你的答案写下来：一个你能解释清楚的错误预测，比一个蒙对的答案教给你的更多。

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: idle OpenMP threads must not spin
# %matplotlib inline
import copy
import math

import torch
import torch.nn.functional as F
from IPython.display import display
from torch.utils.data import DataLoader, TensorDataset

from coursekit import plots
from coursekit.data import batch_loader, load_dataset, make_loaders
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
from coursekit.stats import claim, describe_reference, reference, seed_verdict
from coursekit.train import evaluate, fit
from coursekit.widgets import temperature_explorer

splits = load_dataset("digits")
loaders = make_loaders(splits, batch_size=64, seed=0)
teacher = pretrained("teacher")  # lesson 00's TeacherNet, from the cache (eval mode)
teacher_test = evaluate(teacher, loaders.test)
print(splits)
print(f"teacher: {teacher_test.accuracy:.2%} test accuracy on {teacher_test.n} images")

# %% [markdown]
# ## 1. 带温度的 softmax
#
# 分类器为每个类别输出一个数，称为 **logits**，记作 $z$。softmax 把它们变成概率；softmax 之前先把 logits 除以**温度** $T$：
#
# $$p_i(T) = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}$$
#
# $T = 1$ 就是普通的 softmax。$T$ 越大，logits 之间的差距被压得越小，分布就越平坦；$T \to \infty$ 时趋于均匀分布，$T \to 0$ 时则把全部概率放在最大的那个 logit 上。无论 $T$ 取多少，各类别的大小顺序都不会改变。
#
# 先自己写一遍（减去最大的 logit 在数学上不改变结果，但能防止 `exp` 溢出），再和 `coursekit.distill.soft_targets` 对照。

# %%
def softmax_with_temperature(logits: torch.Tensor, T: float) -> torch.Tensor:
    z = logits / T
    z = z - z.max(dim=-1, keepdim=True).values  # the same distribution, no overflow in exp
    e = z.exp()
    return e / e.sum(dim=-1, keepdim=True)


z = 8 * torch.randn(6, 10)  # large logits, like a confident network's
same = all(torch.allclose(softmax_with_temperature(z, T), soft_targets(z, T), atol=1e-6) for T in (0.5, 1.0, 4.0, 20.0))
claim(same, "softmax_with_temperature matches coursekit.distill.soft_targets",
      "softmax_with_temperature 与 coursekit.distill.soft_targets 一致");  # 末尾的分号让笔记本不再回显 claim 返回的 True

# %% [markdown]
# ### 一个真实教师的答案，软化之后
#
# 下面是教师模型对测试集中第一张“3”的输出。
#
# **预测：** 运行之前先想一想：这个教师能认对约 99% 的测试数字。在 $T = 1$ 时，对于一张清晰的 3，你觉得它会给可能性*第二大*的类别多少概率：10%、1%，还是不到 0.1%？$T = 8$ 时呢？

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
# 在 $T = 1$ 时它几乎就是一个 one-hot 向量：其他类别的概率虽然存在，但小得根本看不见（和你的预测比一比）。把温度调高，它们就显现出来了。
#
# 拖动滑块，看看温度如何重塑这个分布（空心描边的柱子是一个未经训练的学生对同一张图的回答；滑块下方那一行给出两者之间的软损失 (soft loss) 及其梯度的大小，第 2 节会解释这两个量）。滑块下方的静态图把五个温度并排展示，供不运行内核、直接阅读笔记本时参考。
#
# **滑块任务：** 找出让“第二名”类别变得可见（比如至少占 5% 的概率）的最低温度，记下来：下一个单元格之后的那个单元格会把它算出来。

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
# Hinton 等人把错误类别上的那些小概率称为**暗知识 (dark knowledge)**：它们不是噪声，而是教师学到的一种相似性结构。对每个数字的全部训练图像取平均，教师给哪个错误类别的评分最高？

# %%
train_images, train_labels = splits.train.tensors
train_logits = compute_logits(teacher, splits.train)  # computed once, reused by every experiment
wrong_mass = {}
for T in (1, 4, 8):
    p = soft_targets(train_logits, T)
    wrong_mass[T] = 1 - p[torch.arange(len(p)), train_labels].mean().item()
    print(f"T = {T}: on average {wrong_mass[T]:.2%} of the probability goes to wrong classes")
wrong = train_logits.clone()
wrong[torch.arange(len(wrong)), train_labels] = -math.inf
second = wrong.argmax(1)  # each image's runner-up: the same at every T (T keeps the order)
p4 = soft_targets(train_logits, 4)
runner_up, share = [], []
for c in range(10):
    counts = torch.bincount(second[train_labels == c], minlength=10)
    runner_up.append(int(counts.argmax()))
    share.append(counts.max().item() / counts.sum().item())
    print(f"digit {c}: runner-up {runner_up[c]} on {share[c]:.0%} of its images "
          f"(mean probability at T = 4: {p4[train_labels == c, runner_up[c]].mean():.2%})")
claim(wrong_mass[1] < 0.01 < wrong_mass[4] < wrong_mass[8],
      "the wrong classes get almost nothing at T = 1 and more as T rises",
      "T = 1 时错误类别几乎分不到概率，T 越高分到的越多")
claim(min(share) > 3 / 9, "every digit has a runner-up shared by more than a third of its images (random: 1 in 9)",
      "每个数字都有一个“第二名”被超过三分之一的图像共享（随机挑选则只有九分之一）")
runner = int(logits.topk(2).indices[1])  # the runner-up of the 3 shown above (the same at every T)
visible = [T / 10 for T in range(10, 401) if soft_targets(logits, T / 10)[runner] >= 0.05]  # T = 1.0 … 40.0
print(f"slider task: the 3 above has runner-up {runner}; it first gets at least 5% at T ≈ "
      + (f"{visible[0]:.1f}" if visible else "(not below T = 40)"))
mean_soft = torch.stack([p4[train_labels == c].mean(0) for c in range(10)])  # (true digit, class)
mean_soft = mean_soft.masked_fill(torch.eye(10, dtype=torch.bool), math.nan)  # hide the right answers
plots.value_heatmap((100 * mean_soft).tolist(), list(range(10)), list(range(10)), row_title="true digit",
                    col_title="class", title="teacher's mean probability at T = 4 (%), diagonal hidden",
                    fmt="{:.1f}")

# %% [markdown]
# 在 $T = 1$ 时（第一行），错误类别几乎分不到任何概率：用这样的目标训练，和直接用标签训练没有区别。到了 $T = 4$ 和 $8$，它们分到了实实在在的一份，而且这不是噪声：对每个数字来说，都有一个“第二名”被相当大比例的图像共享（如果第二名是随机挑的，只会有九分之一的图像共享它），热力图里平均概率呈现的也是同样的规律。下面的图把每个数字的平均图像放在上方、它的“第二名”的平均图像放在下方：每一对都有共同的笔画（一个圈、一道竖线、右侧的一段弧线），而这正是教师的特征所响应的东西。一个学会了“这个 3 有点像 2”的学生，学到的是关于形状的知识，这是单凭标签“3”永远学不到的。
#
# 你的滑块答案对吗？上面单元格打印的最后一行就是答案（“slider task: the 3 above has runner-up …; it first gets at least 5% at T ≈ …” 即：上面那张 3 的“第二名”是 …，它在 T 约为 … 时首次达到 5%）。
#
# **观察与解释：** 在打印出的列表里，找一对互为“第二名”的数字（a → b 且 b → a），再找一个数字，它的“第二名”却并不把它当作“第二名”。为什么这种关系不必是对称的？（答案在下图之后。）

# %%
mean_image = torch.stack([train_images[train_labels == c].mean(0) for c in range(10)])
plots.image_pairs([(mean_image[c], mean_image[runner_up[c]], f"{c} → {runner_up[c]}") for c in range(10)],
                  title="each digit's mean image (top) and its runner-up's (bottom)")

# %% [markdown]
# （答案：每一行是在不同的一组图像上取的平均——第 3 行是所有的 3，第 5 行是所有的 5——而每个数字都有自己最相似的邻居。一个和许多数字都有几分像的数字，会把“第二名”的概率分散到好几个类别上；而那些类别各自可能在别处有更近的邻居。）
#
# ## 2. 蒸馏损失
#
# 记教师软化后的分布为 $p = \mathrm{softmax}(v/T)$，学生的为 $q = \mathrm{softmax}(z/T)$（$v$ 是教师的 logits，$z$ 是学生的 logits）：
#
# $$\mathcal{L} = \alpha \cdot \underbrace{\mathrm{CE}(z, y)}_{\text{hard: true labels, } T=1}
#   + (1-\alpha) \cdot \underbrace{T^2 \, \mathrm{KL}(p \,\|\, q)}_{\text{soft: the teacher}}$$
#
# 前一项是**硬损失 (hard loss)**，用真实标签、温度为 1；后一项是**软损失 (soft loss)**，目标是教师的**软目标 (soft targets)**。
#
# **α 加权的是哪一项？各处说法不一。** 在本课程中（以及 `coursekit.distill.kd_loss` 里），$\alpha$ 加权的是*硬*损失，所以 $\alpha = 1$ 表示完全不用教师。PyTorch 的知识蒸馏教程以及许多论文和代码库的写法正好相反：把 $\alpha$（或 $\lambda$）放在*软*损失上。从论文或代码库里照搬 α 的取值之前，先确认它乘的是哪一项：这里的 α = 0.3 就是那边的 α = 0.7。
#
# **KL 的方向。** $\mathrm{KL}(p\|q) = \sum_i p_i \log(p_i / q_i)$ 用*教师*的概率，给教师与学生概率之比的对数加权：教师是目标，正如 one-hot 标签是交叉熵的目标一样（事实上，$\mathrm{KL}(p\|q)$ 就等于以 $p$ 为软目标的交叉熵减去教师分布的熵，而后者是常数）。PyTorch 的 `F.kl_div(input, target)` 计算的是 $\mathrm{KL}(\text{target} \,\|\, \text{input})$，并且要求 `input` 是**对数**概率：`F.kl_div(F.log_softmax(z / T, 1), F.softmax(v / T, 1), reduction="batchmean")`。`reduction="batchmean"` 先对类别求和、再除以批大小，得到的正是每个样本的 KL；`"mean"` 则还会再除以类别数。
#
# 先自己写出这个损失，再和 `coursekit.distill.kd_loss` 对照：

# %%
def my_kd_loss(student_logits, teacher_logits, targets, T=4.0, alpha=0.3):
    hard = F.cross_entropy(student_logits, targets)
    log_q = F.log_softmax(student_logits / T, dim=1)  # student: log-probabilities
    p = F.softmax(teacher_logits / T, dim=1)  # teacher: probabilities (the target)
    soft = F.kl_div(log_q, p, reduction="batchmean") * T**2
    return alpha * hard + (1 - alpha) * soft, hard, soft


zs, zt, y = torch.randn(32, 10), 5 * torch.randn(32, 10), torch.randint(0, 10, (32,))
agree = []
for T, alpha in [(1.0, 0.5), (4.0, 0.3), (10.0, 0.0)]:
    mine, ref = my_kd_loss(zs, zt, y, T, alpha), kd_loss(zs, zt, y, temperature=T, alpha=alpha)
    agree.append(all(torch.allclose(a, b, atol=1e-5) for a, b in zip(mine, ref)))
print(kd_loss(zs, zt, y))
claim(all(agree),
      "my_kd_loss matches coursekit.distill.kd_loss (T, α) = (1, 0.5), (4, 0.3), (10, 0)",
      "my_kd_loss 与 coursekit.distill.kd_loss 一致：(T, α) = (1, 0.5)、(4, 0.3)、(10, 0)");

# %% [markdown]
# ### 为什么要乘 T²
#
# 软损失项对学生 logits 的梯度很简洁：
#
# $$\frac{\partial\, \mathrm{KL}(p\|q)}{\partial z_i} = \frac{1}{T}\,(q_i - p_i)$$
#
# （$1/T$ 来自对 $z/T$ 使用链式法则。）当 $T$ 远大于 logits 之间的差值时，$e^{z_i/T} \approx 1 + z_i/T$。在 $N$ 个类别、logits *已中心化*（每个样本的 logits 在各类别上均值为零；softmax 对同一样本的所有 logits 整体平移不敏感，所以这样做不失一般性）的情况下，$q_i \approx \frac{1}{N}\left(1 + \frac{z_i}{T}\right)$，$p_i$ 同理，因此
#
# $$\frac{\partial\, \mathrm{KL}}{\partial z_i} \approx \frac{1}{N T^2}\,(z_i - v_i).$$
#
# 软损失的梯度按 $1/T^2$ 缩小，而硬损失的梯度与 $T$ 无关。如果不加修正，调高 $T$ 就等于悄悄把教师的声音调小，$\alpha$ 也就不再是它字面上的意思了。把软损失乘以 $T^2$ 正好抵消这一点：它的梯度变成 $T\,(q_i - p_i) \approx (z_i - v_i)/N$，在任何温度下尺度都相同（在极限情况下，蒸馏就是把学生的 logits 回归到教师的 logits 上，只差每个样本各自的一个平移，而 softmax 本来就不区分这种平移）。下面用一个未训练的学生和教师在一批真实图像上做数值验证。
#
# **预测：** 运行之前先想一想：不乘 $T^2$ 时，一旦 $T$ 足够大，$T$ 每翻一倍，梯度的范数应该变为原来的多少？乘了 $T^2$ 呢？

# %%
xb, yb = next(iter(loaders.val))  # a batch of validation images
with torch.no_grad():
    teacher_val = teacher(xb)
    student_val = untrained(xb)
span = (teacher_val.max(1).values - teacher_val.min(1).values).mean().item()
print(f"the teacher's logits span {span:.1f} units per image on average (largest minus smallest)")
temperatures = [1, 2, 4, 8, 16, 32, 64, 128]
with_t2, without_t2 = [], []
for T in temperatures:
    z = student_val.clone().requires_grad_(True)
    soft = kd_loss(z, teacher_val, yb, temperature=T, alpha=0.0).soft  # includes T²
    (grad,) = torch.autograd.grad(soft, z)
    with_t2.append(grad.norm().item())
    without_t2.append(grad.norm().item() / T**2)
    print(f"T = {T:>2}: gradient norm with T² {with_t2[-1]:8.4f}   without T² {without_t2[-1]:.6f}")
slope_without = math.log2(without_t2[-1] / without_t2[-2])  # per doubling of T, from 64 to 128
slope_with = math.log2(with_t2[-1] / with_t2[-2])
print(f"from T = 64 to 128 the gradient changes by 2^{slope_without:.2f} without T² and 2^{slope_with:.2f} with it")
print(f"over T = 1 to 128: the gradient varies by a factor {max(with_t2) / min(with_t2):.1f} with T², "
      f"{max(without_t2) / min(without_t2):,.0f} without")
claim(-2.2 < slope_without < -1.8 and abs(slope_with) < 0.2,
      "at large T, doubling T quarters the gradient without T² (slope −2) and leaves it unchanged with T²",
      "T 很大时，T 翻倍会让不乘 T² 的梯度变为四分之一（斜率 −2），乘 T² 的则不变")
claim(max(with_t2) / min(with_t2) < 10 < 1000 < max(without_t2) / min(without_t2),
      "with T² the gradient stays within a factor 10 over T = 1…128; without, it varies by over 1000×",
      "乘 T² 时梯度在 T = 1…128 上变化不到 10 倍；不乘时变化超过 1000 倍")
plots.gradient_scale_plot(temperatures, {"with T² (kd_loss)": with_t2, "without T²": without_t2})

# %% [markdown]
# （预测的答案：不乘 $T^2$ 时，$T$ 每翻一倍范数就变为四分之一；乘了 $T^2$ 则保持不变——但要等 $T$ 足够大才成立。）在双对数坐标图上，不乘 $T^2$ 的曲线在 $T$ 较大时以斜率 −2 下降，与推导一致；乘了 $T^2$ 的曲线则趋于平稳。这个近似要求 $T$ 远大于 logits 的跨度（上面已打印），所以只有在最高的几个温度下曲线才到达极限；在此之前，乘 $T^2$ 的版本只在一个很小的倍数内变化，而另一条曲线则下降了好几个数量级（两个倍数都已在上面打印）。
#
# ## 3. 教师与学生
#
# 沿用第 00 课的测量规则：参数量、磁盘大小、每张图像的 FLOPs，以及延迟——先预热，再取多次运行的中位数和第 90 百分位数 (p90)，并注明线程数和批大小。除了 `StudentNet`，这里还有第二个、更小的学生：`MLPStudent`，一个 64-300-100-10 的全连接网络：隐藏层与 LeNet-300-100（LeCun 等人，1998）相同，输入换成我们的 64 个像素。（Hinton 等人在 MNIST 上的学生网络更大：两个 800 单元的隐藏层，教师则是 1200-1200 的网络。）
#
# **预测：** MLP 的每个权重对每张图像只用一次，而卷积的权重要在输入的每个位置上都用一次。请按 FLOPs 和批大小为 1 时的延迟分别给三个模型排序，并猜一猜：每个学生相对教师的加速比会大于还是小于它的 FLOPs 之比？

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
# （预测的答案：见打印出的比值。MLP 的 FLOPs 少得最多，而且只调用三层，`StudentNet` 要调用十几层；加速比不一定等于 FLOPs 之比，偏大偏小都有可能。）FLOPs 和延迟不一定一致：FLOPs 只计算算术运算，而每次调用还要付出固定开销（Python 本身、逐层调度）和内存访问的代价，对这么小的网络、批大小为 1 时，这些开销占了很大比重（见第 00 课）。本课余下部分要回答的问题是：这些学生能保住教师多少准确率？
#
# ## 4. 从零训练 vs 蒸馏：同一个学生，同一个起点
#
# 公平的比较只改变一件事。对每个种子，我们创建一个 `StudentNet` 并原样保留；它的一份副本用标签训练（交叉熵，第一个单元格），另一份副本用蒸馏训练（$T = 4$，$\alpha = 0.3$，第二个单元格，并在训练前检查这份副本的权重与从零训练那次的初始权重完全相同），两者的数据顺序、优化器、学习率和训练轮数都相同。训练数据没有做数据增强，所以 `distill` 只计算一次教师的 logits；这里我们甚至直接传入前面算好的 logits，于是所有种子总共只需要运行教师一次。
#
# **预测：** 运行这两个单元格之前先想一想：在*所有*训练标签都可用时，蒸馏的学生会比从零训练的学生高出超过种子间波动的幅度吗？写下“会”或“不会”，再写一个百分点数。

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
results["distilled"] = []  # so that re-running this cell does not append to the previous run
for seed in SEEDS:
    distilled = copy.deepcopy(starts[seed])
    same_start = all(torch.equal(v, scratch_start[seed][k]) for k, v in distilled.state_dict().items())
    claim(same_start, f"seed {seed}: the distilled copy starts from the scratch run's initial weights",
          f"种子 {seed}：蒸馏的副本与从零训练的那次初始权重相同")
    history = distill(distilled, teacher, make_loaders(splits, batch_size=64, seed=seed).train, loaders.val,
                      epochs=EPOCHS, lr=LR, temperature=4.0, alpha=0.3, seed=seed, teacher_logits=train_logits,
                      progress=False)
    results["distilled"].append(evaluate(distilled, loaders.test).accuracy)
    print(f"seed {seed}: distilled, test accuracy {results['distilled'][-1]:.2%}")
print("last run, per epoch: hard", [f"{v:.3f}" for v in history.components["hard"]],
      "soft", [f"{v:.3f}" for v in history.components["soft"]])
main_comparison = compare_seeds(results["scratch"], results["distilled"])
print(seed_verdict(main_comparison, "scratch", "distilled"))
print("on our machine (benchmarks/distill_results.py):",
      describe_reference(reference("distill_results", "studentnet_all_labels")))
claim(main_comparison.baseline_mean > 0.9, "the scratch student is already above 90% on its own",
      "从零训练的学生自己就已超过 90%")
plots.seed_strip(results, title="StudentNet, all labels")

# %% [markdown]
# **观察：** 同一种方法中最好和最差的种子相差多少？和两种方法之间的差别相比呢？（答案在下面。）
#
# 在下结论之前，先读一读上面打印的那句话，再看它下面那一行：那是 `benchmarks/distill_results.py` 在课程的机器上用更多种子记录的同一个比较（各种子结果的范围，“on our machine” 即“在我们的机器上”）。上面那句话里，“is larger than the spread over seeds” 意为差别超出了种子间的波动，“is within the spread” 意为差别在波动范围之内，“cannot tell the two apart” 即无法区分两者。当所有训练标签都可用时，这个学生自己就能认对绝大多数数字，留给教师补充的空间不大；剩下的那一点差别能否超出不同种子之间的波动，正是那句话要告诉你的。还要注意，单单一个种子就能让结果变化多少：只跑一次不能算证据。如果蒸馏的学生并没有领先，原因多半有两个：差别本来就在波动范围之内；而且八轮是很短的训练（上面逐轮打印的损失可以看出，停止时它是否还在进步）。
#
# 在课程的机器上，这个比较在试过的每一组种子上都落在波动范围之内（见 docs/benchmarks.md），蒸馏的学生有时略微领先，有时略微落后。所以对你的预测，诚实的回答是“在这里测不出来”，而这又引出了本课余下部分要回答的问题：**既然在标签齐全时蒸馏帮不了这个学生，那它什么时候有用？** 第 5 节每次只改变一件事——换一个更小的学生，再减少标签，再去掉一个学生从未见过的类别——并且每次都用同样的种子间波动来衡量。
#
# ## 5. 蒸馏明显有用的地方
#
# 蒸馏让学生从每张图像中获得更多信息：一个完整的分布，而不只是一个标签。当学生缺的恰恰是标签时，这一点最为重要。下面的两个实验都使用训练很快的 `MLPStudent`，这样我们可以负担更多的种子。
#
# ### 更小的学生，全部标签
#
# 先用 MLP 重复第 4 节的比较：两者初始权重相同（每次运行都从 `torch.manual_seed(seed)` 开始），共五个种子；所用的蒸馏设置由单元格打印出来。

# %%
MLP = dict(batch_size=256, epochs=30, lr=1e-2)  # 5 batches per epoch: a short run


def mlp_loader(dataset, seed):
    """Shuffled batches, each fetched in one indexing operation (this MLP trains faster than a plain
    DataLoader could fetch images one by one)."""
    return batch_loader(dataset, MLP["batch_size"], seed=seed)


KD = dict(temperature=4.0, alpha=0.3)  # the distillation settings of this section (unless a cell says otherwise)


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
print(seed_verdict(small_comparison, "scratch", "distilled"))
print("on our machine:", describe_reference(reference("distill_results", "mlp_all_labels")))

# %% [markdown]
# ### 标签很少的时候
#
# 现在假设只有 **10% 的训练图像带标签**（每个数字的比例相同），但可以就所有图像去询问教师。蒸馏的学生只在有标签的图像上计算硬损失，在所有图像上计算软损失：`split_labels` 返回带 `labelled` 掩码的训练集（被隐藏的标签设为 −1，因此不可能泄漏），`distill` 再把这个掩码传给 `kd_loss`。对照组是同一个学生只用有标签的图像训练，并给它相同的优化步数。
#
# 需要坦白说明一点：我们的教师是用*全部*标签训练的，所以在这里它扮演的是一个“在别处训练好的教师”（用另一个带标签的数据集训练，或者是一个大型预训练模型）。这个实验衡量的是：学生在无标签图像上向这样一个教师请教，能得到多少好处。
#
# **预测：** 用全部标签从零训练的 MLP 的准确率已在上面打印。只有十分之一的标签时，只用标签训练的学生会掉多少个百分点？蒸馏的学生呢？

# %%
few = split_labels(splits.train, 0.10, seed=0)
print(few)
steps_ratio = len(mlp_loader(few.mixed, 0)) // len(mlp_loader(few.labelled, 0))  # batches per epoch
few_results = {"labels only": [], "distilled": []}
for seed in MLP_SEEDS:
    alone = train_mlp(few.labelled, seed, epochs=MLP["epochs"] * steps_ratio)  # same number of steps
    taught = train_mlp(few.mixed, seed, teacher_logits=train_logits)
    few_results["labels only"].append(evaluate(alone, loaders.test).accuracy)
    few_results["distilled"].append(evaluate(taught, loaders.test).accuracy)
few_comparison = compare_seeds(few_results["labels only"], few_results["distilled"])
print(seed_verdict(few_comparison, "labels only", "distilled"))
print("on our machine:", describe_reference(reference("distill_results", "mlp_few_labels")))
gap = 100 * (few_comparison.treated_mean - small_comparison.baseline_mean)
print(f"distilled with 10% of the labels: {100 * few_comparison.treated_mean:.2f} %, the same MLP from scratch with "
      f"every label: {100 * small_comparison.baseline_mean:.2f} %: {abs(gap):.2f} points {'above' if gap > 0 else 'below'} it")
claim(few_comparison.exceeds_spread and few_comparison.difference > 0,
      "with 10% of the labels, distillation wins by more than the spread over seeds",
      "只有 10% 的标签时，蒸馏领先的幅度超过了种子间的波动")
claim(gap > -1, "distilled with 10% of the labels: at most one point below the MLP trained on every label",
      "用 10% 标签蒸馏的学生，比用全部标签训练的 MLP 最多低一个百分点")
plots.seed_strip({**{f"all labels, {k}": v for k, v in small.items()}, **{f"10% labels, {k}": v for k, v in few_results.items()}},
                 title="MLPStudent")

# %% [markdown]
# （预测的答案：见上面那两行以及它们的 “on our machine” 参考值。）只有十分之一的标签时，只用标签训练的学生明显落后。再把蒸馏的学生与用全部标签从零训练的 MLP 比一比（最后打印的那一行，以及图中第一列）：教师在无标签图像上给出的目标，承载了缺失的标签本该提供的大部分信息，甚至更多。
#
# ### 缺失的类别（Hinton 等人论文第 3 节）
#
# Hinton 等人把一个 MNIST 网络蒸馏到一个更小的网络中，所用的迁移集 (transfer set) 里**所有的 3 都被删掉了**。学生从没见过 3，但其他数字的软目标还是向它透露了一点关于 3 的信息（比如一个“有点像 3”的 8）。它本来就已经认对了大部分测试集中的 3（1,010 个 3 中错了 133 个），而这些错误大多来自类别 3 的偏置 (bias) 太低：只把这一个偏置调高 3.5，就让它认对了 98.6% 的 3。
#
# 我们做同样的实验：用删掉所有 3 的训练图像蒸馏 MLP，统计它认对了多少测试集中的 3；然后把类别 3 的输出偏置调高，调高的幅度选在使**验证集**准确率最高的位置（论文是在测试集上调的；我们把测试集留给最终统计）。较高的温度（$T = 8$）会放大其他数字上“3”的那点小概率——这是迁移集中关于 3 仅存的线索。不过，在所有迁移图像上取的平均值本身说明不了多少（$T = 8$ 时每个错误类别都能分到一份），所以单元格还按真实数字把它拆开，并与同一批图像上一个错误类别的平均概率相比。
#
# **预测：** 一个从没见过 3 的学生要面对测试集中的 3。偏置修正之前，它能认对其中的多大比例？修正之后呢？

# %%
transfer = without_class(splits.train, 3)
transfer_logits = compute_logits(teacher, transfer)
transfer_labels = transfer.tensors[1]
for T in (1, 8):
    print(f"T = {T}: the teacher gives class 3 on average {soft_targets(transfer_logits, T)[:, 3].mean():.4%} "
          f"of its probability on the {len(transfer)} transfer images")
p8 = soft_targets(transfer_logits, 8)
wrong_avg = (1 - p8[torch.arange(len(p8)), transfer_labels]) / 9  # per image: the mean probability of a wrong class
ratio_3 = {c: (p8[transfer_labels == c, 3].mean() / wrong_avg[transfer_labels == c].mean()).item()
           for c in transfer_labels.unique().tolist()}
order = sorted(ratio_3, key=ratio_3.get, reverse=True)
print("T = 8, p(3) divided by the average wrong-class probability, by true digit: "
      + ", ".join(f"{c}: {ratio_3[c]:.1f}×" for c in order))
claim(ratio_3[order[0]] > 1.5 * ratio_3[order[-1]], "some digits look clearly more like a 3 than others do",
      "有些数字明显比另一些更像 3")
PAPER_3S = 0.986  # Hinton et al. (2015), MNIST, 3s correct after the bias fix
amounts = [0.25 * i for i in range(81)]  # candidate bias shifts, 0 to 20
threes = {"before": [], "after": [], "bias": [], "overall": []}
for seed in MLP_SEEDS:
    student = train_mlp(transfer, seed, teacher_logits=transfer_logits, temperature=8.0, alpha=0.3)
    threes["before"].append(class_accuracy(student, loaders.test, 3))
    bias, _ = best_class_bias(student, loaders.val, 3, amounts)  # chosen on validation
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
print("on our machine:", describe_reference(reference("distill_results", "omitted_class_3s")))
claim(fix.baseline_mean < 0.05 and 0.25 < fix.treated_mean,
      "before the fix the student almost never answers 3; after shifting one bias it gets over a quarter of them right",
      "修正之前学生几乎从不回答 3；只调整一个偏置之后，它认对了四分之一以上的 3");

# %% [markdown]
# 按数字拆开后，真正的信号就出现了：排在打印列表前面的数字给类别 3 的概率高于一个错误类别的平均水平（它们有点像 3），排在后面的则明显更低。
#
# 修正之前，我们的学生几乎从不回答“3”（而论文中的学生在修正前就已认对大部分 3）：教师非常自信、迁移集又小，把学生拉向“3”的力量很弱；而且硬损失（权重 $\alpha$ = 0.3，所用标签里没有一个 3）在每张图像上都把 3 的 logit 往下压。这就是偏置需要调高这么多的原因（见上面的打印）。只改动一个数之后，它就认出了相当一部分从未见过的 3（见上面的打印；具体多少随种子变化很大）：这些知识其实一直都在学生那里，是通过教师在其他数字上给出的小概率传过来的。我们认对的 3 仍然比论文少：论文的迁移集有数万张 28×28 的图像，而我们只有上面统计的这些 8×8 图像，偏置也只是在验证集里寥寥几个 3 上调出来的。
#
# ## 6. T × α 扫描
#
# 蒸馏对它的两个旋钮有多敏感？每个格子跑一次少标签实验（种子 0）：这只是一张粗略的图，小于第 4、5 节中种子间波动的差别都应视为噪声。
#
# **预测：** 运行之前先想一想：表格中有一列无论训练得怎样，每一行的数字都必然相同。是哪一列？为什么？

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
claim(len(set(alpha1)) == 1, "α = 1 gives the same accuracy at every T (the soft term has weight 0)",
      "α = 1 时每个 T 的准确率都相同（软损失的权重为 0）")
claim(min(with_teacher) > alpha1[0] + 0.04 and max(with_teacher) - min(with_teacher) < 0.03,
      "every cell that uses the teacher is over 4 points above α = 1, and they lie within 3 points of each other",
      "所有用到教师的格子都比 α = 1 高出 4 个百分点以上，彼此相差不到 3 个百分点")
plots.value_heatmap(grid, SWEEP_T, SWEEP_ALPHA, row_title="temperature T", col_title="α (weight of the hard loss)",
                    title="MLPStudent, 10% labels: test accuracy")

# %% [markdown]
# （预测的答案：）最后一列（$\alpha = 1$）完全忽略教师，所以在所有温度下结果都一样：这是一个内置的自检。所有用到教师的格子都远高于它，而且彼此落在一个很窄的区间内（上面已打印）。再看 $T = 1$ 那一行：这时教师的目标几乎是 one-hot 的（第 1 节），几乎不含暗知识，却已经接近最好的格子。在少标签的场景下，大部分收益来自教师*给无标签图像打上了标签*；较高温度下的暗知识能否在此基础上再带来可测量的提升，要看最后打印的那一行（每格只有一个种子：“within” 即在波动范围之内，意味着分辨不出来）。而在标签齐全的场景下（第 4、5 节），暗知识就是教师能提供的全部了。
#
# ## 7. 经典 bug，以及它们给出的错误数字
#
# 下面每个 bug 运行时都不会报错，这正是它们危险的地方。每个 bug 只用一两行代码展示，并与正确的值并列，使用的是验证集这一批图像和第 4 节蒸馏出来的 StudentNet（即该单元格留下的 `distilled`，最后一个种子的那个）。
#
# **预测：** 对下一个单元格中的四个损失 bug，打印出的值会偏小、偏大、为负，还是只是不同？对再下一个单元格里的两个 bug，会出什么问题？然后**观察与解释**：有两个错误值*恰好*是正确值的整数倍。是哪两个？为什么恰好是这两个倍数？（两个单元格之后的列表会回答所有这些问题。）

# %%
T = 4.0
with torch.no_grad():
    zs = distilled(xb)  # the student's logits (section 4, last seed)
right = kd_loss(zs, teacher_val, yb, temperature=T).soft.item()
log_q, p = F.log_softmax(zs / T, dim=1), F.softmax(teacher_val / T, dim=1)

no_t2 = F.kl_div(log_q, p, reduction="batchmean").item()  # 1. T² forgotten
probs_in = (F.kl_div(log_q.exp(), p, reduction="batchmean") * T**2).item()  # 2. probabilities as kl_div's input
reverse = (F.kl_div(F.log_softmax(teacher_val / T, dim=1), log_q.exp(), reduction="batchmean") * T**2).item()  # 3.
mean_red = (F.kl_div(log_q, p, reduction="mean") * T**2).item()  # 4. 'mean' divides by classes too
print(f"right soft loss (T = {T:g}):              {right:9.4f}")
print(f"1. without T²:                         {no_t2:9.4f}  ({right / no_t2:.0f}× too small, and so are its gradients)")
print(f"2. probabilities instead of log-probs: {probs_in:9.4f}  (negative: not a KL at all)")
print(f"3. reversed KL, KL(student ‖ teacher):  {reverse:9.4f}  (a different quantity, weighted by the student)")
print(f"4. reduction='mean':                   {mean_red:9.4f}  ({right / mean_red:.0f}× too small: divided by the "
      f"{zs.shape[1]} classes)")
claim(math.isclose(right / no_t2, T**2, rel_tol=1e-4) and math.isclose(right / mean_red, zs.shape[1], rel_tol=1e-4),
      "bug 1 is exactly T² too small, bug 4 exactly the number of classes too small",
      "bug 1 恰好小了 T² 倍，bug 4 恰好小了类别数那么多倍")
claim(probs_in < 0 and not math.isclose(reverse, right, rel_tol=0.05),
      "bug 2 is negative and bug 3 is a different number", "bug 2 为负数，bug 3 是另一个数")

# what bug 2 rewards: the student copying the teacher exactly, or putting everything on the teacher's top class?
one_hot = F.one_hot(p.argmax(1), p.shape[1]).float()
copy_loss, top_loss = (F.kl_div(q, p, reduction="batchmean").item() for q in (p, one_hot))
print(f"   bug 2 scores a perfect copy of the teacher {copy_loss:.4f}, a one-hot answer on its top class "
      f"{top_loss:.4f}: lower, so training with it prefers the one-hot answer")
claim(top_loss < copy_loss, "bug 2 scores a one-hot answer better than a perfect copy of the teacher",
      "bug 2 给 one-hot 答案打的分比完美复制教师还好");

# %%
T = 4.0
loose = copy.deepcopy(teacher).train()  # 5. the teacher left in train mode (on a copy: it would change for good)
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
claim(drift > 0 and not torch.equal(noisy_a, noisy_b) and stats_moved,
      "bug 5: in train mode the teacher's targets change between calls and its BatchNorm statistics move",
      "bug 5：训练模式下，教师的目标每次调用都不同，其 BatchNorm 统计量也被改变")

cached = compute_logits(teacher, splits.train)  # dataset order
shuffled = make_loaders(splits, batch_size=64, seed=0).train
agree_wrong = agree_right = 0
for k, (x, y) in enumerate(shuffled):  # 6. logits cached in dataset order, consumed in shuffled order
    agree_wrong += (cached[k * 64:(k + 1) * 64].argmax(1) == y).sum().item()
    with torch.no_grad():
        agree_right += (teacher(x).argmax(1) == y).sum().item()
n = len(splits.train)
print(f"6. cached logits paired with a shuffled loader: the 'teacher' agrees with the label on "
      f"{agree_wrong / n:.1%} of images (chance: 10%); correctly paired: {agree_right / n:.1%}")
claim(agree_wrong / n < 0.3 < 0.9 < agree_right / n,
      "bug 6: misaligned cached logits agree with the labels near chance; aligned ones on over 90%",
      "bug 6：错位的缓存 logits 与标签的吻合率接近随机；对齐时超过 90%");

# %% [markdown]
# 1. **漏乘 T²**：软损失及其梯度小了 $T^2$ 倍（第 2 节）；$\alpha$ 不再能平衡两项损失。
# 2. **传入概率而不是对数概率**：`kl_div` 假定它的输入已经取过对数。传入学生的概率 $q$，算出来的是 $\sum_i p_i(\log p_i - q_i) = -H(p) - \sum_i p_i q_i$，它永远是负数。训练照样会把它当目标去最小化，且不报任何错；而最小化它就是最大化 $\sum_i p_i q_i$，当学生把全部概率放在教师的最高类别上时它最大（最后打印的那一行）：学生被推向硬标签，暗知识就丢掉了。
# 3. **KL 方向反了**：$\mathrm{KL}(q\|p)$ 用*学生*的概率给对数比加权，于是学生几乎不给概率的类别，不管教师给它多少，都几乎不计入损失：学生不会被要求再现教师的那些小概率。它的数值和梯度都与正确的损失不同（见上面的打印）。
# 4. **`reduction="mean"`** 同时对批和类别求平均，损失因此被除以了类别数；`"batchmean"` 给出的才是每个样本的 KL。（PyTorch 会对这一个发出警告。）
# 5. **教师处于训练模式**：`TeacherNet` 含有 dropout 和 BatchNorm，于是它的目标会带噪声，还会随批次而变；而且训练模式下的每次前向计算都会更新 BatchNorm 的滑动统计量，把教师永久改变（所以上面的演示用的是一份副本）。`distill` 会把教师切换到评估模式 (eval mode)，结束后再恢复原来的模式。
# 6. **缓存错位**：只计算一次教师的 logits 是个好主意（见第 8 节提到的基准测试），但它们必须*跟着*各自的图像走。`distill` 把它们作为数据集的一列存储，因此打乱顺序的加载器会让每一行整体移动。
#
# ## 8. 本课程的初始文档错在哪里，又对在哪里
#
# 本课程是根据一份初始文档 (seed document) 编写的（一份带参考代码的起始文本，和随机种子无关）。那份文档的损失函数写得是对的（`log_softmax`、`batchmean`、$T^2$），但它的演示代码是在**随机噪声和随机标签**上训练教师和学生的（图像用 `torch.randn`，标签用 `torch.randint`）。那里没有任何东西可学，所以它打印出的每一个准确率不是死记硬背就是碰运气。下面几行代码复现了它的设置，一看便知：

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
claim(noise_new < 0.2 < 0.5 < noise_fit, "on noise: high 'accuracy' on the training noise, chance on new noise",
      "在噪声上：训练用的噪声“准确率”很高，新噪声上只有随机水平");

# %% [markdown]
# 在训练用的噪声上准确率很高，在新的噪声上却只有碰运气的水平：网络只是背下了答案。在这样的数据上比较教师和学生，说明不了任何关于蒸馏的问题。这就是为什么本课程使用真实的数字、留出的测试集，以及多个随机种子。
#
# 蒸馏本身的开销也值得测量：`benchmarks/distill_cache.py` 对比了两种蒸馏方式每轮 (epoch) 的耗时——教师的 logits 只计算一次，或者每个批次都让教师前向计算一遍（结果见 `docs/benchmarks.md`）。
#
# ## 小结
#
# - 带温度 $T$ 的 softmax 会让分布变平坦，但不改变类别的顺序；当 $T > 1$ 时，一个自信的教师给出的那些小概率——它的暗知识——就变得可见，而且是有结构的。
# - 蒸馏损失是 $\alpha\,\mathrm{CE}(z, y) + (1-\alpha)\,T^2\,\mathrm{KL}(p\|q)$：教师是 KL 的目标，`kl_div` 接收学生的*对数*概率，`batchmean` 给出每个样本的 KL；$T^2$ 让软损失梯度的尺度在不同温度下大致不变，但只有当 $T$ 远大于 logits 的跨度时才真正与 $T$ 无关（第 2 节的曲线只在最高的几个温度下才趋于平稳）。读别人的代码时，先看 α 加权的是哪一项：这里是硬损失，而 PyTorch 教程和许多论文加权的是软损失。
# - 在标签齐全时，我们公平地比较了蒸馏与从零训练（相同的初始权重、多个种子），并以种子间的波动为尺度作出判断，结论见第 4、5 节打印的句子；对 `StudentNet` 而言，差别在这里和在课程的机器上都没有超出波动范围。
# - 当标签稀缺时，蒸馏的收益非常明显；它甚至能教会学生一个从未见过的类别（缺失类别实验，偏置修正在验证集上选定）。
# - 当数据没有做增强时，冻结的教师的 logits 只需计算一次——在评估模式下计算，并和对应的样本存放在一起。
#
# **本课对应的检查清单条目：** U1（理解知识蒸馏的原理和温度的作用）、T1（实现知识蒸馏训练框架：`kd_loss`、`distill`）、T4（公平地评估和比较不同方法：相同起点、多个种子、均值 ± 标准差）。
#
# **练习：** `exercises/zh/01_knowledge_distillation.py`——亲手写出软化的 softmax、蒸馏损失和一个蒸馏训练步，自己验证 $T^2$ 的论证，并判断一次跨种子的比较。然后运行 `python -m coursekit check exercises/zh/01_knowledge_distillation.py`，看看你的解答为哪些检查清单条目提供了证据。
