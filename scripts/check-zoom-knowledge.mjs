#!/usr/bin/env node
// Zoom's rules live in src/zoom-api/ alone: its REST paths and hosts, its OAuth scopes, its webhook event names.
// dependency-cruiser checks imports, not strings, so this checks the strings: code (not comments) elsewhere in src/
// that spells one of them fails `npm run lint:deps`, naming the file and line.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const ALLOWED = join(ROOT, 'src/zoom-api');
const RULES = [
  { what: 'a Zoom API path', pattern: /['"`]\/(?:meetings|webinars|accounts|users|videosdk)\/|\$\{\w+\}s\/|\/livestream\b|\/rtms_app\/|closed_caption_token|api\.zoom\.us|\/oauth\/token/ },
  { what: 'a Zoom OAuth scope', pattern: /\b(?:meeting|webinar|account|user):(?:read|write|update|master|admin)\b/ },
  { what: 'a Zoom webhook event name', pattern: /\b(?:meeting|webinar|session)\.(?:started|ended|rtms_\w+)\b|endpoint\.url_validation/ },
];

function* sources(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (path !== ALLOWED) yield* sources(path);
    } else if (name.endsWith('.ts')) yield path;
  }
}

/** Comments blanked out (line numbers kept): they may explain Zoom's rules; code may not hold them. */
function code(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const problems = [];
for (const file of sources(join(ROOT, 'src'))) {
  code(readFileSync(file, 'utf8'))
    .split('\n')
    .forEach((line, i) => {
      for (const rule of RULES) if (rule.pattern.test(line)) problems.push(`${relative(ROOT, file)}:${i + 1}: ${rule.what} outside src/zoom-api/: ${line.trim().slice(0, 120)}`);
    });
}
if (problems.length > 0) {
  process.stderr.write(`${problems.join("\n")}\n\n✖ ${problems.length} Zoom rule(s) outside src/zoom-api/: move them there (one place for each Zoom rule)\n`);
  process.exit(1);
}
process.stdout.write('✔ Zoom paths, scopes and webhook names only in src/zoom-api/\n');
