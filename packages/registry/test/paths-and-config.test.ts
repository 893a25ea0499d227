import { existsSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Registry, type DatabaseConfig, type RegistryOptions } from "../src/index.js";
import { GatedDriver, failure, failureCode, realDriver, tempDir } from "./helpers.js";

let root: string; // holds the data directory and, beside it, "outside"
let dataDir: string;
let outside: string;
let cleanup: () => Promise<void>;
const registries: Registry[] = [];

beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir());
  dataDir = join(root, "data");
  outside = join(root, "outside");
  await mkdir(dataDir);
  await mkdir(outside);
});

afterEach(async () => {
  await Promise.all(registries.splice(0).map((registry) => registry.closeAll({ timeoutMs: 0 }).catch(() => undefined)));
  await cleanup();
});

function registry(databases: readonly DatabaseConfig[], options: Partial<RegistryOptions> = {}): Registry {
  const created = new Registry({ dataDir, drivers: [realDriver], databases, ...options });
  registries.push(created);
  return created;
}

/** Creates a real database file at `path` through a throwaway registry rooted at its directory. */
async function makeDatabase(directory: string, name: string): Promise<void> {
  const maker = new Registry({ dataDir: directory, drivers: [realDriver], databases: [{ name, create: true }] });
  (await maker.get(name)).release();
  await maker.closeAll();
}

describe("names", () => {
  it("accepts [A-Za-z0-9_-]{1,64} and refuses everything else", async () => {
    const good = ["a", "A-z_09", "x".repeat(64)];
    expect(registry(good.map((name) => ({ name, create: true }))).names()).toEqual(good);
    for (const name of ["", "x".repeat(65), "a/b", "a.b", "..", "a b", "é", "a\0", 42 as unknown as string]) {
      expect(await failureCode(() => registry([{ name }]))).toBe("DATABASE_NAME_INVALID");
    }
  });

  it("refuses a duplicate name or two names on one file", async () => {
    expect(await failureCode(() => registry([{ name: "a" }, { name: "a" }]))).toBe("DATABASE_EXISTS");
    expect(await failureCode(() => registry([{ name: "a" }, { name: "b", path: "a.db" }]))).toBe("DATABASE_EXISTS");
    expect(await failureCode(() => registry([{ name: "a" }, { name: "b", path: join(dataDir, "a.db") }]))).toBe(
      "DATABASE_EXISTS",
    );
  });
});

