// @ts-check
/**
 * The layering rule of docs/architecture.md ("The layers"), checked by dependency-cruiser in `pnpm lint`
 * (and alone by `pnpm deps`). It cruises packages/<name>/src and apps/<name>/src only: tests, dist and
 * node_modules are not cruised (tests may import across layers).
 *
 *   no-circular       no import cycle between source files, within a package or across packages
 *   layer-<package>   a package imports only packages in a layer strictly below its own (none of its peers)
 *   no-dist-import    a workspace import must resolve to the other package's src, never to a built dist
 *   not-to-unresolvable  every relative or @hranad/* import resolves to a file
 *
 * Type-only imports count (`import type` is an import for the layering too).
 *
 * Workspace packages are resolved to their sources, not through their package.json `exports` (which point
 * at dist): `@hranad/<pkg>` → <dir>/src/index.ts and `@hranad/<pkg>/<sub>` → <dir>/src/<sub>(.ts|/index.ts),
 * which is how every package maps its `exports` ("./engine" → dist/engine/index.js, "./testing" →
 * dist/testing.js). The mapping is a tsconfig `paths` table generated from the workspace's package.json
 * files into node_modules/.cache/dependency-cruiser/, so the rule needs `pnpm install` and no build.
 */
import fs from "node:fs";
import path from "node:path";

/** Top to bottom. A package may import only packages in a later entry. */
const LAYERS = [
  ["apps/server"],
  ["packages/hrana-protocol", "packages/session-store"],
  ["packages/registry", "packages/baton", "packages/replication"],
  ["packages/driver-better-sqlite3", "packages/driver-libsql"],
  ["packages/runtime"],
  ["packages/driver"],
  ["packages/sqlite-guard", "packages/shell", "packages/settings"],
];

const root = import.meta.dirname;
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/** Every workspace package whose sources are cruised: packages/* and apps/* with a package.json. */
const workspace = ["packages", "apps"].flatMap((parent) =>
  fs
    .readdirSync(path.join(root, parent), { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(root, parent, d.name, "package.json")))
    .map((d) => {
      const dir = `${parent}/${d.name}`;
      const { name } = JSON.parse(fs.readFileSync(path.join(root, dir, "package.json"), "utf8"));
      return { dir, name };
    }),
);

const layered = LAYERS.flat();
const unplaced = workspace.filter((p) => !layered.includes(p.dir)).map((p) => p.dir);
if (unplaced.length > 0) {
  throw new Error(`.dependency-cruiser.mjs: ${unplaced.join(", ")} has no layer: add it to LAYERS`);
}
const unknown = layered.filter((dir) => !workspace.some((p) => p.dir === dir));
if (unknown.length > 0) {
  throw new Error(`.dependency-cruiser.mjs: LAYERS names ${unknown.join(", ")}, which is not a workspace package`);
}

// Resolve @hranad/* to the sources (see the header).
const tsConfigFile = path.join(root, "node_modules", ".cache", "dependency-cruiser", "tsconfig.json");
const paths = {};
for (const { dir, name } of workspace) {
  paths[name] = [`${dir}/src/index.ts`];
  paths[`${name}/*`] = [`${dir}/src/*`, `${dir}/src/*/index.ts`];
}
const tsConfig =
  JSON.stringify(
    { compilerOptions: { baseUrl: root, paths }, include: workspace.map((p) => path.join(root, p.dir, "src")) },
    null,
    2,
  ) + "\n";
fs.mkdirSync(path.dirname(tsConfigFile), { recursive: true });
if (!fs.existsSync(tsConfigFile) || fs.readFileSync(tsConfigFile, "utf8") !== tsConfig) {
  fs.writeFileSync(tsConfigFile, tsConfig);
}

const nameOf = (dir) => workspace.find((p) => p.dir === dir)?.name ?? dir;
const sourceOf = (dirs) => `^(${dirs.map(esc).join("|")})/src/`;

const layerRules = LAYERS.flatMap((layer, i) => {
  const below = LAYERS.slice(i + 1).flat();
  return layer.flatMap((dir) => {
    const forbidden = LAYERS.slice(0, i + 1).flat().filter((d) => d !== dir);
    if (forbidden.length === 0) return [];
    return {
      name: `layer-${path.basename(dir)}`,
      severity: "error",
      comment:
        `${nameOf(dir)} may import only the packages below it: ` +
        (below.length > 0 ? below.map(nameOf).join(", ") : "none") +
        ` (docs/architecture.md, "The layers"). It imports a package at its own layer or above.`,
      from: { path: sourceOf([dir]) },
      to: { path: `^(${forbidden.map(esc).join("|")})/` },
    };
  });
});

/** @type {import("dependency-cruiser").IConfiguration} */
export default {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle: the modules in the path import each other (within a package or across packages).",
      from: { path: "^(packages|apps)/[^/]+/src/" },
      to: { circular: true },
    },
    ...layerRules,
    {
      name: "no-dist-import",
      severity: "error",
      comment:
        "A source file imports a built file (dist/): workspace imports should resolve to the package's src; " +
        "add the package to the workspace or import it by its @hranad/ name.",
      from: { path: "^(packages|apps)/[^/]+/src/" },
      to: { path: "^(packages|apps)/[^/]+/dist/" },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "This import does not resolve to a file (a workspace package with no src entry, or a typo).",
      from: { path: "^(packages|apps)/[^/]+/src/" },
      to: { couldNotResolve: true, path: "^(\\.|@hranad/)" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Only src is cruised; dist is not excluded so that an import resolving into it is reported (no-dist-import).
    exclude: { path: "(^|/)test/|\\.(test|spec)\\.[cm]?[jt]sx?$" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: tsConfigFile },
    combinedDependencies: false,
    preserveSymlinks: false,
    skipAnalysisNotInRules: true,
  },
};
