"""The engine must run headless: importing all of it must not load Qt."""

import pkgutil
import subprocess
import sys

import engine


def test_engine_imports_no_qt():
    modules = sorted(m.name for m in pkgutil.walk_packages(engine.__path__, "engine."))
    assert "engine.library" in modules and "engine.cli" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {[m for m in modules if m != 'engine.__main__']!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6',"
        " 'desktop'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
