import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { TestCertificate } from './certs.js';
import { imapLines } from './imap-client.js';
import { onFreePort, type ServiceProcess, startServiceProcess } from './service-process.js';

export interface DovecotOptions {
  /** What the server presents after STARTTLS: it sends `chain` and signs with `key`. */
  certificate: TestCertificate;
  /** Who may LOG IN, with their plain passwords; `{ tester: 'secret' }` unless given. */
  users?: Record<string, string>;
  /**
   * The loopback address to listen on, 127.0.0.1 unless given. Dovecot counts a connection whose
   * source address is its own destination address as secured and then allows LOGIN without TLS, so a
   * client that connects to 127.0.0.1 from 127.0.0.1 (the kernel's choice) may log in in plain text.
   * To see LOGIN refused before STARTTLS, connect from another loopback address (`localAddress:
   * '127.0.0.2'`), or listen on 127.0.0.2 when the client (a gateway) cannot choose its own.
   */
  host?: string;
}

/** Debian's Dovecot IMAP server on loopback, which a test starts and stops. */
export interface TestDovecot {
  host: string;
  /** The IMAP port: plain, offering STARTTLS, refusing LOGIN before it (but see {@link DovecotOptions.host}). */
  port: number;
  users: Record<string, string>;
  /** Its temporary folder: configuration, sockets, mail and log. */
  dir: string;
  /** Its log file's text so far. */
  log(): string;
  process: ServiceProcess;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

const DOVECOT = '/usr/sbin/dovecot';
const READY_MS = 10_000;

/** Who Dovecot's processes and mail run as. */
interface Accounts {
  loginUser: string;
  internalUser: string;
  internalGroup: string;
  mailUid: number;
  mailGid: number;
  /** Whether the login and anvil processes chroot, as they do unless told not to; only root can. */
  chroot: boolean;
}

/** The fields of the first line of a colon-separated file (/etc/passwd, /etc/group) that `matches`. */
function lookUp(file: string, matches: (fields: string[]) => boolean): string[] | undefined {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find(matches);
}

/**
 * As root, Debian's `dovenull` and `dovecot` users (Dovecot refuses mail access as uid 0); as anyone
 * else, that user for everything, without chroots.
 */
function accounts(): Accounts {
  const me = userInfo();
  if (me.uid === 0) {
    const dovecot = lookUp('/etc/passwd', (fields) => fields[0] === 'dovecot');
    if (!dovecot) throw new Error("the dovecot user is missing: install Debian's dovecot-imapd (scripts/ensure-system-packages.sh)");
    const group = lookUp('/etc/group', (fields) => fields[2] === dovecot[3]);
    return {
      loginUser: 'dovenull',
      internalUser: 'dovecot',
      internalGroup: group?.[0] ?? 'dovecot',
      mailUid: Number(dovecot[2]),
      mailGid: Number(dovecot[3]),
      chroot: true,
    };
  }
  const group = lookUp('/etc/group', (fields) => fields[2] === String(me.gid));
  return {
    loginUser: me.username,
    internalUser: me.username,
    internalGroup: group?.[0] ?? me.username,
    mailUid: me.uid,
    mailGid: me.gid,
    chroot: false,
  };
}

function configuration(dir: string, host: string, port: number, who: Accounts): string {
  const noChroot = who.chroot ? '' : '  chroot =\n';
  return `protocols = imap
listen = ${host}
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = yes
ssl_cert = <${dir}/cert.pem
ssl_key = <${dir}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_login_user = ${who.loginUser}
default_internal_user = ${who.internalUser}
default_internal_group = ${who.internalGroup}
first_valid_uid = ${who.mailUid}
last_valid_uid = ${who.mailUid}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${who.mailUid} gid=${who.mailGid} home=${dir}/mail/%u
}
mail_location = maildir:~/Maildir
service imap-login {
${noChroot}  inet_listener imap {
    address = ${host}
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
${noChroot}}
`;
}

/** Resolves once the server greets a plain connection; rejects if it does not within `timeoutMs`. */
async function greeted(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const socket = net.connect({ host, port });
    socket.on('error', () => {});
    try {
      if ((await imapLines(socket, { timeoutMs: 1000 }).nextLine()).startsWith('* OK')) return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`dovecot did not greet on port ${port} in ${timeoutMs} ms`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      socket.destroy();
    }
  }
}

/**
 * Starts Dovecot IMAP in the foreground (`dovecot -F -c …`) from a temporary folder, listening on
 * 127.0.0.1 and a port found free, with `ssl = yes`: STARTTLS is offered, and LOGIN before it is
 * refused (`disable_plaintext_auth`) to clients connecting from another address than the server's. Resolves once it greets a connection (half a second or so).
 * Works as root (CI and here) and as an ordinary user.
 */
export async function startDovecot(options: DovecotOptions): Promise<TestDovecot> {
  if (!existsSync(DOVECOT)) throw new Error(`${DOVECOT} is missing: install Debian's dovecot-imapd (scripts/ensure-system-packages.sh)`);
  const host = options.host ?? '127.0.0.1';
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))
    throw new RangeError(`startDovecot listens on loopback only: pass a 127.x.y.z host, not ${host}.`);
  const users = options.users ?? { tester: 'secret' };
  const who = accounts();
  const dir = mkdtempSync(join(tmpdir(), 'socketgate-dovecot-'));
  // The mail user and Dovecot's unprivileged processes reach the password file and the mail below.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'mail'));
  chownSync(join(dir, 'mail'), who.mailUid, who.mailGid);
  writeFileSync(join(dir, 'cert.pem'), options.certificate.chain);
  writeFileSync(join(dir, 'key.pem'), options.certificate.key, { mode: 0o600 });
  writeFileSync(
    join(dir, 'passwd'),
    Object.entries(users)
      .map(([user, password]) => `${user}:{PLAIN}${password}::::::\n`)
      .join(''),
    { mode: 0o644 },
  );
  const log = (): string => {
    try {
      return readFileSync(join(dir, 'dovecot.log'), 'utf8');
    } catch {
      return '';
    }
  };
  try {
    return await onFreePort(async (port) => {
      const config = join(dir, `dovecot-${port}.conf`);
      writeFileSync(config, configuration(dir, host, port, who));
      const child = startServiceProcess(DOVECOT, ['-F', '-c', config], { what: 'dovecot' });
      try {
        await Promise.race([greeted(host, port, READY_MS), child.exited]);
      } catch (error) {
        await child.stop();
        // Its bind error ("Address already in use") is in the log, not in what it printed.
        throw new Error(`dovecot did not start: ${error instanceof Error ? error.message : error}\n${log()}`, { cause: error });
      }
      return {
        host,
        port,
        users,
        dir,
        log,
        process: child,
        close: async () => {
          await child.stop('SIGTERM');
          rmSync(dir, { recursive: true, force: true });
        },
      };
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
