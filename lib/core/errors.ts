/**
 * Typed domain errors. `name` is what Step Functions matches in Retry/Catch (Lambda reports it as
 * errorType) and what run reports carry, so every class names itself with a string literal: the
 * deployed bundles are minified, and a name taken from the class would be `me` or `Ke` there.
 */
export abstract class DomainError extends Error {
  abstract override readonly name: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One problem with one input field: `field` is a dotted path, `reason` is for humans. */
export interface FieldIssue {
  field: string;
  reason: string;
}

/** How much the message lists: 10,000 bad values, or one of 200,000 characters, still give a short, readable error. */
const LISTED_ISSUES = 20;
const LISTED_LINE_LENGTH = 500;
const clip = (line: string) => (line.length > LISTED_LINE_LENGTH ? `${line.slice(0, LISTED_LINE_LENGTH)}…` : line);

/** Bad input: nothing was written. The message lists `field: reason` lines (the first 20, each clipped; `issues` has all). */
export class ValidationError extends DomainError {
  override readonly name: string = 'ValidationError';
  readonly issues: FieldIssue[];
  constructor(issues: FieldIssue[], options?: { cause?: unknown }) {
    const listed = issues.slice(0, LISTED_ISSUES).map((i) => clip(`${i.field}: ${i.reason}`));
    if (issues.length > LISTED_ISSUES) listed.push(`and ${issues.length - LISTED_ISSUES} more issue(s)`);
    super(listed.join('; '), options);
    this.issues = issues;
  }
}

/** A rule of money would be broken (e.g. a refund above what was paid). Never retried. */
export class MoneyRuleError extends DomainError {
  override readonly name: string = 'MoneyRuleError';
}

/** Something the workflow needs does not exist (unknown performance, order, run). */
export class NotFoundError extends DomainError {
  override readonly name: string = 'NotFoundError';
}

/** The operation conflicts with the current state (e.g. a performance already partially refunded). */
export class ConflictError extends DomainError {
  override readonly name: string = 'ConflictError';
}

/** Step Functions reports a Lambda error's Cause as JSON {errorType, errorMessage, trace}: keep what a person reads. */
export function lambdaErrorMessage(cause: string | null | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}
