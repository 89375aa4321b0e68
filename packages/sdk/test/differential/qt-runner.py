"""Plays the differential scenarios on real Qt (PySide6) and prints one canonical trace per line.

The oracle side of the differential suite (see sdk-runner.ts for the SDK side and trace.ts for the
trace): each scenario's sockets are QTcpSocket, QUdpSocket or QSslSocket objects driven by a QCoreApplication
event loop. Plain calls run back to back; Qt's blocking waitFor* calls block, and whatever they
emit counts as inside the call; a run step spins a QEventLoop for a time or until a signal. Qt's
warnings come through qInstallMessageHandler.

Usage: python qt-runner.py PLAN.json  (the scenarios with their servers' ports, as the driver
writes them); prints one JSON trace per scenario on stdout.
"""

import json
import sys
import time
import traceback

from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QEventLoop, QIODevice, QTimer, qInstallMessageHandler
from PySide6.QtNetwork import QAbstractSocket, QHostAddress, QSsl, QSslCertificate, QSslError, QSslSocket, QTcpSocket, QUdpSocket

SIGNALS = [
    "hostFound",
    "connected",
    "disconnected",
    "stateChanged",
    "errorOccurred",
    "readyRead",
    "bytesWritten",
    "aboutToClose",
    "readChannelFinished",
]
CHANNEL_SIGNALS = ["channelReadyRead", "channelBytesWritten"]
SSL_SIGNALS = ["encrypted", "modeChanged", "sslErrors", "peerVerifyError", "alertReceived"]
WAITS = {"waitForConnected", "waitForReadyRead", "waitForBytesWritten", "waitForDisconnected", "waitForEncrypted"}
LONG = 256


def fnv1a(data):
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "%08x" % value


def bytes_value(data):
    """Bytes as trace text: one character per byte, or <N bytes fnv1a:HASH> when long (as trace.ts)."""
    data = bytes(data)
    if len(data) > LONG:
        return "<%d bytes fnv1a:%s>" % (len(data), fnv1a(data))
    return data.decode("latin-1")


def data_bytes(data):
    text = data if isinstance(data, str) else data["text"] * data["repeat"]
    return text.encode("latin-1")


def qbytes(array):
    return bytes(array.data())


def common_name(certificate):
    return ",".join(certificate.subjectInfo(QSslCertificate.SubjectInfo.CommonName))


def error_list(socket, names):
    """QSslError(name, peerCertificate()) for each name."""
    return [QSslError(getattr(QSslError.SslError, name), socket.peerCertificate()) for name in names]


def bind_address(address):
    if isinstance(address, str):
        return QHostAddress(address)
    return QHostAddress(getattr(QHostAddress.SpecialAddress, address["special"]))


