"""Qt's QSslSocket, traced: the oracle behind test/qt-sslsocket.test.ts.

Plays each case on real Qt (PySide6) against a Python TLS server on 127.0.0.1 and prints every
signal with the state, isEncrypted() and mode() at emission (`@call` when it came inside that call).

Usage: python qt-sslsocket-oracle.py PKI_DIR [CASE...]
  PKI_DIR is a folder made by testkit's makeTestPki() (certs.ts); the Python of the repository's
  Qt venv runs it (the root README says where that venv comes from).
"""
import os, socket, ssl, sys, tempfile, threading, time

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
from PySide6.QtNetwork import QAbstractSocket, QSslSocket, QSsl, QSslCertificate, QSslConfiguration, QSslError

PKI_DIR = sys.argv[1]
FILES = {"ca": ("ca", []), "valid": ("valid", []), "expired": ("expired", []), "notYetValid": ("not-yet-valid", []),
         "wrongName": ("wrong-name", []), "expiredWrongName": ("expired-wrong-name", []), "selfSigned": ("self-signed", []),
         "incompleteChain": ("behind-intermediate", [])}
pki = {}
for key, (name, extra) in FILES.items():
    path = os.path.join(PKI_DIR, name)
    pki[key] = {"cert": path + ".pem", "key": path + ".key", "chain": "".join(open(p).read() for p in [path + ".pem"] + extra)}
WORK = tempfile.mkdtemp(prefix="qt-ssl-oracle-")
only = sys.argv[2:]
app = QCoreApplication([])

def st(s):
    return s.state().name.replace("State", "")


class Tracer:
    def __init__(self, s, label):
        self.s, self.log, self.incall = s, [], None
        self.label = label
        def add(name, fmt=lambda *a: ""):
            def slot(*args):
                extra = fmt(*args)
                mark = "" if self.incall is None else "@" + self.incall
                self.log.append(f"{name}{'(' + extra + ')' if extra != '' else ''}[{st(s)},enc={int(s.isEncrypted())},mode={s.mode().name}]{mark}")
            getattr(s, name).connect(slot)
        add("hostFound"); add("connected"); add("disconnected")
        add("stateChanged", lambda x: x.name)
        add("errorOccurred", lambda x: x.name + ":" + s.errorString())
        add("readyRead", lambda: str(s.bytesAvailable()))
        add("bytesWritten", lambda n: str(n))
        add("encryptedBytesWritten", lambda n: str(n))
        add("aboutToClose"); add("readChannelFinished")
        add("encrypted")
        add("modeChanged", lambda m: m.name)
        add("sslErrors", lambda errs: ",".join(f"{e.error().name}:{e.certificate().subjectInfo(QSslCertificate.SubjectInfo.CommonName)}" for e in errs))
        add("peerVerifyError", lambda e: f"{e.error().name}:{e.certificate().subjectInfo(QSslCertificate.SubjectInfo.CommonName)}")
        add("alertReceived", lambda l, t, d: f"{l.name},{t.name}({t.value}),{d}")
        add("alertSent", lambda l, t, d: f"{l.name},{t.name}({t.value}),{d}")
        add("handshakeInterruptedOnError", lambda e: e.error().name)
        add("preSharedKeyAuthenticationRequired", lambda a: "")
        add("newSessionTicketReceived")

    def call(self, name, fn):
        self.incall = name
        try:
            r = fn()
        finally:
            self.incall = None
        self.log.append(f"  {name} -> {r!r} [{st(self.s)},enc={int(self.s.isEncrypted())},mode={self.s.mode().name}]")
        return r

    def note(self, text):
        self.log.append("  # " + text)


def spin(ms, until=None):
    deadline = time.time() + ms / 1000
    while time.time() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        if until and until():
            break
        time.sleep(0.002)


