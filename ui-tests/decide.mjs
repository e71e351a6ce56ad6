// decide.mjs sends one signal or update to a workflow through the Temporal
// Web UI, the way an engineer does: open the workflow, More Actions → Send a
// Signal (or Send an Update), pick the name, type the JSON into Data, Submit.
// It prints one JSON line with what the UI answered and saves a screenshot
// of every step. Exit 0 when the UI accepted the submission (a refused
// update is still exit 0 when --expect-refusal is given and the UI showed
// the refusal), 1 otherwise, with the reason on stderr.
//
//   node decide.mjs --ui http://127.0.0.1:8233 --workflow umzug/finance/finance \
//     --kind signal --name approve --data '{"approver":"b.schulz"}' \
//     --shots artifacts --label 02-approve-b.schulz [--expect-refusal]
import { parseArgs } from 'node:util';
import path from 'node:path';
import fs from 'node:fs';
import puppeteer from 'puppeteer-core';

const { values: opt } = parseArgs({
  options: {
    ui: { type: 'string' },
    namespace: { type: 'string', default: 'default' },
    workflow: { type: 'string' },
    kind: { type: 'string' }, // signal or update
    name: { type: 'string' },
    data: { type: 'string' },
    shots: { type: 'string', default: 'artifacts' },
    label: { type: 'string', default: 'decide' },
    'expect-refusal': { type: 'boolean', default: false },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
    timeout: { type: 'string', default: '45000' }, // ms, per wait
  },
});
let wantData;
function checkArgs() {
  for (const k of ['ui', 'workflow', 'kind', 'name', 'data']) {
    if (!opt[k]) fail(`--${k} is required`);
  }
  if (opt.kind !== 'signal' && opt.kind !== 'update') fail(`--kind ${opt.kind}: use signal or update`);
  wantData = parseJSON(opt.data, '--data');
  fs.mkdirSync(opt.shots, { recursive: true });
}
const waitMs = Number(opt.timeout);
const dialogTitle = opt.kind === 'signal' ? 'Send a Signal' : 'Send an Update';

