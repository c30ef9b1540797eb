import type { ChangeFilter } from '../consumers/filter-policy.ts';

/**
 * The reactions of the classic demo, declared once: the CDK example app deploys them as Lambda
 * consumers and `npm start` runs the same handlers locally. Both emails go to the team (the
 * sender address by default), which also works while the SES account is still in the sandbox.
 */
export const DEMO_REACTIONS = {
  signupEmail: {
    id: 'SignupEmail',
    filter: { table: 'users', label: 'signup' } satisfies ChangeFilter,
    subject: 'New signup: {{row.name}}',
    text: '{{row.name}} <{{row.email}}> signed up on the {{row.plan}} plan at {{at}}.',
    html: '<p><strong>{{row.name}}</strong> &lt;{{row.email}}&gt; signed up on the <em>{{row.plan}}</em> plan.</p>',
  },
  planChangedEmail: {
    id: 'PlanChangedEmail',
    filter: { table: 'users', label: 'plan_changed' } satisfies ChangeFilter,
    subject: 'Plan change: {{row.name}} is now on {{row.plan}}',
    text: '{{row.name}} <{{row.email}}> moved from {{old.plan}} to {{row.plan}}.',
    html: '<p><strong>{{row.name}}</strong> moved from {{old.plan}} to <em>{{row.plan}}</em>.</p>',
  },
  orderWebhook: {
    id: 'OrderWebhook',
    filter: { table: 'orders' } satisfies ChangeFilter,
  },
} as const;