# ---- servers -------------------------------------------------------------------------------
def tls_server(certname, *, max_version=None, min_version=None, alpn=None, starttls=False, greeting=None, echo=True, sink=False):
    c = pki[certname]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    open(os.path.join(WORK, "chain-%s.pem" % certname), "w").write(c["chain"])
    ctx.load_cert_chain(os.path.join(WORK, "chain-%s.pem" % certname), c["key"])
    if max_version: ctx.maximum_version = max_version
    if min_version: ctx.minimum_version = min_version
    if alpn: ctx.set_alpn_protocols(alpn)
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0)); ls.listen(5)
    port = ls.getsockname()[1]
    info = {"alpn": None, "got": b""}

    def serve():
        while True:
            try:
                raw, _ = ls.accept()
            except OSError:
                return
            try:
                if starttls:
                    raw.sendall(b"220 plaintext hello\r\n")
                    buf = b""
                    while b"\n" not in buf:
                        d = raw.recv(100)
                        if not d: raise EOFError
                        buf += d
                    raw.sendall(b"220 go ahead\r\n")
                    if greeting: raw.sendall(greeting)
                conn = ctx.wrap_socket(raw, server_side=True)
                info["alpn"] = conn.selected_alpn_protocol()
                info["version"] = conn.version()
                while echo:
                    d = conn.recv(65536)
                    if not d: break
                    info["got"] += d
                    if not sink: conn.sendall(d)
                conn.close()
            except Exception as e:
                info["err"] = repr(e)
                try: raw.close()
                except Exception: pass
    threading.Thread(target=serve, daemon=True).start()
    return port, info, ls


def cert(name):
    return QSslCertificate.fromPath(pki[name]["cert"])[0]


def ca_config(s):
    conf = s.sslConfiguration()
    conf.addCaCertificates([cert("ca")])
    s.setSslConfiguration(conf)


CASES = {}
def case(fn):
    CASES[fn.__name__] = fn
    return fn


def run_basic(label, certname, host="localhost", peer=None, add_ca=True, setup=None, on_errors=None, write_early=None, ms=1500, server_kw={}):
    port, info, ls = tls_server(certname, **server_kw)
    s = QSslSocket()
    t = Tracer(s, label)
    if add_ca: ca_config(s)
    if setup: setup(s, t)
    if on_errors: s.sslErrors.connect(lambda errs: on_errors(s, t, errs))
    if peer is None:
        t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted(host, port))
    else:
        t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted(host, port, peer))
    if write_early: t.call("write", lambda: s.write(write_early))
    spin(ms, lambda: s.state() == QAbstractSocket.SocketState.UnconnectedState)
    t.note(f"end: state={st(s)} enc={s.isEncrypted()} error={s.error().name}:{s.errorString()!r} handshakeErrors={[e.error().name for e in s.sslHandshakeErrors()]} proto={s.sessionProtocol().name} cipher={s.sessionCipher().name()!r}/{s.sessionCipher().protocolString()} bits={s.sessionCipher().usedBits()}/{s.sessionCipher().supportedBits()} alpn={s.sslConfiguration().nextNegotiatedProtocol()!r} peerCN={s.peerCertificate().subjectInfo(QSslCertificate.SubjectInfo.CommonName)} chain={len(s.peerCertificateChain())} server={ {k: v for k, v in info.items() if k != 'got'} } serverGot={info['got'][:40]!r}")
    if s.state() != QAbstractSocket.SocketState.UnconnectedState:
        t.call("disconnectFromHost", s.disconnectFromHost)
        spin(500, lambda: s.state() == QAbstractSocket.SocketState.UnconnectedState)
        t.note(f"after disconnect: mode={s.mode().name} enc={s.isEncrypted()} peerCN={s.peerCertificate().subjectInfo(QSslCertificate.SubjectInfo.CommonName)} proto={s.sessionProtocol().name} handshakeErrors={len(s.sslHandshakeErrors())}")
    ls.close()
    return t.log


@case
def valid_ca():
    return run_basic("valid", "valid", write_early=b"hello")

@case
def valid_ca_ip():
    return run_basic("valid ip", "valid", host="127.0.0.1")

@case
def valid_no_ca():
    return run_basic("valid, CA not added", "valid", add_ca=False)

