import type { FastifyInstance } from 'fastify';
import { RespondRequest, type ResponseRecordV1 } from '@vigil/schema';
import { RespondError } from '../response/manual.js';

/**
 * `POST /api/v1/respond`: a manual response order (RespondRequest); answers with its record once the
 * sensor answered or the wait ran out (the outcome says which). Behind the API token as the rest is.
 */
export function respondRoute(app: FastifyInstance, respond: (req: RespondRequest) => Promise<ResponseRecordV1>): void {
  app.post('/api/v1/respond', async (req, reply) => {
    const body = RespondRequest.safeParse(req.body);
    if (!body.success)
      return reply
        .code(400)
        .send({ error: body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    try {
      return await respond(body.data);
    } catch (err) {
      if (err instanceof RespondError) return reply.code(err.status).send({ error: err.message });
      throw err;
    }
  });
}