let step = 0;
const began = Date.now();
async function shot(page, what) {
  step++;
  if (process.env.DECIDE_DEBUG) process.stderr.write(`${((Date.now() - began) / 1000).toFixed(1)}s ${what}\n`);
  const file = path.join(opt.shots, `${opt.label}-${step}-${what}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

// fail ends the run with msg; main reports it after closing the browser.
function fail(msg) {
  throw new LaneError(msg);
}

class LaneError extends Error {}

function parseJSON(s, what) {
  try {
    return JSON.parse(s);
  } catch (e) {
    fail(`${what} is not JSON (${e.message}): ${s}`);
  }
}

// openDialog opens More Actions → title and returns the open dialog whose
// heading is title (the UI keeps closed copies of each dialog in the DOM,
// so [open] matters).
async function openDialog(page, title) {
  const more = page.locator('::-p-aria([name="More Actions"][role="button"])').setTimeout(waitMs);
  const item = `::-p-aria([name="${title}"][role="menuitem"])`;
  const isOpen = (t) => [...document.querySelectorAll('dialog[open]')]
    .some((d) => d.querySelector('h3')?.textContent.trim() === t);
  await retry(page, `open ${title}`, async () => {
    if (!(await page.$(item).then((h) => h?.isVisible()))) await more.click();
    await page.locator(item).setTimeout(5000).click().catch(() => {});
  }, isOpen, title);
  const h = await page.evaluateHandle((t) => [...document.querySelectorAll('dialog[open]')]
    .find((d) => d.querySelector('h3')?.textContent.trim() === t), title);
  return h.asElement();
}

// retry repeats act until check (a page function over args) holds, giving
// each try a few seconds: on a loaded machine the UI may ignore a click it
// receives before its handlers are attached. Bounded by waitMs in all.
async function retry(page, what, act, check, ...args) {
  const end = Date.now() + waitMs;
  for (let n = 1; ; n++) {
    await act();
    const left = end - Date.now();
    const ok = await page.waitForFunction(check, { timeout: Math.max(1000, Math.min(5000, left)), polling: 100 }, ...args)
      .then(() => true, () => false);
    if (ok) return;
    if (Date.now() >= end) fail(`${what}: not done after ${n} tries in ${waitMs}ms`);
  }
}

// Picks the option whose name (first line of the option) is exactly name;
// the descriptions under the names mention other decisions.
async function pickOption(page, dialog, name) {
  const button = await dialog.waitForSelector('button[aria-haspopup="true"]', { visible: true, timeout: waitMs });
  await retry(page, 'open the name list', () => button.click(),
    (b) => b.getAttribute('aria-expanded') === 'true', button);
  const option = await dialog.evaluateHandle((d, n) => [...d.querySelectorAll('[role="listbox"] [role="option"]')]
    .find((o) => o.querySelector('span')?.textContent.trim() === n), name);
  if (!option.asElement()) {
    const names = await dialog.$$eval('[role="option"] span', (s) => s.map((x) => x.textContent.trim()));
    fail(`no option named "${name}" (the UI offers: ${names.join(', ')}); ` +
      'is a worker with this build running, so the UI can list the handlers?');
  }
  // The locator waits until the list has stopped animating in.
  await retry(page, `pick "${name}"`, async () => {
    if (await button.evaluate((b) => b.getAttribute('aria-expanded') !== 'true')) await button.click();
    await option.asElement().asLocator().setTimeout(5000).click().catch(() => {});
  }, (d, n) => d.querySelector('button[aria-haspopup="true"] input')?.value === n, dialog, name);
}

// Types the JSON into the Data editor (CodeMirror) as one insertion, so
// the editor's bracket and quote auto-closing cannot double anything, and
// waits until the editor holds it (it reformats the text on its own time).
async function fillData(page, dialog, text) {
  const want = JSON.stringify(wantData);
  let editor;
  for (let attempt = 1; attempt <= 3; attempt++) {
    // Found afresh each time: the dialog may re-render its editor.
    editor = await dialog.waitForSelector('[role="textbox"][aria-label="Data"]', { visible: true, timeout: waitMs });
    await editor.click();
    const focused = await page.waitForFunction((e) => e.contains(document.activeElement), { timeout: 5000 }, editor)
      .then(() => true, () => false);
    if (!focused) await editor.focus();
    await page.keyboard.down('Control');
    await page.keyboard.press('a');
    await page.keyboard.up('Control');
    await page.keyboard.press('Backspace');
    await page.keyboard.sendCharacter(text);
    // Leave the editor: it pretty-prints the JSON on blur and the dialog
    // grows; blurring now keeps that layout shift away from the Submit
    // click (a click whose button moves between mousedown and mouseup is
    // lost).
    await editor.evaluate((e) => e.blur());
    const ok = await page.waitForFunction((e, w) => {
      if (e.contains(document.activeElement)) return false;
      try {
        return JSON.stringify(JSON.parse(e.innerText)) === w;
      } catch {
        return false;
      }
    }, { timeout: 5000, polling: 100 }, editor, want).then(() => true, () => false);
    if (ok) return;
  }
  const got = await editor.evaluate((e) => e.innerText);
  fail(`the Data editor holds ${JSON.stringify(got)} after 3 attempts, not ${text}`);
}

// Signals have an Encoding choice; the decision handlers expect json/plain.
async function ensurePlainJSON(dialog) {
  const radio = await dialog.$('input[type="radio"][value="json/plain"]');
  if (!radio) return; // the update dialog has no choice
  if (!(await radio.evaluate((r) => r.checked))) await radio.click();
}

// Submits and waits until the dialog closes (the UI took it) or shows an
// error in its alert line (the server refused it). Returns the UI's answer.
async function submit(page, dialog) {
  // A locator clicks only once the button is enabled and has stopped
  // moving (the dialog grows while the editor reformats the JSON).
  const id = await dialog.evaluate((d) => d.id);
  await page.locator(`dialog[open]#${id} [data-testid="confirm-modal-button"]`).click();
  const outcome = await page.waitForFunction((d) => {
    if (!d.open) return { closed: true };
    const alerts = [...d.querySelectorAll('[role="alert"]')].map((a) => a.textContent.trim()).filter(Boolean);
    return alerts.length ? { closed: false, error: alerts.join(' | ') } : null;
  }, { timeout: waitMs, polling: 100 }, dialog).then((h) => h.jsonValue());
  // The toast ("Workflow signaled.", "Update sent") comes and goes; read it
  // if it is there.
  outcome.toast = await page.evaluate(() => {
    const t = [...document.querySelectorAll('[id$="-toast"], [data-testid$="-toast"]')]
      .filter((e) => !e.closest('dialog') && e.getBoundingClientRect().height > 0)
      .map((e) => e.textContent.trim()).filter(Boolean);
    return t.join(' | ');
  });
  return outcome;
}

// stage names the step under way, for the error message.
let stage = 'start chromium';

async function main() {
  const browser = await puppeteer.launch({
    executablePath: opt.chromium,
    headless: true,
    // root in CI containers: chromium's sandbox needs user namespaces.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
    protocolTimeout: waitMs * 2,
    timeout: waitMs,
  });
  try {
    const page = await browser.newPage();
    if (process.env.DECIDE_DEBUG) {
      page.on('console', (m) => process.stderr.write(`console: ${m.text()}\n`));
      page.on('request', (r) => process.stderr.write(`request: ${r.method()} ${r.url().slice(0, 140)}\n`));
      page.on('pageerror', (e) => process.stderr.write(`pageerror: ${e.message}\n`));
      page.on('response', (r) => r.request().method() !== 'GET' && process.stderr.write(`response: ${r.status()} ${r.url()}\n`));
    }
    page.setDefaultTimeout(waitMs);
    await page.setViewport({ width: 1400, height: 1000 });
    const url = `${opt.ui.replace(/\/$/, '')}/namespaces/${encodeURIComponent(opt.namespace)}/workflows/${encodeURIComponent(opt.workflow)}`;
    stage = `open ${url}`;
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    // The header shows the workflow ID once the UI has loaded it.
    await page.waitForFunction((id) => [...document.querySelectorAll('h1')].some((h) => h.textContent.includes(id)),
      { timeout: waitMs }, opt.workflow).catch(() => fail(`${url}: the page never showed workflow ${opt.workflow}`));
    await shot(page, 'workflow');

    stage = `More Actions → ${dialogTitle}`;
    const dialog = await openDialog(page, dialogTitle);
    stage = `pick ${opt.name}`;
    await pickOption(page, dialog, opt.name);
    stage = 'type the JSON into Data';
    await fillData(page, dialog, opt.data);
    await ensurePlainJSON(dialog);
    await shot(page, 'filled');

    stage = 'Submit and wait for the answer';
    const outcome = await submit(page, dialog);
    await shot(page, outcome.closed ? 'submitted' : 'refused');
    const result = { kind: opt.kind, name: opt.name, data: wantData, ...outcome };
    process.stdout.write(JSON.stringify(result) + '\n');
    if (opt['expect-refusal'] && outcome.closed) {
      fail(`expected the UI to show a refusal, but it accepted the submission`);
    }
    if (!opt['expect-refusal'] && !outcome.closed) {
      fail(`the UI refused it: ${outcome.error}`);
    }
  } catch (e) {
    const pages = await browser.pages().catch(() => []);
    if (pages.length) await shot(pages[pages.length - 1], 'error').catch(() => {});
    throw new LaneError(`${dialogTitle} ${opt.name} on ${opt.workflow}, step "${stage}": ${e.message}`);
  } finally {
    await browser.close();
  }
}

try {
  checkArgs();
  await main();
} catch (e) {
  process.stderr.write(`decide.mjs: ${e instanceof LaneError ? e.message : e.stack}\n`);
  process.exitCode = 1;
}
