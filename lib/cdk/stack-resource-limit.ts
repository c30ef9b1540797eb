import { CfnResource, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** CloudFormation's limit per stack (a nested stack is one resource of its parent). */
export const CLOUDFORMATION_RESOURCES_PER_STACK = 500;

const guardedStacks = new WeakSet<Stack>();

/**
 * Fails synth when the stack holding `construct` has more resources than CloudFormation allows,
 * before aws-cdk-lib's own count does, with what to do about it: consumers are the resources that
 * grow, and they can live in another stack. Added once per stack, however many consumers it holds.
 */
export function guardStackResourceLimit(construct: IConstruct): void {
  const stack = Stack.of(construct);
  if (guardedStacks.has(stack)) return;
  guardedStacks.add(stack);
  stack.node.addValidation({
    validate: () => {
      const count = stack.node.findAll().filter((node) => CfnResource.isCfnResource(node) && Stack.of(node) === stack).length;
      if (count <= CLOUDFORMATION_RESOURCES_PER_STACK) return [];
      return [
        `stack ${stack.node.path} holds ${count} CloudFormation resources, more than the ${CLOUDFORMATION_RESOURCES_PER_STACK} a stack may have ` +
          '(a webhook consumer is 15): create consumers in another stack or a NestedStack, ' +
          "e.g. bridge.addWebhookConsumer(id, { ...options, scope: new Stack(app, 'Reactions') })",
      ];
    },
  });
}
