import { parse } from 'yaml';
import { z } from 'zod/v4';

/** The parts of a SigmaHQ rule Vigil reads. */
export const SigmaRule = z.object({
  title: z.string(),
  id: z.string().optional(),
  status: z.string().optional(),
  description: z.string().optional(),
  author: z.string().optional(),
  references: z.array(z.string()).optional(),
  tags: z.array(z.string()).optional(),
  logsource: z.object({
    product: z.string().optional(),
    category: z.string().optional(),
    service: z.string().optional(),
  }),
  detection: z
    .record(z.string(), z.unknown())
    .refine((d) => typeof d.condition === 'string' || Array.isArray(d.condition), 'detection needs a condition'),
  level: z.enum(['informational', 'low', 'medium', 'high', 'critical']).optional(),
  falsepositives: z.array(z.unknown()).optional(),
});
export type SigmaRule = z.infer<typeof SigmaRule>;

export class SigmaError extends Error {
  override name = 'SigmaError';
  constructor(
    message: string,
    readonly unsupported = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function parseSigma(text: string): SigmaRule {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (cause) {
    throw new SigmaError(`not YAML: ${(cause as Error).message.split('\n')[0]}`, false, { cause });
  }
  const r = SigmaRule.safeParse(doc);
  if (!r.success)
    throw new SigmaError(
      `not a Sigma rule: ${r.error.issues.map((i) => `${i.path.join('.') || 'rule'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}
