"""``python -m pipeline <Task> [options]``: the ``luigi`` command that waits for its peers.

Same options as ``luigi --module pipeline <Task> ...``, with one difference that
matters when several processes (on one machine or many) work on the same tasks
through one central scheduler: plain ``luigi`` exits as soon as it has nothing to do
*right now*, with code ``[retcode] already_running`` (10), if another worker is
running a task it needs, even though the pipeline will finish fine. This command
instead checks again, with growing pauses (1 s up to 15 s), taking over whatever
becomes runnable, until its task is complete (exit 0) or a pass ends for another
reason (that pass's exit code: a failed task, a scheduling error, ...).

A pass that found the same command already running on this machine (Luigi's pid
lock) is treated the same way with a central scheduler, and every pass after the
first runs with ``--no-lock`` (this process holds the lock). With
``--local-scheduler`` nothing is shared, so the first pass's code is final.
"""
import logging
import sys
import time

from luigi.cmdline_parser import CmdlineParser
from luigi.interface import core
from luigi.retcodes import retcode, run_with_retcodes

import pipeline  # noqa: F401 - registers the tasks, as `luigi --module pipeline` does

logger = logging.getLogger("luigi-interface")

FIRST_PAUSE = 1.0
LONGEST_PAUSE = 15.0


def run_once(argv):
    """One ``luigi`` run (scheduling and working); returns its exit code."""
    try:
        run_with_retcodes(argv)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    with CmdlineParser.global_instance(argv):
        others_running = retcode().already_running
        local = core().local_scheduler
    pause = FIRST_PAUSE
    while True:
        code = run_once(argv)
        if local or code == 0 or code != others_running:
            return code
        logger.info("Other workers are running tasks this one needs; checking again in "
                    "%g s", pause)
        time.sleep(pause)
        pause = min(2 * pause, LONGEST_PAUSE)
        if "--no-lock" not in argv:
            argv.append("--no-lock")


if __name__ == "__main__":
    sys.exit(main())
