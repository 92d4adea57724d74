"""Start-up stays light: the window's modules must not pull in the heavy analysis stack."""

import subprocess
import sys


def test_opening_the_window_imports_no_librosa_numba_or_sklearn(tmp_path):
    code = (
        "import os, sys\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from desktop.main_window import MainWindow\n"
        "from engine.library import Library\n"
        f"window = MainWindow(Library({str(tmp_path)!r}))\n"
        "window.show()\n"
        "app.processEvents()\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'librosa', 'numba', 'sklearn',"
        " 'scipy', 'joblib'})\n"
        "print(','.join(heavy))\n"
        "window.close()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"heavy modules at start-up: {result.stdout}"


def test_qt_calls_keep_python_singletons_alive(qtbot):
    """Guard against PySide6 builds that over-release None/True (6.12.0 on Python 3.11).

    Each void Qt call there drops one reference to None; after a few thousand calls
    (minutes of playback updating the seek bar) the interpreter aborts.
    """
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication, QLabel

    class Emitter(QObject):
        ping = Signal(int)

    label, emitter = QLabel(), Emitter()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(500):
        label.setText("x")
        emitter.ping.emit(1)
        QApplication.processEvents()
    assert sys.getrefcount(None) - none_before > -50
    assert sys.getrefcount(True) - true_before > -50