@case
def self_signed():
    return run_basic("selfSigned", "selfSigned", add_ca=False)

@case
def expired():
    return run_basic("expired", "expired")

@case
def not_yet_valid():
    return run_basic("notYetValid", "notYetValid")

@case
def wrong_name():
    return run_basic("wrongName", "wrongName")

@case
def wrong_name_peer():
    return run_basic("wrongName with sslPeerName elsewhere.test", "wrongName", peer="elsewhere.test")

@case
def expired_wrong_name():
    return run_basic("expiredWrongName", "expiredWrongName")

@case
def incomplete_chain():
    return run_basic("incompleteChain", "incompleteChain")

@case
def ignore_in_slot():
    return run_basic("expired, ignoreSslErrors() in slot", "expired", on_errors=lambda s, t, e: t.call("ignoreSslErrors", s.ignoreSslErrors), write_early=b"early")

@case
def ignore_list_match_before():
    def setup(s, t):
        s.ignoreSslErrors([QSslError(QSslError.SslError.CertificateExpired, cert("expired"))])
    return run_basic("expired, ignoreSslErrors([Expired(cert)]) before", "expired", setup=setup)

@case
def ignore_list_nomatch_before():
    def setup(s, t):
        s.ignoreSslErrors([QSslError(QSslError.SslError.HostNameMismatch, cert("expired"))])
    return run_basic("expired, ignoreSslErrors([Mismatch(cert)]) before", "expired", setup=setup)

@case
def ignore_list_partial():
    def setup(s, t):
        s.ignoreSslErrors([QSslError(QSslError.SslError.CertificateExpired, cert("expiredWrongName"))])
    return run_basic("expiredWrongName, list has only Expired", "expiredWrongName", setup=setup)

@case
def ignore_list_nocert():
    def setup(s, t):
        s.ignoreSslErrors([QSslError(QSslError.SslError.CertificateExpired)])
    return run_basic("expired, list error without certificate", "expired", setup=setup)

@case
def ignore_list_in_slot():
    return run_basic("expired, ignoreSslErrors(list) in slot matching", "expired", on_errors=lambda s, t, e: t.call("ignoreSslErrors(list)", lambda: s.ignoreSslErrors(e)))

@case
def ignore_before_all():
    return run_basic("selfSigned, ignoreSslErrors() before connect", "selfSigned", add_ca=False, setup=lambda s, t: s.ignoreSslErrors())

@case
def verify_none():
    return run_basic("selfSigned VerifyNone", "selfSigned", add_ca=False, setup=lambda s, t: s.setPeerVerifyMode(QSslSocket.PeerVerifyMode.VerifyNone))

@case
def query_peer():
    return run_basic("selfSigned QueryPeer", "selfSigned", add_ca=False, setup=lambda s, t: s.setPeerVerifyMode(QSslSocket.PeerVerifyMode.QueryPeer))

@case
def verify_peer_explicit():
    return run_basic("selfSigned VerifyPeer", "selfSigned", add_ca=False, setup=lambda s, t: s.setPeerVerifyMode(QSslSocket.PeerVerifyMode.VerifyPeer))

@case
def pause_resume():
    port, info, ls = tls_server("expired")
    s = QSslSocket(); t = Tracer(s, "pause"); ca_config(s)
    s.setPauseMode(QAbstractSocket.PauseMode.PauseOnSslErrors)
    t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted("localhost", port))
    t.call("write", lambda: s.write(b"x"))
    spin(800)
    t.note(f"paused: state={st(s)} enc={s.isEncrypted()} handshakeErrors={[e.error().name for e in s.sslHandshakeErrors()]}")
    t.call("ignoreSslErrors", s.ignoreSslErrors)
    t.call("resume", s.resume)
    spin(800, lambda: s.isEncrypted() and s.bytesAvailable() > 0)
    t.note(f"end: state={st(s)} enc={s.isEncrypted()} avail={s.bytesAvailable()}")
    s.abort(); ls.close()
    return t.log

