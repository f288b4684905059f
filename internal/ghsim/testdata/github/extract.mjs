// extract.mjs cuts GitHub's official machine-readable descriptions down to
// what pkgwarden and its simulator use. regen.sh runs it; see README.md.
//
//   node extract.mjs OPENAPI_DEREF_JSON WEBHOOK_SCHEMA_JSON EXAMPLES_DIR OUT_DIR
import fs from "node:fs";
import path from "node:path";

const [openapiFile, schemaFile, examplesDir, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node extract.mjs OPENAPI_DEREF_JSON WEBHOOK_SCHEMA_JSON EXAMPLES_DIR OUT_DIR");
  process.exit(2);
}

// Every REST operation pkgwarden calls or the simulator serves (outside
// /_admin/ and /_raw/, which are the simulator's own).
const operations = [
  ["get", "/app"],
  ["get", "/app/installations"],
  ["post", "/app/installations/{installation_id}/access_tokens"],
  ["get", "/app/hook/deliveries"],
  ["post", "/app/hook/deliveries/{delivery_id}/attempts"],
  ["post", "/app-manifests/{code}/conversions"],
  ["get", "/orgs/{org}/installation"],
  ["get", "/installation/repositories"],
  ["get", "/repos/{owner}/{repo}"],
  ["get", "/repos/{owner}/{repo}/contents/{path}"],
  ["get", "/repos/{owner}/{repo}/collaborators/{username}/permission"],
  ["get", "/user"],
  ["get", "/users/{username}"],
  ["get", "/repos/{owner}/{repo}/issues"],
  ["post", "/repos/{owner}/{repo}/issues"],
  ["get", "/repos/{owner}/{repo}/issues/{issue_number}"],
  ["patch", "/repos/{owner}/{repo}/issues/{issue_number}"],
  ["get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"],
  ["post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"],
  ["patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"],
  ["get", "/repos/{owner}/{repo}/pulls/{pull_number}"],
  ["get", "/repos/{owner}/{repo}/pulls/{pull_number}/files"],
  ["post", "/repos/{owner}/{repo}/check-runs"],
  ["get", "/repos/{owner}/{repo}/check-runs/{check_run_id}"],
  ["patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"],
  ["get", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations"],
  ["get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"],
];

// Every event pkgwarden receives (internal/webhook's Event* constants).
const events = [
  "ping",
  "registry_package",
  "package",
  "issues",
  "issue_comment",
  "push",
  "installation",
  "installation_repositories",
  "pull_request",
];

// --- REST: the operations above, plus every Packages API operation.
const doc = JSON.parse(fs.readFileSync(openapiFile, "utf8"));
const paths = {};
const take = (p, m) => {
  const item = doc.paths[p];
  if (!item || !item[m]) throw new Error(`the OpenAPI document has no ${m.toUpperCase()} ${p}`);
  paths[p] ??= {};
  if (item.parameters) paths[p].parameters = item.parameters;
  paths[p][m] = item[m];
};
for (const [m, p] of operations) take(p, m);
let packageOps = 0;
for (const p of Object.keys(doc.paths)) {
  if (!/^\/(orgs\/\{org\}|users\/\{username\}|user)\/packages/.test(p)) continue;
  for (const m of ["get", "post", "delete"]) {
    if (doc.paths[p][m]) {
      take(p, m);
      packageOps++;
    }
  }
}
if (packageOps !== 24) throw new Error(`found ${packageOps} Packages API operations, want 24`);
const rest = {
  openapi: doc.openapi,
  info: doc.info,
  servers: doc.servers,
  paths: Object.fromEntries(Object.keys(paths).sort().map((k) => [k, paths[k]])),
};
fs.mkdirSync(path.join(outDir, "rest"), { recursive: true });
fs.writeFileSync(path.join(outDir, "rest", "openapi.json"), JSON.stringify(rest) + "\n");

// --- Webhooks: the events above, with every definition they reach.
const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
const keep = new Set();
const walk = (v) => {
  if (Array.isArray(v)) return v.forEach(walk);
  if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (k === "$ref" && typeof x === "string" && x.startsWith("#/definitions/")) {
        const name = x.slice("#/definitions/".length);
        if (!keep.has(name)) {
          if (!schema.definitions[name]) throw new Error(`dangling $ref ${x}`);
          keep.add(name);
          walk(schema.definitions[name]);
        }
      } else walk(x);
    }
  }
};
// An event with actions has "<event>_event" (a oneOf of "<event>$<action>");
// one without has "<event>$event".
const roots = events.map((e) => {
  const name = schema.definitions[`${e}_event`] ? `${e}_event` : `${e}$event`;
  if (!schema.definitions[name]) throw new Error(`the webhook schema has no ${e} event`);
  return { $ref: `#/definitions/${name}` };
});
walk(roots);
const hooks = {
  $schema: schema.$schema,
  definitions: Object.fromEntries([...keep].sort().map((k) => [k, schema.definitions[k]])),
  oneOf: roots,
};
fs.mkdirSync(path.join(outDir, "webhooks"), { recursive: true });
fs.writeFileSync(path.join(outDir, "webhooks", "schema.json"), JSON.stringify(hooks, null, 1) + "\n");

// --- Example payloads of those events, as the octokit/webhooks repository has them.
const exOut = path.join(outDir, "webhooks", "examples");
fs.rmSync(exOut, { recursive: true, force: true });
let examples = 0;
for (const e of events) {
  const dir = path.join(examplesDir, e);
  if (!fs.existsSync(dir)) throw new Error(`no example payloads for ${e} in ${examplesDir}`);
  fs.mkdirSync(path.join(exOut, e), { recursive: true });
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith(".json")) continue;
    fs.copyFileSync(path.join(dir, f), path.join(exOut, e, f));
    examples++;
  }
}
console.log(`rest: ${Object.keys(rest.paths).length} paths; webhooks: ${events.length} events, ${keep.size} definitions; ${examples} example payloads`);
