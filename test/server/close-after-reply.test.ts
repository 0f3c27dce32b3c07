// A connection the server closes after its last reply (closeSession, a rejected ConnectRequest, an auth failure) is
// released however the client behaves afterwards, so it gives back its maxClientCnxns slot.
//
// Old behaviour (connection.ts closeAfterReply): the socket was paused, then end()ed once the replies were written.
// end() only half-closes: 'close' (and the release of the per-address count) waited for the client's FIN, which a
// paused socket never reads if bytes the client sent after the closing request sit unread before it; and a client
// that never reads the reply never sends a FIN at all. Either way the connection stayed counted for good, and with
// maxClientCnxns=1 that address could never connect again. Each test below failed on it (the probe stayed refused).
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { Reader } from '../../src/jute/codec.js';
import { OpCode, Xid } from '../../src/protocol/constants.js';
import * as R from '../../src/protocol/records.js';
import { fourLetter, sleep, waitFor } from '../support/ports.js';
import { frame, requestFrame } from '../support/rawsession.js';
import { type RunningServer, startZkts } from '../support/servers.js';

/** How long the server gets to release a connection it closed. */
const RELEASE_MS = 3000;

function connectFrame(sessionId = 0n, passwd = Buffer.alloc(16)): Buffer {
  return frame((w) => R.writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut: 10_000, sessionId, passwd, readOnly: false }));
}

/** A raw client socket: connected, every error swallowed (the server may reset it), destroyed by the test. */
async function rawSocket(port: number): Promise<net.Socket> {
  const sock = net.connect({ host: '127.0.0.1', port });
  sock.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('connect timed out')), 5000);
    sock.once('connect', () => {
      clearTimeout(t);
      resolve();
    });
    sock.once('close', () => {
      clearTimeout(t);
      reject(new Error('closed while connecting'));
    });
  });
  sock.setNoDelay(true);
  return sock;
}

/**
 * Reads one frame (the ConnectResponse) and then stops reading: the 'data' listener is removed and the socket
 * paused, so whatever the server sends next (and its FIN) stays unread in the client.
 */
function readConnectResponse(sock: net.Socket, onResponse?: (resp: R.ConnectResponse, sock: net.Socket) => void): Promise<R.ConnectResponse> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => done(new Error('no ConnectResponse within 5 s')), 5000);
    const onClose = (): void => done(new Error('closed before the ConnectResponse'));
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      const resp = R.readConnectResponse(new Reader(buf.subarray(4, 4 + buf.readInt32BE(0))));
      onResponse?.(resp, sock);
      done(undefined, resp);
    };
    const done = (e: Error | undefined, resp?: R.ConnectResponse): void => {
      clearTimeout(t);
      sock.off('data', onData);
      sock.off('close', onClose);
      sock.pause();
      if (e !== undefined) reject(e);
      else resolve(resp!);
    };
    sock.on('data', onData);
    sock.once('close', onClose);
  });
}

/**
 * Opens a raw connection, sends `connect` and reads the ConnectResponse (see readConnectResponse). Retries (bounded)
 * while the server refuses the connection: the probe before it may still hold the only slot for a moment.
 */
async function openSession(port: number, connect: Buffer, onResponse?: (resp: R.ConnectResponse, sock: net.Socket) => void): Promise<{ sock: net.Socket; resp: R.ConnectResponse }> {
  const deadline = Date.now() + RELEASE_MS;
  for (;;) {
    let sock: net.Socket | undefined;
    try {
      sock = await rawSocket(port);
      const response = readConnectResponse(sock, onResponse);
      sock.write(connect);
      return { sock, resp: await response };
    } catch (e) {
      sock?.destroy();
      if (Date.now() > deadline) throw e;
      await sleep(50);
    }
  }
}

/** Whether the server accepts one more connection from 127.0.0.1 (with maxClientCnxns=1: whether no slot is held). */
async function accepted(port: number): Promise<boolean> {
  // A refused connection is closed at once (or reset): no answer.
  return (await fourLetter(port, 'ruok', '127.0.0.1', 1000).catch(() => '')) === 'imok';
}

async function withServer(body: (zk: RunningServer) => Promise<void>): Promise<void> {
  const zk = await startZkts({ config: { maxClientCnxns: 1 } });
  try {
    await body(zk);
  } finally {
    await zk.stop();
  }
}

void describe('closeAfterReply releases the connection', () => {
  void test('closeSession and a ping in one write, the client never reading again: the slot is released', async () => {
    await withServer(async (zk) => {
      await waitFor('the startup probes released', () => accepted(zk.port), RELEASE_MS, 50);
      const { sock, resp } = await openSession(zk.port, connectFrame());
      try {
        assert.ok(resp.timeOut > 0, 'a session was created');
        assert.equal(await accepted(zk.port), false, 'the open session holds the only slot (the probe measures it)');
        // One write: closeSession (xid 1) and, right behind it, a ping; the client then reads nothing more and keeps
        // its socket open.
        sock.write(Buffer.concat([requestFrame(1, { op: OpCode.closeSession }), requestFrame(Xid.ping, { op: OpCode.ping })]));
        await waitFor('the closed connection to release its slot', () => accepted(zk.port), RELEASE_MS, 100);
        assert.ok(!sock.destroyed, 'the client kept its socket');
      } finally {
        sock.destroy();
      }
    });
  });

  void test('closeSession, then junk after the reply, then the client half-closes: the slot is released', async () => {
    await withServer(async (zk) => {
      await waitFor('the startup probes released', () => accepted(zk.port), RELEASE_MS, 50);
      const { sock } = await openSession(zk.port, connectFrame());
      try {
        let replied!: () => void;
        let timer: NodeJS.Timeout | undefined;
        const reply = new Promise<void>((resolve, reject) => {
          timer = setTimeout(() => reject(new Error('no closeSession reply within 5 s')), 5000);
          replied = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        // As soon as the closeSession reply arrives (the server has stopped reading by then), the client sends
        // more: bytes the server never reads, ahead of the client's FIN (it half-closes when the server does).
        sock.on('data', () => {
          sock.write(requestFrame(Xid.ping, { op: OpCode.ping }));
          sock.write(Buffer.from('junk after close'));
          replied();
        });
        sock.resume();
        sock.write(requestFrame(1, { op: OpCode.closeSession }));
        await reply;
        await waitFor('the closed connection to release its slot', () => accepted(zk.port), RELEASE_MS, 100);
      } finally {
        sock.destroy();
      }
    });
  });

  void test('a rejected ConnectRequest followed at once by a request: the slot is released', async () => {
    await withServer(async (zk) => {
      await waitFor('the startup probes released', () => accepted(zk.port), RELEASE_MS, 50);
      // An unknown session with a wrong password: answered with timeout 0, then closed. The client sends its next
      // request the moment the answer arrives, before it sees the server's FIN.
      const next = requestFrame(1, { op: OpCode.exists, path: '/', watch: false });
      const { sock, resp } = await openSession(zk.port, connectFrame(0x1234_5678n, Buffer.alloc(16, 7)), (_, s) => s.write(next));
      try {
        assert.equal(resp.timeOut, 0, 'the session was refused');
        sock.resume(); // read on: the client sees the FIN and closes its side too
        await waitFor('the closed connection to release its slot', () => accepted(zk.port), RELEASE_MS, 100);
      } finally {
        sock.destroy();
      }
    });
  });
});
