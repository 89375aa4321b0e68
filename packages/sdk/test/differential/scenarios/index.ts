/** Every differential scenario, in the order the runners play them. */
import type { Scenario } from '../scenario.js';
import { errors } from './errors.js';
import { iodevice } from './iodevice.js';
import { ssl } from './ssl.js';
import { tcp } from './tcp.js';
import { transactions } from './transactions.js';
import { udp } from './udp.js';
import { waits } from './waits.js';
import { warnings } from './warnings.js';

export const scenarios: Scenario[] = [...tcp, ...iodevice, ...transactions, ...waits, ...errors, ...udp, ...warnings, ...ssl];