class Run:
    def __init__(self, scenario):
        self.scenario = scenario
        self.entries = []
        self.sockets = {}
        self.step = 0
        self.inside = False
        self.recording = True
        for name, kind in scenario["sockets"].items():
            socket = QTcpSocket() if kind == "tcp" else QUdpSocket() if kind == "udp" else QSslSocket()
            self.sockets[name] = socket
            self.record(name, socket)
            if kind == "ssl":
                self.record_ssl(name, socket)

    def push(self, entry):
        if self.recording:
            self.entries.append(entry)

    def record(self, name, socket):
        names = SIGNALS + (CHANNEL_SIGNALS if self.scenario.get("channelSignals") else [])

        def on(signal, args):
            self.push(
                {"step": self.step, "signal": signal, "socket": name, "args": args, "state": socket.state().name, "inside": self.inside}
            )

        for signal in names:
            if signal in ("stateChanged", "errorOccurred"):
                getattr(socket, signal).connect(lambda value, signal=signal: on(signal, [value.name]))
            elif signal in ("bytesWritten", "channelReadyRead"):
                getattr(socket, signal).connect(lambda value, signal=signal: on(signal, [int(value)]))
            elif signal == "channelBytesWritten":
                socket.channelBytesWritten.connect(lambda channel, written: on("channelBytesWritten", [int(channel), int(written)]))
            else:
                getattr(socket, signal).connect(lambda signal=signal: on(signal, []))

    def record_ssl(self, name, socket):
        def on(signal, args):
            self.push(
                {"step": self.step, "signal": signal, "socket": name, "args": args, "state": socket.state().name, "inside": self.inside}
            )

        socket.encrypted.connect(lambda: on("encrypted", []))
        socket.modeChanged.connect(lambda mode: on("modeChanged", [mode.name]))
        socket.sslErrors.connect(lambda errors: on("sslErrors", [error.error().name for error in errors]))
        socket.peerVerifyError.connect(lambda error: on("peerVerifyError", [error.error().name]))
        socket.alertReceived.connect(lambda level, kind, description: on("alertReceived", [level.name, kind.name, description]))
        if self.scenario.get("encryptedBytesWritten"):
            socket.encryptedBytesWritten.connect(lambda written: on("encryptedBytesWritten", [int(written)]))
        slot = (self.scenario.get("onSslErrors") or {}).get(name)
        if slot == "all":
            socket.sslErrors.connect(lambda _: socket.ignoreSslErrors())
        elif slot == "abort":
            socket.sslErrors.connect(lambda _: socket.abort())
        elif slot is not None:
            socket.sslErrors.connect(lambda _: socket.ignoreSslErrors(error_list(socket, slot)))

    def configure(self, socket, change):
        """Qt's way to change a socket's configuration: a copy, changed, set back."""
        configuration = socket.sslConfiguration()
        change(configuration)
        socket.setSslConfiguration(configuration)

    def socket(self, name):
        return self.sockets[name or "s"]

    def port_name(self, port):
        """A port as the trace names it: a server's name, a socket's local port, 0, or other."""
        port = int(port)
        if port in (0, -1):
            return port
        for name, value in self.scenario["ports"].items():
            if value == port:
                return "server:" + name
        for name, socket in self.sockets.items():
            if socket.localPort() == port:
                return "local:" + name
        return "other"

    def port(self, ref):
        if isinstance(ref, int):
            return ref
        if "server" in ref:
            return self.scenario["ports"][ref["server"]]
        return self.socket(ref["local"]).localPort()

    def accessor(self, socket, accessor):
        if accessor.startswith("socketOption:"):
            option = getattr(QAbstractSocket.SocketOption, accessor[len("socketOption:") :])
            value = socket.socketOption(option)
            return None if value is None else int(value)
        if accessor in ("mode", "sessionProtocol"):
            return getattr(socket, accessor)().name
        if accessor == "sslHandshakeErrors":
            return [error.error().name for error in socket.sslHandshakeErrors()]
        if accessor == "peerCertificate":
            return common_name(socket.peerCertificate())
        if accessor == "peerCertificateChain":
            return [common_name(certificate) for certificate in socket.peerCertificateChain()]
        if accessor == "sessionCipher":
            return socket.sessionCipher().name()
        if accessor == "nextNegotiatedProtocol":
            return bytes(socket.sslConfiguration().nextNegotiatedProtocol().data()).decode("latin-1")
        if accessor == "state":
            return socket.state().name
        if accessor == "error":
            return socket.error().name
        if accessor == "openMode":
            return socket.openMode().value
        if accessor == "localPort>0":
            return socket.localPort() > 0
        if accessor in ("localAddress", "peerAddress"):
            return getattr(socket, accessor)().toString()
        if accessor == "peerPort":
            return self.port_name(socket.peerPort())
        if accessor == "socketDescriptor":
            return "invalid" if socket.socketDescriptor() == -1 else "valid"
        return getattr(socket, accessor)()

    def call(self, step):
        socket = self.socket(step.get("socket"))
        method = step["call"]
        args = step["args"]
        if method == "connectToHost":
            mode = args[2] if len(args) > 2 else 3
            socket.connectToHost(args[0], self.port(args[1]), QIODevice.OpenModeFlag(mode))
            return None
        if method in ("disconnectFromHost", "abort", "close", "startTransaction", "commitTransaction", "rollbackTransaction"):
            getattr(socket, method)()
            return None
        if method == "write":
            return socket.write(QByteArray(data_bytes(args[0])))
        if method == "putChar":
            return socket.putChar(args[0])
        if method == "ungetChar":
            socket.ungetChar(args[0])
            return None
        if method in ("read", "peek"):
            return bytes_value(qbytes(getattr(socket, method)(args[0])))
        if method == "readAll":
            return bytes_value(qbytes(socket.readAll()))
        if method == "readLine":
            return bytes_value(qbytes(socket.readLine(args[0]) if args else socket.readLine()))
        if method in ("readInto", "readLineInto"):
            buffer = bytearray(max(0, args[0]))
            count = (socket.read if method == "readInto" else socket.readLine)(buffer, args[0])
            return {"count": count, "data": bytes_value(buffer[: max(0, count)])}
        if method == "getChar":
            ok, char = socket.getChar()
            return ord(char) if ok else False
        if method == "setReadBufferSize":
            socket.setReadBufferSize(args[0])
            return None
        if method == "setSocketOption":
            socket.setSocketOption(getattr(QAbstractSocket.SocketOption, args[0]), args[1])
            return None
        if method == "bind":
            if not args:
                return socket.bind()
            mode = getattr(QAbstractSocket.BindFlag, args[2] if len(args) > 2 else "DefaultForPlatform")
            return socket.bind(bind_address(args[0]), self.port(args[1]), mode)
        if method == "writeDatagram":
            return socket.writeDatagram(QByteArray(data_bytes(args[0])), QHostAddress(args[1]), self.port(args[2]))
        if method == "readDatagram":
            data, sender, port = socket.readDatagram(args[0])
            # On failure Qt returns -1 and leaves the sender unset; PySide then builds the data from
            # the unused buffer. A datagram read always has a sender.
            return {"data": "" if sender.isNull() else bytes_value(qbytes(data)), "sender": sender.toString(), "port": self.port_name(port)}
        if method == "receiveDatagram":
            datagram = socket.receiveDatagram(args[0]) if args else socket.receiveDatagram()
            return {
                "valid": datagram.isValid(),
                "data": bytes_value(qbytes(datagram.data())),
                "sender": datagram.senderAddress().toString(),
                "senderPort": self.port_name(datagram.senderPort()),
                "destination": datagram.destinationAddress().toString(),
                "destinationPort": self.port_name(datagram.destinationPort()),
                "hopLimit": datagram.hopLimit(),
            }
        if method == "connectToHostEncrypted":
            if len(args) > 2:
                socket.connectToHostEncrypted(args[0], self.port(args[1]), args[2])
            else:
                socket.connectToHostEncrypted(args[0], self.port(args[1]))
            return None
        if method in ("startClientEncryption", "resume"):
            getattr(socket, method)()
            return None
        if method == "ignoreSslErrors":
            if args:
                socket.ignoreSslErrors(error_list(socket, args[0]))
            else:
                socket.ignoreSslErrors()
            return None
        if method == "setPeerVerifyMode":
            socket.setPeerVerifyMode(getattr(QSslSocket.PeerVerifyMode, args[0]))
            return None
        if method == "addCaCertificate":
            certificates = QSslCertificate.fromData(QByteArray(self.scenario["caPem"].encode("ascii")))
            self.configure(socket, lambda configuration: configuration.addCaCertificates(certificates))
            return None
        if method == "setProtocol":
            socket.setProtocol(getattr(QSsl.SslProtocol, args[0]))
            return None
        if method == "setAllowedNextProtocols":
            protocols = [QByteArray(name.encode("latin-1")) for name in args[0]]
            self.configure(socket, lambda configuration: configuration.setAllowedNextProtocols(protocols))
            return None
        if method == "setPeerVerifyName":
            socket.setPeerVerifyName(args[0])
            return None
        if method == "setPauseMode":
            socket.setPauseMode(getattr(QAbstractSocket.PauseMode, args[0]))
            return None
        if method in WAITS:
            return getattr(socket, method)(args[0])
        return getattr(socket, method)(*args)

    def run_loop(self, ms, socket, signal, count, state):
        if state is not None and socket.state().name == state:
            return True
        loop = QEventLoop()
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        seen = {"count": 0, "reached": False}

        def slot(*_):
            seen["count"] += 1
            if seen["count"] >= count and not seen["reached"]:
                seen["reached"] = True
                timer.stop()
                loop.quit()

        def state_slot(*_):
            if socket.state().name == state and not seen["reached"]:
                seen["reached"] = True
                timer.stop()
                loop.quit()

        if signal is not None:
            getattr(socket, signal).connect(slot)
        if state is not None:
            socket.stateChanged.connect(state_slot)
        timer.start(ms)
        loop.exec()
        if signal is not None:
            getattr(socket, signal).disconnect(slot)
        if state is not None:
            socket.stateChanged.disconnect(state_slot)
        return seen["reached"]


