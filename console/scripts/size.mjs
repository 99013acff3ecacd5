// The built console's size as a browser downloads it: every file of dist/, gzipped (level 9).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const LIMIT = 200 * 1024;
const root = new URL("../dist/", import.meta.url).pathname;
const files = (dir) => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]));
let total = 0;
for (const file of files(root)) {
  const size = gzipSync(readFileSync(file), { level: 9 }).length;
  total += size;
  console.log(`${(size / 1024).toFixed(1).padStart(7)} KB  ${file.slice(root.length)}`);
}
console.log(`${(total / 1024).toFixed(1).padStart(7)} KB  gzipped in all (limit ${LIMIT / 1024} KB)`);
if (total > LIMIT) process.exit(1);