describe("paths", () => {
  it("refuses '..' traversal at configuration time", async () => {
    for (const path of ["../x.db", "sub/../../x.db", "sub/../x.db", "..\\x.db", "./../outside/x.db"]) {
      const error = await failure(() => registry([{ name: "t", path, create: true }]));
      expect(error.code).toBe("DATABASE_PATH_INVALID");
      expect(error.message).not.toContain(root);
    }
    expect(existsSync(join(root, "x.db"))).toBe(false);
  });

  it("refuses an absolute path outside the data directory, and accepts one inside", async () => {
    const error = await failure(() => registry([{ name: "t", path: join(outside, "x.db"), create: true }]));
    expect(error.code).toBe("DATABASE_PATH_INVALID");
    expect(error.message).not.toContain(root);
    expect(await failureCode(() => registry([{ name: "t", path: dataDir }]))).toBe("DATABASE_PATH_INVALID");
    expect(await failureCode(() => registry([{ name: "t", path: "/etc/passwd" }]))).toBe("DATABASE_PATH_INVALID");

    const reg = registry([{ name: "t", path: join(dataDir, "inside.db"), create: true }]);
    (await reg.get("t")).release();
    expect(existsSync(join(dataDir, "inside.db"))).toBe(true);
  });

  it("refuses an empty path, a NUL, or a directory-like path", async () => {
    for (const path of ["", "a\0.db", "sub/", "."]) {
      expect(await failureCode(() => registry([{ name: "t", path }]))).toBe("DATABASE_PATH_INVALID");
    }
  });

  it("refuses a file symlink that resolves out of the data directory, without touching its target", async () => {
    await makeDatabase(outside, "secret");
    await symlink(join(outside, "secret.db"), join(dataDir, "link.db"));
    const reg = registry([{ name: "link" }]);
    const error = await failure(reg.get("link"));
    expect(error.code).toBe("DATABASE_PATH_INVALID");
    expect(error.message).not.toContain(root);
    expect(await failureCode(registry([{ name: "link", create: true }]).get("link"))).toBe("DATABASE_PATH_INVALID");
    expect(existsSync(join(outside, "secret.db-wal"))).toBe(false);
  });

  it("refuses a directory symlink that leads out, in readwrite and in create mode", async () => {
    await makeDatabase(outside, "secret");
    await symlink(outside, join(dataDir, "sub"));
    const reg = registry([
      { name: "existing", path: "sub/secret.db" },
      { name: "created", path: "sub/new.db", create: true },
      { name: "deeper", path: "sub/deeper/new.db", create: true },
    ]);
    expect(await failureCode(reg.get("existing"))).toBe("DATABASE_PATH_INVALID");
    expect(await failureCode(reg.get("created"))).toBe("DATABASE_PATH_INVALID");
    expect(await failureCode(reg.get("deeper"))).toBe("DATABASE_PATH_INVALID");
    expect(existsSync(join(outside, "new.db"))).toBe(false);
    expect(existsSync(join(outside, "deeper"))).toBe(false);
  });

  it("refuses a dangling symlink in create mode instead of creating its target", async () => {
    await symlink(join(outside, "target.db"), join(dataDir, "dangling.db"));
    const reg = registry([{ name: "dangling", create: true }]);
    expect(await failureCode(reg.get("dangling"))).toBe("DATABASE_PATH_INVALID");
    expect(existsSync(join(outside, "target.db"))).toBe(false);
  });

  it("follows a symlink that stays inside the data directory", async () => {
    await makeDatabase(join(dataDir, "real"), "inner");
    await symlink(join(dataDir, "real", "inner.db"), join(dataDir, "alias.db"));
    const reg = registry([{ name: "alias" }]);
    const handle = await reg.get("alias");
    expect(handle.database.pool.path).toBe(join(dataDir, "real", "inner.db"));
    handle.release();
  });

  it("also confines a data directory that is itself reached through a symlink", async () => {
    const linkedDataDir = join(root, "data-link");
    await symlink(dataDir, linkedDataDir);
    await makeDatabase(dataDir, "main");
    const reg = registry([{ name: "main" }], { dataDir: linkedDataDir });
    (await reg.get("main")).release();
  });
});

describe("open modes", () => {
  it("fails loudly on a missing file in readwrite mode and does not create it", async () => {
    const reg = registry([{ name: "missing" }, { name: "deep", path: "no/such/dir.db" }]);
    const error = await failure(reg.get("missing"));
    expect(error.code).toBe("DATABASE_OPEN_FAILED");
    expect(error.message).toContain("missing");
    expect(error.message).not.toContain(root);
    expect(existsSync(join(dataDir, "missing.db"))).toBe(false);
    expect(await failureCode(reg.get("deep"))).toBe("DATABASE_OPEN_FAILED");
    expect(existsSync(join(dataDir, "no"))).toBe(false);
  });

  it("fails on a missing file in readonly mode", async () => {
    const reg = registry([{ name: "ro", mode: "readonly" }]);
    expect(await failureCode(reg.get("ro"))).toBe("DATABASE_OPEN_FAILED");
    expect(existsSync(join(dataDir, "ro.db"))).toBe(false);
  });

  it("creates the file, its directories and the data directory in create mode", async () => {
    const fresh = join(root, "fresh", "data");
    const reg = registry([{ name: "made", path: "a/b/made.db", mode: "create" }], { dataDir: fresh });
    expect(existsSync(fresh)).toBe(false);
    const handle = await reg.get("made");
    expect(existsSync(join(fresh, "a", "b", "made.db"))).toBe(true);
    expect(handle.database.mode).toBe("create");
    handle.release();
  });

  it("opens an existing file read-only and says so", async () => {
    await makeDatabase(dataDir, "ro");
    const reg = registry([{ name: "ro", mode: "readonly" }]);
    const handle = await reg.get("ro");
    expect(handle.database.readOnly).toBe(true);
    expect(handle.database.pool.mode).toBe("readonly");
    handle.release();
  });

  it("reports a file that is not a database as DATABASE_OPEN_FAILED without its path", async () => {
    await writeFile(join(dataDir, "junk.db"), "this is not a database, not even close ".repeat(200));
    const reg = registry([{ name: "junk" }]);
    const error = await failure(async () => {
      const handle = await reg.get("junk");
      // Some drivers only notice on first use; the registry's promise is about the open.
      handle.release();
      throw new Error("opened a junk file");
    });
    expect(error.code).toBe("DATABASE_OPEN_FAILED");
    expect(error.message).not.toContain(root);
  });

  it("refuses a directory where the file should be", async () => {
    await mkdir(join(dataDir, "dir.db"));
    const reg = registry([{ name: "dir" }]);
    expect(await failureCode(reg.get("dir"))).toBe("DATABASE_OPEN_FAILED");
  });
});

