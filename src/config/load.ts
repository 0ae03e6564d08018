import { readFileSync } from 'node:fs';
import { isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { asrFileProblems } from '../asr/options.js';
import { BridgeError } from '../errors.js';
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
 * ${VAR} and ${VAR:-default} in scalar values, substituted after parsing so a value from the environment can
 * never change the YAML's structure. An unset variable without a default is a problem at that path.
 */
function substituteEnv(doc: Document, env: NodeJS.ProcessEnv, problems: ConfigProblem[], lines: LineCounter): void {
  visit(doc, {
    Scalar(_key, node, ancestry) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const path: (string | number)[] = [];
      ancestry.forEach((item, i) => {
        if (isPair(item) && isScalar(item.key)) path.push(String(item.key.value));
        if (isSeq(item)) path.push(item.items.indexOf((ancestry[i + 1] ?? node) as never));
      });
      node.value = node.value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
        const value = env[name];
        // Shell semantics: ${VAR:-x} also replaces an empty value; plain ${VAR} keeps an empty one.
        if (value !== undefined && (value !== '' || fallback === undefined)) return value;
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

function parse(text: string, file: string, env: NodeJS.ProcessEnv): { config: Config; locate: (path: (string | number)[], message: string) => ConfigProblem } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
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
  return { path: formatPath(path), line: position?.line, column: position?.col, message };
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BridgeError('CONFIG_UNREADABLE', `cannot read config ${file}: ${(err as Error).message}`, { cause: err });
  }
  return checkConfig(text, file, env);
}