@case
def pause_resume_no_ignore():
    port, info, ls = tls_server("expired")
    s = QSslSocket(); t = Tracer(s, "pause no ignore"); ca_config(s)
    s.setPauseMode(QAbstractSocket.PauseMode.PauseOnSslErrors)
    t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted("localhost", port))
    spin(800)
    t.call("resume", s.resume)
    spin(800, lambda: s.state() == QAbstractSocket.SocketState.UnconnectedState)
    t.note(f"end: state={st(s)} error={s.error().name}:{s.errorString()!r}")
    ls.close()
    return t.log

@case
def pause_no_errors():
    port, info, ls = tls_server("valid")
    s = QSslSocket(); t = Tracer(s, "pause, valid"); ca_config(s)
    s.setPauseMode(QAbstractSocket.PauseMode.PauseOnSslErrors)
    t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted("localhost", port))
    spin(800, lambda: s.isEncrypted())
    t.note(f"end: state={st(s)} enc={s.isEncrypted()}")
    s.abort(); ls.close()
    return t.log

@case
def protocol_version():
    return run_basic("client TlsV1_3OrLater, server max 1.2", "valid", setup=lambda s, t: s.setProtocol(QSsl.SslProtocol.TlsV1_3OrLater), server_kw={"max_version": ssl.TLSVersion.TLSv1_2})

@case
def protocol_version_conf():
    def setup(s, t):
        c = s.sslConfiguration(); c.setProtocol(QSsl.SslProtocol.TlsV1_3OrLater); s.setSslConfiguration(c)
    return run_basic("client TlsV1_3OrLater (conf), server max 1.2", "valid", setup=setup, server_kw={"max_version": ssl.TLSVersion.TLSv1_2})

@case
def tls12():
    return run_basic("server max 1.2", "valid", server_kw={"max_version": ssl.TLSVersion.TLSv1_2})

@case
def alpn():
    def setup(s, t):
        c = s.sslConfiguration(); c.setAllowedNextProtocols([b"h2", b"http/1.1"]); s.setSslConfiguration(c)
        t.note(f"allowed={c.allowedNextProtocols()} status={c.nextProtocolNegotiationStatus().name}")
    log = run_basic("ALPN client h2,http/1.1, server http/1.1", "valid", setup=setup, server_kw={"alpn": ["http/1.1"]})
    return log

@case
def alpn_none():
    def setup(s, t):
        c = s.sslConfiguration(); c.setAllowedNextProtocols([b"h2"]); s.setSslConfiguration(c)
    return run_basic("ALPN client h2, server none", "valid", setup=setup)

@case
def starttls():
    port, info, ls = tls_server("valid", starttls=True)
    s = QSslSocket(); t = Tracer(s, "starttls"); ca_config(s)
    t.call("connectToHost", lambda: s.connectToHost("localhost", port))
    spin(1000, lambda: s.canReadLine())
    t.note(f"line: {bytes(s.readLine().data())!r}")
    t.call("write", lambda: s.write(b"STARTTLS\r\n"))
    spin(1000, lambda: s.canReadLine())
    t.note(f"line: {bytes(s.readLine().data())!r}")
    t.call("startClientEncryption", s.startClientEncryption)
    t.call("write", lambda: s.write(b"secret"))
    spin(1500, lambda: s.bytesAvailable() >= 6)
    t.note(f"end: state={st(s)} enc={s.isEncrypted()} read={bytes(s.readAll().data())!r} server={info}")
    t.call("startClientEncryption again", s.startClientEncryption)
    t.call("abort", s.abort)
    t.note(f"after abort mode={s.mode().name}")
    ls.close()
    return t.log

@case
def starttls_not_connected():
    s = QSslSocket(); t = Tracer(s, "startClientEncryption unconnected")
    t.call("startClientEncryption", s.startClientEncryption)
    t.note(f"error={s.error().name}:{s.errorString()!r}")
    return t.log

