import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Accepts cdk-nag `AwsSolutions` findings on a resource pgbridge creates, each with the reason,
 * so a user who turns on `AwsSolutionsChecks` sees only findings about their own choices.
 *
 * Written through aws-cdk-lib's `Validations`, the mechanism cdk-nag 3 reads: the constructs do
 * not depend on cdk-nag, and without it the acknowledgements are inert metadata. The ids carry the
 * plugin's namespace (`AwsSolutions::`), so synth lists each one with its reason under
 * `suppressedViolations` in validation-report.json instead of hiding it.
 *
 * `findings` maps a rule with its finding (`'IAM5[Resource::*]'`, `'L1'`) to the reason.
 * An acknowledgement covers `scope` and everything under it: give the narrowest construct.
 */
export function acknowledgeAwsSolutionsFindings(scope: IConstruct, findings: Record<string, string>): void {
  Validations.of(scope).acknowledge(
    ...Object.entries(findings).map(([finding, reason]) => ({ id: `AwsSolutions::AwsSolutions-${finding}`, reason })),
  );
}
