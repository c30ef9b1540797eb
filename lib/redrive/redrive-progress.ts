/** A message the target queue refused; it stays in the dead-letter queue. */
export interface RejectedMessage {
  messageId: string;
  code: string;
  message: string;
}

/** Where a redrive stands; reported after every batch (or every poll of a move task) and at the end. */
export interface RedriveProgress {
  /** Messages the target accepted and that are gone from the dead-letter queue. */
  moved: number;
  /** What the dead-letter queue held when the redrive started (approximate, as SQS counts). */
  total: number;
  rejected: RejectedMessage[];
}

export interface RedriveResult extends RedriveProgress {
  method: 'StartMessageMoveTask' | 'receive, send, delete';
  /** Stopped early on request (Ctrl-C): what was moved until then stays moved. */
  interrupted: boolean;
  /**
   * FIFO: messages left in the dead-letter queue because an earlier message of their group was
   * refused, so a group's order survives the redrive.
   */
  heldBack: number;
  /** Sent to the target but still in the dead-letter queue (the delete failed): they will arrive twice if redriven again. */
  notDeleted: number;
  /** Why a move task ended without moving everything, in AWS's words. */
  failure?: string;
}
