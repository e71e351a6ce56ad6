// decide.mjs sends one signal or update to a workflow through the Temporal
// Web UI, the way an engineer does: open the workflow, More Actions → Send a
// Signal (or Send an Update), pick the name, type the JSON into Data, Submit.
// It prints one JSON line with what the UI answered ({"closed": true} when
// the dialog closed, or the error the dialog showed) and saves a screenshot
// of every step. Exit 0 when the UI took the submission, or with
// --expect-refusal when it showed a refusal; 1 otherwise, reason on stderr.
//
//   node decide.mjs --ui http://127.0.0.1:8233 --workflow umzug/finance/finance \
//     --kind signal --name approve --data '{"approver":"b.schulz"}' \
//     --shots artifacts --label 02-approve-b.schulz [--expect-refusal]
//   node decide.mjs --ui … --workflow … --kind view --status Completed --label 05-done
//
// The UI re-renders its dialogs while data arrives, so every step finds its
// elements afresh by selector, and every click is retried until its effect
// shows (bounded by --timeout per step).
import { parseArgs } from 'node:util';
import path from 'node:path';
import fs from 'node:fs';
import puppeteer from 'puppeteer-core';

class LaneError extends Error {}

// fail ends the run with msg; main reports it after closing the browser.
function fail(msg) {
  throw new LaneError(msg);
}

const { values: opt } = parseArgs({
  options: {
    ui: { type: 'string' },
    namespace: { type: 'string', default: 'default' },
    workflow: { type: 'string' },
    kind: { type: 'string' }, // signal, update, or view (a screenshot once --status shows)
    status: { type: 'string' }, // view: the workflow status to wait for, e.g. Completed
    name: { type: 'string' },
    data: { type: 'string' },
    shots: { type: 'string', default: 'artifacts' },
    label: { type: 'string', default: 'decide' },
    'expect-refusal': { type: 'boolean', default: false },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
    timeout: { type: 'string', default: '45000' }, // ms, per step
  },
});
const waitMs = Number(opt.timeout);
const title = { signal: 'Send a Signal', update: 'Send an Update' }[opt.kind] || 'View';
// The open dialog: the page keeps a closed copy of each for another layout.
const D = `dialog[open][data-testid="${opt.kind}-confirmation-modal"]`;
const SELECT = `${D} button[aria-haspopup="true"]`;
const EDITOR = `${D} [role="textbox"][aria-label="Data"]`;
let wantData;
let want; // wantData as compact JSON

function checkArgs() {
  const required = opt.kind === 'view' ? ['ui', 'workflow', 'status'] : ['ui', 'workflow', 'kind', 'name', 'data'];
  for (const k of required) {
    if (!opt[k]) fail(`--${k} is required`);
  }
  if (!['signal', 'update', 'view'].includes(opt.kind)) fail(`--kind ${opt.kind}: use signal, update or view`);
  fs.mkdirSync(opt.shots, { recursive: true });
  if (opt.kind === 'view') return;
  try {
    wantData = JSON.parse(opt.data);
  } catch (e) {
    fail(`--data is not JSON (${e.message}): ${opt.data}`);
  }
  want = JSON.stringify(wantData);
}

let step = 0;
const began = Date.now();
function debug(msg) {
  if (process.env.DECIDE_DEBUG) process.stderr.write(`${((Date.now() - began) / 1000).toFixed(1)}s ${msg}\n`);
}
async function shot(page, what) {
  step++;
  debug(`screenshot ${what}`);
  await page.screenshot({ path: path.join(opt.shots, `${opt.label}-${step}-${what}.png`) });
}

// retry acts until check (a page function over args) holds, giving each
// try a few seconds: on a loaded machine the UI may ignore a click it gets
// before its handlers are attached. Bounded by waitMs in all.
async function retry(page, what, act, check, ...args) {
  const end = Date.now() + waitMs;
  for (let n = 1; ; n++) {
    // Act only while check fails: a late answer to the previous try
    // counts, and acting again could undo it.
    if (await page.evaluate(check, ...args)) return;
    if (Date.now() >= end) fail(`${what}: not done after ${n - 1} tries in ${waitMs}ms`);
    debug(`${what}: try ${n}`);
    await act().catch((e) => debug(`${what}: ${e.message}`)); // the element may be re-rendering; try again
    const left = Math.max(1000, Math.min(5000, end - Date.now()));
    if (await page.waitForFunction(check, { timeout: left, polling: 100 }, ...args).then(() => true, () => false)) return;
  }
}

