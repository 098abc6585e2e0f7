"""Every word and message `coursekit check` and `coursekit report` print, in English and Chinese.

Nothing here imports anything heavy; :func:`msg` formats one message in a language.
"""

from __future__ import annotations

__all__ = ["LANGS", "STATUS_WORDS", "STATUS_MARKS", "TABLE_MARKS", "MESSAGES", "LEGEND", "HEAD", "msg",
           "lang_of_path"]

LANGS = ("en", "zh")

STATUS_WORDS = {
    "en": {"evidenced": "evidenced", "not_yet": "not yet", "not_checked": "not checked",
           "not_covered": "not covered by the course yet"},
    "zh": {"evidenced": "已达成", "not_yet": "尚未达成", "not_checked": "未检查",
           "not_covered": "课程尚未覆盖"},
}
STATUS_MARKS = {"evidenced": "✓", "not_yet": "✗", "not_checked": "?", "not_covered": "–"}
TABLE_MARKS = {"evidenced": "✓", "not_yet": "✗", "not_checked": "–", "not_covered": "–"}

MESSAGES = {
    "en": {
        "title": "Lighter & Faster — completion checklist (course {version})",
        "learner": "learner: {learner}",
        "not_found": "not found: {path}",
        "unreadable": "could not read it: {error}",
        "not_a_notebook": "not a notebook: expected a jupytext .py or an .ipynb file",
        "no_checks": "no check cells (code cells tagged \"check\" with a check_id): this is not an exercise "
                     "notebook. The exercise notebooks are in {where}.",
        "checks_summary": "{n} checks: {passed} passed, {failed} not yet",
        "timed_out": "timed out after {seconds:g} s (--timeout)",
        "timed_out_stopped": "timed out after {seconds:g} s and did not stop when interrupted, so the kernel "
                             "was shut down",
        "kernel_died": "the kernel died while running this cell{code}",
        "kernel_died_nb": "the kernel died in code cell {cell}{code}; the cells after it did not run",
        "kernel_stopped_nb": "code cell {cell} timed out and the kernel was shut down; the cells after it "
                             "did not run",
        "not_run_died": "not run: the kernel died in code cell {cell}",
        "not_run_stopped": "not run: the kernel was shut down after code cell {cell} timed out",
        "not_run_guard": "not run: the notebook was stopped after {seconds:g} s (--notebook-timeout)",
        "guard_running": "still running when the notebook was stopped after {seconds:g} s (--notebook-timeout)",
        "guard_nb": "stopped after {seconds:g} s (the whole-notebook limit, --notebook-timeout); the checks "
                    "that had not run yet count as not yet",
        "not_run": "not run",
        "kernel_start": "the kernel could not start: {error}",
        "runner_failed": "could not run the notebook: {error}",
        "exit_code": " (exit code {code})",
        "missing_check": "this check cell is missing from the notebook (the course's {where} has it); "
                         "restore it to get credit",
        "modified_check": "this check cell differs from the course's ({where}); restore the original to "
                          "get credit",
        "earlier_error": "; an earlier cell failed first: code cell {cell}: {error}",
        "cell_errors": "cells outside the checks that failed:",
        "other_checks": "checks that evidence no checklist item:",
        "cell": "code cell {cell}",
        "evidenced_by": "evidenced: {checks}",
        "not_checked_run": "not checked: run `coursekit check {notebooks}`",
        "not_checked_none": "not checked: its checks ({checks}) are in none of the given notebooks",
        "partly": "(its checks in {notebooks} were not checked)",
        "summary": "Evidenced {evidenced} of the {covered} items these notebooks cover; {not_yet} not yet.",
        "summary_none": "The given notebooks evidence none of the checklist items.",
        "summary_uncovered": "{not_covered} items are not covered by the course yet; {not_checked} are "
                             "checked by other notebooks.",
        "summary_others": "{not_checked} items are checked by other notebooks.",
        "next_fail": "Fix what a ✗ line says, run the check cell in JupyterLab, then run this command again.",
        "next_ok": "Every item these notebooks cover is evidenced. Well done!",
        "json_written": "report written to {path}",
        "checking": "checking {path} ...",
    },
    "zh": {
        "title": "更轻·更快 —— 结业清单（课程版本 {version}）",
        "learner": "学员：{learner}",
        "not_found": "找不到文件：{path}",
        "unreadable": "无法读取：{error}",
        "not_a_notebook": "不是笔记本：需要 jupytext 的 .py 文件或 .ipynb 文件",
        "no_checks": "没有检查单元格（带 \"check\" 标签和 check_id 的代码单元格）：这不是练习笔记本。"
                     "练习笔记本在 {where}。",
        "checks_summary": "共 {n} 项检查：{passed} 项通过，{failed} 项尚未通过",
        "timed_out": "超时：{seconds:g} 秒后仍未结束（--timeout）",
        "timed_out_stopped": "超时：{seconds:g} 秒后仍未结束，且无法中断，内核已被关闭",
        "kernel_died": "运行这个单元格时内核崩溃了{code}",
        "kernel_died_nb": "内核在第 {cell} 个代码单元格崩溃{code}；之后的单元格都没有运行",
        "kernel_stopped_nb": "第 {cell} 个代码单元格超时，内核已被关闭；之后的单元格都没有运行",
        "not_run_died": "未运行：内核在第 {cell} 个代码单元格崩溃",
        "not_run_stopped": "未运行：第 {cell} 个代码单元格超时后内核被关闭",
        "not_run_guard": "未运行：整个笔记本在 {seconds:g} 秒后被停止（--notebook-timeout）",
        "guard_running": "整个笔记本在 {seconds:g} 秒后被停止时，这个单元格仍在运行（--notebook-timeout）",
        "guard_nb": "{seconds:g} 秒后被停止（整个笔记本的时限，--notebook-timeout）；尚未运行的检查记为尚未达成",
        "not_run": "未运行",
        "kernel_start": "内核无法启动：{error}",
        "runner_failed": "无法运行这个笔记本：{error}",
        "exit_code": "（退出码 {code}）",
        "missing_check": "笔记本里缺少这个检查单元格（课程的 {where} 里有）；恢复它才能得到认可",
        "modified_check": "这个检查单元格和课程里的不一样（{where}）；恢复原样才能得到认可",
        "earlier_error": "；在此之前已有单元格出错：第 {cell} 个代码单元格：{error}",
        "cell_errors": "检查之外出错的单元格：",
        "other_checks": "不对应清单条目的检查：",
        "cell": "第 {cell} 个代码单元格",
        "evidenced_by": "已达成：{checks}",
        "not_checked_run": "未检查：请运行 `coursekit check {notebooks}`",
        "not_checked_none": "未检查：它的检查（{checks}）不在所给的笔记本里",
        "partly": "（{notebooks} 中的检查尚未运行）",
        "summary": "这些笔记本覆盖的 {covered} 项中，已达成 {evidenced} 项，尚未达成 {not_yet} 项。",
        "summary_none": "所给的笔记本不涉及清单中的任何一项。",
        "summary_uncovered": "另有 {not_covered} 项课程尚未覆盖，{not_checked} 项由其他笔记本检查。",
        "summary_others": "另有 {not_checked} 项由其他笔记本检查。",
        "next_fail": "按 ✗ 行的提示修改，在 JupyterLab 里运行对应的检查单元格，然后再运行一次这个命令。",
        "next_ok": "这些笔记本覆盖的每一项都已达成。做得好！",
        "json_written": "报告已写入 {path}",
        "checking": "正在检查 {path} ……",
    },
}


