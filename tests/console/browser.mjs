// The browser side of the console's tests: one headless Chromium (the system's, never a
// downloaded one), a browser context per person (their own cookies), and `Visit.check`, which
// every page a flow reaches goes through: a numbered screenshot, axe-core (WCAG 2.2 AA), no
// `<script>`, the expected status and language, no console error or failed subresource, the
// bytes transferred for the step, and no English message left on a page in another language
// (failures); text that reads as English, and a page that scrolls sideways at 320 CSS px
// (warnings, listed at the end).

import { readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_VERSION = JSON.parse(readFileSync(require.resolve('axe-core/package.json'), 'utf8')).version;
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const LOCALES = new URL('../../api/src/console/locales/', import.meta.url);

/** The console's messages of `language` (`id = text` lines of its Fluent files; plurals and
 *  multi-line messages are left out). */
export function messages(language) {
  const dir = new URL(`${language}/`, LOCALES);
  const found = new Map();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ftl'))) {
    for (const line of readFileSync(new URL(file, dir), 'utf8').split('\n')) {
      const m = /^([a-z][a-z0-9-]*) = (.+)$/.exec(line);
      if (m && !m[2].includes('{')) found.set(m[1], m[2].trim());
    }
  }
  return found;
}

/** The start of each message of `language` up to its first placeholder (for a message whose
 *  rest depends on its arguments). */
export function messageStarts(language) {
  const dir = new URL(`${language}/`, LOCALES);
  const found = new Map();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ftl'))) {
    for (const line of readFileSync(new URL(file, dir), 'utf8').split('\n')) {
      const m = /^([a-z][a-z0-9-]*) = ([^{]+)/.exec(line);
      if (m) found.set(m[1], m[2].trim());
    }
  }
  return found;
}

const EN = messages('en');

/** RFC 4648 base32 to bytes. */
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The RFC 6238 code (HMAC-SHA1, 6 digits) of `secret` (base32) for time step `step` (30 s). */
export function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 1_000_000).padStart(6, '0');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The person's authenticator app: a code of a time step not used before (the server accepts
 *  one step either side of now, and each step once), waiting for the next step if need be. */
export async function nextCode(authenticator) {
  let current = Math.floor(Date.now() / 30_000);
  const step = Math.max(authenticator.last_step + 1, current - 1);
  while (step > current + 1) {
    await sleep(500);
    current = Math.floor(Date.now() / 30_000);
  }
  authenticator.last_step = step;
  return totp(authenticator.secret, step);
}

/** One run: the browser, the numbering of screenshots, what every check found. */
export class Run {
  constructor(description) {
    this.d = description;
    this.step = 0;
    this.pages = [];
    this.failures = [];
    this.flows = [];
    this.urls = [];
    this.warnings = [];
    this.reflow = [];
    this.noFavicon = false;
    mkdirSync(description.screenshots, { recursive: true });
  }

  async start() {
    this.browser = await chromium.launch({
      executablePath: this.d.chromium,
      headless: true,
      // As root (a CI container) Chromium's sandbox cannot start.
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    });
    console.log(`Chromium ${this.browser.version()}, axe-core ${AXE_VERSION} (${AXE_TAGS.join(', ')})`);
  }

  /** A new browser (context) for one person, its language English. */
  async visit(who) {
    const context = await this.browser.newContext({
      baseURL: this.d.base_url,
      locale: 'en-GB',
      viewport: { width: 1024, height: 768 },
    });
    const page = await context.newPage();
    return new Visit(this, who, context, page);
  }

