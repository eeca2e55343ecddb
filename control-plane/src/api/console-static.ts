import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyCompress from '@fastify/compress';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` leaves the web console (console/dist). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist/', import.meta.url));
export const CONSOLE_PREFIX = '/ui';

/**
 * The page and its assets answer without the token: they hold no data, and the page asks for the
 * token before it reads anything. Decided by the route matched, so `/ui/../api/…` is still /ui's.
 */
export function isConsoleRoute(req: FastifyRequest): boolean {
  const route = req.routeOptions.url;
  return (
    (req.method === 'GET' || req.method === 'HEAD') &&
    (route === CONSOLE_PREFIX || !!route?.startsWith(`${CONSOLE_PREFIX}/`))
  );
}

/**
 * The web console at /ui on the API's listener: the built files, each its own route, and index.html
 * for every other path under /ui (the page's own routes). Without a build, /ui says how to make one.
 */
export async function registerConsole(app: FastifyInstance, dir = CONSOLE_DIR): Promise<void> {
  if (!existsSync(`${dir}/index.html`)) {
    const missing = async () => ({
      error: `the web console is not built (no ${dir}index.html): run \`npm run build\` in the Vigil checkout`,
    });
    app.get(CONSOLE_PREFIX, async (_req, reply) => reply.code(503).send(await missing()));
    app.get(`${CONSOLE_PREFIX}/*`, async (_req, reply) => reply.code(503).send(await missing()));
    return;
  }
  // Its own scope, so that compression applies to the page and its assets, not to the API (whose
  // server-sent events go out as they happen).
  await app.register(async (scope) => {
    await scope.register(fastifyCompress, { encodings: ['br', 'gzip'] });
    await scope.register(fastifyStatic, {
      root: dir,
      prefix: `${CONSOLE_PREFIX}/`,
      wildcard: false,
      index: false,
      // Hashed asset names change with their content; the page itself is read again each time.
      setHeaders: (reply, path) => {
        reply.header('cache-control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
      },
    });
    const page = (_req: FastifyRequest, reply: FastifyReply) => reply.sendFile('index.html');
    scope.get(CONSOLE_PREFIX, page);
    scope.get(`${CONSOLE_PREFIX}/*`, page);
  });
}
