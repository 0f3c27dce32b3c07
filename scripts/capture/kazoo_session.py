# Golden-bytes driver for kazoo (run with /usr/bin/python3 by test/protocol/capture/main.ts, through the recording
# proxy):  kazoo_session.py <proxyHost:port> <directHost:port>
# Exercises every request kazoo offers; "/golden-drop" makes the proxy cut the connection (reconnect + SetWatches).
import logging
import sys
import threading
import time

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import KazooException
from kazoo.security import ACL, Id, make_digest_acl, OPEN_ACL_UNSAFE

logging.basicConfig(level=logging.WARNING)
B = '/golden-kazoo'


def log(s):
    print('[kazoo] ' + s, flush=True)


def expect_error(what, fn):
    try:
        fn()
        log(what + ': no error')
    except KazooException as e:
        log('%s: %s' % (what, type(e).__name__))


def watch(ev):
    log('watch %r' % (ev,))


def main():
    proxied, direct = sys.argv[1], sys.argv[2]
    zk = KazooClient(hosts=proxied, timeout=6.0)
    zk.start(timeout=20)
    other = KazooClient(hosts=direct, timeout=6.0)
    other.start(timeout=20)

    zk.create(B, b'base')
    zk.create(B + '/eph', b'e', ephemeral=True)
    zk.create(B + '/seq-', b's', sequence=True)
    zk.create(B + '/eseq-', b'', ephemeral=True, sequence=True)
    zk.create(B + '/c2', b'c2', include_data=True)
    zk.create(B + '/deep/er/path', b'd', makepath=True)
    expect_error('create existing', lambda: zk.create(B, b'dup'))

    zk.exists(B)
    zk.exists(B + '/later', watch=watch)
    zk.get(B, watch=watch)
    zk.set(B, b'v2', version=0)
    expect_error('set bad version', lambda: zk.set(B, b'v3', version=42))
    zk.create(B + '/later', b'now')
    expect_error('get missing', lambda: zk.get(B + '/missing'))

    zk.get_acls(B)
    zk.add_auth('digest', 'golden:secret')
    zk.create(B + '/secret', b's', acl=[make_digest_acl('golden', 'secret', all=True)])
    zk.set_acls(B + '/secret', [make_digest_acl('golden', 'secret', all=True),
                                ACL(1, Id('world', 'anyone'))], version=0)
    zk.get_acls(B + '/secret')

    zk.get_children(B, watch=watch)
    zk.get_children(B, include_data=True)
    zk.create(B + '/child', b'ch')
    zk.sync(B)

    t = zk.transaction()
    t.create(B + '/m1', b'1')
    t.set_data(B + '/m1', b'1b', version=0)
    t.check(B + '/m1', 1)
    t.delete(B + '/m1', version=1)
    log('txn ok %r' % (t.commit(),))
    t = zk.transaction()
    t.create(B + '/f1', b'f')
    t.check(B, 99)
    t.set_data(B, b'never')
    log('txn failed %r' % (t.commit(),))

    # No reconfig: kazoo 2.8 does not know RECONFIGDISABLED (-123) and its connection thread dies on it.

    # watches across a reconnect
    zk.create(B + '/w', b'w')
    zk.get(B + '/w', watch=watch)
    zk.exists(B + '/w-missing', watch=watch)
    zk.get_children(B + '/w', watch=watch)
    reconnected = threading.Event()
    lost = threading.Event()

    def listener(state):
        log('state ' + state)
        if state == KazooState.SUSPENDED:
            lost.set()
        elif state == KazooState.CONNECTED and lost.is_set():
            reconnected.set()
    zk.add_listener(listener)
    zk.exists('/golden-drop')
    other.set(B + '/w', b'changed-while-away')
    if not reconnected.wait(30):
        raise RuntimeError('no reconnect')
    time.sleep(0.5)

    zk.delete(B + '/child')
    expect_error('delete bad version', lambda: zk.delete(B + '/c2', version=5))
    expect_error('delete not empty', lambda: zk.delete(B))
    zk.delete(B + '/deep', recursive=True)

    time.sleep(4.5)  # pings
    zk.stop()
    zk.close()
    other.stop()
    other.close()
    log('done')


main()
