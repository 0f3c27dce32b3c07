// Curator 5.4 (Debian jars) against a 3-node ensemble, run by test/realclients/ensemble.test.ts.
//
// Usage:
//   java EnsembleCurator mutex CS1 CS2 CS3 ITERATIONS
//     InterProcessMutex with 3 sessions, session i given only connect string CSi (one server each); each increments
//     the counter znode ITERATIONS times under the mutex (read, versioned setData). Every hold is recorded
//     (System.nanoTime in this process). Prints one line of JSON, including the counter as each server sees it
//     after a sync.
//   java EnsembleCurator failover CS
//     Interactive: a CuratorFramework on the full connect string creates an ephemeral node and sets a plain ZooKeeper
//     watch on /ens-cur-fo/watched, then prints "CONNECTED {json}" (session id, the server's port). The test kill -9s
//     that server; this program waits for ConnectionState RECONNECTED and prints "RECONNECTED {json}" (states seen,
//     session id, new port, the ephemeral's owner), then waits for "changed" on stdin (the test changed the watched
//     node from another client) and for the watch (re-registered by the client's SetWatches) to fire; prints
//     "DONE {json}".
// It only records what it observes; the test asserts. A watchdog exits 3 if anything hangs.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

public class EnsembleCurator {
    static CuratorFramework client(String hosts) throws InterruptedException {
        CuratorFramework c = CuratorFrameworkFactory.newClient(hosts, 15000, 5000, new RetryNTimes(20, 200));
        c.start();
        if (!c.blockUntilConnected(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("could not connect to " + hosts);
        }
        return c;
    }

    static String q(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static String list(List<String> xs) {
        List<String> qs = new ArrayList<>();
        synchronized (xs) {
            for (String x : xs) qs.add(q(x));
        }
        return "[" + String.join(",", qs) + "]";
    }

    /** The client port of the server the session is connected to (from ZooKeeper.toString's remoteserver:). */
    static int remotePort(CuratorFramework c) throws Exception {
        String s = c.getZookeeperClient().getZooKeeper().toString();
        Matcher m = Pattern.compile("remoteserver:\\S*:(\\d+)").matcher(s);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    static String hex(long id) {
        return "0x" + Long.toHexString(id);
    }

    /** sync(path) on the raw ZooKeeper handle, waited for (bounded). */
    static void sync(CuratorFramework c, String path) throws Exception {
        ZooKeeper zk = c.getZookeeperClient().getZooKeeper();
        CountDownLatch done = new CountDownLatch(1);
        zk.sync(path, (rc, p, ctx) -> done.countDown(), null);
        if (!done.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("sync timed out");
    }

    public static void main(String[] args) throws Exception {
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(80_000);
                System.err.println("watchdog: timed out");
                System.exit(3);
            } catch (InterruptedException e) {
                // finished in time
            }
        });
        watchdog.setDaemon(true);
        watchdog.start();
        if (args[0].equals("mutex")) {
            mutex(new String[] {args[1], args[2], args[3]}, Integer.parseInt(args[4]));
        } else {
            failover(args[1]);
        }
        System.out.flush();
        System.exit(0);
    }

    static void mutex(String[] hosts, int iterations) throws Exception {
        CuratorFramework admin = client(hosts[0]);
        admin.create().creatingParentsIfNeeded().forPath("/ens-cur/counter", "0".getBytes(StandardCharsets.UTF_8));
        AtomicInteger violations = new AtomicInteger();
        List<String> errors = Collections.synchronizedList(new ArrayList<>());
        List<String> holds = Collections.synchronizedList(new ArrayList<>());
        List<String> ports = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        List<Thread> workers = new ArrayList<>();
        CountDownLatch connected = new CountDownLatch(hosts.length);
        for (int t = 0; t < hosts.length; t++) {
            final int id = t;
            Thread w = new Thread(() -> {
                CuratorFramework c = null;
                try {
                    c = client(hosts[id]);
                    ports.add(id + ":" + remotePort(c));
                    connected.countDown();
                    connected.await(20, TimeUnit.SECONDS); // contend from the start
                    InterProcessMutex mutex = new InterProcessMutex(c, "/ens-cur/lock");
                    for (int i = 0; i < iterations; i++) {
                        if (!mutex.acquire(30, TimeUnit.SECONDS)) {
                            errors.add("worker " + id + ": acquire timed out");
                            return;
                        }
                        try {
                            long enter = System.nanoTime() - t0;
                            Stat st = new Stat();
                            byte[] data = c.getData().storingStatIn(st).forPath("/ens-cur/counter");
                            int v = Integer.parseInt(new String(data, StandardCharsets.UTF_8));
                            Thread.sleep(2);
                            try {
                                c.setData().withVersion(st.getVersion())
                                    .forPath("/ens-cur/counter", Integer.toString(v + 1).getBytes(StandardCharsets.UTF_8));
                            } catch (KeeperException.BadVersionException e) {
                                violations.incrementAndGet();
                            }
                            long leave = System.nanoTime() - t0;
                            holds.add(id + ":" + enter + ":" + leave);
                        } finally {
                            mutex.release();
                        }
                    }
                } catch (Exception e) {
                    errors.add("worker " + id + ": " + e);
                } finally {
                    if (c != null) c.close();
                }
            });
            workers.add(w);
            w.start();
        }
        for (Thread w : workers) w.join(60_000);
        int alive = 0;
        for (Thread w : workers) if (w.isAlive()) alive++;
        admin.close();
        // The counter as each server sees it after a sync.
        List<String> counters = new ArrayList<>();
        List<String> lockChildren = new ArrayList<>();
        for (String h : hosts) {
            CuratorFramework r = client(h);
            try {
                sync(r, "/ens-cur");
                counters.add(new String(r.getData().forPath("/ens-cur/counter"), StandardCharsets.UTF_8));
                lockChildren.add(Integer.toString(r.getChildren().forPath("/ens-cur/lock").size()));
            } finally {
                r.close();
            }
        }
        System.out.println("{\"expected\":" + hosts.length * iterations
            + ",\"alive\":" + alive
            + ",\"violations\":" + violations.get()
            + ",\"errors\":" + list(errors)
            + ",\"holds\":" + list(holds)
            + ",\"ports\":" + list(ports)
            + ",\"counters\":" + list(counters)
            + ",\"lockChildren\":" + list(lockChildren)
            + "}");
    }

    static boolean waitUntil(java.util.function.BooleanSupplier cond, long ms) throws InterruptedException {
        long deadline = System.currentTimeMillis() + ms;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) return false;
            Thread.sleep(10);
        }
        return true;
    }

    static void failover(String hosts) throws Exception {
        List<String> states = Collections.synchronizedList(new ArrayList<>());
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CuratorFramework c = CuratorFrameworkFactory.newClient(hosts, 15000, 5000, new RetryNTimes(50, 200));
        c.getConnectionStateListenable().addListener((cl, st) -> states.add(st.name()));
        c.start();
        if (!c.blockUntilConnected(20, TimeUnit.SECONDS)) throw new IllegalStateException("could not connect to " + hosts);
        long session = c.getZookeeperClient().getZooKeeper().getSessionId();
        int timeout = c.getZookeeperClient().getZooKeeper().getSessionTimeout();
        c.create().creatingParentsIfNeeded().forPath("/ens-cur-fo/watched", "before".getBytes(StandardCharsets.UTF_8));
        c.create().withMode(CreateMode.EPHEMERAL).forPath("/ens-cur-fo/eph", "e".getBytes(StandardCharsets.UTF_8));
        Watcher w = ev -> events.add(ev.getType() + " " + ev.getPath());
        c.getData().usingWatcher(w).forPath("/ens-cur-fo/watched");
        System.out.println("CONNECTED {\"session\":" + q(hex(session)) + ",\"port\":" + remotePort(c)
            + ",\"negotiatedTimeout\":" + timeout + "}");
        System.out.flush();

        boolean reconnected = waitUntil(() -> states.contains("RECONNECTED"), 40_000);
        long after = c.getZookeeperClient().getZooKeeper().getSessionId();
        Stat eph = null;
        String ephError = "";
        try {
            eph = c.checkExists().forPath("/ens-cur-fo/eph");
        } catch (Exception e) {
            ephError = e.toString();
        }
        System.out.println("RECONNECTED {\"ok\":" + reconnected + ",\"session\":" + q(hex(after))
            + ",\"port\":" + remotePort(c) + ",\"states\":" + list(states)
            + ",\"ephOwner\":" + q(eph == null ? "none" : hex(eph.getEphemeralOwner()))
            + ",\"ephError\":" + q(ephError) + ",\"events\":" + list(events) + "}");
        System.out.flush();

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line = in.readLine();
        if (!"changed".equals(line)) throw new IllegalStateException("expected 'changed' on stdin, got " + line);
        boolean fired = waitUntil(() -> events.contains("NodeDataChanged /ens-cur-fo/watched"), 15_000);
        String data = new String(c.getData().forPath("/ens-cur-fo/watched"), StandardCharsets.UTF_8);
        long finalSession = c.getZookeeperClient().getZooKeeper().getSessionId();
        c.close();
        System.out.println("DONE {\"fired\":" + fired + ",\"events\":" + list(events) + ",\"data\":" + q(data)
            + ",\"states\":" + list(states) + ",\"session\":" + q(hex(finalSession)) + "}");
    }
}
