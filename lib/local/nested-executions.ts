/**
 * The optimized `arn:aws:states:::states:startExecution` integration (Request Response: start an
 * execution and go on), for the local runtime: a workflow continues its run in a new execution of
 * its own state machine (`$$.StateMachine.Id`) when one execution's history would grow too long.
 * By default the runner starts the execution itself; the local Step Functions endpoint installs
 * its own starter so the new execution is listed, described and followed like any other.
 */
import { randomUUID } from 'node:crypto';

export const START_EXECUTION = 'arn:aws:states:::states:startExecution';

export interface StartRequest {
  workflow: string;
  name: string;
  input: unknown;
  /** The execution whose Task asked. */
  parent: { workflow: string; name: string; executionArn: string };
}

export interface StartedExecution {
  executionArn: string;
  /** Epoch milliseconds. */
  startDate: number;
}

export type ExecutionStarter = (request: StartRequest) => Promise<StartedExecution>;

/** StartExecution refused, as the integration reports it (`StepFunctions.<Exception>`); Retry and Catch may match it. */
export class StartExecutionError extends Error {
  constructor(exception: 'ExecutionAlreadyExists' | 'StateMachineDoesNotExist' | 'InvalidExecutionInput' | 'InvalidName', message: string) {
    super(message);
    this.name =
      exception === 'ExecutionAlreadyExists'
        ? 'StepFunctions.ExecutionAlreadyExistsException'
        : exception === 'StateMachineDoesNotExist'
          ? 'StepFunctions.StateMachineDoesNotExistException'
          : exception === 'InvalidExecutionInput'
            ? 'StepFunctions.InvalidExecutionInputException'
            : 'StepFunctions.InvalidNameException';
  }
}

/** Execution names as AWS accepts them: 1-80 characters, no whitespace, brackets, wildcards or control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what the name may not hold
export const VALID_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;

/**
 * One `states:startExecution` Task: reads its parameters as the service does (StateMachineArn,
 * optional Name and Input, the Input an object or JSON text), starts the execution and answers
 * {ExecutionArn, StartDate}.
 */
export async function startExecutionTask(
  taskInput: unknown,
  parent: StartRequest['parent'],
  workflowOf: (stateMachineArn: string) => string | undefined,
  starter: ExecutionStarter,
): Promise<{ ExecutionArn: string; StartDate: string }> {
  const params = (taskInput ?? {}) as { StateMachineArn?: unknown; Name?: unknown; Input?: unknown };
  const arn = typeof params.StateMachineArn === 'string' ? params.StateMachineArn : '';
  const workflow = workflowOf(arn);
  if (!workflow) throw new StartExecutionError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
  const name = params.Name === undefined || params.Name === null ? randomUUID() : String(params.Name);
  if (!VALID_NAME.test(name)) throw new StartExecutionError('InvalidName', `Invalid Name: '${name}'`);
  let input: unknown = params.Input ?? {};
  if (typeof input === 'string') {
    try {
      input = JSON.parse(input);
    } catch (error) {
      throw new StartExecutionError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(error as Error).message}'`);
    }
  }
  const started = await starter({ workflow, name, input, parent });
  return { ExecutionArn: started.executionArn, StartDate: new Date(started.startDate).toISOString() };
}
