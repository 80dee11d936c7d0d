// Preloaded into the integration tests by tests/fuzz/seed.mjs (NODE_OPTIONS=--import): records
// every byte each test writes to a TCP socket (fetch() through undici, the raw and WebSocket
// clients in tests/integ/lib) into $SEED_RECORD_DIR, one file per connection, when it closes.
// The tests themselves are not changed and do not know.
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.SEED_RECORD_DIR;
let n = 0;

if (dir) {
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function (chunk, encoding, cb) {
    if (!this.__seedChunks) {
      this.__seedChunks = [];
      this.once('close', () => {
        const data = Buffer.concat(this.__seedChunks);
        if (data.length) writeFileSync(join(dir, `${process.pid}-${++n}.bin`), data);
      });
    }
    if (typeof chunk === 'string') chunk = Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8');
    if (chunk instanceof Uint8Array) this.__seedChunks.push(Buffer.from(chunk));
    return write.call(this, chunk, encoding, cb);
  };
}
