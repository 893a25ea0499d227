import { lstat, mkdir, realpath, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { OpenMode } from "@hranad/driver";
import { isInside } from "./config.js";
import { RegistryError } from "./registry-error.js";

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * Resolves a database file against the file system right before it is opened: the data directory, the file's
 * parent and (if it exists) the file are realpath'd and must stay inside the real data directory, so a symlink
 * cannot lead out of it. Creates the directories only in mode `create`; never creates the file itself.
 * Returns the real path to hand to the driver.
 */
export async function confineDatabaseFile(dataDir: string, file: string, name: string, mode: OpenMode): Promise<string> {
  const invalid = (): RegistryError =>
    new RegistryError("DATABASE_PATH_INVALID", `database "${name}": path leaves the data directory`);
  const missing = (): RegistryError =>
    new RegistryError("DATABASE_OPEN_FAILED", `database "${name}": the database file does not exist`);

  if (mode === "create") await mkdir(dataDir, { recursive: true }).catch(() => undefined);
  let realRoot: string;
  try {
    realRoot = await realpath(dataDir);
  } catch (error) {
    if (isMissing(error)) throw missing();
    throw new RegistryError("DATABASE_OPEN_FAILED", `database "${name}": the data directory is not accessible`);
  }

  const parent = dirname(file);
  if (mode === "create") {
    // Check the deepest existing ancestor before creating anything below it: mkdir must not follow a link out.
    let ancestor = parent;
    for (;;) {
      try {
        if (ancestor !== dataDir && !isInside(realRoot, await realpath(ancestor))) throw invalid();
        break;
      } catch (error) {
        if (error instanceof RegistryError) throw error;
        if (!isMissing(error) || ancestor === dataDir) throw missing();
        ancestor = dirname(ancestor);
      }
    }
    await mkdir(parent, { recursive: true }).catch(() => undefined);
  }

  let realParent: string;
  try {
    realParent = await realpath(parent);
  } catch {
    throw missing();
  }
  if (realParent !== realRoot && !isInside(realRoot, realParent)) throw invalid();

  const candidate = join(realParent, basename(file));
  let realFile: string;
  try {
    realFile = await realpath(candidate);
  } catch (error) {
    if (!isMissing(error)) throw new RegistryError("DATABASE_OPEN_FAILED", `database "${name}": the file is not accessible`);
    // A dangling symlink would make the driver create its target, wherever that is.
    const isLink = await lstat(candidate).then(
      () => true,
      () => false,
    );
    if (isLink) throw invalid();
    if (mode !== "create") throw missing();
    return candidate;
  }
  if (!isInside(realRoot, realFile)) throw invalid();
  const info = await stat(realFile).catch(() => undefined);
  if (!info?.isFile()) throw new RegistryError("DATABASE_OPEN_FAILED", `database "${name}": the path is not a regular file`);
  return realFile;
}
