// Summarizes a V8 `.cpuprofile` (from `--cpu-prof` on the server child): self time per function and per file.
//   node bench/lib/profile-summary.mjs <file.cpuprofile> [topN]
import { readFileSync } from "node:fs";

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: profile-summary.mjs <file.cpuprofile> [topN]");
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, "utf8"));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfTicks = new Map();
for (const id of profile.samples) selfTicks.set(id, (selfTicks.get(id) ?? 0) + 1);
const total = profile.samples.length;

const shortUrl = (url) => url.replace(/^file:\/\/\/work\/main\//, "").replace(/node_modules\/\.pnpm\/[^/]+\/node_modules\//, "");
const byFunction = new Map();
const byFile = new Map();
for (const [id, ticks] of selfTicks) {
  const { callFrame } = byId.get(id);
  const where = `${callFrame.functionName || "(anonymous)"} ${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}`;
  byFunction.set(where, (byFunction.get(where) ?? 0) + ticks);
  const fileKey = shortUrl(callFrame.url) || callFrame.functionName;
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + ticks);
}
const show = (title, map) => {
  console.log(`\n${title}`);
  for (const [key, ticks] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * ticks) / total).toFixed(1).padStart(5)}%  ${key}`);
  }
};
console.log(`${total} samples, ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`);
show("self time by function", byFunction);
show("self time by file", byFile);