@case
def reject_peer_closes():
    # Qt rejects: what does the server see / what text
    return run_basic("wrongName rejected", "wrongName", ms=1000)

@case
def connect_twice():
    port, info, ls = tls_server("valid")
    s = QSslSocket(); t = Tracer(s, "twice"); ca_config(s)
    t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted("localhost", port))
    t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted("localhost", port))
    t.note(f"error={s.error().name}:{s.errorString()!r}")
    spin(800, lambda: s.isEncrypted())
    s.abort(); ls.close()
    return t.log

@case
def wait_encrypted():
    port, info, ls = tls_server("valid")
    s = QSslSocket(); t = Tracer(s, "waitForEncrypted"); ca_config(s)
    t.call("waitForEncrypted unconnected", lambda: s.waitForEncrypted(100))
    t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted("localhost", port))
    t.call("waitForEncrypted", lambda: s.waitForEncrypted(3000))
    t.call("waitForEncrypted again", lambda: s.waitForEncrypted(100))
    s.abort()
    s2 = QSslSocket(); t2 = Tracer(s2, "waitForEncrypted fail")
    t2.call("connectToHostEncrypted", lambda: s2.connectToHostEncrypted("localhost", port))
    t2.call("waitForEncrypted", lambda: s2.waitForEncrypted(3000))
    t2.note(f"error={s2.error().name}:{s2.errorString()!r}")
    ls.close()
    return t.log + t2.log

@case
def getters():
    s = QSslSocket(); t = Tracer(s, "getters")
    c = s.sslConfiguration()
    t.note(f"mode={s.mode().name} verifyMode={s.peerVerifyMode().name} depth={s.peerVerifyDepth()} name={s.peerVerifyName()!r} proto={s.protocol().name} sessionProto={s.sessionProtocol().name} cipherNull={s.sessionCipher().isNull()} peerCertNull={s.peerCertificate().isNull()} pause={s.pauseMode()} conf.verify={c.peerVerifyMode().name} conf.proto={c.protocol().name} caCount={len(c.caCertificates())} lib={QSslSocket.sslLibraryVersionString()} build={QSslSocket.sslLibraryBuildVersionString()} num={QSslSocket.sslLibraryVersionNumber():x}")
    t.call("setPeerVerifyDepth(-1)", lambda: s.setPeerVerifyDepth(-1))
    t.note(f"depth={s.peerVerifyDepth()}")
    t.call("setPeerVerifyName", lambda: s.setPeerVerifyName("x.test"))
    t.note(f"name={s.peerVerifyName()!r} peerName={s.peerName()!r}")
    return t.log

@case
def big_write_order():
    port, info, ls = tls_server("valid", sink=True)
    s = QSslSocket(); t = Tracer(s, "write 100000 after encrypted"); ca_config(s)
    s.encrypted.connect(lambda: t.call("write", lambda: s.write(b"z" * 100000)))
    t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted("localhost", port))
    spin(1500, lambda: s.bytesToWrite() == 0 and s.isEncrypted() and s.encryptedBytesToWrite() == 0 and len(info["got"]) >= 100000)
    spin(200)
    t.note(f"server got {len(info['got'])}")
    s.abort(); ls.close()
    return t.log

@case
def server_closes():
    port, info, ls = tls_server("valid", echo=False)
    s = QSslSocket(); t = Tracer(s, "server closes after handshake"); ca_config(s)
    t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted("localhost", port))
    spin(1500, lambda: s.state() == QAbstractSocket.SocketState.UnconnectedState)
    t.note(f"end mode={s.mode().name} enc={s.isEncrypted()} err={s.error().name}:{s.errorString()!r}")
    ls.close()
    return t.log

@case
def plaintext_server():
    ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
    port = ls.getsockname()[1]
    def serve():
        c, _ = ls.accept(); c.recv(1000); c.sendall(b"HTTP/1.0 400 Bad\r\n\r\n"); c.close()
    threading.Thread(target=serve, daemon=True).start()
    s = QSslSocket(); t = Tracer(s, "plaintext server")
    t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted("localhost", port))
    spin(1500, lambda: s.state() == QAbstractSocket.SocketState.UnconnectedState)
    ls.close()
    return t.log


