"""A list of the files that could not be read or analysed, with reasons."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.tracks import Failure

STAGES = {"scan": "Reading", "analyze": "Analysing"}


class FailuresDialog(QDialog):
    def __init__(self, failures: Sequence[Failure], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Files Encore could not use")
        self.resize(820, 420)
        layout = QVBoxLayout(self)
        if failures:
            text = (
                f"{len(failures)} file(s) could not be used. Each is tried again when it "
                "changes on disk; nothing else in the library is affected."
            )
        else:
            text = "Every file in the library could be read and analysed."
        layout.addWidget(QLabel(text))
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Step", "File", "Reason"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        for f in failures:
            item = QTreeWidgetItem([STAGES.get(f.stage, f.stage), f.path, f.reason])
            item.setToolTip(1, f.path)
            item.setToolTip(2, f.reason)
            self.tree.addTopLevelItem(item)
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(1, 420)
        layout.addWidget(self.tree)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
