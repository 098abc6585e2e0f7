"""Plausible wrong answers for solutions/en/06_capstone.py (see tests/wrong_answers.py)."""

# (solution file stem, region number, wrong code, check_id that must fail, why it is wrong)
WRONG_ANSWERS = [
    ("06_capstone", 0, """
MY_CARD = "micro"
from coursekit.export import to_onnx
slim = magnitude_prune(clone_model(student), 0.5, structured=True)
finetuner(loaders.train, epochs=2, lr=1e-3)(slim, 0)
slim = remove_channels(slim, example_input=splits.test.tensors[0][:2])
ARTEFACT = to_onnx(slim, work / "micro-fp32.onnx", splits.test.tensors[0][:2])
    """, "ex06-end-to-end", "exports the pruned model in fp32: fails the int8-weights (and size) line"),
    ("06_capstone", 0, """
MY_CARD = "micro"
ARTEFACT = int8_onnx(student, work / "student-int8.onnx", splits.train.tensors[0][:256])
    """, "ex06-end-to-end", "int8 without pruning: the file is over the microcontroller's size line"),
    ("06_capstone", 0, """
MY_CARD = "micro"
slim = magnitude_prune(clone_model(student), 0.5, structured=True)
ARTEFACT = work / "slim.pt"
torch.save(slim.state_dict(), ARTEFACT)
    """, "ex06-end-to-end", "saves a state_dict, not a model: the check cannot load and run it"),
    ("06_capstone", 0, """
MY_CARD = "micro"
ARTEFACT = work / "my-model.onnx"
    """, "ex06-end-to-end", "claims an artefact that was never written"),
    ("06_capstone", 1, """
    passing = [c for c in cards if c.passed]
    return max(passing, key=lambda c: c.accuracy).name if passing else None
    """, "ex06-choose", "ships the most accurate passing candidate, not the smallest"),
    ("06_capstone", 1, """
    return min(cards, key=lambda c: c.size_bytes).name
    """, "ex06-choose", "ships the smallest candidate whether or not it passes"),
    ("06_capstone", 1, """
    passing = [c for c in cards if c.passed]
    return min(passing, key=lambda c: c.parameters).name if passing else None
    """, "ex06-choose", "fewest parameters is not smallest on disk (int8 vs fp32, file overhead)"),
    ("06_capstone", 1, """
    passing = [c for c in cards if c.passed]
    return passing[0].name if passing else None
    """, "ex06-choose", "ships the first passing candidate"),
    ("06_capstone", 1, """
    passing = [c for c in cards if c.passed] or cards
    return min(passing, key=lambda c: c.size_bytes).name
    """, "ex06-choose", "ships something even when nothing passes"),
    ("06_capstone", 1, """
    passing = [c for c in cards if c.accuracy >= 0.95]
    return min(passing, key=lambda c: c.size_bytes).name if passing else None
    """, "ex06-choose", "judges by accuracy alone, ignoring the card's other lines"),
]
