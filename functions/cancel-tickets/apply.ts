import * as z from 'zod';
import { cancelTickets } from '../../lib/services/bookings/cancel-tickets.ts';
import { orderPorts } from '../commons/bookings.ts';
import { stage } from '../commons/handler.ts';
import { CancelTicketsInput } from './validate.ts';

const Input = z.object({ runId: z.string(), startedAt: z.string(), input: CancelTicketsInput });

/** 2. Books the cancellation (one transaction, or in parts for a group order) and records the run. A retry of the same execution reports what it booked. */
export const handler = stage(Input, async (run) => cancelTickets(orderPorts(), run));
