// Keeps the golden strings in fourletter.test.ts honest: the oracle (Apache ZooKeeper 3.8) must still print the
// same line shapes. Skipped when the oracle is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oracleAvailable, startOracle } from '../support/servers.js';
import { fourLetter, sleep } from '../support/ports.js';

void test('oracle 4lw shapes match what the renderers produce', { skip: !oracleAvailable() }, async () => {
  const s = await startOracle({ config: { '4lw.commands.whitelist': 'ruok, srvr ,wchs,isro,dirs' } });
  try {
    // ruok answers before the server finishes starting; wait until srvr does too.
    for (let i = 0; i < 100 && (await fourLetter(s.port, 'srvr')).startsWith('This ZooKeeper'); i++) await sleep(100);
    assert.equal(await fourLetter(s.port, 'ruok'), 'imok');
    assert.equal(await fourLetter(s.port, 'isro'), 'rw');
    assert.equal(await fourLetter(s.port, 'conf'), 'conf is not executed because it is not in the whitelist.\n');
    assert.equal(await fourLetter(s.port, 'wchs'), '0 connections watching 0 paths\nTotal watches:0\n');
    assert.match(await fourLetter(s.port, 'dirs'), /^datadir_size: \d+\nlogdir_size: \d+\n$/);
    const srvr = (await fourLetter(s.port, 'srvr')).split('\n');
    const shapes = [/^Zookeeper version: 3\.8\./, /^Latency min\/avg\/max: \d+\/\d+\.\d+\/\d+$/, /^Received: \d+$/,
      /^Sent: \d+$/, /^Connections: \d+$/, /^Outstanding: \d+$/, /^Zxid: 0x[0-9a-f]+$/, /^Mode: standalone$/,
      /^Node count: \d+$/, /^$/];
    assert.equal(srvr.length, shapes.length);
    shapes.forEach((re, i) => assert.match(srvr[i], re));
  } finally {
    await s.stop();
  }
});
