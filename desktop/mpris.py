"""MPRIS over D-Bus (Linux): desktop media keys, lock screens and panel widgets control Encore.

MPRIS drives the playback controller and reads the player it drives; of the window it
needs only what its root interface names, through :class:`Application`: Raise and Quit.
It leaves the bus when the player is let go (the window closing).

:func:`attach` exports ``/org/mpris/MediaPlayer2`` as a :class:`QDBusVirtualObject` that
answers every call itself, the Properties calls included: in PySide6 that is the only way
to give every value the D-Bus type MPRIS prescribes. PySide6 marshals a Python ``int`` as
an ``int32`` whenever it fits, while MPRIS times are ``int64`` microseconds, and clients
check (playerctl's ``duration(mpris:length)`` refuses anything else); Qt's adaptors type
top-level properties right, but not the values inside ``Metadata``. So
:meth:`Mpris._int64` borrows an int64 from Qt (a typed ``qlonglong`` property, read back
through a local D-Bus call, arrives in a variant that keeps its type), and
:func:`_vardict` writes ``a{sv}`` maps entry by entry so such variants are not wrapped
twice.

One value stays mistyped: ``Seeked`` carries a bare ``int64``, which PySide6 cannot write
at all, so below 35 minutes the position goes out as an ``int32``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import ClassInfo, Property, QMetaType, QObject, QTimer, SignalInstance
from PySide6.QtDBus import (
    QDBus,
    QDBusArgument,
    QDBusConnection,
    QDBusMessage,
    QDBusObjectPath,
    QDBusVariant,
    QDBusVirtualObject,
)

from engine.tracks import Track

if TYPE_CHECKING:
    from desktop.playback import PlaybackController

SERVICE = "org.mpris.MediaPlayer2.encore"
PATH = "/org/mpris/MediaPlayer2"
ROOT = "org.mpris.MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPERTIES = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
#: The MPRIS "no track" id.
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"
#: Where :meth:`Mpris._int64` reads its typed values (private to Encore).
INT64_PATH = "/org/encore/int64"
INT64_INTERFACE = "org.encore.Int64"

INTROSPECTION = """\
<interface name="org.mpris.MediaPlayer2">
  <method name="Raise"/>
  <method name="Quit"/>
  <property name="CanQuit" type="b" access="read"/>
  <property name="CanRaise" type="b" access="read"/>
  <property name="HasTrackList" type="b" access="read"/>
  <property name="Identity" type="s" access="read"/>
  <property name="DesktopEntry" type="s" access="read"/>
  <property name="SupportedUriSchemes" type="as" access="read"/>
  <property name="SupportedMimeTypes" type="as" access="read"/>
</interface>
<interface name="org.mpris.MediaPlayer2.Player">
  <method name="Next"/>
  <method name="Previous"/>
  <method name="Pause"/>
  <method name="PlayPause"/>
  <method name="Stop"/>
  <method name="Play"/>
  <method name="Seek">
    <arg name="Offset" type="x" direction="in"/>
  </method>
  <method name="SetPosition">
    <arg name="TrackId" type="o" direction="in"/>
    <arg name="Position" type="x" direction="in"/>
  </method>
  <method name="OpenUri">
    <arg name="Uri" type="s" direction="in"/>
  </method>
  <signal name="Seeked">
    <arg name="Position" type="x"/>
  </signal>
  <property name="PlaybackStatus" type="s" access="read"/>
  <property name="Rate" type="d" access="readwrite"/>
  <property name="Metadata" type="a{sv}" access="read"/>
  <property name="Volume" type="d" access="readwrite"/>
  <property name="Position" type="x" access="read"/>
  <property name="MinimumRate" type="d" access="read"/>
  <property name="MaximumRate" type="d" access="read"/>
  <property name="CanGoNext" type="b" access="read"/>
  <property name="CanGoPrevious" type="b" access="read"/>
  <property name="CanPlay" type="b" access="read"/>
  <property name="CanPause" type="b" access="read"/>
  <property name="CanSeek" type="b" access="read"/>
  <property name="CanControl" type="b" access="read"/>
