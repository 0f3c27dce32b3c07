#!/usr/bin/python3
"""Real-client scenarios driven by kazoo (the Python ZooKeeper client), run by test/realclients/kazoo.test.ts.

Usage: kazoo_scenarios.py HOST:PORT SCENARIO

Each scenario talks to the server at HOST:PORT, records what it observes (return values, exception class names,
watch events) and prints one JSON object on stdout. It does not judge: the TypeScript test asserts the results, so
the same expectations hold for Apache ZooKeeper and zkts. Everything is bounded: a whole-process alarm, connection
timeouts, and timeouts on every wait.
"""
import hashlib
import base64
import json
import signal
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, ZookeeperError
from kazoo.security import ACL, Id, Permissions, make_digest_acl

HOSTS = sys.argv[1]
SCENARIO = sys.argv[2]
signal.alarm(90)  # hard stop if anything hangs


def client(**kw):
    c = KazooClient(hosts=HOSTS, timeout=10.0, connection_retry={'max_tries': 3, 'delay': 0.2, 'max_delay': 1},
                    **kw)
    c.start(timeout=15)
    return c


def err(fn, *args, **kw):
    """Runs fn and returns the class name of the exception it raised, or 'OK:<repr>' when it did not raise."""
    try:
        r = fn(*args, **kw)
        return 'OK:' + repr(r)
    except (KazooException, ZookeeperError) as e:
        return type(e).__name__


def stat_dict(s):
    return None if s is None else {
        'czxid': s.czxid, 'mzxid': s.mzxid, 'pzxid': s.pzxid, 'version': s.version, 'cversion': s.cversion,
        'aversion': s.aversion, 'ephemeralOwner': s.ephemeralOwner, 'dataLength': s.dataLength,
        'numChildren': s.numChildren, 'ctime': s.ctime, 'mtime': s.mtime,
    }


def crud():
    zk = client()
    out = {}
    try:
        out['create'] = zk.create('/kz-crud', b'v1')
        data, st = zk.get('/kz-crud')
        out['get1'] = {'data': data.decode(), 'stat': stat_dict(st)}
        out['set'] = stat_dict(zk.set('/kz-crud', b'v2'))
        out['setBadVersion'] = err(zk.set, '/kz-crud', b'v3', version=7)
        data, st = zk.get('/kz-crud')
        out['get2'] = {'data': data.decode(), 'stat': stat_dict(st)}
        out['createExisting'] = err(zk.create, '/kz-crud', b'x')
        out['createNoParent'] = err(zk.create, '/kz-missing/child', b'x')
        out['child'] = zk.create('/kz-crud/c1', b'')
        out['emptyData'] = zk.get('/kz-crud/c1')[0].decode()
        out['children'] = sorted(zk.get_children('/kz-crud'))
        out['statAfterChild'] = stat_dict(zk.exists('/kz-crud'))
        out['deleteNotEmpty'] = err(zk.delete, '/kz-crud')
        out['deleteBadVersion'] = err(zk.delete, '/kz-crud/c1', version=3)
        zk.delete('/kz-crud/c1')
        out['deleteNoNode'] = err(zk.delete, '/kz-crud/c1')
        zk.delete('/kz-crud', version=1)
        out['existsAfterDelete'] = stat_dict(zk.exists('/kz-crud'))
        out['getAfterDelete'] = err(zk.get, '/kz-crud')
        out['rootChildren'] = sorted(zk.get_children('/'))
        big = b'z' * 100000
        zk.create('/kz-big', big)
        out['bigLen'] = len(zk.get('/kz-big')[0])
        out['bigEqual'] = zk.get('/kz-big')[0] == big
        zk.ensure_path('/kz-deep/a/b/c')
        out['ensurePath'] = stat_dict(zk.exists('/kz-deep/a/b/c')) is not None
        zk.delete('/kz-deep', recursive=True)
        out['recursiveDelete'] = zk.exists('/kz-deep') is None
    finally:
        zk.stop()
        zk.close()
    return out