current = None


def on_message(_mode, _context, message):
    if current is not None:
        current.push({"step": current.step, "warning": message, "inside": current.inside})


def play(scenario):
    global current
    run = Run(scenario)
    current = run
    failure = None
    try:
        for index, step in enumerate(scenario["steps"]):
            run.step = index
            if "call" in step:
                if "hold" in step:
                    if step["call"] not in WAITS:
                        raise ValueError("hold is for waits only")
                    time.sleep(step["hold"] / 1000)
                run.inside = True
                result = run.call(step)
                run.inside = False
                run.push({"step": index, "returned": result})
            elif "run" in step:
                reached = run.run_loop(step["run"], run.socket(step.get("socket")), step.get("until"), step.get("count", 1), step.get("state"))
                if step.get("until") is not None or step.get("state") is not None:
                    run.push({"step": index, "returned": {"reached": reached}})
            else:
                socket = run.socket(step.get("socket"))
                values = {}
                run.inside = True
                for accessor in step["check"]:
                    values[accessor] = run.accessor(socket, accessor)
                run.inside = False
                run.push({"step": index, "check": values})
    except Exception:
        failure = traceback.format_exc()
    finally:
        run.recording = False
        current = None
        for socket in run.sockets.values():
            socket.abort()
            socket.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        QCoreApplication.processEvents()
    trace = {"scenario": scenario["name"], "entries": run.entries}
    if failure is not None:
        trace["failure"] = failure
    return trace


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        plan = json.load(file)
    app = QCoreApplication([])
    qInstallMessageHandler(on_message)
    only = set(sys.argv[2:])
    for scenario in plan:
        if only and scenario["name"] not in only:
            continue
        print(json.dumps(play(scenario)), flush=True)
    del app


if __name__ == "__main__":
    main()
