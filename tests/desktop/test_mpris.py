"""MPRIS: a desktop client on a private D-Bus session bus sees and drives the window.

The bus is a ``dbus-daemon`` of the test's own (CI has no session bus); the window's
MPRIS object is attached to it with :func:`desktop.mpris.attach`. The client side is
QtDBus in this process, plus ``dbus-send`` (part of every ``dbus-daemon`` install) where
the exact D-Bus types matter: PySide6 can send no small int64 and decode no ``a{sv}``.
"""

import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import SLOT, QObject, Slot
from PySide6.QtDBus import QDBus, QDBusConnection, QDBusMessage, QDBusVariant

from desktop.mpris import PATH, PLAYER, PROPERTIES, ROOT, SERVICE, attach
from engine.library import Library, run
from tests.helpers import close_window, open_window, write_songs

pytestmark = pytest.mark.slow


@pytest.fixture
def bus_address() -> Iterator[str]:
    """A private session bus for the test, gone afterwards."""
    exe = shutil.which("dbus-daemon")
    assert exe, "dbus-daemon is a system package: `make system-deps` installs it"
    daemon = subprocess.Popen(
        [exe, "--session", "--print-address", "--nofork", "--nopidfile"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    address = daemon.stdout.readline().strip()
    assert address, "dbus-daemon did not start"
    yield address
    daemon.terminate()
    daemon.wait(10)


@pytest.fixture
def buses(bus_address: str) -> Iterator[tuple[QDBusConnection, QDBusConnection]]:
    """Two connections to the private bus: Encore's and the client's."""
    names = [f"encore-test-{side}-{uuid.uuid4().hex}" for side in ("service", "client")]
    connections = [QDBusConnection.connectToBus(bus_address, name) for name in names]
    assert all(c.isConnected() for c in connections)
    yield connections[0], connections[1]
    for name in names:
        QDBusConnection.disconnectFromBus(name)


class Client(QObject):
    """What a media-key daemon or a panel widget does, over QtDBus."""

    def __init__(self, bus: QDBusConnection) -> None:
        super().__init__()
        self.bus = bus
        self.changes: list[dict] = []  # PropertiesChanged of the player interface
        self.seeked: list[int] = []
        ok = bus.connect(
            SERVICE,
            PATH,
            PROPERTIES,
            "PropertiesChanged",
            self,
            SLOT("on_changed(QString,QVariantMap,QStringList)"),
        )
        # a QDBusMessage slot takes any signature: Seeked carries an int32 when small
        seeked = SLOT("on_seeked(QDBusMessage)")
        assert ok and bus.connect(SERVICE, PATH, PLAYER, "Seeked", self, seeked)

    @Slot(str, "QVariantMap", "QStringList")
    def on_changed(self, interface: str, changed: dict, invalidated: list) -> None:
        if interface == PLAYER:
            self.changes.append(changed)

    @Slot(QDBusMessage)
    def on_seeked(self, message: QDBusMessage) -> None:
        self.seeked.append(message.arguments()[0])

    def call(self, interface: str, member: str, *args: object) -> list:
        message = QDBusMessage.createMethodCall(SERVICE, PATH, interface, member)
        message.setArguments(list(args))
        # The window answers from this thread: keep its events going while waiting.
        reply = self.bus.call(message, QDBus.CallMode.BlockWithGui, 10_000)
        assert reply.type() == QDBusMessage.MessageType.ReplyMessage, reply.errorMessage()
        return reply.arguments()

    def get(self, name: str, interface: str = PLAYER) -> object:
        (value,) = self.call(PROPERTIES, "Get", interface, name)
        return value.variant()

    def heard(self, name: str, value: object) -> bool:
        return any(name in c and c[name] == value for c in self.changes)

    def name_on_bus(self) -> bool:
        ask = QDBusMessage.createMethodCall(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner"
        )
        ask.setArguments([SERVICE])
        return self.bus.call(ask).arguments()[0]


def dbus_send(qtbot, address: str, interface_member: str, *args: str) -> str:
    """``dbus-send --print-reply`` to Encore: its output names every D-Bus type."""
    command = ["dbus-send", f"--bus={address}", "--print-reply", f"--dest={SERVICE}", PATH]
    sender = subprocess.Popen(
        [*command, interface_member, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    qtbot.waitUntil(lambda: sender.poll() is not None, timeout=10_000)  # the window answers
    out, err = sender.communicate()
    assert sender.returncode == 0, err.decode()
    return out.decode()


def metadata(qtbot, address: str) -> dict[str, str]:
    """The Metadata property as ``{key: "type value"}``, as dbus-send prints it."""
    out = dbus_send(qtbot, address, f"{PROPERTIES}.Get", f"string:{PLAYER}", "string:Metadata")
    entries = re.findall(r'string "([^"]+)"\s+variant\s+(array \[[^\]]*\]|[^\n]+)', out)
    return {key: " ".join(value.split()) for key, value in entries}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Three 4-second songs by one artist (folders name them), scanned."""
    write_songs(tmp_path / "music" / "The Artist" / "The Album", 3, seconds=4.0)
    home = tmp_path / "home"
    library = Library(home)
    run(library.scan([str(tmp_path / "music")]))
    library.close()
    return home


def test_a_desktop_client_sees_and_drives_the_player(qtbot, home, bus_address, buses):
    window = open_window(qtbot, home)
    qtbot.waitUntil(lambda: window.view.model.rowCount() == 3)
    service_bus, client_bus = buses
    mpris = attach(window.playback, window, service_bus)
    assert mpris is not None and mpris.service == SERVICE
    client = Client(client_bus)
    assert client.name_on_bus()
    assert client.get("Identity", ROOT) == "Encore"
    assert client.get("DesktopEntry", ROOT) == "encore"
    assert client.get("CanQuit", ROOT) and not client.get("HasTrackList", ROOT)
    assert client.get("PlaybackStatus") == "Stopped"
    assert client.get("CanControl") and client.get("Rate") == 1.0

    # a song plays in the window: clients hear of it and see what it is, typed as MPRIS says
    first = window.view.model.tracks()[0]
    window.play(first)
    qtbot.waitUntil(lambda: window.player.position() > 300, timeout=15_000)
    qtbot.waitUntil(lambda: client.heard("PlaybackStatus", "Playing"))
    assert any("Metadata" in c for c in client.changes)
    assert client.get("PlaybackStatus") == "Playing"
    assert metadata(qtbot, bus_address) == {
        "mpris:trackid": f'object path "/org/encore/track/{first.id}"',
        "mpris:length": "int64 4000000",
        "xesam:title": f'string "{first.title}"',
        "xesam:artist": 'array [ string "The Artist" ]',
        "xesam:album": 'string "The Album"',
        "xesam:url": f'string "{Path(first.path).as_uri()}"',
    }
    position = client.get("Position")
    assert 300_000 < position <= window.player.position() * 1000
    assert "int64" in dbus_send(
        qtbot, bus_address, f"{PROPERTIES}.Get", f"string:{PLAYER}", "string:Position"
    )

    # play/pause from a media key
    client.changes.clear()  # (loading the song was announced as paused for a moment)
    client.call(PLAYER, "PlayPause")
    qtbot.waitUntil(lambda: not window.player.playing)
    assert client.get("PlaybackStatus") == "Paused"
    qtbot.waitUntil(lambda: client.heard("PlaybackStatus", "Paused"))
    client.call(PLAYER, "PlayPause")
    qtbot.waitUntil(lambda: window.player.playing)

    # next song: the window plays it and clients are told
    second = window.view.track_after(first)
    client.changes.clear()
    client.call(PLAYER, "Next")
    assert window.player.track.id == second.id
    qtbot.waitUntil(lambda: any("Metadata" in c for c in client.changes))
    assert metadata(qtbot, bus_address)["mpris:trackid"] == (
        f'object path "/org/encore/track/{second.id}"'
    )

    # the volume, from a panel's slider: the player and the window's slider follow
    client.call(PROPERTIES, "Set", PLAYER, "Volume", QDBusVariant(0.25))
    assert window.player.volume() == 25 and window.now_playing.volume.value() == 25
    assert client.get("Volume") == 0.25
    qtbot.waitUntil(lambda: client.heard("Volume", 0.25))

    # seeking: relative and to a position of the playing track; each is signalled
    qtbot.waitUntil(lambda: window.player.position() > 100, timeout=15_000)
    start = window.player.position()
    dbus_send(qtbot, bus_address, f"{PLAYER}.Seek", "int64:1000000")
    qtbot.waitUntil(lambda: len(client.seeked) == 1)
    # from where it was when the call came (later than `start`), a second on
    assert (start + 1000) * 1000 <= client.seeked[0] < (start + 3000) * 1000
    track_id = f"objpath:/org/encore/track/{second.id}"
    dbus_send(qtbot, bus_address, f"{PLAYER}.SetPosition", track_id, "int64:500000")
    qtbot.waitUntil(lambda: len(client.seeked) == 2)
    assert client.seeked[1] == 500_000
    # play on after the seek (stopping Qt's FFmpeg player just after one can hang)
    qtbot.waitUntil(lambda: window.player.position() > 1000, timeout=15_000)
    assert window.player.track.id == second.id

    # Quit closes the window, which leaves the bus
    client.call(ROOT, "Quit")
    qtbot.waitUntil(lambda: not window.isVisible())
    assert not client.name_on_bus()
    close_window(qtbot, window)


def test_no_mpris_without_a_session_bus_or_off_linux(qtbot, tmp_path, buses, monkeypatch):
    window = open_window(qtbot, tmp_path / "home")
    name = f"encore-test-nobus-{uuid.uuid4().hex}"
    nobus = QDBusConnection.connectToBus(f"unix:path={tmp_path / 'no-bus'}", name)
    assert not nobus.isConnected()
    assert attach(window.playback, window, nobus) is None
    QDBusConnection.disconnectFromBus(name)

    service_bus, client_bus = buses
    monkeypatch.setattr(sys, "platform", "darwin")
    assert attach(window.playback, window, service_bus) is None
    assert not Client(client_bus).name_on_bus()
    close_window(qtbot, window)
