"""A list of the files that could not be read or analysed, with reasons."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.tracks import Failure, plural

#: What each stage is called; every other stage is a later pass's ("neural", "mtt"…).
STAGES = {"scan": "Reading", "analyze": "Analysing", "damaged": "Damaged"}
#: The stages whose files Retry (the library's analysis with ``retry_failed``) does not
#: try again: every pass's are.
NOT_RETRIED_STAGES = frozenset({"scan", "damaged"})
RETRY_TEXT = "Retry"


class FailuresDialog(QDialog):
    """The files with problems; "Retry" analyses every failed file again at once."""

    def __init__(
        self,
        failures: Sequence[Failure],
        parent: QWidget | None = None,
        *,
        retry: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Files Encore could not use")
        self.resize(820, 420)
        layout = QVBoxLayout(self)
        failed = [f for f in failures if f.stage != "damaged"]
        if failed:
            files = plural(len(failed), "file")
            text = (
                f"{files} could not be used; nothing else in the library is affected. "
                "A file whose analysis crashed or took too long is tried again on every "
                "rescan, the others when they change on disk. Retry tries them all now."
            )
        else:
            text = "Every file in the library could be read and analysed."
        if len(failed) < len(failures):
            text += " Damaged files are listed too: they play and are analysed as far as they go."
        label = QLabel(text)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Step", "File", "Reason"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        for f in failures:
            item = QTreeWidgetItem([STAGES.get(f.stage, "Listening"), f.path, f.reason])
            item.setToolTip(1, f.path)
            item.setToolTip(2, f.reason)
            self.tree.addTopLevelItem(item)
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(1, 420)
        layout.addWidget(self.tree)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.retry_button = buttons.addButton(RETRY_TEXT, QDialogButtonBox.ButtonRole.ActionRole)
        self.retry_button.setToolTip("Analyse every file that could not be analysed again")
        self.retry_button.setEnabled(
            retry is not None and any(f.stage not in NOT_RETRIED_STAGES for f in failures)
        )
        if retry is not None:
            self.retry_button.clicked.connect(retry)
            self.retry_button.clicked.connect(self.accept)
        layout.addWidget(buttons)
