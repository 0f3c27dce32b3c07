// Server-wide request counters for srvr/stat/mntr (ZooKeeper's ServerStats).
export class ServerStats {
  packetsReceived = 0;
  packetsSent = 0;
  latencyMinMs = Number.MAX_SAFE_INTEGER;
  latencyMaxMs = 0;
  latencyTotalMs = 0;
  latencyCount = 0;

  recordReply(latencyMs: number, isPing: boolean): void {
    this.packetsSent++;
    if (isPing) return;
    this.latencyCount++;
    this.latencyTotalMs += latencyMs;
    if (latencyMs < this.latencyMinMs) this.latencyMinMs = latencyMs;
    if (latencyMs > this.latencyMaxMs) this.latencyMaxMs = latencyMs;
  }

  get latencyAvgMs(): number {
    return this.latencyCount === 0 ? 0 : this.latencyTotalMs / this.latencyCount;
  }

  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.latencyMinMs = Number.MAX_SAFE_INTEGER;
    this.latencyMaxMs = 0;
    this.latencyTotalMs = 0;
    this.latencyCount = 0;
  }
}