  /** Runs a flow; a failure is recorded and the next flow runs. */
  async flow(name, body) {
    const started = Date.now();
    console.log(`\n== ${name}`);
    const visits = [];
    try {
      await body(async (who) => {
        const v = await this.visit(who);
        visits.push(v);
        return v;
      });
      this.flows.push({ name, ok: true });
      console.log(`== ${name}: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      this.flows.push({ name, ok: false });
      this.failures.push(`flow "${name}": ${error.stack ?? error}`);
      console.log(`== ${name}: FAILED in ${((Date.now() - started) / 1000).toFixed(1)} s: ${error.message ?? error}`);
      for (const v of visits) {
        await v.page.screenshot({ path: this.file(`FAILED-${v.who}`), fullPage: true }).catch(() => {});
        console.log(`   ${v.who} was at ${v.page.url()}`);
      }
    } finally {
      for (const v of visits) await v.context.close().catch(() => {});
    }
  }

  file(name) {
    this.step += 1;
    return path.join(this.d.screenshots, `${String(this.step).padStart(3, '0')}-${name}.png`);
  }

  fail(message) {
    this.failures.push(message);
    console.log(`   FAIL ${message}`);
  }

  /** Fails if any address the browser asked for holds one of `personal` (names, phone
   *  numbers typed into forms): nothing personal may be in a URL. */
  checkUrls(personal) {
    for (const url of this.urls) {
      const decoded = decodeURIComponent(url.replaceAll('+', ' ')).toLowerCase();
      for (const value of personal) {
        if (decoded.includes(value.toLowerCase())) this.fail(`personal data "${value}" in a URL: ${url}`);
      }
    }
    console.log(`${this.urls.length} addresses requested, none with personal data typed in the flows (${personal.length} values looked for)`);
  }

  async finish(result = {}) {
    await this.browser?.close();
    if (this.noFavicon) console.log('note: /favicon.ico answers 404 (the browser asks for it on a first visit)');
    const bytes = this.pages.reduce((sum, p) => sum + p.bytes, 0);
    console.log(`\n${this.pages.length} pages checked by axe-core, ${this.pages.filter((p) => p.violations > 0).length} with violations; ${bytes} bytes transferred in all`);
    for (const f of this.flows) console.log(`flow ${f.ok ? 'passed' : 'FAILED'}: ${f.name}`);
    if (this.reflow.length > 0) {
      console.log(`\nwarnings: ${this.reflow.length} pages scroll sideways at 320 CSS px (WCAG 1.4.10 reflow):`);
      for (const r of this.reflow) console.log(`- ${r.page}: ${r.width} px wide; ${r.culprits.join(', ')}`);
    }
    if (this.warnings.length > 0) {
      console.log(`\nwarnings: text that reads as English on ${this.warnings.length} pages in another language:`);
      for (const w of this.warnings) console.log(`- ${w.page}: ${w.count} texts, e.g. ${w.examples.map((t) => JSON.stringify(t)).join(', ')}`);
    }
    if (this.failures.length > 0) {
      console.log(`\n${this.failures.length} failures:`);
      for (const f of this.failures) console.log(`- ${f}`);
    }
    console.log(`RESULT ${JSON.stringify({ ...result, pages: this.pages.length, failures: this.failures.length, warnings: this.warnings.length + this.reflow.length })}`);
    process.exitCode = this.failures.length > 0 ? 1 : 0;
  }
}

/** One person's browser: its page, the last document's status, what was transferred and
 *  logged since the last check. */
export class Visit {
  constructor(run, who, context, page) {
    this.run = run;
    this.who = who;
    this.context = context;
    this.page = page;
    this.status = null;
    this.pending = [];
    this.errors = [];
    page.on('response', (response) => {
      const request = response.request();
      if (request.isNavigationRequest() && request.frame() === page.mainFrame() && (response.status() < 300 || response.status() >= 400)) {
        this.status = response.status();
      }
    });
    page.on('requestfinished', (request) => {
      this.pending.push(request.sizes().then((s) => ({ url: request.url(), bytes: s.responseHeadersSize + s.responseBodySize })).catch(() => ({ url: request.url(), bytes: 0 })));
    });
    page.on('response', (response) => {
      const request = response.request();
      if (request.isNavigationRequest() || response.status() < 400) return;
      // The browser asks for /favicon.ico by itself; the console has none (said once, at the end).
      if (new URL(response.url()).pathname === '/favicon.ico') run.noFavicon = true;
      else this.errors.push(`${response.status()} for ${response.url()}`);
    });
    page.on('request', (request) => run.urls.push(request.url()));
    page.on('console', (message) => {
      // A document answered with an error status (a 401, 404 or 422 page the flow expects) is
      // logged by the browser as a failed load; subresources are checked above instead.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        this.errors.push(message.text());
      }
    });
    page.on('pageerror', (error) => this.errors.push(String(error)));
  }

  /** Goes to `path` and checks the page as `name`. */
  async goto(path, name, options = {}) {
    await this.page.goto(path);
    return this.check(name, options);
  }

  /** Clicks `locator` (a submit button or link that loads a page) and checks the page it loads. */
  async click(locator, name, options = {}) {
    return this.act(() => locator.click(), name, options);
  }

  /** Does `action` (which loads a page: a click, Enter in a form) and checks the page loaded. */
  async act(action, name, options = {}) {
    const loaded = this.page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().frame() === this.page.mainFrame() && (r.status() < 300 || r.status() >= 400));
    await action();
    await loaded;
    await this.page.waitForLoadState('load');
    return this.check(name, options);
  }

  /** What has the keyboard focus, and whether it is visibly marked (`:focus-visible` with an
   *  outline or a ring of at least 2 px). */
  async focused() {
    return this.page.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
      const ring = style.boxShadow !== 'none';
      return {
        tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name'),
        text: (el.innerText || el.value || '').trim().slice(0, 40),
        visible: el.matches(':focus-visible') && (outline || ring),
        style: `outline ${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}; box-shadow ${style.boxShadow}`,
      };
    });
  }

  /** The page as it is: a screenshot, then every check. `options.status` (200 unless given),
   *  `options.lang` (`en` unless given), `options.path` (a regular expression the path must match). */
  async check(name, options = {}) {
    const { page, run } = this;
    const expected = { status: 200, lang: 'en', ...options };
    const file = run.file(name);
    await page.screenshot({ path: file, fullPage: true });
    const problems = [];
    const url = new URL(page.url());
    if (this.status !== expected.status) problems.push(`status ${this.status}, expected ${expected.status}`);
    if (expected.path && !expected.path.test(url.pathname)) problems.push(`at ${url.pathname}, expected ${expected.path}`);
    const lang = await page.getAttribute('html', 'lang');
    if (lang !== expected.lang) problems.push(`<html lang="${lang}">, expected "${expected.lang}"`);
    const scripts = await page.locator('script').count();
    if (scripts > 0) problems.push(`${scripts} <script> elements`);
    await page.evaluate(AXE_SOURCE);
    const violations = await page.evaluate(async (tags) => {
      // eslint-disable-next-line no-undef
      const results = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
      return results.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, tags: v.tags,
        nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, failureSummary: n.failureSummary })),
      }));
    }, AXE_TAGS);
    if (violations.length > 0) {
      problems.push(`axe-core: ${violations.length} violations:\n${JSON.stringify(violations, null, 2)}`);
    }
    if (expected.lang !== 'en') {
      const left = await this.untranslated(expected.lang);
      if (left.length > 0) problems.push(`English left on a "${expected.lang}" page: ${left.map((t) => JSON.stringify(t)).join(', ')}`);
      const likely = await this.likelyEnglish(expected.lang);
      if (likely.length > 0) {
        run.warnings.push({ page: path.basename(file), count: likely.length, examples: likely.slice(0, 5) });
        console.log(`   warning: ${likely.length} texts that read as English on this "${expected.lang}" page, e.g. ${likely.slice(0, 3).map((t) => JSON.stringify(t)).join(', ')}`);
      }
    }
    const narrow = await this.reflow();
    if (narrow) {
      run.reflow.push({ page: path.basename(file), ...narrow });
      console.log(`   warning: at 320 CSS px the page is ${narrow.width} px wide (WCAG 1.4.10 reflow): ${narrow.culprits.join(', ')}`);
    }
    const sizes = await Promise.all(this.pending.splice(0));
    const bytes = sizes.reduce((sum, s) => sum + s.bytes, 0);
    const document = sizes.filter((s) => new URL(s.url).pathname === url.pathname).reduce((sum, s) => sum + s.bytes, 0);
    if (this.errors.length > 0) problems.push(`console errors: ${this.errors.splice(0).join(' | ')}`);
    run.pages.push({ name, path: url.pathname, bytes, violations: violations.length });
    console.log(`${path.basename(file)}  ${this.who}  ${url.pathname}${url.search}  ${this.status}  lang=${lang}  ` +
      `document ${document} B, step ${bytes} B in ${sizes.length} responses  axe: ${violations.length} violations${problems.length ? '  PROBLEMS' : ''}`);
    for (const p of problems) run.fail(`${path.basename(file)} (${this.who}, ${url.pathname}): ${p}`);
    return { violations, problems };
  }

  /** English messages (of four words or more, with no translation identical to them) shown on
   *  a page in `language`. */
  async untranslated(language) {
    const translated = messages(language);
    const text = await this.page.locator('body').innerText();
    return [...EN.entries()]
      .filter(([id, en]) => en.split(' ').length >= 4 && translated.get(id) !== en && text.includes(en))
      .map(([, en]) => en);
  }

  /** Whether the page needs scrolling sideways at 320 CSS px (a phone, or 400 % zoom: WCAG
   *  1.4.10), and which elements stick out first. `null` when it reflows. A warning. */
  async reflow() {
    const { page } = this;
    const size = page.viewportSize();
    await page.setViewportSize({ width: 320, height: 640 });
    const found = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const scroll = document.documentElement.scrollWidth;
      if (scroll <= width + 1) return null;
      const culprits = [];
      for (const el of document.querySelectorAll('body *')) {
        const parent = el.parentElement;
        if (el.getBoundingClientRect().right > width + 1 && parent.getBoundingClientRect().right <= width + 1) {
          const name = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.classList.length ? `.${[...el.classList].join('.')}` : ''}`;
          culprits.push(`${name} (${Math.round(el.getBoundingClientRect().width)} px)`);
        }
      }
      return { width: scroll, culprits: [...new Set(culprits)].slice(0, 4) };
    });
    await page.setViewportSize(size);
    return found;
  }

  /** Texts of the page (labels, legends, options, cells, paragraphs) that hold two or more
   *  common English words: text the message files do not hold (labels from Rust, a vocabulary's
   *  English fallback) left untranslated. A warning, not a failure: a name may trip it. */
  async likelyEnglish(language) {
    return this.page.evaluate((lang) => {
      const words = new Set(['the', 'of', 'and', 'or', 'with', 'about', 'to', 'your', 'is', 'are', 'for', 'this', 'not', 'on', 'by', 'from']);
      const found = new Set();
      for (const el of document.querySelectorAll('main label, main legend, main option, main th, main td, main dt, main dd, main p, main li, main h1, main h2, main h3, main button, main a, main span')) {
        if (el.closest('[lang]')?.getAttribute('lang') !== lang) continue;
        const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join(' ').trim();
        const hits = own.toLowerCase().split(/[^a-z']+/).filter((w) => words.has(w));
        if (hits.length >= 2) found.add(own.replace(/\s+/g, ' '));
      }
      return [...found];
    }, language);
  }

  /** Text of the page's main content. */
  async mainText() {
    return this.page.locator('main').innerText();
  }

  /** Fails unless the page's main content holds `text`. */
  async expectText(text, why) {
    const main = await this.mainText();
    if (!main.includes(text)) throw new Error(`${why}: "${text}" is not on ${this.page.url()}:\n${main.slice(0, 2000)}`);
  }
}
