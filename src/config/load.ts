import { readFileSync, statSync } from 'node:fs';
import { isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { asrFileProblems } from '../asr/options.js';
import { Worker } from 'node:worker_threads';
import { BridgeError, errorMessage } from '../errors.js';
import { workerFile } from '../util/worker-file.js';
import { configSchema, type Config } from './schema.js';

export interface ConfigProblem {
  /** YAML path, e.g. meetings[0].source.token */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export class ConfigError extends BridgeError {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super('CONFIG_INVALID', `${file}: ${problems.length} problem(s)\n${problems.map((p) => formatProblem(file, p)).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function formatProblem(file: string, problem: ConfigProblem): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}:${problem.column}`;
  return `${where} ${problem.path || '(top level)'}: ${problem.message}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Bounds on what a config may cost to read. A config lists meetings (about 300 bytes each; an account's meetings come
 * from accountMeetings, not from entries), so 256 KiB is far beyond any real one, and reading it stays well under a
 * second; the environment's values may add 1 MiB at most (a CA certificate is a few KiB), so `${BIG}` used many
 * times cannot take the process's memory.
 */
export const MAX_CONFIG_BYTES = 256 * 1024;
export const MAX_EXPANDED_BYTES = 1024 * 1024;

/**
 * ${VAR} and ${VAR:-default} in scalar values, substituted after parsing so a value from the environment can
 * never change the YAML's structure. An unset variable without a default is a problem at that path.
 */
function substituteEnv(doc: Document, env: NodeJS.ProcessEnv, problems: ConfigProblem[], lines: LineCounter): void {
  let expanded = 0;
  visit(doc, {
    Scalar(_key, node, ancestry) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      if (expanded > MAX_EXPANDED_BYTES) return visit.BREAK;
      const path: (string | number)[] = [];
      ancestry.forEach((item, i) => {
        if (isPair(item) && isScalar(item.key)) path.push(String(item.key.value));
        if (isSeq(item)) path.push(item.items.indexOf((ancestry[i + 1] ?? node) as never));
      });
      node.value = node.value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
        const value = env[name];
        // Shell semantics: ${VAR:-x} also replaces an empty value; plain ${VAR} keeps an empty one.
        if (value !== undefined && (value !== '' || fallback === undefined)) {
          expanded += value.length;
          if (expanded > MAX_EXPANDED_BYTES) {
            const position = node.range ? lines.linePos(node.range[0]) : undefined;
            problems.push({ path: formatPath(path), line: position?.line, column: position?.col, message: `the environment's values make the config larger than ${MAX_EXPANDED_BYTES / 1024} KiB (\${${name}} here): is a variable far larger than meant?` });
            return '';
          }
          return value;
        }
        if (fallback !== undefined) return fallback;
        const position = node.range ? lines.linePos(node.range[0]) : undefined;
        problems.push({ path: formatPath(path), line: position?.line, column: position?.col, message: `environment variable ${name} is not set` });
        return '';
      });
    },
  });
}

/** Parses and validates a config text; touches no file (engine model folders are checked by `checkConfig`). */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  return parse(text, file, env).config;
}

/** `parseConfig`, then what needs the disk (each feature's file checks): what `--check`, start and reload run. */
export function checkConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const { config, locate } = parse(text, file, env);
  const problems = config.meetings.flatMap((meeting, index) =>
    asrFileProblems(meeting.asr).map((problem) => locate(['meetings', index, 'asr', ...problem.path], problem.message)),
  );
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}

/**
 * The first key written twice in one mapping, found in one pass: the parser's own check compares every key with every other
 * (40 000 keys took 24 s).
 */
function duplicateKey(doc: Document, lines: LineCounter): ConfigProblem | undefined {
  let found: ConfigProblem | undefined;
  visit(doc, {
    Map(_key, node) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
        if (!seen.has(key)) {
          seen.add(key);
          continue;
        }
        const position = isScalar(pair.key) && pair.key.range ? lines.linePos(pair.key.range[0]) : undefined;
        found = { path: '', line: position?.line, column: position?.col, message: `YAML syntax: map keys must be unique ("${key.slice(0, 40)}" is written twice)` };
        return visit.BREAK;
      }
    },
  });
  return found;
}

