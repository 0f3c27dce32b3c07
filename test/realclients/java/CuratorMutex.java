// Curator 5.4 (Debian jars) against a ZooKeeper-compatible server, run by test/realclients/curator.test.ts.
//
// Usage: java CuratorMutex HOST:PORT THREADS ITERATIONS
//
// 1. InterProcessMutex: THREADS threads, each with its own CuratorFramework (its own session), each increments the
//    counter znode ITERATIONS times while holding the mutex, with a versioned setData so that a racing writer would
//    be caught. An in-process gauge tracks how many threads are inside the critical section at once.
// 2. PathChildrenCache (classic child and data watches): CHILD_ADDED / CHILD_UPDATED / CHILD_REMOVED for a child.
// 3. CuratorCache (persistent recursive watches, addWatch): NODE_CREATED / NODE_CHANGED / NODE_DELETED deep below
//    the root.
// 4. NodeCache on one node: sees the new data after setData.
//
// It prints one line of JSON with what it observed and exits 0; the test asserts the values. A watchdog exits 3 if
// anything hangs.
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.NodeCache;
import org.apache.curator.framework.recipes.cache.PathChildrenCache;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

public class CuratorMutex {
    static String hosts;

    static CuratorFramework client() throws InterruptedException {
        CuratorFramework c = CuratorFrameworkFactory.newClient(hosts, 15000, 5000, new RetryNTimes(3, 200));
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
        for (String x : xs) qs.add(q(x));
        return "[" + String.join(",", qs) + "]";
    }

