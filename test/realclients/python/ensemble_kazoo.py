#!/usr/bin/python3
"""kazoo (the Python ZooKeeper client) against a 3-node ensemble, run by test/realclients/ensemble.test.ts.

Usage:
  ensemble_kazoo.py basic ALL_HOSTS HOST1 HOST2 HOST3
  ensemble_kazoo.py lock ALL_HOSTS HOST1 HOST2 HOST3
  ensemble_kazoo.py failover HOSTS          (hosts tried in the given order: randomize_hosts=False)

basic and lock print one JSON object on stdout. failover is interactive: it prints lines "TAG {json}" and waits for
a line on stdin at each step (see failover()). The script only records what it observes; the TypeScript test asserts.
Everything is bounded: a whole-process alarm, connection timeouts and a timeout on every wait.
"""
import json
import signal
import sys
import threading
import time

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import KazooException, NoNodeError, ZookeeperError

SCENARIO = sys.argv[1]
signal.alarm(80)  # hard stop if anything hangs
CROSS_ROUNDS = 50


def client(hosts, **kw):
    c = KazooClient(hosts=hosts, timeout=10.0,
                    connection_retry={'max_tries': -1, 'delay': 0.1, 'max_delay': 0.5, 'deadline': 30},
                    command_retry={'max_tries': 3, 'delay': 0.1, 'max_delay': 0.5},
                    **kw)
    c.start(timeout=20)
    return c


def close(*clients):
    for c in clients:
        try:
            c.stop()
            c.close()
        except Exception:  # noqa: BLE001 - best effort at the end
            pass


def err(fn, *args, **kw):
    """Runs fn and returns the class name of the exception it raised, or 'OK' when it did not raise."""
    try:
        fn(*args, **kw)
        return 'OK'
    except (KazooException, ZookeeperError) as e:
        return type(e).__name__


def stat_dict(s):
    return None if s is None else {
        'czxid': s.czxid, 'mzxid': s.mzxid, 'pzxid': s.pzxid, 'version': s.version, 'cversion': s.cversion,
        'aversion': s.aversion, 'ephemeralOwner': hex(s.ephemeralOwner), 'dataLength': s.dataLength,
        'numChildren': s.numChildren, 'ctime': s.ctime, 'mtime': s.mtime,
    }


def peer_port(zk):
    """The client port of the server this client is connected to."""
    return zk._connection._socket.getpeername()[1]  # noqa: SLF001 - kazoo has no public accessor