/** The problem of a config larger than it may be. */
function tooLarge(file: string, bytes: number): ConfigError {
  return new ConfigError(file, [{ path: '', message: `the config is ${Math.ceil(bytes / 1024)} KiB, more than the ${MAX_CONFIG_BYTES / 1024} KiB a config may be (one meeting takes a few hundred bytes; an account's meetings come from accountMeetings)` }]);
}

function parse(text: string, file: string, env: NodeJS.ProcessEnv): { config: Config; locate: (path: (string | number)[], message: string) => ConfigProblem } {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) throw tooLarge(file, bytes);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  const duplicate = doc.errors.length === 0 ? duplicateKey(doc, lines) : undefined;
  if (duplicate) throw new ConfigError(file, [duplicate]);
  if (doc.errors.length > 0) {
    // After the first syntax error the parser reports the rest of the file as noise: the first one is the news.
    const first = doc.errors[0]!;
    const unquotedVariable = /flow-map|flow-seq/.test(first.message) && text.includes('${');
    const hint = unquotedVariable ? ' (inside { } or [ ], quote values that use ${VAR}: "${VAR}")' : '';
    throw new ConfigError(file, [
      {
        path: '',
        line: first.linePos?.[0].line,
        column: first.linePos?.[0].col,
        message: `YAML syntax: ${first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}${hint}`,
      },
    ]);
  }
  const problems: ConfigProblem[] = [];
  substituteEnv(doc, env, problems, lines);
  const locate = (path: readonly PropertyKey[], message: string): ConfigProblem => toProblem(path, message, doc, lines);
  const result = configSchema.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    // An unset variable already explains whatever the schema then says about the empty value.
    const explained = new Set(problems.map((p) => p.path));
    problems.push(...result.error.issues.map((issue) => locate(issue.path, issue.message)).filter((p) => !explained.has(p.path)));
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { config: result.data!, locate };
}

function toProblem(path: readonly PropertyKey[], message: string, doc: Document, lines: LineCounter): ConfigProblem {
  // Point at the deepest node that exists: a missing key is reported where its parent is.
  let position: { line: number; col: number } | undefined;
  for (let depth = path.length; depth >= 0 && !position; depth--) {
    const node = doc.getIn(path.slice(0, depth) as (string | number)[], true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) position = lines.linePos(node.range[0]);
  }
  return { path: formatPath(path), line: position?.line, column: position?.col, message: message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}... (cut)` : message };
}

/** A problem is read by a person: one naming 15 000 unknown keys says enough in its first few. */
const MAX_MESSAGE_CHARS = 300;

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    // A file far too large is not read whole: its size says so first.
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES * 4) throw tooLarge(file, size);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new BridgeError('CONFIG_UNREADABLE', `cannot read config ${file}: ${(err as Error).message}`, { cause: err });
  }
  return checkConfig(text, file, env);
}

/** A reload that takes longer than this (a pathological file) is abandoned; the running config stays. */
const OFF_THREAD_TIMEOUT_MS = 15_000;

/**
 * `loadConfig` on a worker thread with a memory limit of its own: a reload (SIGHUP) runs while meetings are captioned,
 * and reading a large or hostile file must never hold up the thread that serves them, nor take its memory.
 */
export function loadConfigOffThread(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const script = workerFile('./load-worker.js', import.meta.url);
  if (!script) return Promise.resolve().then(() => loadConfig(file, env));
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData: { file, env }, resourceLimits: { maxOldGenerationSizeMb: 256 } });
    const done = (outcome: () => void): void => {
      clearTimeout(timer);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(() => done(() => reject(new BridgeError('CONFIG_UNREADABLE', `reading ${file} took more than ${OFF_THREAD_TIMEOUT_MS / 1000} s: abandoned`))), OFF_THREAD_TIMEOUT_MS);
    worker.once('message', (answer: { config: Config } | { problems: ConfigProblem[] } | { message: string }) =>
      done(() => {
        if ('config' in answer) resolve(answer.config);
        else if ('problems' in answer) reject(new ConfigError(file, answer.problems));
        else reject(new BridgeError('CONFIG_UNREADABLE', answer.message));
      }),
    );
    worker.once('error', (err) => done(() => reject(new BridgeError('CONFIG_UNREADABLE', `reading ${file} failed: ${errorMessage(err)}`))));
  });
}
