// Golden-bytes driver for the Java client (ZooKeeper 3.8). Run by test/protocol/capture/main.ts through the
// recording proxy:  java -cp <zookeeper jars> scripts/capture/GoldenSession.java <proxyHost:port> <directHost:port>
// It exercises every opcode the Java client offers; "/golden-drop" makes the proxy cut the connection (reconnect
// with SetWatches / SetWatches2). The direct address (no proxy) is used to change the tree while the client is away.
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.admin.ZooKeeperAdmin;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class GoldenSession {
    static final String B = "/golden-java";

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static void log(String s) {
        System.out.println("[java] " + s);
    }

    interface Step {
        void run() throws Exception;
    }

    static void expectError(String what, Step s) throws Exception {
        try {
            s.run();
            log(what + ": no error");
        } catch (KeeperException e) {
            log(what + ": " + e.code());
        }
    }

    static final class Connected implements Watcher {
        final CountDownLatch latch = new CountDownLatch(1);
        volatile CountDownLatch reconnect = new CountDownLatch(1);

        @Override
        public void process(WatchedEvent e) {
            log("session event " + e);
            if (e.getType() == Event.EventType.None) {
                if (e.getState() == Event.KeeperState.SyncConnected) {
                    latch.countDown();
                    reconnect.countDown();
                }
            }
        }
    }

    static final Watcher PRINT = e -> log("watch " + e);

    public static void main(String[] args) throws Exception {
        String cs = args[0];
        String direct = args[1];
        Connected conn = new Connected();
        ZooKeeperAdmin zk = new ZooKeeperAdmin(cs, 6000, conn);
        if (!conn.latch.await(20, TimeUnit.SECONDS)) throw new IllegalStateException("no connection");
        ZooKeeper other = new ZooKeeper(direct, 6000, e -> { });

        List<ACL> open = ZooDefs.Ids.OPEN_ACL_UNSAFE;
        Stat st = new Stat();

        // create in every mode, create2 (with Stat), container, TTL
        zk.create(B, b("base"), open, CreateMode.PERSISTENT);
        zk.create(B + "/eph", b("e"), open, CreateMode.EPHEMERAL);
        zk.create(B + "/pseq-", b("ps"), open, CreateMode.PERSISTENT_SEQUENTIAL);
        zk.create(B + "/eseq-", new byte[0], open, CreateMode.EPHEMERAL_SEQUENTIAL);
        zk.create(B + "/nulldata", null, open, CreateMode.PERSISTENT);
        zk.create(B + "/c2", b("c2"), open, CreateMode.PERSISTENT, st);
        zk.create(B + "/container", b("ct"), open, CreateMode.CONTAINER);
        zk.create(B + "/container2", b("ct2"), open, CreateMode.CONTAINER, st);
        zk.create(B + "/ttl", b("t"), open, CreateMode.PERSISTENT_WITH_TTL, st, 60000);
        zk.create(B + "/ttlseq-", b("ts"), open, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, st, 120000);
        zk.create(B + "/c2eph", b("x"), open, CreateMode.EPHEMERAL_SEQUENTIAL, st);
        expectError("create existing", () -> zk.create(B, b("dup"), open, CreateMode.PERSISTENT));
        expectError("create no parent", () -> zk.create(B + "/none/x", b(""), open, CreateMode.PERSISTENT, st));
        expectError("create under ephemeral", () -> zk.create(B + "/eph/x", b(""), open, CreateMode.PERSISTENT));

        // exists / getData / setData
        zk.exists(B, false);
        zk.exists(B + "/later", true); // NONODE, exists-watch registered -> NodeCreated below
        zk.getData(B, true, st);
        zk.getData(B + "/nulldata", false, st);
        expectError("getData missing", () -> zk.getData(B + "/missing", false, null));
        zk.setData(B, b("v2"), 0); // fires NodeDataChanged
        expectError("setData bad version", () -> zk.setData(B, b("v3"), 42));
        zk.create(B + "/later", b("now"), open, CreateMode.PERSISTENT); // NodeCreated

        // ACLs and auth
        zk.getACL(B, st);
        zk.addAuthInfo("digest", b("golden:secret"));
        zk.create(B + "/secret", b("s"), ZooDefs.Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
        zk.getACL(B + "/secret", st);
        List<ACL> acl = new ArrayList<>();
        acl.add(new ACL(ZooDefs.Perms.ALL, new Id("digest", DigestAuthenticationProvider.generateDigest("golden:secret"))));
        acl.add(new ACL(ZooDefs.Perms.READ, ZooDefs.Ids.ANYONE_ID_UNSAFE));
        acl.add(new ACL(ZooDefs.Perms.READ | ZooDefs.Perms.WRITE, new Id("ip", "127.0.0.1")));
        zk.setACL(B + "/secret", acl, 0);
        expectError("setACL bad version", () -> zk.setACL(B + "/secret", acl, 7));
        zk.getACL(B + "/secret", st);
        zk.whoAmI();

        // children
        zk.getChildren(B, true);
        zk.getChildren(B, false, st);
        zk.create(B + "/child", b("ch"), open, CreateMode.PERSISTENT); // NodeChildrenChanged on B
        expectError("getChildren missing", () -> zk.getChildren(B + "/missing", false));
        CountDownLatch synced = new CountDownLatch(1);
        zk.sync(B, (rc, path, ctx) -> {
            log("sync " + rc + " " + path);
            synced.countDown();
        }, null);
        synced.await(10, TimeUnit.SECONDS);

        // multi (success and failure) and multiRead
        List<OpResult> r = zk.multi(Arrays.asList(
                Op.create(B + "/m1", b("1"), open, CreateMode.PERSISTENT),
                Op.create(B + "/m2", b("2"), open, CreateMode.PERSISTENT_SEQUENTIAL),
                Op.create(B + "/mc", b("3"), open, CreateMode.CONTAINER),
                Op.create(B + "/mt", b("4"), open, CreateMode.PERSISTENT_WITH_TTL, 30000),
                Op.setData(B + "/m1", b("1b"), 0),
                Op.check(B + "/m1", 1),
                Op.delete(B + "/m1", 1)));
        log("multi ok " + r.size());
        try {
            zk.multi(Arrays.asList(
                    Op.create(B + "/f1", b("f"), open, CreateMode.PERSISTENT),
                    Op.check(B, 99),
                    Op.setData(B, b("never"), -1)));
        } catch (KeeperException e) {
            log("multi failed " + e.code());
        }
        r = zk.multi(Arrays.asList(Op.getData(B), Op.getChildren(B), Op.getData(B + "/missing"),
                Op.getChildren(B + "/nulldata")));
        log("multiRead " + r.size());

        // 3.6+ reads
        zk.getEphemerals();
        zk.getEphemerals(B + "/e");
        zk.getAllChildrenNumber(B);
        zk.getAllChildrenNumber("/");

        // reconfig (standalone without reconfigEnabled: an error) and the config node
        expectError("reconfig", () -> zk.reconfigure(null, null, "server.1=127.0.0.1:2888:3888;2181", -1, new Stat()));
        zk.getConfig(false, st);

        // watches that survive a reconnect: SetWatches (no persistent watches yet)
        zk.create(B + "/w", b("w"), open, CreateMode.PERSISTENT);
        zk.getData(B + "/w", true, st);
        zk.exists(B + "/w-missing", true);
        zk.getChildren(B + "/w", true);
        conn.reconnect = new CountDownLatch(1);
        zk.exists("/golden-drop", false); // the proxy drops the connection after this reply
        other.setData(B + "/w", b("changed-while-away"), -1);
        if (!conn.reconnect.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("no reconnect 1");
        Thread.sleep(300);

        // persistent watches, then a second reconnect (SetWatches2)
        zk.addWatch(B + "/pw", PRINT, AddWatchMode.PERSISTENT);
        zk.addWatch(B, AddWatchMode.PERSISTENT_RECURSIVE);
        zk.getData(B + "/w", true, st);
        zk.create(B + "/pw", b("p"), open, CreateMode.PERSISTENT); // persistent + recursive events
        zk.setData(B + "/pw", b("p2"), -1);
        conn.reconnect = new CountDownLatch(1);
        zk.exists("/golden-drop", false);
        other.create(B + "/w-missing", b("created-while-away"), open, CreateMode.PERSISTENT);
        if (!conn.reconnect.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("no reconnect 2");
        Thread.sleep(300);

        // removing watches: checkWatches (17) for one watcher, removeWatches (18) for all
        Watcher one = e -> log("one " + e);
        zk.getData(B + "/c2", one, st);
        expectError("removeWatches one", () -> zk.removeWatches(B + "/c2", one, Watcher.WatcherType.Data, false));
        zk.getChildren(B + "/c2", true);
        zk.exists(B + "/c2", true);
        expectError("removeAllWatches c2", () -> zk.removeAllWatches(B + "/c2", Watcher.WatcherType.Any, false));
        expectError("removeAllWatches pw", () -> zk.removeAllWatches(B + "/pw", Watcher.WatcherType.Any, false));

        // deletes
        zk.delete(B + "/child", -1);
        expectError("delete bad version", () -> zk.delete(B + "/c2", 5));
        expectError("delete not empty", () -> zk.delete(B, -1));
        expectError("delete missing", () -> zk.delete(B + "/missing", -1));
        zk.delete(B + "/pw", 1); // fires on the recursive watch

        // idle: pings
        Thread.sleep(4500);
        zk.close(); // closeSession
        other.close();

        // a failed auth: the server answers -115 and closes
        Connected c2 = new Connected();
        ZooKeeper bad = new ZooKeeper(cs, 6000, c2);
        c2.latch.await(20, TimeUnit.SECONDS);
        bad.addAuthInfo("nosuchscheme", b("whatever"));
        Thread.sleep(1500);
        bad.close();

        // reconnecting with an unknown session: expired reply (timeOut 0)
        CountDownLatch expired = new CountDownLatch(1);
        ZooKeeper gone = new ZooKeeper(cs, 6000, e -> {
            log("gone " + e);
            if (e.getState() == Watcher.Event.KeeperState.Expired) expired.countDown();
        }, 0x1234567890abcdefL, new byte[16]);
        expired.await(20, TimeUnit.SECONDS);
        gone.close();
        log("done");
    }
}