def wait_until(cond, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def basic():
    """CRUD + Stat, watches fired by writes through other servers, ephemeral + sequential, transactions, and writes
    through each server read through every other after sync."""
    all_hosts, singles = sys.argv[2], sys.argv[3:6]
    zk = client(all_hosts)
    one = [client(h) for h in singles]  # one session per server
    out = {'singlePeers': [peer_port(c) for c in one], 'allPeer': peer_port(zk)}
    try:
        # CRUD + Stat
        out['create'] = zk.create('/ens-kz', b'v1')
        data, st = zk.get('/ens-kz')
        out['get1'] = {'data': data.decode(), 'stat': stat_dict(st)}
        out['set'] = stat_dict(zk.set('/ens-kz', b'v2', version=0))
        out['setBadVersion'] = err(zk.set, '/ens-kz', b'v3', version=0)
        out['createExisting'] = err(zk.create, '/ens-kz', b'x')
        out['child'] = zk.create('/ens-kz/c', b'')
        out['statAfterChild'] = stat_dict(zk.exists('/ens-kz'))
        out['deleteNotEmpty'] = err(zk.delete, '/ens-kz')
        zk.delete('/ens-kz/c')
        out['deleteNoNode'] = err(zk.delete, '/ens-kz/c')
        out['existsAfterDelete'] = stat_dict(zk.exists('/ens-kz/c'))
        # the same node as each server sees it after sync: one Stat everywhere
        views = []
        for c in one:
            c.sync('/ens-kz')
            d, s = c.get('/ens-kz')
            views.append({'data': d.decode(), 'stat': stat_dict(s)})
        out['viewsAfterSync'] = views

        # ChildrenWatch + DataWatch through the all-hosts client; the changes come through each single-server client
        zk.create('/ens-kz/w', b'd0')
        children_seen, data_seen = [], []
        got = threading.Condition()

        @zk.ChildrenWatch('/ens-kz/w')
        def on_children(children):
            with got:
                children_seen.append(sorted(children))
                got.notify_all()

        @zk.DataWatch('/ens-kz/w')
        def on_data(data, stat, event):
            with got:
                data_seen.append({'data': None if data is None else data.decode(),
                                  'event': None if event is None else event.type,
                                  'version': None if stat is None else stat.version})
                got.notify_all()

        wait_until(lambda: children_seen and data_seen)
        for i, c in enumerate(one):
            c.create('/ens-kz/w/k%d' % i, b'')
            wait_until(lambda: children_seen and len(children_seen[-1]) == i + 1)
            c.set('/ens-kz/w', ('d%d' % (i + 1)).encode())
            wait_until(lambda: data_seen and data_seen[-1]['data'] == 'd%d' % (i + 1))
        out['childrenSeen'] = children_seen
        out['dataSeen'] = data_seen

        # ephemeral + sequential: a session on server 2 creates, server 3 sees (owner = that session), the session
        # closes and server 3 sees them gone
        zk.create('/ens-kz/es', b'')
        owner = client(singles[1])
        owner_session = owner.client_id[0]
        seq = [owner.create('/ens-kz/es/n-', b'', sequence=True) for _ in range(3)]
        eph = owner.create('/ens-kz/es/e', b'e', ephemeral=True)
        eph_seq = owner.create('/ens-kz/es/x-', b'', ephemeral=True, sequence=True)
        out['seq'], out['eph'], out['ephSeq'] = seq, eph, eph_seq
        one[2].sync('/ens-kz/es')
        st = one[2].exists('/ens-kz/es/e')
        out['ephOwnerOn3'] = None if st is None else hex(st.ephemeralOwner)
        out['ownerSession'] = hex(owner_session)
        out['ephChild'] = err(owner.create, '/ens-kz/es/e/child', b'')
        out['childrenBefore'] = sorted(one[2].get_children('/ens-kz/es'))
        close(owner)
        one[2].sync('/ens-kz/es')
        out['childrenAfterClose'] = sorted(one[2].get_children('/ens-kz/es'))

        # transactions through server 1, read through server 3 after sync
        t = one[0].transaction()
        t.create('/ens-kz/tx', b'')
        t.create('/ens-kz/tx/a', b'one')
        t.set_data('/ens-kz/tx/a', b'two')
        t.check('/ens-kz/tx/a', 1)
        t.create('/ens-kz/tx/s-', b'', sequence=True)
        res = t.commit()
        out['txOk'] = [r if isinstance(r, (str, bool)) else (stat_dict(r) if hasattr(r, 'czxid') else type(r).__name__)
                       for r in res]
        t = one[0].transaction()
        t.create('/ens-kz/tx/b', b'')
        t.delete('/ens-kz/tx/missing')
        t.create('/ens-kz/tx/c', b'')
        out['txFailed'] = [type(r).__name__ if isinstance(r, Exception) else r for r in t.commit()]
        one[2].sync('/ens-kz/tx')
        out['txChildrenOn3'] = sorted(one[2].get_children('/ens-kz/tx'))
        out['txDataOn3'] = one[2].get('/ens-kz/tx/a')[0].decode()

        # a write through each server is read through every other after sync (in rounds: a follower that answers
        # the sync before applying a commit that preceded it is caught only now and then)
        zk.create('/ens-kz/via', b'')
        cross, misses = 0, []
        for rnd in range(CROSS_ROUNDS):
            for i, w in enumerate(one):
                path = '/ens-kz/via/r%d-w%d' % (rnd, i + 1)
                written = ('round %d via %d' % (rnd, i + 1)).encode()
                w.create(path, written)
                for j, r in enumerate(one):
                    if j == i:
                        continue
                    r.sync(path)
                    cross += 1
                    try:
                        d, _ = r.get(path)
                        if d != written:
                            misses.append({'path': path, 'writer': i + 1, 'reader': j + 1, 'got': d.decode()})
                    except NoNodeError:
                        time.sleep(0.2)
                        misses.append({'path': path, 'writer': i + 1, 'reader': j + 1, 'got': 'NoNodeError',
                                       'readerPort': peer_port(r), 'visible200msLater': r.exists(path) is not None})
        out['cross'], out['crossMisses'] = cross, misses
    finally:
        close(zk, *one)
    return out


def lock():
    """kazoo's Lock with 3 contenders, each a session on a different server; every hold is recorded
    (monotonic enter/exit times in this process) and a versioned counter is incremented under the lock."""
    singles = sys.argv[3:6]
    n_iter = 10
    clients = [client(h) for h in singles]
    clients[0].create('/ens-kz-lock-counter', b'0')
    holds = []
    state = {'violations': 0, 'errors': []}
    mu = threading.Lock()
    t0 = time.monotonic()

    def worker(i):
        zk = clients[i]
        lk = zk.Lock('/ens-kz-lock', 'worker-%d' % i)
        try:
            for _ in range(n_iter):
                if not lk.acquire(timeout=30):
                    with mu:
                        state['errors'].append('acquire timeout in worker %d' % i)
                    return
                try:
                    enter = time.monotonic() - t0
                    data, st = zk.get('/ens-kz-lock-counter')
                    time.sleep(0.003)
                    try:
                        zk.set('/ens-kz-lock-counter', str(int(data) + 1).encode(), version=st.version)
                    except ZookeeperError:
                        with mu:
                            state['violations'] += 1
                    leave = time.monotonic() - t0
                    with mu:
                        holds.append({'worker': i, 'enter': enter, 'leave': leave})
                finally:
                    lk.release()
        except Exception as e:  # noqa: BLE001 - reported to the test
            with mu:
                state['errors'].append('%s: %s' % (type(e).__name__, e))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    out = {
        'holds': holds, 'violations': state['violations'], 'errors': state['errors'],
        'alive': sum(1 for t in threads if t.is_alive()), 'expected': len(clients) * n_iter,
        'peers': [peer_port(c) for c in clients],
    }
    clients[2].sync('/ens-kz-lock-counter')
    out['counter'] = int(clients[2].get('/ens-kz-lock-counter')[0])
    out['lockChildrenAfter'] = clients[2].get_children('/ens-kz-lock')
    close(*clients)
    return out


def emit(tag, obj):
    sys.stdout.write('%s %s\n' % (tag, json.dumps(obj)))
    sys.stdout.flush()


def await_line(expected):
    line = sys.stdin.readline().strip()
    if line != expected:
        emit('ERROR', {'expected': expected, 'got': line})
        sys.exit(2)


def failover():
    """Session failover. Steps (each waits for the test's go-ahead line on stdin):
    1. connect (hosts in the given order), create /ens-kz-fo/eph (ephemeral), a DataWatch on /ens-kz-fo/watched;
       print READY with the session id and the server's port. The test kill -9s that server and sends "killed".
    2. wait until kazoo is CONNECTED again after SUSPENDED and the DataWatch has re-read the node on the new
       connection; print RECONNECTED (session id, new port, states, the ephemeral's owner). The test changes
       /ens-kz-fo/watched from another client and sends "changed".
    3. wait for the DataWatch call with the CHANGED event; print DONE.
    """
    hosts = sys.argv[2]
    states = []
    zk = KazooClient(hosts=hosts, timeout=10.0, randomize_hosts=False,
                     connection_retry={'max_tries': -1, 'delay': 0.1, 'max_delay': 0.5, 'deadline': 40},
                     command_retry={'max_tries': 5, 'delay': 0.2, 'max_delay': 1})
    zk.add_listener(lambda s: states.append(str(s)))
    zk.start(timeout=20)
    try:
        session = zk.client_id[0]
        zk.ensure_path('/ens-kz-fo')
        zk.create('/ens-kz-fo/watched', b'before')
        zk.create('/ens-kz-fo/eph', b'e', ephemeral=True)
        calls = []
        mu = threading.Lock()

        @zk.DataWatch('/ens-kz-fo/watched')
        def on_data(data, stat, event):
            with mu:
                calls.append({'data': None if data is None else data.decode(),
                              'event': None if event is None else event.type,
                              'connected': zk.connected, 'at': len(states)})

        wait_until(lambda: len(calls) >= 1)
        emit('READY', {'session': hex(session), 'port': peer_port(zk), 'negotiatedTimeout': zk._session_timeout,  # noqa: SLF001
                       'calls': calls})
        await_line('killed')
        ok = wait_until(lambda: 'SUSPENDED' in states and zk.connected and states[-1] == 'CONNECTED', 40)
        # kazoo forgets its watches on a disconnect (it sends no SetWatches); its DataWatch re-reads the node, with a
        # new watch, once CONNECTED again (calling the function only if mzxid changed). Wait until that read is
        # answered (kazoo then holds the watcher again) so that the next change is watched.
        reread = wait_until(lambda: bool(zk._data_watchers.get('/ens-kz-fo/watched')), 15) if ok else False  # noqa: SLF001
        eph = zk.exists('/ens-kz-fo/eph') if ok else None
        emit('RECONNECTED', {
            'ok': ok, 'reread': reread, 'session': hex(zk.client_id[0]) if zk.client_id else None,
            'port': peer_port(zk) if zk.connected else None, 'states': states,
            'ephOwner': None if eph is None else hex(eph.ephemeralOwner), 'calls': calls,
        })
        await_line('changed')
        fired = wait_until(lambda: any(c['event'] == 'CHANGED' and c['data'] == 'after' for c in calls), 15)
        emit('DONE', {'fired': fired, 'calls': calls, 'states': states,
                      'session': hex(zk.client_id[0]) if zk.client_id else None})
    finally:
        close(zk)


if __name__ == '__main__':
    if SCENARIO == 'failover':
        failover()
    else:
        result = {'basic': basic, 'lock': lock}[SCENARIO]()
        sys.stdout.write(json.dumps(result) + '\n')
