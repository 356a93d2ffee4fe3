"""Helper processes and Ctrl-C (pipeline/io/lifeline.py) and how the console says it."""
import logging
import sys

from pipeline.io import lifeline
from pipeline.io.lifeline import INTERRUPTED, interruption, is_interruption
from pipeline.tasks import logs


def test_ctrl_c_is_a_keyboard_interrupt_or_a_helper_s_quiet_exit():
    assert is_interruption(KeyboardInterrupt())
    assert is_interruption(SystemExit(INTERRUPTED))
    assert not is_interruption(SystemExit(1))
    assert not is_interruption(RuntimeError("boom"))
    assert not is_interruption(None)


def test_a_helper_process_stops_quietly_and_the_user_s_process_as_ctrl_c(monkeypatch):
    monkeypatch.setattr(lifeline, "_GUARDED", False)
    assert isinstance(interruption(), KeyboardInterrupt)
    monkeypatch.setattr(lifeline, "_GUARDED", True)
    stop = interruption()
    assert isinstance(stop, SystemExit) and stop.code == INTERRUPTED


def test_a_task_stopped_by_ctrl_c_is_one_line_not_a_failure_with_its_traceback(
        monkeypatch, capsys):
    monkeypatch.setattr(logs, "_SAID", [])
    record_filter = logs._CleanPipelineErrors()

    def failed(exc):
        try:
            raise exc
        except BaseException:
            return logging.LogRecord("luigi-interface", logging.ERROR, __file__, 1,
                                     "[pid 1] Worker failed    Encode()", None,
                                     sys.exc_info())

    assert record_filter.filter(failed(SystemExit(INTERRUPTED))) is False
    assert record_filter.filter(failed(KeyboardInterrupt())) is False
    assert capsys.readouterr().err.count("interrupted (Ctrl-C)") == 1  # said once
    assert record_filter.filter(failed(RuntimeError("boom"))) is True
