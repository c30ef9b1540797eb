import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AcknowledgedFinding {
  /** `AwsSolutions-IAM5[Resource::*]` */
  rule: string;
  path: string;
  reason: string;
}

export interface AwsSolutionsResult {
  /** `<rule> at <construct path>`, one line per finding nobody acknowledged: a test expects `[]`. */
  unacknowledged: string[];
  acknowledged: AcknowledgedFinding[];
  /** Every stack's resource count, by artifact id. */
  resourceCounts: Record<string, number>;
  /** What synth threw because of the findings: the message a user sees. @default undefined when synth passed */
  failure?: string;
}

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: ReportedViolation[];
    suppressedViolations?: (ReportedViolation & { reason: string })[];
  }[];
}
interface ReportedViolation {
  ruleName: string;
  violatingConstructs: { constructPath: string }[];
}

/**
 * Synthesises the app as `npx cdk synth` does with cdk-nag's AWS Solutions checks plugged in,
 * and reads the findings from validation-report.json (a failing synth writes it before it
 * throws). Any other synth error is thrown.
 */
export function synthWithAwsSolutionsChecks(app: App): AwsSolutionsResult {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let assembly: ReturnType<App['synth']> | undefined;
  let failure: string | undefined;
  try {
    assembly = app.synth();
  } catch (error) {
    if ((error as Error).name !== 'ValidationFailed') throw error;
    failure = (error as Error).message;
  }
  const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
  const nag = report.pluginReports.filter((plugin) => plugin.pluginName === 'AwsSolutions');
  const resourceCounts = Object.fromEntries(
    (assembly?.stacksRecursively ?? []).map((stack) => [
      stack.id,
      Object.keys((stack.template as { Resources?: object }).Resources ?? {}).length,
    ]),
  );
  return {
    unacknowledged: nag.flatMap((plugin) =>
      plugin.violations.flatMap((violation) =>
        violation.violatingConstructs.map((construct) => `${violation.ruleName} at ${construct.constructPath}`),
      ),
    ),
    acknowledged: nag.flatMap((plugin) =>
      (plugin.suppressedViolations ?? []).flatMap((violation) =>
        violation.violatingConstructs.map((construct) => ({
          rule: violation.ruleName,
          path: construct.constructPath,
          reason: violation.reason,
        })),
      ),
    ),
    resourceCounts,
    failure,
  };
}
