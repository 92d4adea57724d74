"""The main window: wires the library view, player, up-next dock and jobs together."""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtCore import QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.browser import BrowserPanel, Scope
from desktop.clusters_panel import ClustersPanel
from desktop.covers import CoverCache, cover_image
from desktop.failures_dialog import FailuresDialog
from desktop.library_jobs import JobStatus, LibraryJobs, Snapshot
from desktop.library_view import LibraryView
from desktop.map_view import MapPanel
from desktop.mpris import attach
from desktop.now_playing import NowPlayingBar
from desktop.playback import PlaybackController
from desktop.player import Player
from desktop.session import Session
from desktop.suggestions import SuggestionsController
from desktop.tasks import TaskRunner
from desktop.up_next import UpNextPanel
from engine.library import Library, optional_passes
from engine.playback.queue import Repeat
from engine.similarity.atlas import Atlas
from engine.tracks import Failure, Track, plural

MESSAGE_MS = 8000
#: Songs a description ("~calm piano") shows, best first.
DESCRIBE_RESULTS = 100


class MainWindow(QMainWindow):
    #: The window closed for good: its threads are joined and its media let go.
    closed = Signal()

    def __init__(self, library: Library) -> None:
        super().__init__()
        self.library = library
        self.setWindowTitle("Encore")
        self.resize(1280, 800)
        self.setAcceptDrops(True)

        self.runner = TaskRunner(self)
        self.player = Player(self)
        self.view = LibraryView()
        self.now_playing = NowPlayingBar()
        self.up_next = UpNextPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.up_next)
        self.up_next.setMinimumWidth(320)
        self.covers = CoverCache(library, self.runner, self)
        self.browser = BrowserPanel(self.covers, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.browser)
        self.resizeDocks([self.browser], [260], Qt.Orientation.Horizontal)
        self.map = MapPanel(self)
        self.clusters = ClustersPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.map)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.clusters)
        self.tabifyDockWidget(self.map, self.clusters)
        self.map.raise_()
        # the map earns its space: two fifths of the window (the dock, less its tabs, a
        # third at least); the table above stays the main view
        self.resizeDocks([self.map], [self.height() * 2 // 5], Qt.Orientation.Vertical)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.now_playing)
        self.setCentralWidget(central)

        self.job_status = JobStatus()
        self.failed_button = QPushButton()
        self.failed_button.setFlat(True)
        self.failed_button.setObjectName("failed-files")
        self.failed_button.setVisible(False)
        self.failed_button.clicked.connect(self.show_failures)
        self.counts = QLabel()
        self.no_output = QLabel("No audio output device: songs play in silence")
        self.no_output.setObjectName("no-audio-output")
        self.no_output.setToolTip("Connect speakers or headphones, or start the sound server")
        self.statusBar().addPermanentWidget(self.no_output)
        self.statusBar().addPermanentWidget(self.job_status)
        self.statusBar().addPermanentWidget(self.failed_button)
        self.statusBar().addPermanentWidget(self.counts)

        self.playback = PlaybackController(
            self.player, self.view.track_after, self.view.model.shown
        )
        self.jobs = LibraryJobs(library, self.runner, self.job_status)
        self.suggestions = SuggestionsController(
            library, self.up_next, self.playback, self.runner, training=lambda: self.jobs.busy
        )
        self._pending_play: str | None = None
        self._closing = False  # the first close was asked (see closeEvent)
        self._build_menus()
        self._connect()
        self.player.set_volume(80)
        self.session = Session(
            library.home,
            window=self,
            player=self.player,
            radio=self.up_next.radio,
            table=self.view.table,
            search=self.view.search,
            browser=self.browser,
        )
        self.session.restore(self._find_last_track)
        self.now_playing.set_volume(self.player.volume(), self.player.muted())
        if self.session.problem:
            self.show_message(self.session.problem)
        # An empty library shows one welcome, not empty panes; the last session says
        # whether to start so (the first snapshot corrects it either way).
        self._welcome_hid: list[QDockWidget] | None = None
        self._welcome(self.session.library_was_empty())
        # Show the library at once, then catch up with changes made while Encore was closed.
        self.jobs.load()
        self.refresh_atlas()
        if library.folders():
            self.jobs.rescan()
        # Media keys, lock screens and panel widgets (MPRIS; None without a session bus).
        self.mpris = attach(self.playback, self)

    # -- set-up ------------------------------------------------------------------------
    def _build_menus(self) -> None:
        def action(menu_name: str, text: str, slot: object, shortcut: object = None) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
            act.triggered.connect(slot)
            self._menus[menu_name].addAction(act)
            return act

        bar = self.menuBar()
        self._menus = {name: bar.addMenu(name) for name in ("&Library", "&Playback", "&View")}
        lib = "&Library"
        self.add_action = action(
            lib, "&Add folder…", self.choose_folder, QKeySequence.StandardKey.Open
        )
        self.rescan_action = action(lib, "&Rescan library", self.jobs.rescan, QKeySequence("F5"))
        self.retrain_action = action(lib, "Re&train model", self.jobs.retrain)
        self.both_action = action(lib, "Rescan and retrain", self.jobs.rescan_and_retrain)
        passes = self._menus[lib].addMenu("Analysis &passes")
        #: later pass name → its checkable action (checked: it runs)
        self.pass_actions: dict[str, QAction] = {}
        for name, title in optional_passes():
            act = QAction(title[:1].upper() + title[1:], self)
            act.setCheckable(True)
            act.toggled.connect(lambda on, name=name: self.jobs.set_pass(name, on))
            passes.addAction(act)
            self.pass_actions[name] = act
        self._menus[lib].addSeparator()
        action(lib, "&Failed files…", self.show_failures)
        action(lib, "S&hared library (MongoDB)…", self.choose_store)
        self._menus[lib].addSeparator()
        self.more_like_action = action(
            lib, "&More like the selected songs", self.more_like_selection, QKeySequence("Ctrl+M")
        )
        self._menus[lib].addSeparator()
        action(lib, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        play = "&Playback"
        self.play_action = action(
            play,
            "Play/Pause",
            self.playback.toggle,
            [
                QKeySequence(Qt.Key.Key_Space),
                QKeySequence(Qt.Key.Key_MediaPlay),
                QKeySequence(Qt.Key.Key_MediaTogglePlayPause),
                QKeySequence(Qt.Key.Key_MediaPause),
            ],
        )
        action(
            play,
            "Next",
            self.playback.next,
            [QKeySequence("Ctrl+Right"), QKeySequence(Qt.Key.Key_MediaNext)],
        )
        action(
            play,
            "Previous",
            self.playback.previous,
            [QKeySequence("Ctrl+Left"), QKeySequence(Qt.Key.Key_MediaPrevious)],
        )
        action(play, "Stop", self.player.stop, QKeySequence(Qt.Key.Key_MediaStop))
        self._menus[play].addSeparator()
        self.save_playlist_action = action(
            play, "&Save up next as playlist…", self.save_up_next, QKeySequence("Ctrl+S")
        )
        action(play, "Forget skipped songs", self.forget_skips)
        action(
            play, "&Journey to the selected song", self.journey_to_selection, QKeySequence("Ctrl+J")
        )
        radio = action(play, "Radio (continue with similar songs)", self.up_next.radio.setChecked)
        radio.setCheckable(True)
        radio.setChecked(True)
        self.up_next.radio.toggled.connect(radio.setChecked)
        self._menus[play].addSeparator()
        self.shuffle_action = action(play, "S&huffle", self.playback.set_shuffle)
        self.shuffle_action.setCheckable(True)
        self.shuffle_action.setToolTip("With the radio off, play the shown songs in random order")
        repeat_menu = self._menus[play].addMenu("&Repeat")
        self.repeat_actions: dict[Repeat, QAction] = {}
        group = QActionGroup(self)
        for mode, text in ((Repeat.OFF, "Off"), (Repeat.ALL, "All"), (Repeat.ONE, "One song")):
            act = QAction(text, self, checkable=True)
            act.triggered.connect(lambda _=False, m=mode: self.set_repeat(m))
            group.addAction(act)
            repeat_menu.addAction(act)
            self.repeat_actions[mode] = act
        self.repeat_actions[Repeat.OFF].setChecked(True)

        view = "&View"
        action(view, "&Search", self.view.focus_search, QKeySequence.StandardKey.Find)
        self.show_playing_action = action(
            view, "Show &playing song", self.show_playing, QKeySequence("Ctrl+L")
        )
        browse = self.browser.toggleViewAction()
        browse.setShortcut(QKeySequence("Ctrl+B"))
        self._menus[view].addAction(browse)
        self._menus[view].addAction(self.up_next.toggleViewAction())
        self._menus[view].addAction(self.map.toggleViewAction())
        self._menus[view].addAction(self.clusters.toggleViewAction())

    def _connect(self) -> None:
        self.view.play_requested.connect(self.play)
        self.view.more_like_requested.connect(self.suggestions.more_like)
        self.view.journey_requested.connect(self.suggestions.journey)
        self.view.play_next_requested.connect(self.playback.play_next)
        self.view.enqueue_requested.connect(self.playback.enqueue)
        self.view.why_not_requested.connect(self.suggestions.why_not)
        self.view.describe_requested.connect(self.describe)
        self.browser.scope_changed.connect(self._show_scope)
        tracks_of = self.view.model.tracks_with_ids
        self.browser.play_requested.connect(lambda ids: self.playback.play_all(tracks_of(ids)))
        self.browser.play_next_requested.connect(
            lambda ids: self.playback.play_next(tracks_of(ids))
        )
        self.browser.enqueue_requested.connect(lambda ids: self.playback.enqueue(tracks_of(ids)))
        queue = self.up_next.queue
        queue.play_requested.connect(self.play)
        queue.moved.connect(self.playback.move_queued)
        queue.removed.connect(self.playback.remove_queued)
        self.playback.queue_changed.connect(lambda: queue.show_queue(self.playback.queue))
        self.now_playing.shuffle_button.toggled.connect(self.shuffle_action.setChecked)
        self.shuffle_action.toggled.connect(self.now_playing.shuffle_button.setChecked)
        self.shuffle_action.toggled.connect(self.playback.set_shuffle)
        self.now_playing.repeat_clicked.connect(self._next_repeat)
        self.map.play_requested.connect(self.play)
        self.map.play_these_requested.connect(self.playback.play_all)
        self.map.more_like_requested.connect(self.suggestions.more_like)
        self.map.neighbours_requested.connect(self.show_true_neighbours)
        self.suggestions.up_next_changed.connect(self.map.show_playing)
        self.clusters.play_requested.connect(self.playback.play_all)
        self.clusters.save_requested.connect(
            lambda name, tracks: self.save_playlist(tracks, f"{name}.m3u8")
        )
        self.jobs.model_changed.connect(self.refresh_atlas)
        self.view.add_folder_requested.connect(self.choose_folder)
        bar, player = self.now_playing, self.player
        bar.play_pause.connect(self.playback.toggle)
        bar.next.connect(self.playback.next)
        bar.previous.connect(self.playback.previous)
        bar.seek.connect(player.seek)
        bar.volume_changed.connect(player.set_volume)
        # however the volume changes (restored, from MPRIS), the slider follows
        player.volume_changed.connect(lambda percent: bar.set_volume(percent, player.muted()))
        bar.mute_toggled.connect(player.set_muted)
        player.track_changed.connect(self._show_track)
        player.output_changed.connect(lambda present: self.no_output.setVisible(not present))
        self.no_output.setVisible(not player.has_output())
        player.playing_changed.connect(bar.set_playing)
        player.position_changed.connect(bar.set_position)
        player.duration_changed.connect(bar.set_duration)
        self.playback.message.connect(self.show_message)
        self.suggestions.track_updated.connect(self.view.model.update_track)
        self.jobs.snapshot.connect(self._apply_snapshot)
        self.jobs.finished.connect(self.show_message)
        self.jobs.model_changed.connect(self.suggestions.refresh)
        self.jobs.busy_changed.connect(self._busy)
        self.jobs.busy_changed.connect(lambda busy: busy or self.suggestions.refresh_if_waiting())

    # -- actions -------------------------------------------------------------------------
    def play(self, track: Track) -> None:
        self.playback.play(track)

    def more_like_selection(self) -> None:
        tracks = self.view.selected_tracks()
        if tracks:
            self.suggestions.more_like(tracks)
        else:
            self.show_message("Select songs in the library first.")

    def save_up_next(self, path: str | None = None) -> None:
        """Write the playing song and up next as an M3U8 playlist."""
        current = self.playback.current
        tracks = ([current] if current is not None else []) + self.up_next.tracks
        if not tracks:
            self.show_message("Nothing to save: play a song first.")
            return
        self.save_playlist(tracks, f"{tracks[0].title or 'Encore'} radio.m3u8", path)

    def save_playlist(self, tracks: list[Track], name: str, path: str | None = None) -> None:
        """Write ``tracks`` as M3U8 to ``path``, or where the user chooses."""
        from engine.playlist import PlaylistError, write_m3u8

        if path is None:
            start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MusicLocation)
            path, _ = QFileDialog.getSaveFileName(
                self, "Save as playlist", os.path.join(start, name), "Playlists (*.m3u8)"
            )
            if not path:
                return
        try:
            skipped = write_m3u8(path, tracks, relative=False)
        except PlaylistError as exc:
            self.show_message(f"Could not save the playlist: {exc}")
            return
        left_out = f" ({len(skipped)} left out: no playlist line can hold their names)"
        saved = len(tracks) - len(skipped)
        self.show_message(f"Saved {plural(saved, 'song')} to {path}{left_out if skipped else ''}")

    def refresh_atlas(self) -> None:
        """Recompute the map and the clusters (off the GUI thread) after training."""
        if not self.library.model_is_current():
            return

        def compute(token: object) -> Atlas:
            return self.library.atlas()

        def done(atlas: Atlas) -> None:
            tracks = atlas.tracks
            self.map.set_projection(atlas.projection, tracks, atlas.clusters)
            self.clusters.set_clusters(
                [(c, [tracks[t] for t in c.track_ids if t in tracks]) for c in atlas.clusters]
            )
            self.map.show_playing(self.playback.current, self.up_next.tracks)

        self.runner.start(compute, name="atlas", succeeded=done, failed=self.show_message)

    def show_true_neighbours(self, track: Track) -> None:
        def shown(ids: list[int]) -> None:
            if ids:
                self.map.show_neighbours(track, ids)
                self.show_message(f"Dotted lines: the true nearest songs to “{track.title}”.")

        self.runner.start(
            lambda token: self.library.neighbours(track.id),
            name="neighbours",
            succeeded=shown,
            failed=self.show_message,
        )

    def describe(self, text: str) -> None:
        """Show the songs that best match a description ("calm piano"), best first."""
        if not text:
            self.view.model.set_ranking(None)
            return
        asked = self.view.search.text()

        def found(result: tuple) -> None:
            matches, wanted = result
            if self.view.search.text() != asked:
                return  # typed on meanwhile
            self.view.model.set_ranking([t.id for t, _ in matches])
            read = wanted.read_as(self.library.tag_names())
            unknown = f" (not a tag: {', '.join(wanted.unknown)})" if wanted.unknown else ""
            self.view.search.setToolTip(f"“{text}” read as {read}{unknown}")
            if not wanted.groups:
                self.show_message(f"No word of “{text}” names a tag{unknown}.")
            elif not matches:
                self.show_message("No song has been through the second (neural) pass yet.")
            else:
                self.show_message(
                    f"{plural(len(matches), 'song')} like “{text}”, best first{unknown}; "
                    "Ctrl+M on a selection starts a radio (hover the search box: how it was read)"
                )

        self.runner.start(
            lambda token: self.library.describe(text, DESCRIBE_RESULTS),
            name="describe",
            succeeded=found,
            failed=self.show_message,
        )

    def journey_to_selection(self) -> None:
        tracks = self.view.selected_tracks()
        if tracks:
            self.suggestions.journey(tracks[0])
        else:
            self.show_message("Select the destination song in the library first.")

    def choose_store(self, uri: str | None = None) -> None:
        """Use a shared MongoDB library from the next start (empty: this computer's)."""
        if uri is None:
            current = Library.shared_store(self.library.home) or ""
            uri, ok = QInputDialog.getText(
                self,
                "Shared library",
                "MongoDB URI, e.g. mongodb://user:password@server:27017/encore\n"
                "(leave empty to use the library on this computer):",
                QLineEdit.EchoMode.PasswordEchoOnEdit,  # the URI may hold a password
                current,
            )
            if not ok:
                return
        uri = uri.strip()
        if not uri:
            Library.choose_shared_store(self.library.home, None)
            self.show_message("From the next start, Encore uses the library on this computer.")
            return
        self.show_message("Connecting to the shared library…")

        def connect(token: object) -> str:  # off the GUI thread: it may take seconds
            return Library.connect_shared_store(uri)

        def connected(shown: str) -> None:
            Library.choose_shared_store(self.library.home, uri)
            self.show_message(f"From the next start, Encore uses the shared library {shown}.")

        self.runner.start(connect, name="store", succeeded=connected, failed=self.show_message)

    def forget_skips(self) -> None:
        def forget(token: object) -> int:
            return self.library.reset_skips()

        def done(forgotten: int) -> None:
            self.show_message(f"Forgot {plural(forgotten, 'skipped suggestion')}.")

        self.runner.start(forget, name="skips", succeeded=done, failed=self.show_message)

    def choose_folder(self) -> None:
        start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MusicLocation)
        folder = QFileDialog.getExistingDirectory(self, "Add a music folder", start)
        if folder:
            self.add_paths([folder])

    def add_paths(self, paths: Sequence[str], *, play_first_file: bool = False) -> None:
        """Add folders and files to the library; with ``play_first_file``, play the first
        file given, or the first song of the first folder given, once it is there."""
        paths = [os.path.abspath(p) for p in paths]
        playable = [
            p
            for p in paths
            if os.path.isdir(p) or (os.path.isfile(p) and self.library.is_music_file(p))
        ]
        if play_first_file and playable:
            self._pending_play = playable[0]
            self._play_pending(self.view.model.tracks())
        if self.jobs.add(paths):
            self.show_message(f"Adding {plural(len(paths), 'item')} to the library…")

    def set_repeat(self, mode: Repeat) -> None:
        """Repeat off, all (the library starts over) or one (the song plays again)."""
        self.playback.set_repeat(mode)
        self.repeat_actions[mode].setChecked(True)
        self.now_playing.show_repeat(mode.value)

    def _next_repeat(self) -> None:
        modes = list(Repeat)
        current = next(m for m, act in self.repeat_actions.items() if act.isChecked())
        self.set_repeat(modes[(modes.index(current) + 1) % len(modes)])

    def show_playing(self) -> None:
        """Select and scroll to the song playing (clearing a search that hides it)."""
        track = self.player.track
        if track is None:
            return
        if self.view.model.row_of(track.id) is None and self.browser.scope.track_ids is not None:
            self.browser.show_all()
        if self.view.model.row_of(track.id) is None and self.view.search.text():
            self.view.search.clear()
            self.view.proxy.set_search("")  # at once, not after the typing pause
        self.view.reveal(track)

    def show_failures(self) -> None:
        """The failed-files dialog, once the list is read (off the GUI thread)."""

        def shown(failures: list[Failure]) -> None:
            FailuresDialog(failures, self, retry=self.jobs.retry_failed).exec()

        self.runner.start(
            lambda token: self.library.failures(),
            name="failures",
            succeeded=shown,
            failed=self.show_message,
        )

    def show_message(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text, MESSAGE_MS)

    def present(self) -> None:
        """Bring the window to the front, restored if it was minimised (MPRIS Raise)."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    # -- reactions ---------------------------------------------------------------------------
    def _show_track(self, track: Track) -> None:
        self.now_playing.show_track(track)
        self.view.model.set_playing(track.id)

        def cover_read(cover: QImage | None) -> None:
            current = self.playback.current
            if cover is not None and current is not None and current.id == track.id:
                self.now_playing.show_cover(cover)

        # Off the GUI thread: the file or tags are read and the picture decoded, straight
        # to the bar's size (a full-size decode here froze the window for big covers).
        pixels = self.now_playing.cover_pixels()
        self.runner.start(
            lambda token: cover_image(self.library, [track.path], pixels),
            name="cover",
            succeeded=cover_read,
        )
        self.setWindowTitle(f"{track.title} — Encore")
        self.view.reveal(track)

    def _welcome(self, on: bool) -> None:
        """Hide the panes while the library is empty; bring them back with the first song."""
        if on and self._welcome_hid is None:
            docks = (self.browser, self.up_next, self.map, self.clusters)
            self._welcome_hid = [d for d in docks if not d.isHidden()]
            for dock in self._welcome_hid:
                dock.hide()
        elif not on and self._welcome_hid is not None:
            for dock in self._welcome_hid:
                dock.show()
            self._welcome_hid = None
            self.map.raise_()

    @property
    def welcoming(self) -> bool:
        return self._welcome_hid is not None

    def _apply_snapshot(self, snap: Snapshot) -> None:
        self._welcome(not snap.tracks)
        self.view.set_tracks(snap.tracks, snap.keys)
        self.browser.set_collection(snap.collection)
        analysed = sum(t.analysed for t in snap.tracks)
        shared = self.library.location
        where = f" · shared library {shared}" if shared else ""
        tagged = f" · {snap.heard} auto-tagged" if snap.heard else ""
        self.counts.setText(f"{len(snap.tracks)} tracks · {analysed} analysed{tagged}{where}")
        self.counts.setToolTip(
            "Analysed: the first pass (up next works from it). Auto-tagged: the second, "
            "neural pass, which also sharpens what sounds alike."
        )
        for name, act in self.pass_actions.items():
            act.blockSignals(True)  # the library's setting, not a click
            act.setChecked(name in snap.passes_on)
            act.blockSignals(False)
        self.failed_button.setText(f"⚠ {snap.failures} failed")
        self.failed_button.setToolTip("Show the files that could not be read or analysed")
        self.failed_button.setVisible(snap.failures > 0)
        if analysed != len(self.map.ids) and len(self.map.ids):
            self.refresh_atlas()  # songs analysed since training join the map too
        self._play_pending(snap.tracks)

    def _show_scope(self, scope: Scope) -> None:
        """Show only the browser's artist or album in the table (None: everything)."""
        self.view.model.set_scope(scope.track_ids)
        where = "" if scope.track_ids is None else f" in “{scope.label}”"
        self.view.search.setPlaceholderText(
            f"Search title, artist, album or genre{where}, or ~describe it (Ctrl+F)"
        )

    def _play_pending(self, tracks: Sequence[Track]) -> None:
        """Play the file, or the first song of the folder, waiting to be played."""
        wanted = self._pending_play
        if not wanted:
            return
        inside = os.path.join(wanted, "")
        matches = [t for t in tracks if t.path == wanted or t.path.startswith(inside)]
        if matches:
            self._pending_play = None
            self.play(min(matches, key=lambda t: t.path))

    def _busy(self, busy: bool) -> None:
        for act in (self.rescan_action, self.retrain_action, self.both_action):
            act.setEnabled(not busy)

    # -- drag and drop -----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            # Let the drop finish before starting work.
            QTimer.singleShot(0, lambda: self.add_paths(paths))

    def _find_last_track(self, track_id: int) -> None:
        self.runner.start(
            lambda token: self.library.tracks_by_ids([track_id]).get(track_id),
            name="last-track",
            succeeded=self._cue_last_track,
        )

    def _cue_last_track(self, track: Track | None) -> None:
        """The last session's song, paused where it was, with up next ready for it."""
        if self.session.cue(track):
            self.suggestions.refresh(track)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Close in two steps: stop the work and let go of the media, then close.

        The first close saves the session, stops and joins every engine thread, and asks
        the player to release its media (which happens from the event loop, see
        ``desktop/player.py``); it is ignored, and the player's ``released`` closes the
        window again, which is then accepted. A close at any moment, however many times
        asked, ends the same way.
        """
        if self.player.is_released:
            super().closeEvent(event)
            self.closed.emit()
            return
        event.ignore()
        if self._closing:
            return
        self._closing = True
        self.session.save()
        self.covers.close()
        self.runner.shutdown()
        self.player.released.connect(self.close, Qt.ConnectionType.QueuedConnection)
        self.player.release()