</interface>
"""


#: The answer to Introspect, around :data:`INTROSPECTION` (Qt leaves that call to us).
INTROSPECTION_DOCUMENT = """\
<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
{interfaces}<interface name="org.freedesktop.DBus.Properties">
  <method name="Get">
    <arg name="interface_name" type="s" direction="in"/>
    <arg name="property_name" type="s" direction="in"/>
    <arg name="value" type="v" direction="out"/>
  </method>
  <method name="GetAll">
    <arg name="interface_name" type="s" direction="in"/>
    <arg name="values" type="a{{sv}}" direction="out"/>
  </method>
  <method name="Set">
    <arg name="interface_name" type="s" direction="in"/>
    <arg name="property_name" type="s" direction="in"/>
    <arg name="value" type="v" direction="in"/>
  </method>
  <signal name="PropertiesChanged">
    <arg name="interface_name" type="s"/>
    <arg name="changed_properties" type="a{{sv}}"/>
    <arg name="invalidated_properties" type="as"/>
  </signal>
</interface>
<interface name="org.freedesktop.DBus.Introspectable">
  <method name="Introspect">
    <arg name="xml_data" type="s" direction="out"/>
  </method>
</interface>
<interface name="org.freedesktop.DBus.Peer">
  <method name="Ping"/>
  <method name="GetMachineId">
    <arg name="machine_uuid" type="s" direction="out"/>
  </method>
</interface>
</node>
"""
DBUS_ERROR = "org.freedesktop.DBus.Error."


class Application(Protocol):
    """What MPRIS's root interface acts on beside the player (the main window is one)."""

    def present(self) -> None:
        """Bring Encore to the front, restored if minimised (MPRIS ``Raise``)."""
        ...

    def close(self) -> bool:
        """Close Encore as the user does (MPRIS ``Quit``)."""
        ...


def attach(
    playback: PlaybackController, app: Application, connection: QDBusConnection | None = None
) -> Mpris | None:
    """Offer ``playback`` and its player over MPRIS on ``connection`` (default: the
    session bus); ``app`` is what Raise and Quit act on.

    None, having done nothing, off Linux or when the bus cannot be reached (no session
    bus in CI, over SSH, in a container) or the object cannot be exported.
    """
    if not sys.platform.startswith("linux"):
        return None
    if connection is None:
        connection = QDBusConnection.sessionBus()
    if not connection.isConnected():
        return None
    mpris = Mpris(playback, app, connection)
    if not mpris.register():
        mpris.close()
        mpris.setParent(None)
        return None
    return mpris


