"""``python -m pipeline <Task> [options]``: the ``luigi`` command that waits for its peers.

Same options as ``luigi --module pipeline <Task> ...``, with one difference that
matters when several processes (on one machine or many) work on the same tasks
through one central scheduler. Plain ``luigi`` exits as soon as it has nothing to do
*right now*: with ``[retcode] already_running`` (10) if another worker is running a
task it needs, or ``not_run`` (25) if another worker finished a task between this
one's completeness check and its request for work, although the pipeline finishes
fine. This command instead runs Luigi again after a pause (1 s, doubling up to 10 s),
taking over whatever has become runnable, until its task is complete (exit 0) or a
pass ends for another reason (that pass's exit code: a failed task, a scheduling
error, ...). ``not_run`` can also mean luigid refuses this worker work for good (a
disabled worker or task), so it is retried at most :data:`NOT_RUN_RETRIES` times in
a row.

A pass that found the same command already running on this machine (Luigi's pid
lock, also code 10) is treated the same way with a central scheduler, and every pass
after the first runs with ``--no-lock`` (this process holds the lock). With
``--local-scheduler`` nothing is shared, so the first pass's code is final.

Exit codes, log level and data folder are those of every entry point
(:mod:`pipeline.tasks.settings`): ``[retcode]`` 10, 20, 25, 30, 35 and 40 unless a
configuration file says otherwise, whatever folder it runs in.
"""
import logging
import sys
import time

from luigi.cmdline_parser import CmdlineParser
from luigi.interface import core
from luigi.retcodes import retcode, run_with_retcodes

import pipeline  # noqa: F401 - registers the tasks, as `luigi --module pipeline` does
from pipeline.tasks.logs import CONSOLE

logger = logging.getLogger("luigi-interface")

FIRST_PAUSE = 1.0
LONGEST_PAUSE = 10.0
NOT_RUN_RETRIES = 3


def run_once(argv: list[str]) -> int:
    """One ``luigi`` run (scheduling and working); returns its exit code."""
    try:
        run_with_retcodes(argv)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    with CmdlineParser.global_instance(argv):
        codes = retcode()
        local = core().local_scheduler
    pause, not_run_in_a_row = FIRST_PAUSE, 0
    while True:
        code = run_once(argv)
        not_run_in_a_row = not_run_in_a_row + 1 if code == codes.not_run else 0
        if local or code == 0 or code not in (codes.already_running, codes.not_run) \
                or not_run_in_a_row > NOT_RUN_RETRIES:
            return code
        logger.info("Other workers are running or just ran tasks this one needs; "
                    "checking again in %g s", pause, extra=CONSOLE)
        time.sleep(pause)
        pause = min(2 * pause, LONGEST_PAUSE)
        if "--no-lock" not in argv:
            argv.append("--no-lock")


if __name__ == "__main__":
    sys.exit(main())
