import { Token } from 'aws-cdk-lib';
import { ConfigError } from '../errors.ts';

/**
 * Collects the problems of one construct's props, then throws them all at once as a ConfigError
 * naming the construct path, so `cdk synth` reports every mistake in one run.
 */
export class PropsCheck {
  private readonly problems: string[] = [];

  constructor(private readonly construct: string) {}

  require(condition: boolean, problem: string): this {
    if (!condition) this.problems.push(problem);
    return this;
  }

  /** Runs a check that throws (filter policies, templates) and records its message. */
  attempt<T>(check: () => T): T | undefined {
    try {
      return check();
    } catch (error) {
      // A ConfigError listing several problems adds each one, not its heading as a problem.
      if (error instanceof ConfigError) this.problems.push(...error.problems);
      else this.problems.push((error as Error).message);
      return undefined;
    }
  }

  /** A number prop in [min, max]; a CDK token (unknown until deploy) is left to CloudFormation. */
  integerBetween(name: string, value: number | undefined, min: number, max: number): this {
    if (value === undefined || Token.isUnresolved(value)) return this;
    return this.require(
      Number.isInteger(value) && value >= min && value <= max,
      `${name} must be an integer from ${min} to ${max} (got ${value})`,
    );
  }

  throwIfInvalid(): void {
    if (this.problems.length) throw new ConfigError(`${this.construct}: invalid props:\n  - ${this.problems.join('\n  - ')}`);
  }
}

/** True when the value is a deploy-time token: it cannot be checked at synth. */
export function isToken(value: unknown): boolean {
  return Token.isUnresolved(value);
}
