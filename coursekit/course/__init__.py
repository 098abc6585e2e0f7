"""The course machinery: command line, lab settings, set-up doctor, exercise generation and checking.

Importable without torch (only ``doctor``'s checks and ``pretrain`` load it, when they run):

- ``cli``          ``python -m coursekit ...``
- ``labsettings``  JupyterLab settings written into the environment
- ``doctor``       a ready-for-class check
- ``exercises``    exercise notebooks generated from solutions
- ``messages``     every word ``check``/``report`` print, in English and Chinese
- ``checklist``    the checklist items (``checklist.json``), check results, item statuses, the report
- ``runner``       the one notebook executor (nbclient): time limits, dead kernels, partial results
- ``outcomes``     what a run means for each check (a pure function)
- ``notebooks``    reading notebooks, the course's check cells, checking one notebook end to end
- ``render``       text, Markdown and CSV output
- ``report``       loading and combining learners' reports
"""
