/**
 * Captures what the handlers log in this process (Powertools with POWERTOOLS_DEV writes through the
 * global console; the PSP adapter's default logger writes to stderr) and scans it for personal
 * data and secrets. Shared by the log scan test and the chaos suite.
 */
export interface LogCapture {
  /** One entry per console call (Powertools in dev mode pretty-prints one JSON object over several lines), or per stream line. */
  lines(): string[];
  stop(): void;
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

export function captureLogs(options: { echo?: boolean } = {}): LogCapture {
  const captured: string[] = [];
  const add = (text: string, whole: boolean) => {
    if (whole) captured.push(text);
    else for (const line of text.split('\n')) if (line.trim()) captured.push(line);
  };
  const originals = CONSOLE_METHODS.map((m) => [m, console[m]] as const);
  for (const [method, original] of originals) {
    console[method] = (...args: unknown[]) => {
      add(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '), true);
      if (options.echo) original.apply(console, args);
    };
  }
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((s) => s.write);
  streams.forEach((stream, i) => {
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      add(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'), false);
      return options.echo ? (writes[i] as (...a: unknown[]) => boolean).call(stream, chunk, ...rest) : true;
    }) as typeof stream.write;
  });
  return {
    lines: () => [...captured],
    stop() {
      for (const [method, original] of originals) console[method] = original;
      for (const [i, stream] of streams.entries()) stream.write = writes[i] as typeof stream.write;
    },
  };
}

export interface Sensitive {
  /** Email addresses and names from the imported data. */
  emails: string[];
  names: string[];
  /** PSP password, merchant secret, the Basic credentials. */
  secrets: string[];
  /** 13-19 digit ids that are PSP transaction ids, not card numbers. */
  transactionIds: ReadonlySet<string>;
}

/** Emails and names of every customer and agency in an import file. */
export function sensitiveOfImport(text: string): Pick<Sensitive, 'emails' | 'names'> {
  const emails = new Set<string>();
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const record = JSON.parse(line) as { type: string; email?: string; name?: string };
    if (record.type !== 'customer' && record.type !== 'agency') continue;
    if (record.email) emails.add(record.email);
    if (record.name) names.add(record.name);
  }
  return { emails: [...emails], names: [...names] };
}

export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/**
 * A metrics line (CloudWatch embedded metric format) without its `_aws.Timestamp`: a 13-digit
 * millisecond epoch, not a card number. Everything else in it is scanned like any line.
 */
function withoutEmfTimestamp(line: string): string {
  if (!line.includes('"_aws"')) return line;
  try {
    const emf = JSON.parse(line) as { _aws?: { Timestamp?: unknown } };
    if (!emf._aws || typeof emf._aws.Timestamp !== 'number') return line;
    return JSON.stringify({ ...emf, _aws: { ...emf._aws, Timestamp: 0 } });
  } catch {
    return line;
  }
}

/** Metrics lines (embedded metric format): their metric names, with the dimensions they carry. */
export function emfMetrics(lines: readonly string[]): { name: string; dimensions: Record<string, string>; value: unknown }[] {
  const found: { name: string; dimensions: Record<string, string>; value: unknown }[] = [];
  for (const line of lines) {
    if (!line.includes('"_aws"')) continue;
    try {
      const emf = JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] } };
      for (const directive of emf._aws.CloudWatchMetrics) {
        const dimensions = Object.fromEntries(directive.Dimensions.flat().map((d) => [d, String(emf[d])]));
        for (const metric of directive.Metrics) found.push({ name: metric.Name, dimensions, value: emf[metric.Name] });
      }
    } catch {
      // not a metrics line
    }
  }
  return found;
}

/** Every leak in the lines: `line: what`. */
export function findLeaks(lines: readonly string[], sensitive: Sensitive, allowedEmails: readonly string[] = []): string[] {
  const leaks: string[] = [];
  lines.map(withoutEmfTimestamp).forEach((line, i) => {
    const at = `log line ${i + 1}`;
    for (const email of line.match(EMAIL) ?? []) if (!allowedEmails.includes(email)) leaks.push(`${at}: email address ${email}`);
    for (const name of sensitive.names) if (line.includes(name)) leaks.push(`${at}: name "${name}"`);
    for (const secret of sensitive.secrets) if (secret && line.includes(secret)) leaks.push(`${at}: a PSP secret`);
    if (/authorization|Basic [A-Za-z0-9+/=]{8,}/i.test(line)) leaks.push(`${at}: an Authorization header`);
    for (const run of line.match(/(?<!\d)\d{13,19}(?!\d)/g) ?? []) {
      if (!sensitive.transactionIds.has(run) && luhn(run)) leaks.push(`${at}: card-number-like digits ${run.slice(0, 4)}…`);
    }
  });
  return leaks;
}

/** Structured (JSON) lines written by the stages' Powertools logger. */
export function stageLines(lines: readonly string[]): Record<string, unknown>[] {
  const parsed: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (!line.trimStart().startsWith('{')) continue;
    try {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (typeof value.level === 'string' && typeof value.message === 'string' && 'service' in value) parsed.push(value);
    } catch {
      // not a structured line
    }
  }
  return parsed;
}