// openDialog: More Actions → Send a Signal / Send an Update, until the
// dialog is open and lists the handlers (from the worker's metadata).
async function openDialog(page) {
  const item = `::-p-aria([name="${title}"][role="menuitem"])`;
  await retry(page, `open ${title}`, async () => {
    const shown = await page.$(item).then((h) => h?.isVisible());
    if (!shown) await page.locator('::-p-aria([name="More Actions"][role="button"])').setTimeout(5000).click();
    await page.locator(item).setTimeout(5000).click();
  }, (d) => !!document.querySelector(d), D);
  await page.waitForSelector(SELECT, { visible: true, timeout: waitMs }).catch(() =>
    fail(`the ${title} dialog offers no list of names: the UI could not read the workflow's handlers ` +
      '(is a worker of this build polling the task queue?)'));
}

// pickOption picks the option whose name (first line of the option) is
// exactly name: the descriptions under the names mention other decisions.
async function pickOption(page, name) {
  const names = await page.$$eval(`${D} [role="listbox"] [role="option"] span:first-child`,
    (s) => s.map((x) => x.textContent.trim()));
  if (!names.includes(name)) fail(`no option named "${name}"; the UI offers: ${names.join(', ')}`);
  await retry(page, `pick "${name}"`, async () => {
    const expanded = await page.$eval(SELECT, (b) => b.getAttribute('aria-expanded') === 'true');
    if (!expanded) await page.locator(SELECT).setTimeout(5000).click();
    const option = await page.waitForFunction((d, n) => [...document.querySelectorAll(`${d} [role="option"]`)]
      .find((o) => o.querySelector('span')?.textContent.trim() === n), { timeout: 5000 }, D, name);
    // As a locator it is clicked once the list has stopped animating in.
    await option.asElement().asLocator().setTimeout(5000).click();
  }, (s, n) => document.querySelector(`${s} input`)?.value === n, SELECT, name);
  // An open or fading list lies over the Data editor; wait until it is gone.
  // Picking closes it; click only if it is still expanded, never while it
  // merely fades out (that click would open it again).
  await retry(page, 'close the name list', async () => {
    if (await page.$eval(SELECT, (b) => b.getAttribute('aria-expanded') === 'true')) await page.locator(SELECT).setTimeout(5000).click();
  }, (s, d) => {
    const lb = document.querySelector(`${d} [role="listbox"]`);
    return document.querySelector(s)?.getAttribute('aria-expanded') !== 'true' &&
      (!lb || getComputedStyle(lb).visibility === 'hidden');
  }, SELECT, D);
}

// holds says whether the editor (sel) holds the JSON w, and is not focused.
function holds(sel, w) {
  const e = document.querySelector(sel);
  if (!e || e.contains(document.activeElement)) return false;
  try {
    return JSON.stringify(JSON.parse(e.innerText)) === w;
  } catch {
    return false;
  }
}

// fillData types the JSON into the Data editor (CodeMirror) as one
// insertion, so its bracket and quote auto-closing cannot double anything,
// then leaves the editor: it pretty-prints on blur and the dialog grows,
// which must happen before the Submit click (a button that moves between
// mousedown and mouseup gets no click).
async function fillData(page) {
  await retry(page, 'type the JSON into Data', async () => {
    const editor = await page.waitForSelector(EDITOR, { visible: true, timeout: 5000 });
    // Focus, not a click: nothing that may lie over the editor can take it.
    await editor.focus();
    await page.keyboard.down('Control');
    await page.keyboard.press('a');
    await page.keyboard.up('Control');
    await page.keyboard.press('Backspace');
    await page.keyboard.sendCharacter(opt.data);
    await editor.evaluate((e) => e.blur());
  }, holds, EDITOR, want);
  // Signals have an Encoding choice; the decision handlers read json/plain.
  await retry(page, 'choose json/plain', () => page.locator(`${D} input[type="radio"][value="json/plain"]`).setTimeout(5000).click(),
    (d) => document.querySelector(`${d} input[type="radio"][value="json/plain"]`)?.checked !== false, D);
}