describe("configuration", () => {
  it("refuses unknown drivers, conflicting modes and bad options", async () => {
    expect(await failureCode(() => registry([{ name: "a", driver: "nope" }]))).toBe("DRIVER_NOT_FOUND");
    expect(await failureCode(() => registry([{ name: "a" }], { drivers: [] }))).toBe("DRIVER_NOT_FOUND");
    expect(await failureCode(() => registry([], { defaultDriver: "nope" }))).toBe("DRIVER_NOT_FOUND");
    expect(await failureCode(() => registry([{ name: "a", mode: "readonly", create: true }]))).toBe("CONFIG_INVALID");
    expect(await failureCode(() => registry([{ name: "a", mode: "rw" as "readwrite" }]))).toBe("CONFIG_INVALID");
    expect(await failureCode(() => registry([{ name: "a", open: { maxConnections: 0 } }]))).toBe("CONFIG_INVALID");
    expect(await failureCode(() => registry([{ name: "a", open: { busyTimeoutMs: -1 } }]))).toBe("CONFIG_INVALID");
    expect(await failureCode(() => registry([], { detachTimeoutMs: -5 }))).toBe("CONFIG_INVALID");
    expect(await failureCode(() => registry([], { dataDir: "" }))).toBe("CONFIG_INVALID");
  });

  it("routes each database to its named driver and merges defaults under per-database options", async () => {
    const first = new GatedDriver(realDriver, "first");
    const second = new GatedDriver(realDriver, "second");
    const reg = registry(
      [
        { name: "a", create: true },
        { name: "b", create: true, driver: "second", open: { maxConnections: 2 } },
      ],
      { drivers: [first, second], defaultDriver: "first", defaults: { maxConnections: 3, busyTimeoutMs: 1234 } },
    );
    const a = await reg.get("a");
    const b = await reg.get("b");
    expect(a.database.driver).toBe(first);
    expect(b.database.driver).toBe(second);
    expect(first.opened[0]).toMatchObject({ maxConnections: 3, busyTimeoutMs: 1234, mode: "create" });
    expect(second.opened[0]).toMatchObject({ maxConnections: 2, busyTimeoutMs: 1234, mode: "create" });
    expect(reg.stats().databases.map((d) => [d.name, d.driver])).toEqual([
      ["a", "first"],
      ["b", "second"],
    ]);
    a.release();
    b.release();
  });

  it("keeps a frozen copy of each configuration", async () => {
    const config = { name: "a", create: true, open: { maxConnections: 2 } };
    const reg = registry([config]);
    config.open.maxConnections = 7;
    config.name = "changed";
    const handle = await reg.get("a");
    expect(handle.database.config).toMatchObject({ name: "a", open: { maxConnections: 2 } });
    expect(Object.isFrozen(handle.database.config)).toBe(true);
    handle.release();
  });
});
