// Check an exported .glb in a real engine: the Khronos glTF validator, then three.js in headless Chromium.
//   node check_gltf.mjs MODEL.glb OUT.json SCREENSHOT.png T1 [T2 ...]   (times in seconds from the clip's start)
// Writes the validator's issue counts and, per time, the vertex positions three.js computes.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import validator from "gltf-validator";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const [model, output, screenshot, ...rest] = process.argv.slice(2);
const times = rest.map(Number);
const bytes = new Uint8Array(readFileSync(model));

const report = await validator.validateBytes(bytes, { maxIssues: 100 });
const validation = {
  errors: report.issues.numErrors, warnings: report.issues.numWarnings,
  messages: report.issues.messages.filter((m) => m.severity === 0).map((m) => `${m.code}: ${m.message} (${m.pointer})`),
};

const three = join(here, "node_modules", "three");
const server = createServer((req, res) => {
  const url = decodeURIComponent(req.url.split("?")[0]);
  if (url === "/favicon.ico") { res.writeHead(204); res.end(); return; }
  let file = null;
  let type = "application/octet-stream";
  if (url === "/" || url === "/page.html") { file = join(here, "page.html"); type = "text/html"; }
  else if (url === "/model.glb") file = model;
  else if (url.startsWith("/three/")) {
    file = normalize(join(three, url.slice("/three/".length)));
    if (!file.startsWith(three)) file = null;
    type = "text/javascript";
  }
  try {
    if (file === null) throw new Error("not found");
    res.writeHead(200, { "Content-Type": type });
    res.end(readFileSync(file));
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = server.address().port;

const profile = mkdtempSync(join(tmpdir(), "flame-chromium-"));
// Playwright passes --user-data-dir=<profile> itself for a persistent context.
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 640, height: 640 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
});
let result;
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(`http://127.0.0.1:${port}/page.html`);
  await page.waitForFunction(() => window.ready === true || false, null, { timeout: 60000 }).catch(() => {});
  if (errors.length) throw new Error(errors.join("\n"));
  const sampled = await page.evaluate((ts) => window.sample(ts), times);
  const rendered = await page.evaluate((t) => window.show(t), times[Math.floor(times.length / 2)]);
  await page.screenshot({ path: screenshot });
  result = { validation, three: sampled, rendered, errors };
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
writeFileSync(output, JSON.stringify(result));
