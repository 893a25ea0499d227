import type { ReplicationStatus } from "./replicator.js";

/** A label value as Prometheus' text format wants it. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * Replication in Prometheus' text exposition format (version 0.0.4), for `/metrics`: per database, how far the replica
 * is behind and when it last held every change; and whether Litestream runs, and how often it was restarted.
 */
export function replicationMetrics(status: ReplicationStatus): string {
  const lines = [
    "# HELP hranad_replication_lag_seconds Seconds since the oldest local change the replica is not known to hold (0: up to date).",
    "# TYPE hranad_replication_lag_seconds gauge",
    ...status.databases.map((d) => `hranad_replication_lag_seconds{database="${label(d.name)}"} ${d.lagMs / 1000}`),
    "# HELP hranad_replication_last_replicated_timestamp_seconds When the replica last held every local change (Unix time).",
    "# TYPE hranad_replication_last_replicated_timestamp_seconds gauge",
    ...status.databases
      .filter((d) => d.replicatedAt !== null)
      .map((d) => `hranad_replication_last_replicated_timestamp_seconds{database="${label(d.name)}"} ${Date.parse(d.replicatedAt!) / 1000}`),
    "# HELP hranad_replication_up Whether the Litestream process is running (1) or not (0).",
    "# TYPE hranad_replication_up gauge",
    `hranad_replication_up ${status.state === "running" && status.pid !== null ? 1 : 0}`,
    "# HELP hranad_replication_restarts_total Times Litestream was started again after it exited on its own.",
    "# TYPE hranad_replication_restarts_total counter",
    `hranad_replication_restarts_total ${status.restarts}`,
  ];
  return `${lines.join("\n")}\n`;
}