def plain_server():
    ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(5)
    def serve():
        while True:
            try: c, _ = ls.accept()
            except OSError: return
            def echo(c=c):
                while True:
                    d = c.recv(1000)
                    if not d: break
                    c.sendall(d)
                c.close()
            threading.Thread(target=echo, daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
    return ls.getsockname()[1], ls


def lifecycle(action, enc, pending):
    if enc: port, info, ls = tls_server("valid")
    else: port, ls = plain_server()
    s = QSslSocket(); t = Tracer(s, action)
    if enc:
        ca_config(s); s.connectToHostEncrypted("localhost", port); spin(1000, lambda: s.isEncrypted())
    else:
        s.connectToHost("127.0.0.1", port); spin(1000, lambda: s.state() == QAbstractSocket.SocketState.ConnectedState)
    spin(100)
    t.log.clear()
    if pending: s.write(b"abc")
    t.call(action, getattr(s, action))
    spin(800, lambda: s.state() == QAbstractSocket.SocketState.UnconnectedState)
    t.note(f"open={s.isOpen()} mode={s.mode().name}")
    ls.close()
    return t.log


for _enc in (False, True):
    for _action in ("disconnectFromHost", "close", "abort"):
        for _pending in (False, True):
            def _case(a=_action, e=_enc, p=_pending):
                return lifecycle(a, e, p)
            CASES[f"{'encrypted' if _enc else 'plain'}_{_action}{'_pending' if _pending else ''}"] = _case


def raw_server(behaviour):
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); ls.bind(("127.0.0.1", 0)); ls.listen(5)
    def serve():
        while True:
            try: c, _ = ls.accept()
            except OSError: return
            threading.Thread(target=behaviour, args=(c,), daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
    return ls.getsockname()[1], ls


def handshake_peer(behaviour, wait_ms=None):
    port, ls = raw_server(behaviour)
    s = QSslSocket(); t = Tracer(s, "peer")
    t.call("connectToHostEncrypted", lambda: s.connectToHostEncrypted("127.0.0.1", port))
    if wait_ms: t.call("waitForEncrypted", lambda: s.waitForEncrypted(wait_ms))
    spin(1500, lambda: s.state() == QAbstractSocket.SocketState.UnconnectedState)
    t.note(f"end state={st(s)} err={s.error().name}:{s.errorString()!r} open={s.isOpen()}")
    s.abort(); ls.close()
    return t.log


@case
def peer_silent_wait():
    return handshake_peer(lambda c: (time.sleep(3), c.close()), wait_ms=500)

@case
def peer_closes_after_hello():
    return handshake_peer(lambda c: (c.recv(1000), c.close()))

@case
def ignore_in_connected_slot():
    return run_basic("expired, ignoreSslErrors() in connected", "expired", setup=lambda s, t: s.connected.connect(lambda: t.call("ignoreSslErrors", s.ignoreSslErrors)))

@case
def abort_in_ssl_errors_slot():
    return run_basic("abort in slot", "expired", on_errors=lambda s, t, e: t.call("abort", s.abort), ms=600)

@case
def list_then_ignore_all():
    def setup(s, t):
        s.ignoreSslErrors([QSslError(QSslError.SslError.CertificateExpired, cert("expired"))])
        s.connected.connect(lambda: t.call("ignoreSslErrors()", s.ignoreSslErrors))
    return run_basic("a list not matching, then ignoreSslErrors()", "wrongName", setup=setup, ms=600)

@case
def protocol_dtls():
    return run_basic("DtlsV1_2", "valid", setup=lambda s, t: s.setProtocol(QSsl.SslProtocol.DtlsV1_2), ms=300)


names = only or list(CASES)
for n in names:
    print("=== " + n)
    try:
        for line in CASES[n]():
            print(line)
    except Exception as e:
        import traceback; traceback.print_exc()
    sys.stdout.flush()
