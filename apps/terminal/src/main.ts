/**
 * The socketgate web terminal: a host/port form, line, raw or telnet mode, plaintext or TLS
 * (QSslSocket, with the host's certificate errors put to the user), the live Qt state and errors in a
 * status bar, all through the SDK's public API only.
 */
import '@xterm/xterm/css/xterm.css';
import './style.css';
import { Gateway, nameOf, PauseMode, QSslSocket, QTcpSocket, SocketError, SocketState, SslProtocol } from '@socketgate/sdk';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { LineEditor } from './line-editor.js';
import { TelnetFilter } from './telnet.js';

/** line: edited locally, sent on Enter; raw: every key sent as typed, nothing shown locally; telnet: RFC 854. */
type Mode = 'line' | 'raw' | 'telnet';

/** Whether the demo's server (the gateway itself) gave no answer when last asked for a token. */
let demoServerDown = false;

/**
 * How the page finds its gateway: ?gateway=&token= in the URL, or /demo.json in the demo. The demo's
 * token is asked for again before every connect and reconnect (a gateway restarted since has a new
 * development token), through the SDK's token function.
 */
async function gatewayConfig(params: URLSearchParams): Promise<{ url: string; token: string | (() => Promise<string>) }> {
  const url = params.get('gateway');
  const token = params.get('token');
  if (url && token) return { url, token };
  const demo = async () => {
    let response: Response;
    try {
      response = await fetch('/demo.json', { cache: 'no-store' });
    } catch (error) {
      demoServerDown = true;
      throw error;
    }
    demoServerDown = false;
    if (!response.ok) throw new Error(`/demo.json answered ${response.status}`);
    return (await response.json()) as { path: string; token: string };
  };
  const { path } = await demo();
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return { url: `${scheme}://${location.host}${path}`, token: async () => (await demo()).token };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('connect');
const connectButton = $<HTMLButtonElement>('connect-button');
const disconnectButton = $<HTMLButtonElement>('disconnect-button');
const stateView = $('state');
const errorView = $('error');
const notice = $('notice');
const counters = $('counters');
const tlsView = $('tls');
const certificatePanel = $('certificate');
const certificateText = $('certificate-text');
const trustButton = $<HTMLButtonElement>('trust-button');
const distrustButton = $<HTMLButtonElement>('distrust-button');

const term = new Terminal({ cursorBlink: true, convertEol: false, scrollback: 5000, fontSize: 14 });
const fit = new FitAddon();
term.loadAddon(fit);
term.open($('terminal'));
fit.fit();
// Fitted again whenever the terminal's box changes: a resize, a rotated phone, the form wrapping.
new ResizeObserver(() => fit.fit()).observe($('terminal'));

const params = new URLSearchParams(location.search);
for (const name of ['host', 'port', 'mode'] as const) {
  const value = params.get(name);
  if (value !== null) (form.elements.namedItem(name) as HTMLInputElement).value = value;
}
(form.elements.namedItem('tls') as HTMLInputElement).checked = params.get('tls') === '1';

const { url, token } = await gatewayConfig(params);
const gateway = new Gateway(url, { token });
const encoder = new TextEncoder();
let socket: QTcpSocket | undefined;
/** Aborted when the next connection starts: every slot on the old socket is cut off with it. */
let session: AbortController | undefined;
let bytesIn = 0;
let bytesOut = 0;

const human = (n: number) =>
  n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
const showCounters = () => {
  counters.textContent = `in ${human(bytesIn)} · out ${human(bytesOut)}`;
};

/**
 * Plain words for a gateway session that could not be opened or was lost, which the SDK reports as
 * Qt's proxy errors (to a socket, the gateway is its proxy); undefined for any other error.
 */
function gatewayTrouble(error: SocketError): string | undefined {
  switch (error) {
    case SocketError.ProxyConnectionClosedError:
      return 'Lost the connection to the gateway: it stopped or restarted, or the network to it dropped.';
    case SocketError.ProxyConnectionRefusedError:
      return `Cannot reach the gateway at ${gateway.url}: it is not running, or it does not accept this page.`;
    case SocketError.ProxyConnectionTimeoutError:
      return `The gateway at ${gateway.url} did not answer in time.`;
    case SocketError.ProxyAuthenticationRequiredError:
      return demoServerDown ? `Cannot reach the gateway at ${location.host}: it is not running.` : "The gateway refused this page's token.";
    default:
      return undefined;
  }
}
const reconnectHint =
  typeof token === 'function' ? 'Press Reconnect for a new session with a fresh token.' : 'Press Reconnect to try again.';

/**
 * The buttons follow the socket's state: Connect before the first connection, Connecting… (and
 * nothing to press) while it looks up and connects, Reconnect once it is connected or has ended;
 * Disconnect while there is a connection or an attempt to end.
 */
function showButtons(state: SocketState): void {
  const opening = state === SocketState.HostLookupState || state === SocketState.ConnectingState;
  connectButton.disabled = opening;
  connectButton.textContent = opening ? 'Connecting…' : 'Reconnect';
  disconnectButton.disabled = !(opening || state === SocketState.ConnectedState);
}

/**
 * A TLS socket pauses on certificate errors (Qt's PauseOnSslErrors): the user reads them and goes on
 * (ignoreSslErrors, then resume) or disconnects. Once encrypted, the status bar names the protocol,
 * the cipher and who the certificate is for.
 */
function watchTls(current: QSslSocket, signal: AbortSignal): void {
  current.setPauseMode(PauseMode.PauseOnSslErrors);
  current.sslErrors.connect(
    (errors) => {
      certificateText.textContent = `The host's certificate is not trusted: ${errors.map((error) => error.errorString()).join('; ')}.`;
      certificatePanel.hidden = false;
      trustButton.focus();
    },
    { signal },
  );
  const decide = (trust: boolean) => {
    certificatePanel.hidden = true;
    if (trust) {
      current.ignoreSslErrors();
      current.resume();
    } else current.abort();
  };
  trustButton.onclick = () => decide(true);
  distrustButton.onclick = () => decide(false);
  current.encrypted.connect(
    () => {
      const names = current.peerCertificate().subjectInfo('CN');
      tlsView.textContent = `${nameOf(SslProtocol, current.sessionProtocol())} · ${current.sessionCipher().name()} · ${names.join(', ')}`;
    },
    { signal },
  );
}

function connect(host: string, port: number, mode: Mode, tls: boolean): void {
  // The old socket's slots go before it is aborted, so that neither its [disconnected] nor output
  // it still held reaches the new session's screen.
  session?.abort();
  socket?.abort();
  session = new AbortController();
  const { signal } = session;
  const current = tls ? new QSslSocket({ gateway }) : new QTcpSocket({ gateway });
  socket = current;
  bytesIn = 0;
  bytesOut = 0;
  showCounters();
  errorView.textContent = '';
  notice.textContent = '';
  tlsView.textContent = '';
  certificatePanel.hidden = true;
  // Cleared once what is already queued for the screen is drawn: the old socket's last chunk may
  // still be on its way there, and must not follow the clear.
  term.write('', () => term.reset());
  const filter = mode === 'telnet' ? new TelnetFilter() : undefined;
  // Lines are edited locally in line mode, and in telnet mode while the server does not echo.
  const editor = mode === 'raw' ? undefined : new LineEditor();
  const decoder = new TextDecoder();
  // Back-pressure: at most 64 KiB waits in the SDK, and the next read waits for the terminal to
  // draw the last one, so a flood or a huge paste never grows a buffer without bound.
  current.setReadBufferSize(64 * 1024);
  let drawing = false;
  const pump = (): void => {
    if (drawing || current !== socket || current.bytesAvailable() === 0) return;
    const bytes = current.readAll();
    bytesIn += bytes.byteLength;
    showCounters();
    let shown = bytes;
    if (filter) {
      const { text, reply } = filter.receive(bytes);
      if (reply.byteLength > 0) current.write(reply);
      shown = text;
    }
    const text = decoder.decode(shown, { stream: true });
    drawing = true;
    term.write(editor ? editor.receive(text) : text, () => {
      drawing = false;
      pump();
    });
  };
  current.readyRead.connect(pump, { signal });
  const history: string[] = [];
  current.stateChanged.connect(
    (state) => {
      stateView.textContent = nameOf(SocketState, state);
      history.push(nameOf(SocketState, state));
      stateView.title = history.join(' → ');
      showButtons(state);
    },
    { signal },
  );
  current.errorOccurred.connect(
    (error) => {
      errorView.textContent = `${nameOf(SocketError, error)}: ${current.errorString()}`;
      const trouble = gatewayTrouble(error);
      if (trouble) {
        notice.textContent = `${trouble} ${reconnectHint}`;
        connectButton.focus();
      }
    },
    { signal },
  );
  current.disconnected.connect(() => term.write(`${editor?.flush() ?? ''}\r\n\x1b[2m[disconnected]\x1b[0m\r\n`), { signal });
  if (current instanceof QSslSocket) {
    watchTls(current, signal);
    current.connectToHostEncrypted(host, port);
  } else current.connectToHost(host, port);
  term.focus();
  const input = term.onData((data) => {
    if (current.state() !== SocketState.ConnectedState) return;
    let typed = data;
    if (editor && !filter?.serverEchoes) {
      const { show, send } = editor.input(data);
      if (show) term.write(show);
      if (!send) return;
      typed = send;
    }
    const bytes = encoder.encode(typed);
    const sent = current.write(filter ? TelnetFilter.escape(bytes) : bytes);
    if (sent > 0) bytesOut += bytes.byteLength;
    showCounters();
  });
  signal.addEventListener('abort', () => input.dispose(), { once: true });
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const data = new FormData(form);
  connect(String(data.get('host')), Number(data.get('port')), String(data.get('mode')) as Mode, data.get('tls') === 'on');
});
// A connection closes gracefully; an attempt still looking up or connecting is given up at once.
disconnectButton.addEventListener('click', () => {
  if (socket?.state() === SocketState.ConnectedState) socket.disconnectFromHost();
  else socket?.abort();
});

// Exposed for the end-to-end tests and for curious users: the SDK as the page uses it.
Object.assign(globalThis, { socketgate: { gateway, terminal: term, sdk: await import('@socketgate/sdk') } });
if (params.has('host') && params.has('port')) form.requestSubmit();
