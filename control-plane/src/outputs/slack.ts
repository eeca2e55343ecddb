import { durationToMs, type SlackOutput } from '@vigil/schema';
import { postJson } from './http-post.js';
import { jobOf, rulesOf, storyOf, type OutputMessage, type Sender } from './message.js';

/**
 * Slack's mrkdwn reads `<url|label>` as a link and `<!channel>` as a mention: text from the watched
 * hosts (process names, argv in titles) is escaped so it shows as written and links nowhere.
 */
export const slackEscape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack refuses a section's text over 3000 characters. */
const clip = (text: string, max = 2900): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const SEVERITY_MARK = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':large_blue_circle:',
  info: ':white_circle:',
} as const;

/** The link to an incident in the console, when the control plane's public URL is known. */
export const incidentUrl = (publicUrl: string | undefined, id: string): string | null =>
  publicUrl ? `${publicUrl.replace(/\/+$/, '')}/ui/incidents/${encodeURIComponent(id)}` : null;

/** A Slack incoming-webhook message: `text` (notifications, fallbacks) and `blocks` (the message as shown). */
export function slackMessage(m: OutputMessage, publicUrl?: string): { text: string; blocks: object[] } {
  const sev = m.data.severity;
  const host = m.data.host;
  const job = jobOf(m);
  const story = storyOf(m);
  const rules = rulesOf(m);
  const link = m.kind === 'incident' ? incidentUrl(publicUrl, m.data.id) : null;
  const what = m.kind === 'incident' ? 'Incident' : 'Alert';
  const text = clip(`[${sev.toUpperCase()}] ${what} on ${host}${job ? ` (job ${job})` : ''}: ${story}`);
  const fields = [
    `*Severity*\n${sev}`,
    `*Host*\n${slackEscape(host)}`,
    `*Job*\n${job ? slackEscape(clip(job, 500)) : '—'}`,
    `*Rules*\n${slackEscape(clip(rules.join(', '), 1900)) || '—'}`,
  ].map((t) => ({ type: 'mrkdwn', text: t }));
  const blocks: object[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: clip(`${SEVERITY_MARK[sev]} *${what}: ${slackEscape(story)}*`) },
    },
    { type: 'section', fields },
  ];
  if (link)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${link}|Open the incident in Vigil>` }] });
  return { text: slackEscape(text), blocks };
}

/** Posts each message to a Slack-compatible incoming webhook. */
export class SlackSender implements Sender {
  private readonly timeoutMs: number;

  constructor(
    private readonly cfg: SlackOutput,
    private readonly publicUrl: string | undefined,
  ) {
    this.timeoutMs = durationToMs(cfg.timeout);
  }

  async send(m: OutputMessage): Promise<void> {
    await postJson(this.cfg.url, JSON.stringify(slackMessage(m, this.publicUrl)), {}, this.timeoutMs);
  }

  async close(): Promise<void> {}
}