LEGEND = {
    "en": "✓ evidenced · ✗ not yet · – not checked, or not covered by the course yet",
    "zh": "✓ 已达成 · ✗ 尚未达成 · – 未检查，或课程尚未覆盖",
}
HEAD = {
    "en": {"learner": "learner", "total": "evidenced", "counts": "evidenced by",
           "title": "Class checklist (course {version}, {n} learners)", "rejected": "Not included:",
           "notes": "Notes:", "source": "from", "rechecked": "re-checked", "handed_in": "handed-in JSON",
           "flag_legend": "⚠ this row does not match what was checked or could not be re-checked (see the notes)"},
    "zh": {"learner": "学员", "total": "已达成", "counts": "达成人数",
           "title": "全班结业清单（课程版本 {version}，{n} 名学员）", "rejected": "未计入：",
           "notes": "说明：", "source": "来源", "rechecked": "重新检查", "handed_in": "学员提交的 JSON",
           "flag_legend": "⚠ 这一行与实际检查的结果不符，或无法重新检查（见说明）"},
}


def msg(lang: str, key: str, **fields) -> str:
    """``MESSAGES[lang][key]`` with ``fields`` formatted in."""
    return MESSAGES[lang][key].format(**fields)


def lang_of_path(path, default: str = "en") -> str:
    """The language of a notebook from its path: ``zh`` when a folder on it is named ``zh``, ``en``
    when one is named ``en`` (the nearest wins), else ``default``."""
    from pathlib import Path

    for part in reversed(Path(str(path)).resolve().parts[:-1]):
        if part in LANGS:
            return part
    return default
