import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One certificate of the test PKI: its PEM files and the chain a server would send. */
export interface TestCertificate {
  /** The leaf's certificate file (PEM). */
  certFile: string;
  keyFile: string;
  /** What a server sends: the leaf, then any intermediates it has (PEM text). */
  chain: string;
  /** The leaf alone (PEM text). */
  pem: string;
  key: string;
}

/**
 * A certificate authority and certificates for every case a TLS client must tell apart, made with
 * Debian's `openssl` in a temporary folder at test time. Names are for `localhost` and `127.0.0.1`
 * unless the case says otherwise; the validity of the "valid" ones runs from 2025 to 2035.
 */
export interface TestPki {
  dir: string;
  /** The root CA (self-signed), which a client trusts by adding `ca.pem`. */
  ca: TestCertificate;
  /** Valid, issued by the CA. */
  valid: TestCertificate;
  /** Issued by the CA, expired in 2021. */
  expired: TestCertificate;
  /** Issued by the CA, valid from 2040. */
  notYetValid: TestCertificate;
  /** Issued by the CA for elsewhere.test only. */
  wrongName: TestCertificate;
  /** Issued by the CA for elsewhere.test, expired in 2021. */
  expiredWrongName: TestCertificate;
  /** Self-signed, for localhost and 127.0.0.1. */
  selfSigned: TestCertificate;
  /** Issued by an intermediate the server does not send (an incomplete chain). */
  incompleteChain: TestCertificate;
  /** Issued by an intermediate, which the server sends with it. */
  completeChain: TestCertificate;
  /** Issued by an intermediate that expired in 2021, sent with it. */
  expiredIntermediate: TestCertificate;
  /** Valid, sent with the (self-signed) root, for a client that does not trust the root. */
  withRoot: TestCertificate;
  /** Valid for localhost, for client authentication only (its purpose is not serverAuth). */
  clientOnly: TestCertificate;
  /** Wildcards: `*.example.test`, `a*.prefix.test`, `*.test` (too broad) and `*.127.0.0.1`. */
  wildcard: TestCertificate;
  /** Removes the folder. */
  remove(): void;
}

const CA_CONFIG = `[ ca ]
default_ca = local
[ local ]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
organizationName = optional
[ server ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
[ client ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
[ intermediate ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
`;

const LOCAL_NAMES = 'DNS:localhost,IP:127.0.0.1';
const VALID_FROM = '20250101000000Z';
const VALID_TO = '20350101000000Z';

/** Makes the test PKI (a second or so); `remove()` when done. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'socketgate-pki-'));
  const openssl = (...args: string[]): void => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr || result.error?.message}`);
  };
  writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const certificate = (name: string, chain: string[] = []): TestCertificate => {
    const pem = read(`${name}.pem`);
    return {
      certFile: join(dir, `${name}.pem`),
      keyFile: join(dir, `${name}.key`),
      pem,
      key: read(`${name}.key`),
      chain: [pem, ...chain.map((part) => read(`${part}.pem`))].join(''),
    };
  };
  const selfSigned = (name: string, subject: string, names?: string, extensions: string[] = []): void => {
    const san = names === undefined ? [] : ['-addext', `subjectAltName=${names}`];
    openssl(
      'req',
      '-x509',
      ...key,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '3650',
      '-subj',
      subject,
      ...san,
      ...extensions,
    );
  };
  const issue = (name: string, options: { names?: string; from?: string; to?: string; by?: string; profile?: string }): void => {
    const san = options.names === undefined ? [] : ['-addext', `subjectAltName=${options.names}`];
    openssl('req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}/O=socketgate tests`, ...san);
    const by = options.by ?? 'ca';
    openssl(
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-extensions',
      options.profile ?? 'server',
      '-cert',
      `${by}.pem`,
      '-keyfile',
      `${by}.key`,
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.pem`,
      '-startdate',
      options.from ?? VALID_FROM,
      '-enddate',
      options.to ?? VALID_TO,
      '-notext',
    );
  };
  selfSigned('ca', '/CN=socketgate test CA/O=socketgate tests', undefined, [
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  issue('valid', { names: LOCAL_NAMES });
  issue('expired', { names: LOCAL_NAMES, from: '20200101000000Z', to: '20210101000000Z' });
  issue('not-yet-valid', { names: LOCAL_NAMES, from: '20400101000000Z', to: '20450101000000Z' });
  issue('wrong-name', { names: 'DNS:elsewhere.test' });
  issue('expired-wrong-name', { names: 'DNS:elsewhere.test', from: '20200101000000Z', to: '20210101000000Z' });
  selfSigned('self-signed', '/CN=localhost', LOCAL_NAMES);
  issue('intermediate', { profile: 'intermediate' });
  issue('behind-intermediate', { names: LOCAL_NAMES, by: 'intermediate' });
  issue('expired-intermediate', { profile: 'intermediate', from: '20200101000000Z', to: '20210101000000Z' });
  issue('behind-expired-intermediate', { names: LOCAL_NAMES, by: 'expired-intermediate' });
  issue('client-only', { names: LOCAL_NAMES, profile: 'client' });
  issue('wildcard', { names: 'DNS:*.example.test,DNS:a*.prefix.test,DNS:*.test,DNS:*.0.0.1' });
  return {
    dir,
    ca: certificate('ca'),
    valid: certificate('valid'),
    expired: certificate('expired'),
    notYetValid: certificate('not-yet-valid'),
    wrongName: certificate('wrong-name'),
    expiredWrongName: certificate('expired-wrong-name'),
    selfSigned: certificate('self-signed'),
    incompleteChain: certificate('behind-intermediate'),
    completeChain: certificate('behind-intermediate', ['intermediate']),
    expiredIntermediate: certificate('behind-expired-intermediate', ['expired-intermediate']),
    withRoot: certificate('valid', ['ca']),
    clientOnly: certificate('client-only'),
    wildcard: certificate('wildcard'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