def watches():
    zk = client()
    other = client()
    events = []
    lock = threading.Lock()
    got = threading.Condition(lock)

    def rec(tag):
        def cb(ev):
            with got:
                events.append({'tag': tag, 'type': ev.type, 'path': ev.path, 'state': ev.state})
                got.notify_all()
        return cb

    def wait_for(n, timeout=10):
        deadline = time.time() + timeout
        with got:
            while len(events) < n and time.time() < deadline:
                got.wait(max(0.01, deadline - time.time()))
            return len(events)

    out = {}
    try:
        zk.create('/kz-w', b'')
        # exists watch on a missing node fires CREATED when another client creates it
        out['existsMissing'] = zk.exists('/kz-w/a', watch=rec('exists-created'))
        other.create('/kz-w/a', b'1')
        wait_for(1)
        # data watch from get fires CHANGED on set
        zk.get('/kz-w/a', watch=rec('get-changed'))
        other.set('/kz-w/a', b'2')
        wait_for(2)
        # one-shot: a second set does not fire the consumed watch
        other.set('/kz-w/a', b'3')
        # child watch fires CHILD on the parent when a child is added
        zk.get_children('/kz-w', watch=rec('children-child'))
        other.create('/kz-w/b', b'')
        wait_for(3)
        # exists watch on an existing node fires DELETED on delete; a data watch (get) fires DELETED too
        zk.exists('/kz-w/b', watch=rec('exists-deleted'))
        zk.get('/kz-w/a', watch=rec('get-deleted'))
        zk.get_children('/kz-w', watch=rec('children-on-delete'))
        other.delete('/kz-w/b')
        other.delete('/kz-w/a')
        wait_for(6)
        # a child watch on a node fires DELETED when the node itself is deleted
        other.create('/kz-w/p', b'')
        zk.get_children('/kz-w/p', watch=rec('children-self-deleted'))
        other.delete('/kz-w/p')
        wait_for(7)
        # a change made by the watching client itself also triggers (watch fires before the reply)
        zk.create('/kz-w/self', b'')
        zk.get('/kz-w/self', watch=rec('self-changed'))
        zk.set('/kz-w/self', b'x')
        wait_for(8)
        time.sleep(0.5)  # let any spurious extra event arrive
        with got:
            out['events'] = list(events)
    finally:
        for c in (zk, other):
            c.stop()
            c.close()
    return out


def transactions():
    zk = client()
    out = {}
    try:
        zk.create('/kz-tx', b'')
        t = zk.transaction()
        t.create('/kz-tx/a', b'one')
        t.create('/kz-tx/a/b', b'two')
        t.set_data('/kz-tx/a', b'three')
        t.check('/kz-tx/a', 1)
        t.create('/kz-tx/s-', b'', sequence=True)
        res = t.commit()
        out['ok'] = [stat_dict(r) if hasattr(r, 'czxid') else (r if isinstance(r, (str, bool)) else type(r).__name__)
                     for r in res]
        out['okData'] = zk.get('/kz-tx/a')[0].decode()
        out['okChildren'] = sorted(zk.get_children('/kz-tx/a'))

        t = zk.transaction()
        t.create('/kz-tx/c', b'')
        t.set_data('/kz-tx/a', b'four')
        t.delete('/kz-tx/does-not-exist')
        t.create('/kz-tx/d', b'')
        res = t.commit()
        out['failed'] = [type(r).__name__ if isinstance(r, Exception) else repr(r) for r in res]
        out['failedCExists'] = zk.exists('/kz-tx/c') is not None
        out['failedDExists'] = zk.exists('/kz-tx/d') is not None
        out['failedAData'] = zk.get('/kz-tx/a')[0].decode()

        t = zk.transaction()
        t.check('/kz-tx/a', 99)
        t.delete('/kz-tx/a/b')
        res = t.commit()
        out['badCheck'] = [type(r).__name__ if isinstance(r, Exception) else repr(r) for r in res]
        out['badCheckBExists'] = zk.exists('/kz-tx/a/b') is not None
    finally:
        zk.stop()
        zk.close()
    return out


def ephemeral_sequential():
    zk = client()
    other = client()
    out = {}
    try:
        zk.create('/kz-es', b'')
        out['seq'] = [zk.create('/kz-es/n-', b'', sequence=True) for _ in range(3)]
        eph = other.create('/kz-es/e', b'data', ephemeral=True)
        out['eph'] = eph
        out['ephOwner'] = zk.exists('/kz-es/e').ephemeralOwner
        out['otherSession'] = other.client_id[0]
        out['ephSeq'] = other.create('/kz-es/es-', b'', ephemeral=True, sequence=True)
        out['ephChild'] = err(other.create, '/kz-es/e/child', b'')
        out['childrenBefore'] = sorted(zk.get_children('/kz-es'))
        # the session's end removes its ephemerals, and watchers see it
        deleted = threading.Event()
        zk.exists('/kz-es/e', watch=lambda ev: deleted.set() if ev.type == 'DELETED' else None)
        other.stop()
        other.close()
        out['deletedEventSeen'] = deleted.wait(10)
        out['childrenAfter'] = sorted(zk.get_children('/kz-es'))
        out['seqAfter'] = zk.create('/kz-es/n-', b'', sequence=True)
        out['cversion'] = zk.exists('/kz-es').cversion
    finally:
        zk.stop()
        zk.close()
    return out