@ClassInfo({"D-Bus Interface": INT64_INTERFACE})
class _Int64Source(QObject):
    """One ``qlonglong`` property: Qt reads it out as a D-Bus int64 (:meth:`Mpris._int64`)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.value = 0

    def _get(self) -> int:
        """The value last set (the property's getter)."""
        return self.value

    Value = Property("qlonglong", _get)


class Mpris(QDBusVirtualObject):
    """The MPRIS object for one player on one bus connection; made by :func:`attach`."""

    def __init__(
        self, playback: PlaybackController, app: Application, connection: QDBusConnection
    ) -> None:
        super().__init__(playback)
        self.playback = playback
        self.player = playback.player
        self.app = app
        self.connection = connection
        self.service = ""  # the bus name, once held
        self._int64_source = _Int64Source(self)
        self._exported = False
        self._told: dict[str, Any] = {}  # what clients last heard, so only changes are sent
        # The player's signals come in bursts (stopping reports "not playing" before the
        # track is cleared): look at the state once, after the burst.
        self._announce_timer = QTimer(self)
        self._announce_timer.setSingleShot(True)
        self._announce_timer.setInterval(0)
        self._announce_timer.timeout.connect(self._announce_changes)

    # -- joining and leaving the bus -------------------------------------------------------
    def register(self) -> bool:
        """Export the object and take the bus name; False if either is refused."""
        bus = self.connection
        self._exported = bus.registerVirtualObject(
            PATH, self, QDBusConnection.VirtualObjectRegisterOption.SingleNode
        )
        if not self._exported:
            return False
        bus.registerObject(
            INT64_PATH, self._int64_source, QDBusConnection.RegisterOption.ExportAllProperties
        )
        # A second Encore takes a name of its own, as the MPRIS specification asks.
        self.service = next(
            (n for n in (SERVICE, f"{SERVICE}.instance{os.getpid()}") if bus.registerService(n)),
            "",
        )
        if not self.service:
            return False
        for signal in self._followed():
            signal.connect(self._changed)
        # No remote control of a player that is shutting down (the window closing).
        self.player.releasing.connect(self.close)
        self._told = self._announced_properties()
        return True

    def close(self) -> None:
        """Leave the bus: no remote control of a player that is shutting down."""
        if not self._exported:
            return
        self._exported = False
        self._announce_timer.stop()
        if self.service:
            self.player.releasing.disconnect(self.close)
            for signal in self._followed():
                signal.disconnect(self._changed)
            self.connection.unregisterService(self.service)
            self.service = ""
        self.connection.unregisterObject(INT64_PATH)
        self.connection.unregisterObject(PATH)

    def _followed(self) -> tuple[SignalInstance, ...]:
        """The player's signals after which clients may have something new to hear."""
        player = self.player
        return (
            player.track_changed,
            player.playing_changed,
            player.duration_changed,
            player.volume_changed,
        )

    # -- calls from the bus ----------------------------------------------------------------
    def introspect(self, path: str) -> str:
        """The two MPRIS interfaces (what Qt asks a virtual object for)."""
        return INTROSPECTION

    def handleMessage(self, message: QDBusMessage, connection: QDBusConnection) -> bool:
        """Answer one call: a method of either MPRIS interface, or a Properties call."""
        interface = message.interface()
        try:
            if interface == INTROSPECTABLE or (not interface and message.member() == "Introspect"):
                document = INTROSPECTION_DOCUMENT.format(interfaces=self.introspect(PATH))
                reply = _reply(message, document)
            elif interface == PROPERTIES:
                reply = self._properties_call(message)
            elif interface in (ROOT, PLAYER, ""):  # no interface: the method name decides
                reply = self._method_call(message)
            else:
                reply = _error(message, "UnknownInterface", f"No interface {interface}")
        except Exception as exc:  # a bug must not leave the caller waiting for its timeout
            reply = _error(message, "Failed", f"{type(exc).__name__}: {exc}")
        if message.isReplyRequired():
            connection.send(reply)
        return True

    def _method_call(self, message: QDBusMessage) -> QDBusMessage:
        """Run an MPRIS method; the reply goes once Encore has acted on it."""
        player, playback = self.player, self.playback
        member, signature, args = message.member(), message.signature(), message.arguments()
        if message.interface() in (ROOT, "") and member in ("Raise", "Quit") and not signature:
            if member == "Raise":
                self.app.present()
            else:
                QTimer.singleShot(0, self.app.close)  # after the reply has gone out
            return message.createReply()
        if message.interface() == ROOT:
            return _error(message, "UnknownMethod", f"No method {member}({signature})")
        plain = {
            "Next": playback.next,
            "Previous": playback.previous,
            "PlayPause": playback.toggle,  # with nothing loaded it starts the first song
            "Play": self._play,
            "Pause": self._pause,
            "Stop": player.stop,
        }
        if member in plain and not signature:
            plain[member]()
        elif member == "Seek" and signature == "x":
            if player.track is not None:
                self._seek(player.position() + args[0] // 1000)
        elif member == "SetPosition" and signature == "ox":
            # Only for the track the caller means, and inside it (the specification says so).
            track, position = player.track, args[1]
            length = _length_us(track, player.duration())
            meant = track is not None and args[0].path() == _track_id(track)
            if meant and 0 <= position <= (length if length is not None else position):
                self._seek(position // 1000)
        elif member == "OpenUri" and signature == "s":
            return _error(message, "NotSupported", "Encore plays songs from its library")
        else:
            return _error(message, "UnknownMethod", f"No method {member}({signature})")
        return message.createReply()

    def _play(self) -> None:
        """Play, unless playing (nothing loaded: the first song)."""
        if not self.player.playing:
            self.playback.toggle()

    def _pause(self) -> None:
        """Pause, if playing."""
        if self.player.playing:
            self.playback.toggle()

    def _seek(self, ms: int) -> None:
        """Seek to ``ms``; past the end is the next song, as the specification asks."""
        player = self.player
        if 0 < player.duration() <= ms:
            self.playback.next()
            return
        ms = max(0, ms)
        player.seek(ms)
        signal = QDBusMessage.createSignal(PATH, PLAYER, "Seeked")
        signal.setArguments([ms * 1000])  # an int32 below 35 minutes: see the module doc
        self.connection.send(signal)

    def _properties_call(self, message: QDBusMessage) -> QDBusMessage:
        """Get, GetAll or Set (an empty interface name means either interface)."""
        member, signature, args = message.member(), message.signature(), message.arguments()
        if member == "Get" and signature == "ss":
            values = self._properties(args[0])
            if args[1] not in values:
                return _error(message, "UnknownProperty", f"No property {args[1]}")
            return _reply(message, _variant(values[args[1]]))
        if member == "GetAll" and signature == "s":
            return _reply(message, _vardict(self._properties(args[0])))
        if member == "Set" and signature == "ssv":
            return self._set(message, args[0], args[1], args[2].variant())
        return _error(message, "UnknownMethod", f"No method {member}({signature})")

    def _set(self, message: QDBusMessage, interface: str, name: str, value: Any) -> QDBusMessage:
        """Set the volume (0 to 1); the rate may be set too, and stays 1.0."""
        if interface not in (PLAYER, "") or name not in ("Volume", "Rate"):
            known = name in self._properties(interface)
            return _error(
                message,
                "PropertyReadOnly" if known else "UnknownProperty",
                f"{name} is read-only" if known else f"No property {name}",
            )
        if name == "Volume":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return _error(message, "InvalidArgs", "Volume is a number from 0 to 1")
            percent = round(min(1.0, max(0.0, float(value))) * 100)  # below 0 means 0
            self.player.set_volume(percent)  # the window's slider follows the player
        # A rate outside MinimumRate..MaximumRate (both 1.0) is ignored, as specified.
        return message.createReply()

    # -- what clients see ------------------------------------------------------------------
    def _properties(self, interface: str) -> dict[str, Any]:
        """``interface``'s properties (both interfaces' for an empty name), D-Bus typed."""
        values: dict[str, Any] = {}
        if interface in (ROOT, ""):
            values |= {
                "CanQuit": True,
                "CanRaise": True,
                "HasTrackList": False,
                "Identity": "Encore",
                "DesktopEntry": "encore",
                "SupportedUriSchemes": _strings([]),
                "SupportedMimeTypes": _strings([]),
            }
        if interface in (PLAYER, ""):
            player = self.player
            values |= {
                "PlaybackStatus": self._status(),
                "Rate": 1.0,
                "Metadata": self._typed_metadata(self._metadata()),
                "Volume": player.volume() / 100,
                "Position": self._int64(player.position() * 1000),
                "MinimumRate": 1.0,
                "MaximumRate": 1.0,
                "CanGoNext": True,
                "CanGoPrevious": True,
                "CanPlay": True,
                "CanPause": True,
                "CanSeek": True,
                "CanControl": True,
            }
        return values

    def _status(self) -> str:
        """PlaybackStatus: a loaded song that is not playing counts as paused."""
        player = self.player
        if player.playing:
            return "Playing"
        return "Paused" if player.track is not None else "Stopped"

    def _metadata(self) -> dict[str, Any]:
        """The playing track's metadata as plain values (comparable, not yet typed)."""
        player = self.player
        track = player.track
        if track is None:
            return {"mpris:trackid": NO_TRACK}
        meta: dict[str, Any] = {"mpris:trackid": _track_id(track), "xesam:title": track.title}
        length = _length_us(track, player.duration())
        if length is not None:
            meta["mpris:length"] = length
        if track.artist:  # absent rather than a made-up name (scrobblers read this)
            meta["xesam:artist"] = [track.artist]
        if track.album:
            meta["xesam:album"] = track.album
        meta["xesam:url"] = Path(track.path).as_uri()  # percent-encoded, as a URL must be
        return meta

    def _typed_metadata(self, meta: dict[str, Any]) -> QDBusArgument:
        """``meta`` as the ``a{sv}`` MPRIS specifies (object path, int64, string lists)."""
        typed = dict(meta)
        typed["mpris:trackid"] = QDBusObjectPath(meta["mpris:trackid"])
        if "mpris:length" in meta:
            typed["mpris:length"] = self._int64(meta["mpris:length"])
        if "xesam:artist" in meta:
            typed["xesam:artist"] = _strings(meta["xesam:artist"])
        return _vardict(typed)

    def _announced_properties(self) -> dict[str, Any]:
        """The properties whose changes are signalled, as plain values."""
        return {
            "PlaybackStatus": self._status(),
            "Metadata": self._metadata(),
            "Volume": self.player.volume() / 100,
        }

    def _changed(self, *_: object) -> None:
        """Something clients follow may have changed: announce it after the burst."""
        self._announce_timer.start()

    def _announce_changes(self) -> None:
        """Send PropertiesChanged with what changed since clients last heard."""
        if not self._exported:
            return
        now = self._announced_properties()
        changed = {k: v for k, v in now.items() if self._told.get(k) != v}
        self._told = now
        if not changed:
            return
        if "Metadata" in changed:
            changed["Metadata"] = self._typed_metadata(changed["Metadata"])
        signal = QDBusMessage.createSignal(PATH, PROPERTIES, "PropertiesChanged")
        signal.setArguments([PLAYER, _vardict(changed), _strings([])])
        self.connection.send(signal)

    def _int64(self, value: int) -> QDBusVariant:
        """``value`` as a variant holding a D-Bus int64, however small (see the module doc).

        Qt reads the typed property of :class:`_Int64Source` into the reply of a Get call
        to this very connection, which Qt answers in place, without the bus; the reply's
        variant keeps the int64 type when PySide hands it over.
        """
        self._int64_source.value = value
        call = QDBusMessage.createMethodCall(
            self.connection.baseService(), INT64_PATH, PROPERTIES, "Get"
        )
        call.setArguments([INT64_INTERFACE, "Value"])
        reply = self.connection.call(call, QDBus.CallMode.Block, 1000)
        typed = reply.arguments()[0] if reply.arguments() else None
        if reply.type() == QDBusMessage.MessageType.ReplyMessage and isinstance(
            typed, QDBusVariant
        ):
            return typed
        return QDBusVariant(value)  # an int32 when small: still better than no value


def _track_id(track: Track) -> str:
    """The MPRIS track id: an object path, unique per song in the library."""
    return f"/org/encore/track/{track.id}"


def _length_us(track: Track | None, player_ms: int) -> int | None:
    """The track's length in microseconds: from its tags, else from the decoder."""
    if track is not None and track.duration:
        return round(track.duration * 1_000_000)
    return player_ms * 1000 if player_ms > 0 else None


def _strings(items: list[str]) -> QDBusArgument:
    """A D-Bus string array (``as``), even when empty (PySide sends ``[]`` as ``av``)."""
    arg = QDBusArgument()
    arg << list(items)
    return arg


def _variant(value: Any) -> QDBusVariant:
    """``value`` in a variant, unless it is one already (a typed int64)."""
    return value if isinstance(value, QDBusVariant) else QDBusVariant(value)


def _vardict(entries: dict[str, Any]) -> QDBusArgument:
    """An ``a{sv}`` whose values keep their D-Bus types.

    A Python dict would do for plain values, but a typed variant (:meth:`Mpris._int64`)
    inside one is wrapped twice (``v`` in ``v``); written entry by entry, it is not.
    """
    arg = QDBusArgument()
    arg.beginMap(QMetaType(QMetaType.Type.QString), QMetaType.fromName(b"QDBusVariant"))
    for key, value in entries.items():
        arg.beginMapEntry()
        arg.appendVariant(key)  # `arg << key` would write a string list: PySide's overload
        arg << _variant(value)
        arg.endMapEntry()
    arg.endMap()
    return arg


def _reply(message: QDBusMessage, *arguments: Any) -> QDBusMessage:
    """The reply to ``message``, carrying ``arguments``."""
    reply = message.createReply()
    reply.setArguments(list(arguments))
    return reply


def _error(message: QDBusMessage, name: str, text: str) -> QDBusMessage:
    """A standard D-Bus error reply (``org.freedesktop.DBus.Error.<name>``)."""
    return message.createErrorReply(DBUS_ERROR + name, text)
