import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { LibsqlDialect } from "@libsql/kysely-libsql";
import { and, asc, desc, eq, gt, sql } from "drizzle-orm";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { blob, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { Kysely, type Generated } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support.js";

/** Drizzle ORM (drizzle-orm/libsql on @libsql/client 0.18) and Kysely (@libsql/kysely-libsql on @libsql/client 0.8). */

let server: TestServer;
let migrationsDir: string;

beforeAll(async () => {
  server = await startTestServer();
  migrationsDir = writeMigrations();
});
afterAll(async () => {
  await server?.close();
  if (migrationsDir !== undefined) rmSync(migrationsDir, { recursive: true, force: true });
});

const authors = sqliteTable("authors", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  born: integer("born"),
});

const books = sqliteTable("books", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  authorId: integer("author_id")
    .notNull()
    .references(() => authors.id),
  title: text("title").notNull(),
  inPrint: integer("in_print", { mode: "boolean" }).notNull().default(true),
  cover: blob("cover", { mode: "buffer" }),
  // Added by the second migration.
  rating: real("rating"),
});

/** A migrations folder in the layout drizzle-kit writes and `readMigrationFiles` reads. */
function writeMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), "hranad-drizzle-"));
  mkdirSync(join(dir, "meta"));
  writeFileSync(
    join(dir, "0000_init.sql"),
    [
      "CREATE TABLE `authors` (\n\t`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,\n\t`name` text NOT NULL,\n\t`born` integer\n);\n",
      "\nCREATE UNIQUE INDEX `authors_name_unique` ON `authors` (`name`);",
      "\nCREATE TABLE `books` (\n\t`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,\n\t`author_id` integer NOT NULL,\n\t`title` text NOT NULL,\n\t`in_print` integer DEFAULT true NOT NULL,\n\t`cover` blob,\n\tFOREIGN KEY (`author_id`) REFERENCES `authors`(`id`) ON UPDATE no action ON DELETE no action\n);\n",
    ].join("--> statement-breakpoint"),
  );
  writeFileSync(join(dir, "0001_rating.sql"), "ALTER TABLE `books` ADD `rating` real;");
  const journal = {
    version: "7",
    dialect: "sqlite",
    entries: [
      { idx: 0, version: "6", when: 1_700_000_000_000, tag: "0000_init", breakpoints: true },
      { idx: 1, version: "6", when: 1_700_000_100_000, tag: "0001_rating", breakpoints: true },
    ],
  };
  writeFileSync(join(dir, "meta", "_journal.json"), JSON.stringify(journal, null, 2));
  return dir;
}

/** The Hrana error code, whether the ORM wrapped the client's error or not. */
function codeOf(error: unknown): unknown {
  const e = error as { code?: unknown; cause?: { code?: unknown } };
  return e.code ?? e.cause?.code;
}

function messageOf(error: unknown): string {
  const e = error as { message?: string; cause?: { message?: string } };
  return `${e.message ?? ""} ${e.cause?.message ?? ""}`;
}

// Each transport gets its own database, so both run the same migrations from scratch.
const TRANSPORTS = [
  { scheme: "http", database: "default" },
  { scheme: "ws", database: "other" },
] as const;

