import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PrismaLibSql } from "@prisma/adapter-libsql";
import { startTestServer, type TestServer } from "@hranad/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prisma, PrismaClient } from "../build/prisma/client.ts";

const ROOT = join(import.meta.dirname, "..");
const HRANAD = join(ROOT, "..", "..", "apps", "server", "bin", "hranad.js");
const MIGRATION = join(ROOT, "prisma", "migrations", "0_init", "migration.sql");

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ databases: [{ name: "default" }, { name: "http" }, { name: "ws" }] });
});
afterAll(async () => {
  await server.close();
});

/** The schema step of the guide: `hranad shell URL < migration.sql` (what `prisma migrate dev` wrote). */
function applyMigration(url: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [HRANAD, "shell", url], { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(readFileSync(MIGRATION));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
}

describe.each(["http", "ws"] as const)("Prisma 7 with @prisma/adapter-libsql over %s", (transport) => {
  let prisma: PrismaClient;
  beforeAll(async () => {
    const url = `${transport === "http" ? server.url : server.wsUrl}/${transport}/`;
    expect(await applyMigration(url)).toEqual({ code: 0, stderr: "" });
    prisma = new PrismaClient({ adapter: new PrismaLibSql({ url, intMode: "bigint" }) });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
  });

  it("creates and reads relations", async () => {
    const ada = await prisma.user.create({
      data: {
        email: "ada@example.com",
        name: "Ada",
        posts: { create: [{ title: "Notes", published: true }, { title: "Draft" }] },
      },
      include: { posts: { orderBy: { id: "asc" } } },
    });
    expect(ada.posts.map((p) => [p.title, p.published, p.authorId])).toEqual([
      ["Notes", true, ada.id],
      ["Draft", false, ada.id],
    ]);
    const authors = await prisma.user.findMany({
      where: { posts: { some: { published: true } } },
      select: { email: true, _count: { select: { posts: true } } },
    });
    expect(authors).toEqual([{ email: "ada@example.com", _count: { posts: 2 } }]);
    const post = await prisma.post.findFirstOrThrow({ where: { title: "Draft" }, include: { author: true } });
    expect(post.author.name).toBe("Ada");
    await prisma.post.update({ where: { id: post.id }, data: { published: true } });
    expect(await prisma.post.count({ where: { published: true } })).toBe(2);
  });

  it("rolls an interactive transaction back when its callback throws", async () => {
    await expect(
      prisma.$transaction(async (tx) => {
        await tx.user.create({ data: { email: "ghost@example.com" } });
        expect(await tx.user.count({ where: { email: "ghost@example.com" } })).toBe(1);
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await prisma.user.count({ where: { email: "ghost@example.com" } })).toBe(0);

    const [user] = await prisma.$transaction([
      prisma.user.create({ data: { email: "kept@example.com" } }),
      prisma.user.count(),
    ]);
    expect(user.email).toBe("kept@example.com");
  });

  it("keeps BigInt (full 64-bit range), Bytes and DateTime exact, and runs $queryRaw", async () => {
    const author = await prisma.user.create({ data: { email: "types@example.com" } });
    const when = new Date("2026-01-02T03:04:05.678Z");
    const payload = new Uint8Array([0, 1, 2, 253, 254, 255]);
    for (const views of [9223372036854775807n, -9223372036854775808n, 9007199254740993n]) {
      const post = await prisma.post.create({
        data: { title: `views ${views}`, authorId: author.id, views, payload, createdAt: when },
      });
      const read = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
      expect(read.views).toBe(views);
      expect(read.payload).toEqual(payload);
      expect(read.createdAt.toISOString()).toBe(when.toISOString());
    }
    const minimum = -9223372036854775808n;
    const raw = await prisma.$queryRaw<{ title: string; views: bigint; n: bigint }[]>`
      SELECT title, views, (SELECT count(*) FROM "Post" WHERE "authorId" = ${author.id}) AS n
      FROM "Post" WHERE views = ${minimum}`;
    expect(raw).toEqual([{ title: `views ${minimum}`, views: minimum, n: 3n }]);
    expect(await prisma.$executeRaw`UPDATE "Post" SET title = ${"renamed"} WHERE "authorId" = ${author.id}`).toBe(3);
  });

  it("reports a unique violation as P2039 with SQLITE_CONSTRAINT text, not P2002 (Hrana carries no numeric code)", async () => {
    await prisma.user.create({ data: { email: "twice@example.com" } });
    const error: unknown = await prisma.user.create({ data: { email: "twice@example.com" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    const known = error as Prisma.PrismaClientKnownRequestError;
    expect(known.code).toBe("P2039");
    expect(known.message).toContain("SQLITE_CONSTRAINT: UNIQUE constraint failed: User.email");
    expect(known.meta).toMatchObject({
      driverAdapterError: { cause: { originalMessage: "SQLITE_CONSTRAINT: UNIQUE constraint failed: User.email" } },
    });
  });
});
