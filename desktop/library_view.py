"""The central area: an empty-state invitation, or the searchable library table."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.library_model import (
    COLUMNS,
    SortKeys,
    TrackFilterProxy,
    TrackRole,
    TrackTableModel,
)
from engine.tracks import Track

#: Typing pauses this long (ms) before the table is filtered.
SEARCH_DEBOUNCE_MS = 150


class TrackTable(QTableView):
    """A table where Enter plays the selected row."""

    activated_track = Signal(object)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated_track.emit(self.currentIndex().data(TrackRole))
            return
        super().keyPressEvent(event)


class LibraryView(QStackedWidget):
    """Page 0: "add your music"; page 1: search box + table."""

    play_requested = Signal(object)  # Track
    add_folder_requested = Signal()
    more_like_requested = Signal(list)  # [Track]: "more like these"
    journey_requested = Signal(object)  # Track: the destination
    play_next_requested = Signal(list)  # [Track]: first in the queue
    enqueue_requested = Signal(list)  # [Track]: at the end of the queue
    why_not_requested = Signal(object)  # Track: why is it not in up next?
    describe_requested = Signal(str)  # "~calm piano": rank songs by the description

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TrackTableModel()
        self.proxy = TrackFilterProxy()
        self.proxy.setSourceModel(self.model)

        empty = QWidget()
        empty.setObjectName("empty-state")
        col = QVBoxLayout(empty)
        col.addStretch(1)
        hello = QLabel(
            "<h2>Your music, and the songs that sound like it</h2>"
            "<p>Add a music folder. Encore reads it, listens to every song, and while one "
            "plays it shows the five that sound most like it.</p>"
            "<p>You can also drop folders or files onto this window. Your files stay "
            "where they are: Encore only reads them.</p>"
        )
        hello.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hello.setWordWrap(True)
        hello.setFixedWidth(620)  # a readable measure, not one line across the screen
        hello.setMinimumHeight(hello.heightForWidth(620))
        self.add_button = QPushButton("Add music folder…")
        self.add_button.setObjectName("add-folder")
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self.add_folder_requested)
        col.addWidget(hello, 0, Qt.AlignmentFlag.AlignCenter)
        col.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignCenter)
        col.addStretch(2)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText(
            "Search title, artist, album or genre, or ~describe it (Ctrl+F)"
        )
        self.search.setClearButtonEnabled(True)
        self.table = TrackTable()
        self.table.setObjectName("library-table")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        # Artist order (then album, track number, title), as most players open.
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        # Fixed row heights and column widths: no per-row measuring at 100k rows.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # The title keeps its width; the auto-tags (last) take what is left, so a narrow
        # window squeezes the least important column, not the title.
        header.setStretchLastSection(True)
        for i, width in enumerate((230, 140, 150, 90, 50, 66, 150)[: len(COLUMNS)]):
            self.table.setColumnWidth(i, width)
        layout.addWidget(self.search)
        layout.addWidget(self.table)

        self.addWidget(empty)
        self.addWidget(page)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._apply_search)
        self.search.textChanged.connect(lambda _: self._debounce.start())
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.activated_track.connect(self.play_requested)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)

    def selected_tracks(self) -> list[Track]:
        """The selected rows' tracks, in the order shown."""
        rows = sorted(self.table.selectionModel().selectedRows(), key=lambda i: i.row())
        return [index.data(TrackRole) for index in rows]

    def _context_menu(self, pos: QPoint) -> None:
        tracks = self.selected_tracks()
        if not tracks:
            return
        menu = QMenu(self.table)
        menu.addAction("Play", lambda: self.play_requested.emit(tracks[0]))
        menu.addAction("Play next", lambda: self.play_next_requested.emit(tracks))
        menu.addAction("Add to queue", lambda: self.enqueue_requested.emit(tracks))
        label = "More like this" if len(tracks) == 1 else f"More like these {len(tracks)}"
        menu.addAction(label, lambda: self.more_like_requested.emit(tracks))
        menu.addAction("Journey to here", lambda: self.journey_requested.emit(tracks[0]))
        if len(tracks) == 1:
            menu.addAction("Why not in up next?", lambda: self.why_not_requested.emit(tracks[0]))
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def set_tracks(self, tracks: list[Track], keys: SortKeys | None = None) -> None:
        self.model.set_tracks(tracks, keys)
        self.setCurrentIndex(1 if tracks else 0)

    def track_after(self, track: Track | None) -> Track | None:
        """The next track in the table's order (sorted and filtered), or the first one."""
        proxy = self.proxy
        row = 0
        if track is not None:
            source_row = self.model.row_of(track.id)
            if source_row is not None:
                shown = proxy.mapFromSource(self.model.index(source_row, 0))
                if shown.isValid():
                    row = shown.row() + 1
        if row >= proxy.rowCount():
            return None
        return proxy.index(row, 0).data(TrackRole)

    def reveal(self, track: Track) -> None:
        """Select and scroll to ``track`` if it is shown."""
        row = self.model.row_of(track.id)
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid():
            self.table.setCurrentIndex(index)
            self.table.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)

    def _apply_search(self) -> None:
        """A plain search filters the table; ``~words`` asks for a description's matches."""
        text = self.search.text()
        if text.startswith("~"):
            self.proxy.set_search("")
            self.describe_requested.emit(text[1:].strip())
            return
        self.model.set_ranking(None)
        self.proxy.set_search(text)

    def focus_search(self) -> None:
        self.setCurrentIndex(1)
        self.search.setFocus()
        self.search.selectAll()

    def _double_clicked(self, index: QModelIndex | QPersistentModelIndex) -> None:
        self.play_requested.emit(index.data(TrackRole))