// checkForm is the last look before Submit: the dialog holds name and the
// JSON, and the list is closed; otherwise nothing is sent.
async function checkForm(page, name) {
  const got = await page.$eval(D, (d) => ({
    name: d.querySelector('button[aria-haspopup="true"] input')?.value,
    data: d.querySelector('[role="textbox"][aria-label="Data"]')?.innerText,
    listOpen: d.querySelector('button[aria-haspopup="true"]')?.getAttribute('aria-expanded') === 'true',
  }));
  const ok = await page.evaluate(holds, EDITOR, want);
  if (got.name !== name || !ok || got.listOpen) {
    fail(`the dialog is not as filled in (name ${JSON.stringify(got.name)}, data ${JSON.stringify(got.data)}, ` +
      `list open ${got.listOpen}); want ${name} with ${want}; nothing sent`);
  }
}

// submit clicks Submit once and waits until the dialog closes (the UI took
// it) or shows an error in an alert line (the server refused it). Not
// retried: a second click could send the decision twice.
async function submit(page) {
  // The locator clicks once the button is enabled and has stopped moving.
  await page.locator(`${D} [data-testid="confirm-modal-button"]`).setTimeout(waitMs).click();
  const outcome = await page.waitForFunction((d) => {
    const dlg = document.querySelector(d);
    if (!dlg) return { closed: true };
    const alerts = [...dlg.querySelectorAll('[role="alert"]')].map((a) => a.textContent.trim()).filter(Boolean);
    return alerts.length ? { closed: false, error: alerts.join(' | ') } : null;
  }, { timeout: waitMs, polling: 100 }, D).then((h) => h.jsonValue());
  // The toast ("Workflow signaled.") comes and goes; read it if it is there.
  outcome.toast = await page.evaluate(() => [...document.querySelectorAll('[id$="-toast"], [data-testid$="-toast"]')]
    .filter((e) => e.getBoundingClientRect().height > 0).map((e) => e.textContent.trim()).filter(Boolean).join(' | '));
  return outcome;
}

// stage names the step under way, for the error message.
let stage = 'start chromium';

async function decide(page) {
  const url = `${opt.ui.replace(/\/$/, '')}/namespaces/${encodeURIComponent(opt.namespace)}/workflows/${encodeURIComponent(opt.workflow)}`;
  stage = `open ${url}`;
  debug('chromium up');
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  // The header shows the workflow ID once the UI has loaded it.
  await page.waitForFunction((id) => [...document.querySelectorAll('h1')].some((h) => h.textContent.includes(id)),
    { timeout: waitMs }, opt.workflow).catch(() => fail(`${url} never showed workflow ${opt.workflow}`));
  if (opt.kind === 'view') {
    stage = `wait for status ${opt.status}`;
    await page.waitForFunction((st) => [...document.querySelectorAll('body *')]
      .some((e) => e.children.length === 0 && e.textContent.trim().toLowerCase() === st.toLowerCase()),
    { timeout: waitMs, polling: 250 }, opt.status);
    await shot(page, opt.status.toLowerCase());
    process.stdout.write(JSON.stringify({ kind: 'view', status: opt.status }) + '\n');
    return;
  }
  await shot(page, 'workflow');
  stage = `More Actions → ${title}`;
  await openDialog(page);
  stage = `pick ${opt.name}`;
  await pickOption(page, opt.name);
  stage = 'fill in Data';
  await fillData(page);
  await shot(page, 'filled');
  await checkForm(page, opt.name);
  stage = 'Submit and wait for the answer';
  const outcome = await submit(page);
  await shot(page, outcome.closed ? 'submitted' : 'refused');
  process.stdout.write(JSON.stringify({ kind: opt.kind, name: opt.name, data: wantData, ...outcome }) + '\n');
  if (opt['expect-refusal'] && outcome.closed) fail('expected the UI to show a refusal, but it took the submission');
  if (!opt['expect-refusal'] && !outcome.closed) fail(`the UI refused it: ${outcome.error}`);
}

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
      page.on('pageerror', (e) => process.stderr.write(`pageerror: ${e.message}\n`));
      page.on('response', (r) => r.request().method() !== 'GET' && process.stderr.write(`response: ${r.status()} ${r.url()}\n`));
    }
    page.setDefaultTimeout(waitMs);
    await page.setViewport({ width: 1400, height: 1000 });
    await decide(page).catch(async (e) => {
      await shot(page, 'error').catch(() => {});
      throw e;
    });
  } catch (e) {
    throw new LaneError(`${title} ${opt.name ?? ''} on ${opt.workflow}, step "${stage}": ${e.message}`);
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