for (const { scheme, database } of TRANSPORTS) {
  const url = () => `${scheme === "http" ? server.url : server.wsUrl}/${database}/`;

  describe(`Drizzle ORM over ${scheme}://`, () => {
    let client: Client;
    let db: LibSQLDatabase;

    beforeAll(async () => {
      client = createClient({ url: url() });
      db = drizzle(client);
      await migrate(db, { migrationsFolder: migrationsDir });
    });
    afterAll(() => client?.close());

    it("migrate() applied both migrations once, and a second run applies nothing", async () => {
      const tables = await db.all<{ name: string }>(
        sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('authors', 'books', '__drizzle_migrations') ORDER BY name`,
      );
      expect(tables.map((t) => t.name)).toEqual(["__drizzle_migrations", "authors", "books"]);
      const columns = await db.all<{ name: string }>(sql`SELECT name FROM pragma_table_info('books') ORDER BY cid`);
      expect(columns.map((c) => c.name)).toEqual(["id", "author_id", "title", "in_print", "cover", "rating"]);
      await migrate(db, { migrationsFolder: migrationsDir });
      const applied = await db.all<{ created_at: number }>(sql`SELECT created_at FROM __drizzle_migrations ORDER BY created_at`);
      expect(applied.map((m) => Number(m.created_at))).toEqual([1_700_000_000_000, 1_700_000_100_000]);
    });

    it("inserts with returning, selects with where and order, joins", async () => {
      const [ursula] = await db.insert(authors).values({ name: "Ursula", born: 1929 }).returning();
      const [terry] = await db.insert(authors).values({ name: "Terry", born: 1948 }).returning({ id: authors.id });
      expect(ursula).toEqual({ id: expect.any(Number), name: "Ursula", born: 1929 });
      const cover = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
      await db.insert(books).values([
        { authorId: ursula!.id, title: "The Dispossessed", rating: 4.5, cover },
        { authorId: ursula!.id, title: "The Lathe of Heaven", rating: 4.1, inPrint: false },
        { authorId: terry!.id, title: "Small Gods", rating: 4.6 },
        { authorId: terry!.id, title: "Eric", rating: 3.2 },
      ]);
      const good = await db
        .select({ title: books.title, rating: books.rating, inPrint: books.inPrint })
        .from(books)
        .where(and(eq(books.authorId, ursula!.id), gt(books.rating, 4)))
        .orderBy(desc(books.rating));
      expect(good).toEqual([
        { title: "The Dispossessed", rating: 4.5, inPrint: true },
        { title: "The Lathe of Heaven", rating: 4.1, inPrint: false },
      ]);
      const [withCover] = await db.select({ cover: books.cover }).from(books).where(eq(books.title, "The Dispossessed"));
      expect(Buffer.from(withCover!.cover!)).toEqual(cover);
      const joined = await db
        .select({ author: authors.name, title: books.title })
        .from(books)
        .innerJoin(authors, eq(books.authorId, authors.id))
        .where(gt(books.rating, 4.2))
        .orderBy(asc(books.title));
      expect(joined).toEqual([
        { author: "Terry", title: "Small Gods" },
        { author: "Ursula", title: "The Dispossessed" },
      ]);
    });

    it("updates and deletes, reporting rows affected", async () => {
      const updated = await db.update(books).set({ rating: sql`${books.rating} + 0.5` }).where(eq(books.title, "Eric"));
      expect(updated.rowsAffected).toBe(1);
      const [eric] = await db.select().from(books).where(eq(books.title, "Eric"));
      expect(eric!.rating).toBeCloseTo(3.7);
      const returned = await db.update(books).set({ inPrint: false }).where(gt(books.rating, 4.4)).returning({ title: books.title });
      expect(returned.map((r) => r.title).sort()).toEqual(["Small Gods", "The Dispossessed"]);
      const deleted = await db.delete(books).where(eq(books.title, "Eric"));
      expect(deleted.rowsAffected).toBe(1);
      expect(await db.$count(books)).toBe(3);
    });

    it("commits a transaction; another client sees nothing until then", async () => {
      const outsider = drizzle(createClient({ url: url() }));
      try {
        const id = await db.transaction(async (tx) => {
          const [author] = await tx.insert(authors).values({ name: "Iain", born: 1954 }).returning();
          await tx.insert(books).values({ authorId: author!.id, title: "Excession", rating: 4.4 });
          expect(await tx.$count(books, eq(books.authorId, author!.id))).toBe(1);
          expect(await outsider.$count(authors, eq(authors.name, "Iain"))).toBe(0);
          return author!.id;
        });
        expect(await db.$count(books, eq(books.authorId, id))).toBe(1);
        expect(await outsider.$count(authors, eq(authors.name, "Iain"))).toBe(1);
      } finally {
        outsider.$client.close();
      }
    });

    it("rolls back a transaction that throws, and one that calls tx.rollback()", async () => {
      const before = await db.$count(authors);
      await expect(
        db.transaction(async (tx) => {
          await tx.insert(authors).values({ name: "Ghost", born: 1 });
          throw new Error("abandon");
        }),
      ).rejects.toThrow("abandon");
      await expect(
        db.transaction(async (tx) => {
          await tx.insert(authors).values({ name: "Ghost", born: 2 });
          tx.rollback();
        }),
      ).rejects.toThrow(/Rollback/);
      expect(await db.$count(authors)).toBe(before);
      expect(await db.$count(authors, eq(authors.name, "Ghost"))).toBe(0);
    });

    it("rolls back a nested transaction to its savepoint only", async () => {
      await db.transaction(async (tx) => {
        await tx.insert(authors).values({ name: "Outer" });
        await expect(
          tx.transaction(async (inner) => {
            await inner.insert(authors).values({ name: "Inner" });
            throw new Error("inner fails");
          }),
        ).rejects.toThrow("inner fails");
      });
      expect(await db.$count(authors, eq(authors.name, "Outer"))).toBe(1);
      expect(await db.$count(authors, eq(authors.name, "Inner"))).toBe(0);
    });

    it("reports a unique-constraint violation as SQLITE_CONSTRAINT, also inside a transaction", async () => {
      const error = await db
        .insert(authors)
        .values({ name: "Ursula" })
        .then(() => undefined, (e: unknown) => e);
      expect(error).toBeDefined();
      expect(codeOf(error)).toBe("SQLITE_CONSTRAINT");
      expect(messageOf(error)).toMatch(/UNIQUE constraint failed: authors.name/);
      const inTx = await db
        .transaction(async (tx) => {
          await tx.insert(authors).values({ name: "Before the conflict" });
          await tx.insert(authors).values({ name: "Ursula" });
        })
        .then(() => undefined, (e: unknown) => e);
      expect(codeOf(inTx)).toBe("SQLITE_CONSTRAINT");
      expect(await db.$count(authors, eq(authors.name, "Before the conflict"))).toBe(0);
    });
  });

  interface KyselyDb {
    [table: string]: { id: Generated<number>; name: string; age: number | null };
  }

  describe(`Kysely (@libsql/kysely-libsql) over ${scheme}://`, () => {
    let db: Kysely<KyselyDb>;
    const people = `k_people_${scheme}`;

    beforeAll(async () => {
      db = new Kysely<KyselyDb>({ dialect: new LibsqlDialect({ url: url() }) });
      await db.schema.dropTable(people).ifExists().execute();
      await db.schema
        .createTable(people)
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("age", "integer")
        .execute();
    });
    afterAll(async () => {
      await db?.destroy();
    });

    it("creates the table through the schema builder", async () => {
      const tables = await db.introspection.getTables();
      const table = tables.find((t) => t.name === people);
      expect(table?.columns.map((c) => [c.name, c.dataType, c.isNullable])).toEqual([
        ["id", "INTEGER", true],
        ["name", "TEXT", false],
        ["age", "INTEGER", true],
      ]);
    });

    it("inserts, selects, updates and deletes", async () => {
      const inserted = await db.insertInto(people).values({ name: "Ada", age: 36 }).executeTakeFirstOrThrow();
      expect(inserted.insertId).toBeGreaterThan(0n);
      const returned = await db
        .insertInto(people)
        .values([
          { name: "Grace", age: 85 },
          { name: "Linus", age: null },
        ])
        .returning(["id", "name"])
        .execute();
      expect(returned.map((r) => r.name)).toEqual(["Grace", "Linus"]);

      const adults = await db.selectFrom(people).select(["name", "age"]).where("age", ">", 30).orderBy("age", "desc").execute();
      expect(adults).toEqual([
        { name: "Grace", age: 85 },
        { name: "Ada", age: 36 },
      ]);
      const updated = await db.updateTable(people).set({ age: 54 }).where("name", "=", "Linus").executeTakeFirst();
      expect(updated.numUpdatedRows).toBe(1n);
      const linus = await db.selectFrom(people).selectAll().where("name", "=", "Linus").executeTakeFirstOrThrow();
      expect(linus.age).toBe(54);
      const deleted = await db.deleteFrom(people).where("age", "<", 40).executeTakeFirst();
      expect(deleted.numDeletedRows).toBe(1n);
      const left = await db.selectFrom(people).select("name").orderBy("name").execute();
      expect(left.map((r) => r.name)).toEqual(["Grace", "Linus"]);
    });

    it("commits a transaction and rolls back one that throws", async () => {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto(people).values({ name: "Barbara", age: 81 }).execute();
        await trx.updateTable(people).set({ age: 86 }).where("name", "=", "Grace").execute();
        const inside = await trx.selectFrom(people).select("name").where("name", "=", "Barbara").execute();
        expect(inside).toHaveLength(1);
        // Not visible outside the transaction yet.
        const outside = await db.selectFrom(people).select("name").where("name", "=", "Barbara").execute();
        expect(outside).toHaveLength(0);
      });
      const committed = await db.selectFrom(people).select(["name", "age"]).where("name", "in", ["Barbara", "Grace"]).orderBy("name").execute();
      expect(committed).toEqual([
        { name: "Barbara", age: 81 },
        { name: "Grace", age: 86 },
      ]);

      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto(people).values({ name: "Edsger", age: 72 }).execute();
          throw new Error("no thanks");
        }),
      ).rejects.toThrow("no thanks");
      const error = await db
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto(people).values({ name: "Donald", age: 87 }).execute();
          await trx.insertInto(people).values({ name: "Grace", age: 1 }).execute();
        })
        .then(() => undefined, (e: unknown) => e);
      expect(codeOf(error)).toBe("SQLITE_CONSTRAINT");
      const absent = await db.selectFrom(people).select("name").where("name", "in", ["Edsger", "Donald"]).execute();
      expect(absent).toEqual([]);
    });

    it("reports a unique-constraint violation", async () => {
      const error = await db
        .insertInto(people)
        .values({ name: "Ada", age: 1 })
        .execute()
        .then(() => db.insertInto(people).values({ name: "Ada", age: 2 }).execute())
        .then(() => undefined, (e: unknown) => e);
      expect(codeOf(error)).toBe("SQLITE_CONSTRAINT");
      expect(messageOf(error)).toMatch(/UNIQUE constraint failed/);
    });
  });
}