    public static void main(String[] args) throws Exception {
        hosts = args[0];
        int threads = Integer.parseInt(args[1]);
        int iterations = Integer.parseInt(args[2]);
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(100_000);
                System.err.println("watchdog: timed out");
                System.exit(3);
            } catch (InterruptedException e) {
                // finished in time
            }
        });
        watchdog.setDaemon(true);
        watchdog.start();

        StringBuilder json = new StringBuilder("{");

        // 1. mutex
        CuratorFramework admin = client();
        admin.create().creatingParentsIfNeeded().forPath("/curator/counter", "0".getBytes(StandardCharsets.UTF_8));
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        AtomicInteger acquired = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        List<String> errors = Collections.synchronizedList(new ArrayList<>());
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int id = t;
            Thread w = new Thread(() -> {
                CuratorFramework c = null;
                try {
                    c = client();
                    InterProcessMutex mutex = new InterProcessMutex(c, "/curator/lock");
                    for (int i = 0; i < iterations; i++) {
                        if (!mutex.acquire(30, TimeUnit.SECONDS)) {
                            errors.add("worker " + id + ": acquire timed out");
                            return;
                        }
                        try {
                            int now = inside.incrementAndGet();
                            maxInside.accumulateAndGet(now, Math::max);
                            acquired.incrementAndGet();
                            Stat st = new Stat();
                            byte[] data = c.getData().storingStatIn(st).forPath("/curator/counter");
                            int v = Integer.parseInt(new String(data, StandardCharsets.UTF_8));
                            Thread.sleep(2);
                            try {
                                c.setData().withVersion(st.getVersion())
                                    .forPath("/curator/counter", Integer.toString(v + 1).getBytes(StandardCharsets.UTF_8));
                            } catch (KeeperException.BadVersionException e) {
                                violations.incrementAndGet();
                            }
                            inside.decrementAndGet();
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
        for (Thread w : workers) w.join(90_000);
        int counter = Integer.parseInt(new String(admin.getData().forPath("/curator/counter"), StandardCharsets.UTF_8));
        List<String> lockChildren = admin.getChildren().forPath("/curator/lock");
        json.append("\"counter\":").append(counter)
            .append(",\"expected\":").append(threads * iterations)
            .append(",\"acquired\":").append(acquired.get())
            .append(",\"maxInside\":").append(maxInside.get())
            .append(",\"violations\":").append(violations.get())
            .append(",\"errors\":").append(list(errors))
            .append(",\"lockChildrenAfter\":").append(list(lockChildren));

        // 2. PathChildrenCache
        List<String> pccEvents = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch pccDone = new CountDownLatch(3);
        admin.create().forPath("/curator/pcc");
        @SuppressWarnings("deprecation")
        PathChildrenCache pcc = new PathChildrenCache(admin, "/curator/pcc", true);
        pcc.getListenable().addListener((cl, ev) -> {
            switch (ev.getType()) {
                case CHILD_ADDED:
                case CHILD_UPDATED:
                case CHILD_REMOVED:
                    String d = ev.getData().getData() == null ? "" : new String(ev.getData().getData(), StandardCharsets.UTF_8);
                    pccEvents.add(ev.getType() + " " + ev.getData().getPath() + " " + d);
                    pccDone.countDown();
                    break;
                default:
                    break;
            }
        });
        pcc.start(PathChildrenCache.StartMode.BUILD_INITIAL_CACHE);
        admin.create().forPath("/curator/pcc/a", "1".getBytes(StandardCharsets.UTF_8));
        waitUntil(() -> pccEvents.size() >= 1);
        admin.setData().forPath("/curator/pcc/a", "2".getBytes(StandardCharsets.UTF_8));
        waitUntil(() -> pccEvents.size() >= 2);
        admin.delete().forPath("/curator/pcc/a");
        boolean pccOk = pccDone.await(20, TimeUnit.SECONDS);
        pcc.close();
        json.append(",\"pccCompleted\":").append(pccOk).append(",\"pccEvents\":").append(list(pccEvents));

        // 3. CuratorCache (persistent recursive watch)
        List<String> ccEvents = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch ccInit = new CountDownLatch(1);
        admin.create().forPath("/curator/cc");
        CuratorCache cc = CuratorCache.build(admin, "/curator/cc");
        cc.listenable().addListener(CuratorCacheListener.builder()
            .forCreates(n -> ccEvents.add("created " + n.getPath() + " " + str(n.getData())))
            .forChanges((o, n) -> ccEvents.add("changed " + n.getPath() + " " + str(o.getData()) + "->" + str(n.getData())))
            .forDeletes(o -> ccEvents.add("deleted " + o.getPath()))
            .forInitialized(ccInit::countDown)
            .build());
        cc.start();
        boolean ccInitialized = ccInit.await(20, TimeUnit.SECONDS);
        int base = ccEvents.size(); // the root itself is reported as created during the initial load
        admin.create().creatingParentsIfNeeded().forPath("/curator/cc/x/y", "deep".getBytes(StandardCharsets.UTF_8));
        waitUntil(() -> ccEvents.size() >= base + 2);
        admin.setData().forPath("/curator/cc/x/y", "deeper".getBytes(StandardCharsets.UTF_8));
        waitUntil(() -> ccEvents.size() >= base + 3);
        admin.delete().forPath("/curator/cc/x/y");
        waitUntil(() -> ccEvents.size() >= base + 4);
        boolean cachedGone = cc.get("/curator/cc/x/y").isEmpty();
        boolean cachedX = cc.get("/curator/cc/x").isPresent();
        cc.close();
        json.append(",\"ccInitialized\":").append(ccInitialized)
            .append(",\"ccEvents\":").append(list(new ArrayList<>(ccEvents)))
            .append(",\"ccCachedGone\":").append(cachedGone)
            .append(",\"ccCachedX\":").append(cachedX);

        // 4. NodeCache
        admin.create().forPath("/curator/nc", "first".getBytes(StandardCharsets.UTF_8));
        @SuppressWarnings("deprecation")
        NodeCache nc = new NodeCache(admin, "/curator/nc");
        nc.start(true);
        String ncInitial = nc.getCurrentData() == null ? null : str(nc.getCurrentData().getData());
        admin.setData().forPath("/curator/nc", "second".getBytes(StandardCharsets.UTF_8));
        waitUntil(() -> nc.getCurrentData() != null && "second".equals(str(nc.getCurrentData().getData())));
        String ncAfter = nc.getCurrentData() == null ? null : str(nc.getCurrentData().getData());
        nc.close();
        json.append(",\"ncInitial\":").append(ncInitial == null ? "null" : q(ncInitial))
            .append(",\"ncAfter\":").append(ncAfter == null ? "null" : q(ncAfter));

        admin.close();
        json.append("}");
        System.out.println(json);
        System.out.flush();
        System.exit(0);
    }

    static String str(byte[] b) {
        return b == null ? "" : new String(b, StandardCharsets.UTF_8);
    }

    interface Cond {
        boolean ok();
    }

    /** Polls for up to 20 s; the caller's assertions report what was (not) seen. */
    static void waitUntil(Cond c) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 20_000;
        while (!c.ok() && System.currentTimeMillis() < deadline) Thread.sleep(10);
    }
}
