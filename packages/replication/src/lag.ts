import { stat } from "node:fs/promises";
import type { ReplicatedDatabase } from "./litestream.js";

/** How far behind the replica one database is. */
export interface DatabaseLag {
  readonly name: string;
  /**
   * Milliseconds since the oldest local change that the replica is not known to hold (0: the replica holds every
   * change seen). Grows while the replicator is down or the replica cannot be reached.
   */
  readonly lagMs: number;
  /** When the replica was last seen holding every local change (ISO 8601), or null if not yet. */
  readonly replicatedAt: string | null;
  /** False while the database file does not exist yet (it is created on first use). */
  readonly exists: boolean;
}

/** One database's replication position, from Litestream's metrics. */
export interface Positions {
  /** Litestream's sync passes over the database so far (`litestream_sync_count`). */
  readonly syncCount: number;
  /** Whether the replica's position is the end of Litestream's local copy of the WAL. */
  readonly caughtUp: boolean;
}

interface Change {
  /** When it was first seen (conservatively: the observation before it, when there was one). */
  readonly seenAt: number;
  /** Litestream's sync count when it was seen; undefined until metrics are read after it. */
  syncCount: number | undefined;
}

interface State {
  stamp: string | undefined;
  exists: boolean;
  lastObservedAt: number | undefined;
  /** Local changes the replica is not known to hold yet, oldest first (at most one per sync count). */
  pending: Change[];
  replicatedAt: number | undefined;
}

/**
 * Parses Litestream's Prometheus text into positions per database path. A replica is caught up when its WAL index
 * and offset equal the shadow WAL's (Litestream's local copy of the WAL).
 */
export function parsePositions(metrics: string): Map<string, Positions> {
  const values = new Map<string, Map<string, number>>();
  for (const line of metrics.split("\n")) {
    const match = /^(litestream_[a-z_]+)\{([^}]*)\}\s+(\S+)$/.exec(line.trim());
    if (match === null) continue;
    const db = /(?:^|,)db="((?:[^"\\]|\\.)*)"/.exec(match[2]!)?.[1]?.replace(/\\(.)/g, "$1");
    if (db === undefined) continue;
    let perDb = values.get(db);
    if (perDb === undefined) values.set(db, (perDb = new Map()));
    perDb.set(match[1]!, Number(match[3]));
  }
  const positions = new Map<string, Positions>();
  for (const [db, v] of values) {
    const shadowIndex = v.get("litestream_shadow_wal_index");
    const shadowSize = v.get("litestream_shadow_wal_size");
    const replicaIndex = v.get("litestream_replica_wal_index");
    const replicaOffset = v.get("litestream_replica_wal_offset");
    const caughtUp =
      shadowIndex !== undefined &&
      shadowSize !== undefined &&
      replicaIndex === shadowIndex &&
      replicaOffset !== undefined &&
      replicaOffset >= shadowSize;
    positions.set(db, { syncCount: v.get("litestream_sync_count") ?? 0, caughtUp });
  }
  return positions;
}

/**
 * Tracks replication lag per database from two observations: local changes (the `-wal` file's size and time) and
 * Litestream's positions. A change counts as replicated once Litestream has run two sync passes since it was seen
 * (so that one began after it) and the replica stands at the end of Litestream's copy of the WAL.
 */
export class LagTracker {
  readonly #states = new Map<string, State>();
  #databases: readonly ReplicatedDatabase[] = [];

  setDatabases(databases: readonly ReplicatedDatabase[]): void {
    this.#databases = databases;
    for (const name of [...this.#states.keys()]) if (!databases.some((d) => d.name === name)) this.#states.delete(name);
  }

  /** One observation: `positions` null when Litestream's metrics could not be read. */
  async observe(positions: Map<string, Positions> | null, now = Date.now()): Promise<void> {
    for (const db of this.#databases) {
      let state = this.#states.get(db.name);
      if (state === undefined) {
        state = { stamp: undefined, exists: false, lastObservedAt: undefined, pending: [], replicatedAt: undefined };
        this.#states.set(db.name, state);
      }
      const stamp = await fileStamp(db.path);
      const previous = state.lastObservedAt;
      state.lastObservedAt = now;
      state.exists = stamp !== undefined;
      if (stamp === undefined) continue;
      const position = positions?.get(db.path);
      if (stamp !== state.stamp) {
        state.stamp = stamp;
        const syncCount = position?.syncCount;
        const last = state.pending.at(-1);
        if (last === undefined || last.syncCount === undefined || last.syncCount !== syncCount) {
          state.pending.push({ seenAt: previous ?? now, syncCount });
        }
      }
      if (position === undefined) continue;
      for (const change of state.pending) change.syncCount ??= position.syncCount;
      if (!position.caughtUp) continue;
      // Caught up with Litestream's copy of the WAL, which holds every change seen before a sync pass began.
      const before = state.pending.length;
      state.pending = state.pending.filter((change) => position.syncCount < change.syncCount! + 2);
      if (state.pending.length < before || (before === 0 && state.replicatedAt === undefined)) state.replicatedAt = now;
    }
  }

  lag(now = Date.now()): DatabaseLag[] {
    return this.#databases.map((db) => {
      const state = this.#states.get(db.name);
      const pendingSince = state?.pending[0]?.seenAt;
      return {
        name: db.name,
        lagMs: pendingSince === undefined ? 0 : Math.max(0, Math.round(now - pendingSince)),
        replicatedAt: state?.replicatedAt === undefined ? null : new Date(state.replicatedAt).toISOString(),
        exists: state?.exists ?? false,
      };
    });
  }
}

/** The WAL's size and time (the database file's when there is no WAL), or undefined when the database is absent. */
async function fileStamp(path: string): Promise<string | undefined> {
  try {
    const db = await stat(path);
    const wal = await stat(`${path}-wal`).catch(() => undefined);
    const file = wal ?? db;
    return `${wal === undefined ? "db" : "wal"}:${file.size}:${file.mtimeMs}`;
  } catch {
    return undefined;
  }
}