def acl():
    alice = client(auth_data=[('digest', 'alice:secret')])
    anon = client()
    bob = client(auth_data=[('digest', 'bob:pw')])
    out = {}
    try:
        digest = base64.b64encode(hashlib.sha1(b'alice:secret').digest()).decode()
        out['expectedDigestId'] = 'alice:' + digest
        # client-computed digest ACL: only alice may do anything
        alice.create('/kz-acl-secret', b'top', acl=[make_digest_acl('alice', 'secret', all=True)])
        out['aliceGet'] = alice.get('/kz-acl-secret')[0].decode()
        out['anonGet'] = err(anon.get, '/kz-acl-secret')
        out['anonSet'] = err(anon.set, '/kz-acl-secret', b'x')
        out['anonChildren'] = err(anon.get_children, '/kz-acl-secret')
        out['bobGet'] = err(bob.get, '/kz-acl-secret')
        out['anonExists'] = anon.exists('/kz-acl-secret') is not None  # exists needs no permission
        acls, st = alice.get_acls('/kz-acl-secret')
        out['acls'] = [{'perms': a.perms, 'scheme': a.id.scheme, 'id': a.id.id} for a in acls]
        out['aclVersion'] = st.aversion
        # 'auth' scheme ACL: the server fills in the authenticated identity
        alice.create('/kz-acl-auth', b'a', acl=[ACL(Permissions.ALL, Id('auth', ''))])
        acls, _ = alice.get_acls('/kz-acl-auth')
        out['authAcls'] = [{'perms': a.perms, 'scheme': a.id.scheme, 'id': a.id.id} for a in acls]
        out['anonGetAuth'] = err(anon.get, '/kz-acl-auth')
        # 'auth' ACL without any authenticated identity is rejected
        out['anonCreateAuthAcl'] = err(anon.create, '/kz-acl-anon', b'', acl=[ACL(Permissions.ALL, Id('auth', ''))])
        # world read, alice write
        alice.create('/kz-acl-ro', b'r', acl=[ACL(Permissions.READ, Id('world', 'anyone')),
                                              make_digest_acl('alice', 'secret', all=True)])
        out['anonGetRo'] = anon.get('/kz-acl-ro')[0].decode()
        out['anonSetRo'] = err(anon.set, '/kz-acl-ro', b'no')
        out['anonCreateChildRo'] = err(anon.create, '/kz-acl-ro/c', b'')
        out['aliceSetRo'] = alice.set('/kz-acl-ro', b'yes').version
        # anon adds alice's credentials at runtime and gains access
        anon.add_auth('digest', 'alice:secret')
        out['anonAfterAddAuth'] = anon.get('/kz-acl-secret')[0].decode()
        # setACL: alice opens the secret node to the world; bob can then read it
        st = alice.set_acls('/kz-acl-secret', [ACL(Permissions.READ, Id('world', 'anyone'))])
        out['setAclVersion'] = st.aversion
        out['bobGetAfterSetAcl'] = bob.get('/kz-acl-secret')[0].decode()
        out['bobSetAfterSetAcl'] = err(bob.set, '/kz-acl-secret', b'x')
        out['setAclBadVersion'] = err(alice.set_acls, '/kz-acl-ro', [ACL(Permissions.ALL, Id('world', 'anyone'))],
                                      version=5)
        # invalid ACL (bad scheme) is rejected
        out['badScheme'] = err(alice.create, '/kz-acl-bad', b'', acl=[ACL(Permissions.ALL, Id('nosuchscheme', 'x'))])
    finally:
        for c in (alice, anon, bob):
            c.stop()
            c.close()
    return out


def lock():
    n_clients, n_iter = 5, 8
    clients = [client() for _ in range(n_clients)]
    clients[0].create('/kz-lock-counter', b'0')
    state = {'inside': 0, 'maxInside': 0, 'violations': 0, 'acquired': 0, 'errors': []}
    mu = threading.Lock()

    def worker(i):
        zk = clients[i]
        lk = zk.Lock('/kz-lock', 'worker-%d' % i)
        try:
            for _ in range(n_iter):
                if not lk.acquire(timeout=30):
                    with mu:
                        state['errors'].append('timeout in worker %d' % i)
                    return
                try:
                    with mu:
                        state['inside'] += 1
                        state['acquired'] += 1
                        state['maxInside'] = max(state['maxInside'], state['inside'])
                    data, st = zk.get('/kz-lock-counter')
                    time.sleep(0.002)
                    # a versioned set fails if anyone else wrote since our read: a mutual-exclusion violation
                    try:
                        zk.set('/kz-lock-counter', str(int(data) + 1).encode(), version=st.version)
                    except ZookeeperError:
                        with mu:
                            state['violations'] += 1
                    with mu:
                        state['inside'] -= 1
                finally:
                    lk.release()
        except Exception as e:  # noqa: BLE001 - reported to the test
            with mu:
                state['errors'].append('%s: %s' % (type(e).__name__, e))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(75)
    out = dict(state)
    out['alive'] = sum(1 for t in threads if t.is_alive())
    out['expected'] = n_clients * n_iter
    out['counter'] = int(clients[0].get('/kz-lock-counter')[0])
    out['lockChildrenAfter'] = clients[0].get_children('/kz-lock')
    for c in clients:
        c.stop()
        c.close()
    return out


SCENARIOS = {
    'crud': crud, 'watches': watches, 'transactions': transactions, 'ephemeral_sequential': ephemeral_sequential,
    'acl': acl, 'lock': lock,
}

if __name__ == '__main__':
    result = SCENARIOS[SCENARIO]()
    sys.stdout.write(json.dumps(result) + '\n')
    sys.stdout.flush()
