/**
 * `pgbridge/consumer`: what a Lambda function reacting to change events imports. Everything
 * else in this folder is internal to the built-in consumers.
 */
export type { Action } from '../config/watch-config.ts';
export type { ChangeEvent, EventAction, EventOf } from '../message/change-event.ts';
export { handleChanges, type ChangeHandler, type HandleChangesOptions, type SqsBatchHandler } from './handle-changes.ts';
export { PermanentFailure } from './permanent-failure.ts';
