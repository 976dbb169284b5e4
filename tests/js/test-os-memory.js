// Memory figures are sane: the machine's total exceeds what is free, which
// is above 0, and this process uses more than 1 MB but less than the total.
import * as assert from './assert.js';
import * as os from 'os';

const total = os.totalmem();
const free = os.freemem();
const rss = os.rss();
assert.ok(Number.isInteger(total) && Number.isInteger(free), `${total} ${free}`);
assert.ok(total > free, `totalmem ${total} > freemem ${free}`);
assert.ok(free > 0, `freemem ${free}`);
assert.ok(rss > 1024 * 1024, `rss ${rss}`);
assert.ok(rss < total, `rss ${rss} < totalmem ${total}`);
